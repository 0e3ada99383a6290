//! `dasynth verify`: trajectories/ → verdicts.parquet and stats/verify.json.

use crate::ExitStatus;
use crate::printer::{self, Progress};
use dasynth_core::config::Settings;
use dasynth_core::layout::{RunDir, Stage};
use dasynth_core::lock::RunLock;
use dasynth_scale::claim::ShardRun;
use dasynth_verify::Shard;
use std::collections::BTreeMap;

/// `dasynth verify [DIR] [--shard I/N]`: holds the run folder's lock (its shard's with `--shard`).
pub fn run(s: &Settings, run: &RunDir, shard: Option<&str>, wait: bool) -> anyhow::Result<ExitStatus> {
    let shard = shard.map(Shard::parse).transpose()?;
    let _lock = match shard {
        Some(shard) => RunLock::acquire_shard(run, shard, wait)?,
        None => RunLock::acquire(run, wait)?,
    };
    verify(s, run, shard)
}

fn counts(m: &BTreeMap<String, u64>) -> String {
    m.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", ")
}

/// Verifies the run folder `run` (the settings' `out`, maybe streaming its trajectories from a
/// bucket; one shard of it); `generate` runs it after the trajectory stage.
pub fn verify(s: &Settings, run: &RunDir, shard: Option<Shard>) -> anyhow::Result<ExitStatus> {
    let claim = shard.map(|sh| ShardRun::claim(run, Stage::Verify, sh)).transpose()?;
    let o = dasynth_verify::verify(run, s, shard, &Progress::new())?;
    if let Some(claim) = claim.filter(|_| o.incomplete == 0) {
        let sh = claim.shard();
        claim.complete(o.stats.verdicts, &[o.verdicts.as_path(), run.stats_shard(Stage::Verify, sh).as_path()])?;
    }
    let st = &o.stats;
    printer::note(format!(
        "verify: {} kept, {} dropped of {} trajectories in {} ({} reused, {} cells replayed), {:.1}s",
        st.kept,
        st.dropped,
        st.verdicts,
        o.verdicts.display(),
        st.reused,
        st.cells_replayed,
        st.seconds
    ));
    printer::note(format!("  replay: {}", counts(&st.by_replay)));
    if !st.dropped_by_reason.is_empty() {
        printer::note(format!("  dropped: {}", counts(&st.dropped_by_reason)));
    }
    if o.incomplete > 0 {
        printer::note(format!("  {} verdict(s) without the judge's scores; rerun the same command to ask again", o.incomplete));
    }
    Ok(if st.dropped == 0 && o.incomplete == 0 { ExitStatus::Success } else { ExitStatus::Problems })
}
