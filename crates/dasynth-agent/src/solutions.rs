//! `tasks --check-solutions`: every task's reference solution run in the sandbox and checked
//! against the ground truth polars computed, written to `stats/solutions.json`.

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
    pub failures: Vec<SolutionFailure>,
    pub passed: u64,
}

/// Runs every task's reference solution (on rayon's pool, one sandbox session each) and writes
/// `stats/solutions.json`.
pub fn check_solutions(
    run: &RunDir,
    tasks: &[Task],
    pool: &SessionPool,
    reporter: &dyn Reporter,
) -> Result<SolutionStats, dasynth_core::atomic::PathError> {
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
                stats.failures.push(f);
            }
        }
    }
    stats.passed = stats.by_family.values().map(|g| g.passed).sum();
    dasynth_core::atomic::write_json_atomic(&run.stats(Stage::Solutions), &stats)?;
    Ok(stats)
}
