//! `dasynth generate`: the whole pipeline over the configured sources.

use crate::ExitStatus;
use dasynth_core::config::Settings;

pub fn generate(mut s: Settings) -> anyhow::Result<ExitStatus> {
    if s.sources.is_empty() {
        let demo = dasynth_sources::demo_sources()?;
        crate::printer::note(format!("no sources configured: using the demo tables ({})", demo.display()));
        s.sources = vec![demo.display().to_string()];
    }
    let crawl = super::crawl::crawl(&s)?;
    let profile = super::profile::profile(&s)?;
    // Every reference solution is run and checked, so the run holds no task its own solution fails.
    let tasks = super::tasks::run(&s, true)?;
    let trajectories = super::trajectories::trajectories(&s)?;
    let verify = super::verify::verify(&s, None)?;
    let export = super::export::export(&s)?;
    let all_ok = [crawl, profile, tasks, trajectories, verify, export].iter().all(|s| *s == ExitStatus::Success);
    Ok(if all_ok { ExitStatus::Success } else { ExitStatus::Problems })
}
