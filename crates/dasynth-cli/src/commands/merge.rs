//! `dasynth merge [DIR]`: every shard completed? Then one run folder as export and report read it.

use crate::ExitStatus;
use crate::printer::{self, Progress};
use dasynth_core::config::Settings;
use dasynth_core::layout::{RunDir, Stage};
use dasynth_core::lock::RunLock;

/// `dasynth merge [DIR]`, holding the run folder's lock (no shard may still be writing).
pub fn run(s: &Settings, wait: bool) -> anyhow::Result<ExitStatus> {
    let _lock = RunLock::acquire(&RunDir::new(&s.out), wait)?;
    merge(s)
}

/// Refuses a run with a missing, unfinished or doubled shard. For the teachers' stages it adds
/// up the shards' trajectory counters into `stats/trajectories.json` and runs the unsharded
/// verify, which takes every shard's verdicts over unchanged and decides near duplicates across
/// the whole run, into `verdicts.parquet` and `stats/verify.json`; for the student's sampling
/// it joins the shards' pass rates, verdicts and counters (`dasynth_sample::merge_shards`).
/// The shards' trajectory files stay where they are: every reader of a trajectory folder reads
/// all of its files.
pub fn merge(s: &Settings) -> anyhow::Result<ExitStatus> {
    let run = RunDir::new(&s.out);
    let plan = dasynth_scale::merge::check(&run)?;
    let mut status = ExitStatus::Success;
    // A run whose teachers' stages ran sharded (trajectories, or verify alone).
    if let Some(count) = plan.count(Stage::Trajectories).or(plan.count(Stage::Verify)) {
        let ran: Vec<&str> = plan.stages.keys().filter(|s| **s != Stage::Sample).map(|s| s.name()).collect();
        printer::note(format!(
            "merge: all {count} shards of {} completed ({}), {} trajectories",
            run.root().display(),
            ran.join(", "),
            plan.items(Stage::Trajectories)
        ));
        if plan.count(Stage::Trajectories).is_some() {
            dasynth_scale::merge::sum_stats(&run, Stage::Trajectories, count)?;
        }
        status = super::verify::verify(s, &run, None)?;
    }
    if let Some(count) = plan.count(Stage::Sample) {
        printer::note(format!("merge: all {count} sample shards of {} completed", run.root().display()));
        let st = dasynth_sample::merge_shards(s, count, &Progress::new())?;
        super::sample::print_pass_rates(&st, &run.pass_rates());
    }
    Ok(status)
}
