//! `dasynth profile`: `catalog.parquet` → `profiles/<table-id>.json`.

use crate::ExitStatus;
use crate::printer::{self, Progress};
use dasynth_core::config::Settings;
use dasynth_core::layout::RunDir;
use dasynth_core::lock::RunLock;

/// `dasynth profile`: holds the run folder's lock while it profiles.
pub fn run(s: &Settings, wait: bool) -> anyhow::Result<ExitStatus> {
    let _lock = RunLock::acquire(&RunDir::new(&s.out), wait)?;
    profile(s)
}

/// Profiles the run folder of the settings; shared with `generate`, which holds the lock.
pub fn profile(s: &Settings) -> anyhow::Result<ExitStatus> {
    let run = RunDir::new(&s.out);
    let outcome = dasynth_profile::profile_run(&run, &s.profile, &Progress::new())?;
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
