//! `dasynth export`: accepted trajectories and verified tasks → export/ (Parquet configs,
//! tables, reward.py, dataset card).

use crate::ExitStatus;
use crate::printer::{self, Progress};
use dasynth_core::config::Settings;
use dasynth_core::layout::RunDir;
use dasynth_core::lock::RunLock;

/// `dasynth export`: holds the run folder's lock while it writes.
pub fn run(s: &Settings, run: &RunDir, wait: bool) -> anyhow::Result<ExitStatus> {
    let _lock = RunLock::acquire(run, wait)?;
    export(s, run)
}

/// Exports the run folder `run` (the settings' `out`, maybe streaming its trajectories from a
/// bucket); shared with `generate`, which holds the lock.
pub fn export(s: &Settings, run: &RunDir) -> anyhow::Result<ExitStatus> {
    let outcome = dasynth_export::export(run, &s.export, &Progress::new())?;
    let st = &outcome.stats;
    let Some(dir) = &outcome.dir else {
        printer::note(format!(
            "export: nothing exported: {}\nhint: `dasynth trajectories` writes trajectories and `dasynth verify` accepts them",
            outcome.empty.as_deref().unwrap_or("no accepted trajectories")
        ));
        return Ok(ExitStatus::Problems);
    };
    printer::note(format!(
        "export: {} of {} trajectories and {} RL task(s) in {} (chosen by {}), {:.1}s",
        st.trajectories_exported,
        st.trajectories_read,
        st.rl_tasks,
        dir.display(),
        st.selected_by,
        st.seconds
    ));
    for (name, c) in st.by_config.iter().filter(|(_, c)| c.files > 0) {
        let rows: Vec<String> = c.rows.iter().map(|(split, n)| format!("{split} {n}")).collect();
        printer::note(format!("  {name}: {} ({} file(s), {} bytes)", rows.join(", "), c.files, c.bytes));
    }
    if !st.dropped_by_reason.is_empty() {
        let d: Vec<String> = st.dropped_by_reason.iter().map(|(r, n)| format!("{r} {n}")).collect();
        printer::note(format!("  left out: {}", d.join(", ")));
    }
    if !st.rl_dropped_by_reason.is_empty() {
        let d: Vec<String> = st.rl_dropped_by_reason.iter().map(|(r, n)| format!("{r} {n}")).collect();
        printer::note(format!("  RL tasks left out: {}", d.join(", ")));
    }
    Ok(ExitStatus::Success)
}
