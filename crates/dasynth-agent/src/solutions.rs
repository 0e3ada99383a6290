//! `tasks --check-solutions`: every task's reference solution run in the sandbox and checked
//! against the ground truth polars computed, written to `stats/solutions.json`. A task whose
//! solution disagrees is dropped from `tasks.parquet` with a counted reason, so a run never holds
//! a task its own solution fails.

use crate::reference::run_reference;
use dasynth_core::layout::{RunDir, Stage};
use dasynth_core::reporter::Reporter;
use dasynth_core::task::Task;
use dasynth_sandbox::SessionPool;
use rayon::prelude::*;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Reference solutions that agreed and disagreed, in one group.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PassFail {
    pub failed: u64,
    pub passed: u64,
}

/// A task whose reference solution disagrees with its ground truth (or could not run).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SolutionFailure {
    /// The answer the solution computed, when it computed one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<serde_json::Value>,
    pub reason: String,
    pub task: String,
    pub template: String,
}

/// `stats/solutions.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SolutionStats {
    pub by_family: BTreeMap<String, PassFail>,
    pub checked: u64,
    /// Tasks dropped from `tasks.parquet` because their solution failed them, by reason:
    /// `solution_disagrees` (an answer unlike the ground truth), `solution_error` (a cell failed
    /// or no answer was left), `below_baseline` (a model that does not beat the baseline the
    /// task asks it to beat: the data allows no solvable task).
    #[serde(default)]
    pub dropped_by_reason: BTreeMap<String, u64>,
    pub failures: Vec<SolutionFailure>,
    pub passed: u64,
}

impl SolutionStats {
    /// Disagreements that point at a bug (in a template's SQL or solution, or a reader), as
    /// opposed to data on which a modeling task is not solvable.
    pub fn bugs(&self) -> u64 {
        self.dropped_by_reason.iter().filter(|(r, _)| r.as_str() != BELOW_BASELINE).map(|(_, n)| n).sum()
    }
}

/// The drop reason of a model that does not beat its baseline.
pub const BELOW_BASELINE: &str = "below_baseline";

/// Why a failed solution's task is dropped.
fn drop_reason(failure: &SolutionFailure) -> &'static str {
    if failure.reason.contains("does not beat the baseline") {
        BELOW_BASELINE
    } else if failure.answer.as_ref().is_none_or(serde_json::Value::is_null) {
        "solution_error"
    } else {
        "solution_disagrees"
    }
}

/// Why the checked tasks cannot be written back.
#[derive(Debug, thiserror::Error)]
pub enum SolutionsError {
    #[error(transparent)]
    Write(#[from] dasynth_core::atomic::PathError),
    #[error(transparent)]
    Rows(#[from] dasynth_parquet::RowsError),
}

/// Runs every task's reference solution (on rayon's pool, one sandbox session each), writes
/// `stats/solutions.json`, and rewrites `tasks.parquet` (and the counts in `stats/tasks.json`)
/// without the tasks whose solution failed.
pub fn check_solutions(run: &RunDir, tasks: &[Task], pool: &SessionPool, reporter: &dyn Reporter) -> Result<SolutionStats, SolutionsError> {
    reporter.start("solutions", tasks.len() as u64);
    let results: Vec<_> = tasks
        .par_iter()
        .with_max_len(1)
        .map(|t| {
            let r = run_reference(pool, run, t);
            reporter.item(&t.template);
            r
        })
        .collect();
    reporter.finish();
    let mut stats = SolutionStats { checked: results.len() as u64, ..Default::default() };
    for (t, r) in tasks.iter().zip(results) {
        let group = stats.by_family.entry(t.family.clone()).or_default();
        let failure = match r {
            Ok(run) if run.verdict.passed => None,
            Ok(run) => Some(SolutionFailure {
                answer: run.answer.or(Some(serde_json::Value::Null)),
                reason: run.verdict.reason,
                task: t.id.clone(),
                template: t.template.clone(),
            }),
            Err(e) => Some(SolutionFailure { answer: None, reason: format!("{e}"), task: t.id.clone(), template: t.template.clone() }),
        };
        match failure {
            None => group.passed += 1,
            Some(f) => {
                group.failed += 1;
                *stats.dropped_by_reason.entry(drop_reason(&f).to_string()).or_default() += 1;
                stats.failures.push(f);
            }
        }
    }
    stats.passed = stats.by_family.values().map(|g| g.passed).sum();
    if !stats.failures.is_empty() {
        drop_failed(run, tasks, &stats)?;
    }
    dasynth_core::atomic::write_json_atomic(&run.stats(Stage::Solutions), &stats)?;
    Ok(stats)
}

/// Rewrites `tasks.parquet` without the failed tasks and counts them in `stats/tasks.json`.
fn drop_failed(run: &RunDir, tasks: &[Task], stats: &SolutionStats) -> Result<(), SolutionsError> {
    let failed: BTreeMap<&str, &'static str> = stats.failures.iter().map(|f| (f.task.as_str(), drop_reason(f))).collect();
    let kept: Vec<Task> = tasks.iter().filter(|t| !failed.contains_key(t.id.as_str())).cloned().collect();
    dasynth_parquet::write_rows(&run.tasks(), &kept, dasynth_tasks::task::schema())?;
    let path = run.stats(Stage::Tasks);
    let Some(mut task_stats) = std::fs::read(&path).ok().and_then(|b| serde_json::from_slice::<dasynth_tasks::TaskStats>(&b).ok()) else {
        return Ok(());
    };
    for t in tasks.iter().filter(|t| failed.contains_key(t.id.as_str())) {
        task_stats.stage.kept = task_stats.stage.kept.saturating_sub(1);
        task_stats.stage.drop_for(failed[t.id.as_str()]);
        for (map, key) in
            [(&mut task_stats.by_family, &t.family), (&mut task_stats.by_template, &t.template), (&mut task_stats.by_source, &t.source)]
        {
            if let Some(n) = map.get_mut(key) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    map.remove(key);
                }
            }
        }
    }
    dasynth_core::atomic::write_json_atomic(&path, &task_stats)?;
    Ok(())
}
