//! Run folders on object storage (`--out s3://…`, `dasynth merge gs://…`): the command runs on
//! the staging copy `dasynth_scale::remote` pulls before it and pushes while and after it runs.

use crate::ExitStatus;
use crate::printer;
use anyhow::Context;
use dasynth_core::config::Settings;
use dasynth_core::layout::RunDir;
use dasynth_core::shard::Shard;
use dasynth_scale::prepare::{plan_is_current, record_matches};
use dasynth_scale::remote::{Reads, RemoteRun, remote_url};
use std::time::Duration;

/// Whether the command plans the tasks the shards share (`generate --shard`): shards other than
/// 0 then wait for shard 0's plan in the bucket. `SharedByShards` completes the settings the
/// way the command does before it plans (the demo tables when no sources are configured), so
/// the plan's fingerprint is compared with what shard 0 recorded.
#[derive(Debug, Clone, Copy)]
pub enum Plan {
    Own,
    SharedByShards(fn(&mut Settings) -> anyhow::Result<()>),
}

fn secs(var: &str, default: u64) -> Duration {
    Duration::from_secs(std::env::var(var).ok().and_then(|v| v.trim().parse().ok()).unwrap_or(default))
}

/// Runs `command` on the settings' run folder, staged from the bucket when `out` names one
/// (pulling what the command `reads`). The command gets the settings with `out` pointing at the
/// folder it works on, and that folder as a [`RunDir`] (which streams the trajectory folders
/// from the bucket when `reads` says so).
pub fn staged(
    s: Settings,
    shard: Option<&str>,
    plan: Plan,
    reads: Reads,
    command: impl FnOnce(Settings, RunDir) -> anyhow::Result<ExitStatus>,
) -> anyhow::Result<ExitStatus> {
    let Some(url) = remote_url(&s.out).map(str::to_string) else {
        let run = RunDir::new(&s.out);
        return command(s, run);
    };
    let shard = shard.map(Shard::parse).transpose()?;
    let cache = dasynth_core::env::cache_dir().context("no cache folder for the run folder's staging copy\nhint: set DASYNTH_CACHE")?;
    let mut remote = RemoteRun::open(&url, &cache, shard)?.reading(reads);
    let every = secs(dasynth_core::env::DASYNTH_REMOTE_SYNC_SECS, 30);
    // Renewed at every background push: stale only after three pushes were missed.
    remote.acquire_lease(secs(dasynth_core::env::DASYNTH_REMOTE_LEASE_SECS, 300).max(every * 3))?;
    let pulled = remote.pull()?;
    printer::note(format!("{url}: pulled {pulled} into {}", remote.local().display()));
    let mut local = s;
    local.out = remote.local().to_path_buf();
    let planned = match plan {
        Plan::SharedByShards(complete) if shard.is_some_and(|sh| sh.index != 0) => {
            let mut planned = local.clone();
            complete(&mut planned)?;
            Some(planned)
        }
        _ => None,
    };
    if let Some(planned) = planned.filter(|p| !plan_is_current(&RunDir::new(&p.out), p)) {
        printer::note(format!("{url}: waiting for shard 0 to publish the task plan"));
        let record = RunDir::new("").tasks_plan();
        let wait = secs(dasynth_core::env::DASYNTH_PLAN_WAIT_SECS, 7200);
        let Some(pulled) = remote.wait_for(&record.to_string_lossy(), |b| record_matches(b, &planned), Duration::from_secs(2), wait)?
        else {
            anyhow::bail!(
                "{url}: shard 0 did not publish the task plan of these settings within {} s\nhint: start shard 0 of the same run with the same configuration (it crawls, profiles and plans), or wait longer with {}",
                wait.as_secs(),
                dasynth_core::env::DASYNTH_PLAN_WAIT_SECS
            );
        };
        printer::note(format!("{url}: pulled the plan, {pulled}"));
    }
    remote.start_sync(every);
    let run = remote.run_dir();
    let result = command(local, run);
    // Pushed whatever happened, so finished work is never lost; the command's error comes first.
    match remote.finish() {
        Ok(pushed) => printer::note(format!("{url}: pushed {pushed}")),
        Err(e) if result.is_err() => printer::note(format!("{e:#}")),
        Err(e) => return Err(e.into()),
    }
    result
}
