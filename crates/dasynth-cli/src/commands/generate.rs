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
    Ok(if crawl == ExitStatus::Success && profile == ExitStatus::Success { ExitStatus::Success } else { ExitStatus::Problems })
}
