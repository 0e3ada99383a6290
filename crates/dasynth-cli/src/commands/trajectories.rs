//! `dasynth trajectories`: tasks.parquet → trajectories/*.jsonl with the configured teachers.

use crate::ExitStatus;
use crate::printer::{self, Progress};
use dasynth_core::config::Settings;
use dasynth_core::layout::RunDir;

/// Writes trajectories for the run folder's tasks; shared with `generate`.
pub fn trajectories(s: &Settings) -> anyhow::Result<ExitStatus> {
    let outcome = dasynth_agent::trajectories::run_stage(s, &Progress::new())?;
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
        RunDir::new(&s.out).trajectories_dir().display(),
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
