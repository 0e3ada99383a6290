//! Reference solutions in the sandbox, and the cross-check of their answers.

use dasynth_core::layout::RunDir;
use dasynth_sandbox::{CellResult, Mounts, Session, SessionOptions, SessionPool, Status};
use dasynth_tasks::checker::{self, Verdict};
use dasynth_tasks::task::{Task, TaskExt, stage_workspace};
use serde_json::Value;
use std::path::PathBuf;

/// The line prefix the answer cell prints before the JSON answer.
pub const ANSWER_MARK: &str = "<<dasynth-answer>>";

/// A cell that prints `answer` as JSON: pandas frames become `{columns, rows}`, series and arrays
/// lists, numpy scalars Python numbers, NaN and NaT null, timestamps ISO text.
pub fn answer_cell(var: &str) -> String {
    format!(
        r#"def __dasynth_json(x):
    import math, datetime, json
    import numpy as np, pandas as pd
    if isinstance(x, pd.DataFrame):
        return {{"columns": [str(c) for c in x.columns], "rows": [[__dasynth_json(v) for v in r] for r in x.itertuples(index=False, name=None)]}}
    if isinstance(x, (pd.Series, pd.Index)):
        return [__dasynth_json(v) for v in x.tolist()]
    if isinstance(x, np.ndarray):
        return [__dasynth_json(v) for v in x.tolist()]
    if isinstance(x, (list, tuple, set, frozenset)):
        return [__dasynth_json(v) for v in x]
    if isinstance(x, dict):
        return {{str(k): __dasynth_json(v) for k, v in x.items()}}
    if x is None or x is pd.NaT or (x is pd.NA):
        return None
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return None if math.isnan(float(x)) or math.isinf(float(x)) else float(x)
    if isinstance(x, (pd.Timestamp, datetime.datetime, datetime.date)):
        return x.isoformat()
    return str(x)
import json as __dasynth_j
print("{ANSWER_MARK}" + __dasynth_j.dumps(__dasynth_json({var})))
"#
    )
}

/// Finds the JSON answer in the answer cell's output.
pub fn parse_answer(stdout: &str) -> Option<Value> {
    let line = stdout.lines().rev().find(|l| l.starts_with(ANSWER_MARK))?;
    serde_json::from_str(&line[ANSWER_MARK.len()..]).ok()
}

/// What a reference solution did.
#[derive(Debug, Clone)]
pub struct ReferenceRun {
    pub task_id: String,
    /// Results of the solution's cells, in order.
    pub cells: Vec<CellResult>,
    /// The answer as JSON (none when a cell failed or `answer` was never set).
    pub answer: Option<Value>,
    /// Files the solution wrote under `outputs/`.
    pub files: Vec<String>,
    /// The answer against the ground truth.
    pub verdict: Verdict,
}

/// Why a reference solution could not even start.
#[derive(Debug, thiserror::Error)]
pub enum ReferenceError {
    #[error("task {task}: cannot stage its files")]
    Stage {
        task: String,
        #[source]
        source: std::io::Error,
    },
    #[error("task {task}: cannot start a sandbox session")]
    Session {
        task: String,
        #[source]
        source: dasynth_sandbox::SandboxError,
    },
    #[error("task {task}: the task has no checker spec")]
    NoChecker { task: String },
}

/// A fresh session for a task: its files at `/data`, a writable `outputs/` folder.
pub fn task_session(
    pool: &SessionPool,
    run: &RunDir,
    task: &Task,
    seed: u64,
) -> Result<(Session, tempfile::TempDir, PathBuf), ReferenceError> {
    let data = stage_workspace(run, task).map_err(|source| ReferenceError::Stage { task: task.id.clone(), source })?;
    let outputs = tempfile::tempdir().map_err(|source| ReferenceError::Stage { task: task.id.clone(), source })?;
    let mounts = Mounts { data: Some(data.clone()), extra: Vec::new(), outputs: Some(outputs.path().to_path_buf()) };
    let session = pool
        .session(&mounts, SessionOptions { seed, ..Default::default() })
        .map_err(|source| ReferenceError::Session { task: task.id.clone(), source })?;
    Ok((session, outputs, data))
}

/// Names of the files in an outputs folder (relative, sorted): a bounded walk that follows no
/// link the guest made (see [`dasynth_sandbox::list_files`]).
pub fn output_files(dir: &std::path::Path) -> Vec<String> {
    dasynth_sandbox::list_files(dir, dasynth_sandbox::Bound::default())
}

/// Runs a task's reference solution and checks its answer.
pub fn run_reference(pool: &SessionPool, run: &RunDir, task: &Task) -> Result<ReferenceRun, ReferenceError> {
    let spec = task.checker_spec().ok_or_else(|| ReferenceError::NoChecker { task: task.id.clone() })?;
    let (mut session, outputs, _data) = task_session(pool, run, task, task.seed)?;
    let mut cells = Vec::new();
    let mut failed = None;
    for (i, code) in task.solution_cells().iter().enumerate() {
        let r = session.run(code);
        if r.status != Status::Ok {
            failed = Some(format!("cell {} ended {:?}: {}", i + 1, r.status, tail(&r.stderr, 800)));
        }
        cells.push(r);
        if failed.is_some() {
            break;
        }
    }
    let mut answer = None;
    if failed.is_none() {
        let r = session.run(&answer_cell("answer"));
        answer = parse_answer(&r.stdout);
        if answer.is_none() {
            failed = Some(format!("no answer: {}", tail(&r.stderr, 800)));
        }
    }
    let files = output_files(outputs.path());
    let verdict = match (&failed, &answer) {
        (Some(reason), _) => Verdict { passed: false, reason: reason.clone() },
        (None, Some(a)) => checker::check_value(&spec, &task.ground_truth_value(), a, &files),
        (None, None) => Verdict { passed: false, reason: "no answer".into() },
    };
    Ok(ReferenceRun { task_id: task.id.clone(), cells, answer, files, verdict })
}

fn tail(s: &str, n: usize) -> String {
    let s = s.trim();
    if s.len() <= n {
        return s.to_string();
    }
    let mut start = s.len() - n;
    while !s.is_char_boundary(start) {
        start += 1;
    }
    format!("…{}", &s[start..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answer_line_is_found_after_other_output() {
        let out = format!("hello\n{ANSWER_MARK}{{\"a\": 1}}\n");
        assert_eq!(parse_answer(&out), Some(serde_json::json!({"a": 1})));
        assert_eq!(parse_answer("nothing"), None);
    }
}
