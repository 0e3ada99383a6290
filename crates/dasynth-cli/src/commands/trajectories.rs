//! `dasynth trajectories`: tasks.parquet → trajectories/*.jsonl with the configured teachers.

use crate::ExitStatus;
use crate::cli::ShardFlags;
use crate::printer::{self, Progress};
use dasynth_core::config::Settings;
use dasynth_core::layout::{RunDir, Stage};
use dasynth_core::lock::RunLock;
use dasynth_core::shard::Shard;
use dasynth_scale::claim::ShardRun;

/// `dasynth trajectories [DIR] [--shard I/N [--shared-limiter]]`, holding the run folder's lock
/// (its shard's with `--shard`) while it writes.
pub fn run(s: &Settings, flags: &ShardFlags, wait: bool) -> anyhow::Result<ExitStatus> {
    let run = RunDir::new(&s.out);
    match flags.shard.as_deref().map(Shard::parse).transpose()? {
        Some(shard) => {
            let _lock = RunLock::acquire_shard(&run, shard, wait)?;
            let s = dasynth_scale::limits::for_shard(s.clone(), shard, super::generate::sharing(flags));
            trajectories_shard(&s, Some(shard))
        }
        None => {
            let _lock = RunLock::acquire(&run, wait)?;
            trajectories(s)
        }
    }
}

/// Writes trajectories for the run folder's tasks; shared with `generate`, which holds the lock.
pub fn trajectories(s: &Settings) -> anyhow::Result<ExitStatus> {
    trajectories_shard(s, None)
}

/// Writes trajectories for one shard's tasks between the shard's claim and its completion
/// marker (written only when the stage did not stop early).
pub fn trajectories_shard(s: &Settings, shard: Option<Shard>) -> anyhow::Result<ExitStatus> {
    let run = RunDir::new(&s.out);
    let claim = shard.map(|sh| ShardRun::claim(&run, Stage::Trajectories, sh)).transpose()?;
    let outcome = dasynth_agent::trajectories::run_shard(s, shard, &Progress::new())?;
    if let Some(claim) = claim.filter(|_| outcome.stats.stopped.is_none()) {
        let sh = claim.shard();
        claim.complete(
            outcome.stats.written + outcome.stats.reused,
            &[run.trajectories_shard(sh).as_path(), run.stats_shard(Stage::Trajectories, sh).as_path()],
        )?;
    }
    if let Some(q) = outcome.questions.as_ref().filter(|q| !q.reused) {
        for e in &q.errors {
            printer::note(format!("  questioner: {e}"));
        }
        match &q.saved {
            Some(path) => printer::note(format!("questions: {} open task(s) from {} in {}", q.tasks, q.questioner, path.display())),
            None => printer::note(format!(
                "questions: {} open task(s) from {}; not saved, so the next run asks again for the failed ones",
                q.tasks, q.questioner
            )),
        }
    }
    let stats = &outcome.stats;
    let finishes: Vec<String> = stats.by_finish.iter().map(|(k, v)| format!("{k} {v}")).collect();
    printer::note(format!(
        "trajectories: {} written to {}, {} kept from an earlier run, {} passed the answer check, {} failed it ({}), {:.1}s",
        stats.written,
        shard.map_or_else(|| run.trajectories_dir(), |sh| run.trajectories_shard(sh)).display(),
        stats.reused,
        stats.passed,
        stats.failed_check,
        finishes.join(", "),
        stats.seconds
    ));
    if let Some(snap) = &outcome.spend {
        printer::note(format!(
            "  spend: ${:.4}, {} tokens, {} requests ({} input / {} output tokens in these trajectories, {} cached turns)",
            snap.spent_usd, snap.tokens, snap.requests, stats.input_tokens, stats.output_tokens, stats.cached_turns
        ));
    }
    if let Some(why) = &stats.stopped {
        printer::note(format!("  stopped early: {why}\n  hint: finished trajectories are kept; rerun the same command to continue"));
        return Ok(ExitStatus::Problems);
    }
    Ok(if stats.failed_check == 0 && stats.by_finish.keys().all(|k| k == "answer") { ExitStatus::Success } else { ExitStatus::Problems })
}
