//! `dasynth generate`: the whole pipeline over the configured sources, or one shard of it.

use crate::ExitStatus;
use crate::cli::ShardFlags;
use dasynth_core::config::Settings;
use dasynth_core::layout::RunDir;
use dasynth_core::lock::RunLock;
use dasynth_core::shard::Shard;
use dasynth_scale::limits::{self, LimitSharing};
use dasynth_scale::prepare::plan_once;

/// `dasynth generate [--shard I/N [--shared-limiter]]`: the whole run holds the run folder's
/// lock; a shard holds its shard's.
pub fn run(s: Settings, flags: &ShardFlags, wait: bool) -> anyhow::Result<ExitStatus> {
    match flags.shard.as_deref().map(Shard::parse).transpose()? {
        Some(shard) => {
            let _lock = RunLock::acquire_shard(&RunDir::new(&s.out), shard, wait)?;
            generate_shard(s, shard, sharing(flags))
        }
        None => {
            let _lock = RunLock::acquire(&RunDir::new(&s.out), wait)?;
            generate(s)
        }
    }
}

pub fn sharing(flags: &ShardFlags) -> LimitSharing {
    if flags.shared_limiter { LimitSharing::Shared } else { LimitSharing::Divide }
}

/// The demo tables when no sources are configured (also what the shards' shared plan is
/// fingerprinted with).
pub(super) fn with_demo_sources(s: &mut Settings) -> anyhow::Result<()> {
    if s.sources.is_empty() {
        let demo = dasynth_sources::demo_sources()?;
        crate::printer::note(format!("no sources configured: using the demo tables ({})", demo.display()));
        s.sources = vec![demo.display().to_string()];
    }
    Ok(())
}

fn all_ok(statuses: &[ExitStatus]) -> ExitStatus {
    if statuses.iter().all(|s| *s == ExitStatus::Success) { ExitStatus::Success } else { ExitStatus::Problems }
}

/// The whole pipeline, with the run folder's lock held by the caller.
pub fn generate(mut s: Settings) -> anyhow::Result<ExitStatus> {
    with_demo_sources(&mut s)?;
    let crawl = super::crawl::crawl(&s)?;
    let profile = super::profile::profile(&s)?;
    let tasks = tasks_checked(&s)?;
    let trajectories = super::trajectories::trajectories(&s)?;
    let run = RunDir::new(&s.out);
    let verify = super::verify::verify(&s, &run, None)?;
    let export = super::export::export(&s, &run)?;
    let report = super::report::report(&run, false)?;
    Ok(all_ok(&[crawl, profile, tasks, trajectories, verify, export, report]))
}

/// Tasks, then every reference solution run and checked, so the run holds no task its own
/// solution fails.
fn tasks_checked(s: &Settings) -> anyhow::Result<ExitStatus> {
    let built = super::tasks::tasks(s)?;
    let checked = super::tasks::solutions(s)?;
    Ok(if built == ExitStatus::Success { checked } else { built })
}

/// One shard: crawl, profile and the task plan once per run folder (the first shard makes
/// them, the others reuse them), then this shard's trajectories and verdicts. Export waits for
/// `dasynth merge`.
fn generate_shard(mut s: Settings, shard: Shard, sharing: LimitSharing) -> anyhow::Result<ExitStatus> {
    with_demo_sources(&mut s)?;
    let run = RunDir::new(&s.out);
    let made = plan_once(&run, &s, || -> anyhow::Result<_> {
        Ok(vec![super::crawl::crawl(&s)?, super::profile::profile(&s)?, tasks_checked(&s)?])
    })?;
    let mut statuses = made.unwrap_or_else(|| {
        crate::printer::note(format!("shard {shard}: reusing the catalog, profiles and tasks already in {}", run.root().display()));
        Vec::new()
    });
    let s = limits::for_shard(s, shard, sharing);
    statuses.push(super::trajectories::trajectories_shard(&s, Some(shard))?);
    statuses.push(super::verify::verify(&s, &run, Some(shard))?);
    crate::printer::note(format!(
        "shard {shard} done; once every shard is, run `dasynth merge {}` then `dasynth export {0}`",
        run.root().display()
    ));
    Ok(all_ok(&statuses))
}
