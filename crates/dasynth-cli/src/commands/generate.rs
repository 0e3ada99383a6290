//! `dasynth generate`: the whole pipeline over the configured sources.

use crate::ExitStatus;
use crate::cli::{GenerateArgs, GlobalArgs};
use crate::settings::{self, Overrides};

/// The sources used when neither flags nor configuration name any.
const DEFAULT_SOURCES: &str = "sources/demo.toml";

pub fn run(global: &GlobalArgs, args: GenerateArgs) -> anyhow::Result<ExitStatus> {
    let mut s = settings::resolve(global, Overrides { out: args.out, sources: args.sources, ..Default::default() })?;
    if s.sources.is_empty() && std::path::Path::new(DEFAULT_SOURCES).exists() {
        s.sources = vec![DEFAULT_SOURCES.to_string()];
    }
    let crawl = super::crawl::crawl(&s)?;
    let profile = super::profile::profile(&s)?;
    let tasks = super::tasks::tasks(&s)?;
    let trajectories = super::trajectories::trajectories(&s)?;
    let all_ok = [crawl, profile, tasks, trajectories].iter().all(|s| *s == ExitStatus::Success);
    Ok(if all_ok { ExitStatus::Success } else { ExitStatus::Problems })
}
