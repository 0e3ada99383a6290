//! `dasynth profile`: `catalog.parquet` → `profiles/<table-id>.json`.

use crate::ExitStatus;
use crate::printer::{self, Progress};
use dasynth_core::config::Settings;
use dasynth_core::layout::RunDir;
use dasynth_core::lock::RunLock;
use dasynth_core::shard::Shard;

/// `dasynth profile [--shard I/N]`: holds the run folder's lock (its shard's with `--shard`)
/// while it profiles.
pub fn run(s: &Settings, shard: Option<&str>, wait: bool) -> anyhow::Result<ExitStatus> {
    let run = RunDir::new(&s.out);
    match shard.map(Shard::parse).transpose()? {
        Some(shard) => {
            let _lock = RunLock::acquire_shard(&run, shard, wait)?;
            profile_shard(s, Some(shard))
        }
        None => {
            let _lock = RunLock::acquire(&run, wait)?;
            profile(s)
        }
    }
}

/// Profiles the run folder of the settings; shared with `generate`, which holds the lock.
pub fn profile(s: &Settings) -> anyhow::Result<ExitStatus> {
    profile_shard(s, None)
}

fn profile_shard(s: &Settings, shard: Option<Shard>) -> anyhow::Result<ExitStatus> {
    let run = RunDir::new(&s.out);
    let outcome = dasynth_profile::profile_shard(&run, &s.profile, shard, &Progress::new())?;
    printer::note(format!(
        "profile: {} table(s) in {} ({} reused), {} failed, {:.1}s",
        outcome.profiles.len(),
        run.profiles_dir().display(),
        outcome.stats.reused,
        outcome.failures.len(),
        outcome.stats.seconds
    ));
    for f in &outcome.failures {
        printer::note(format!("  failed: {} ({}): {}", f.name, f.table_id, f.message));
    }
    Ok(if outcome.failures.is_empty() { ExitStatus::Success } else { ExitStatus::Problems })
}
