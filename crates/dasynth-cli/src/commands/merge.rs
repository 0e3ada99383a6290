//! `dasynth merge [DIR]`: every shard completed? Then one run folder as export and report read it.

use crate::ExitStatus;
use crate::printer;
use dasynth_core::config::Settings;
use dasynth_core::layout::{RunDir, Stage};
use dasynth_core::lock::RunLock;

/// `dasynth merge [DIR]`, holding the run folder's lock (no shard may still be writing).
pub fn run(s: &Settings, wait: bool) -> anyhow::Result<ExitStatus> {
    let _lock = RunLock::acquire(&RunDir::new(&s.out), wait)?;
    merge(s)
}

/// Refuses a run with a missing, unfinished or doubled shard; otherwise adds up the shards'
/// trajectory counters into `stats/trajectories.json` and runs the unsharded verify, which takes
/// every shard's verdicts over unchanged and decides near duplicates across the whole run, into
/// `verdicts.parquet` and `stats/verify.json`. The shards' trajectory files stay where they are:
/// every reader of `trajectories/` reads all of its files.
pub fn merge(s: &Settings) -> anyhow::Result<ExitStatus> {
    let run = RunDir::new(&s.out);
    let plan = dasynth_scale::merge::check(&run)?;
    dasynth_scale::merge::sum_stats(&run, Stage::Trajectories, plan.count)?;
    let trajectories: u64 = plan.stages.get(&Stage::Trajectories).map_or(0, |m| m.iter().map(|m| m.items).sum());
    let ran: Vec<&str> = plan.stages.keys().map(|s| s.name()).collect();
    printer::note(format!(
        "merge: all {} shards of {} completed ({}), {trajectories} trajectories",
        plan.count,
        run.root().display(),
        ran.join(", ")
    ));
    super::verify::verify(s, None)
}
