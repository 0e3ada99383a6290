//! Replay: a trajectory's code cells run again, in order, in a fresh sandbox session over the
//! task's workspace, seeded as the agent loop seeded it; each replayed `<Execute>` is rendered
//! exactly as the loop rendered it and compared with the record ([`crate::normalise`]).
//!
//! One replay decides most trajectories: when every cell matches, the record is `consistent`.
//! When a cell fails in the replay (an error, the cell timeout, the memory cap, a crash) where
//! the record did not, the trajectory is `broken` with that status. Any other disagreement
//! costs a second replay: if the two replays disagree with each other the cells are
//! `nondeterministic` (the record can be neither proved nor disproved); if they agree, the
//! recorded output cannot be produced by its code and the trajectory is `hallucinated`.

use crate::normalise::{self, execute_body};
use dasynth_agent::reference::{output_files, task_session};
use dasynth_agent::reference_teacher::{REFERENCE, execute_text};
use dasynth_core::layout::RunDir;
use dasynth_core::trajectory::Trajectory;
use dasynth_core::verdict::{CellMismatch, ReplayClass};
use dasynth_sandbox::{CellResult, Limits, SessionPool, Status};
use dasynth_tasks::task::Task;
use std::sync::Arc;
use std::time::Duration;
use tempfile::TempDir;

/// Bytes kept of each side of a mismatch, and of its diff.
const MISMATCH_BYTES: usize = 4096;
const DIFF_BYTES: usize = 2048;

/// A code cell as the trajectory recorded it.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedCell {
    pub code: String,
    /// The recorded `<Execute>` message.
    pub execute: String,
    /// The recorded status (`ok`, `error`, ...; `unknown` when the record has no cell outcome).
    pub status: String,
}

/// The cells of a trajectory: every assistant turn followed by an `execute` message.
pub fn recorded_cells(t: &Trajectory) -> Vec<RecordedCell> {
    let mut out = Vec::new();
    let mut turn = 0usize;
    for (i, m) in t.messages.iter().enumerate() {
        if m.role != "assistant" {
            continue;
        }
        if let Some(next) = t.messages.get(i + 1).filter(|n| n.role == "execute") {
            let status = t.turns.get(turn).and_then(|x| x.cell.as_ref()).map_or_else(|| "unknown".to_string(), |c| c.status.clone());
            let code = dasynth_agent::format::turn_code(&m.content).unwrap_or_default();
            out.push(RecordedCell { code, execute: next.content.clone(), status });
        }
        turn += 1;
    }
    out
}

/// The seed the agent loop gave a trajectory's session.
pub fn session_seed(task: &Task, teacher: &str, sample: u32) -> u64 {
    if teacher == REFERENCE {
        // `reference_teacher::reference_trajectory` seeds with the task's seed plus the sample.
        task.seed.wrapping_add(sample as u64)
    } else {
        dasynth_agent::llm_teacher::session_seed(task, sample)
    }
}

/// How a replay runs.
#[derive(Debug, Clone)]
pub struct ReplayOptions {
    pub cell_timeout: Duration,
    /// Relative tolerance of numbers in compared outputs.
    pub tolerance: f64,
}

/// What a replay found.
#[derive(Debug, Clone)]
pub struct Replay {
    pub class: ReplayClass,
    pub cells: u32,
    pub matched: u32,
    pub mismatches: Vec<CellMismatch>,
    /// Files the record lists under `outputs/` that the replay did not write.
    pub missing_outputs: Vec<String>,
    /// The replayed `<Execute>` bodies, uncut (the evidence for grounding).
    pub outputs: Vec<String>,
    /// Files the replay wrote under `outputs/`.
    pub files: Vec<String>,
    /// Where the first replay wrote them, kept until the verdict is made (the answer check reads
    /// tables and chart data from them).
    pub outputs_dir: Option<Arc<TempDir>>,
    /// Why the replay is broken, when it is.
    pub detail: String,
    /// Cells run, both replays together.
    pub cells_run: u64,
}

impl Replay {
    fn not_replayed(detail: &str) -> Self {
        Replay {
            class: ReplayClass::NotReplayed,
            cells: 0,
            matched: 0,
            mismatches: Vec::new(),
            missing_outputs: Vec::new(),
            outputs: Vec::new(),
            files: Vec::new(),
            outputs_dir: None,
            detail: detail.to_string(),
            cells_run: 0,
        }
    }
}

/// One run of the cells: their results and the files written under `outputs/`.
fn run_once(
    pool: &SessionPool,
    run: &RunDir,
    task: &Task,
    seed: u64,
    cells: &[RecordedCell],
    o: &ReplayOptions,
) -> Result<(Vec<CellResult>, Vec<String>, TempDir), String> {
    let (mut session, outputs, _data) = task_session(pool, run, task, seed).map_err(|e| {
        let mut s = e.to_string();
        let mut src = std::error::Error::source(&e);
        while let Some(c) = src {
            s.push_str(": ");
            s.push_str(&c.to_string());
            src = c.source();
        }
        s
    })?;
    *session.limits_mut() = Limits { timeout: o.cell_timeout, ..Limits::default() };
    let results = cells.iter().map(|c| session.run(&c.code)).collect();
    let files = output_files(outputs.path());
    Ok((results, files, outputs))
}

/// The `<Execute>` body of a replayed cell, uncut.
fn body(r: &CellResult) -> String {
    execute_body(&execute_text(r, usize::MAX)).to_string()
}

/// Whether a recorded cell ran cleanly.
fn recorded_ok(c: &RecordedCell) -> bool {
    match c.status.as_str() {
        "unknown" => !c.execute.contains("[Error]:"),
        s => s == "ok",
    }
}

/// Replays a trajectory's cells and classifies the record.
pub fn replay(pool: &SessionPool, run: &RunDir, task: &Task, t: &Trajectory, o: &ReplayOptions) -> Replay {
    let cells = recorded_cells(t);
    if cells.is_empty() {
        return Replay::not_replayed("the trajectory ran no code");
    }
    let seed = session_seed(task, &t.teacher, t.sample);
    let n = cells.len() as u32;
    let (first, files, outputs_dir) = match run_once(pool, run, task, seed, &cells, o) {
        Ok(v) => v,
        Err(detail) => return Replay { class: ReplayClass::Broken, cells: n, detail, ..Replay::not_replayed("") },
    };
    let outputs: Vec<String> = first.iter().map(body).collect();
    let mut mismatches = Vec::new();
    let mut broken = None;
    for (i, (c, r)) in cells.iter().zip(&first).enumerate() {
        let recorded = execute_body(&c.execute);
        if normalise::matches(recorded, &outputs[i], o.tolerance) {
            continue;
        }
        if broken.is_none() && recorded_ok(c) && r.status != Status::Ok {
            broken = Some(format!(
                "cell {} ended {} in the replay: {}",
                i + 1,
                r.status.name(),
                dasynth_agent::format::short_traceback(&r.stderr)
            ));
        }
        let (rec, rep) = (normalise::normalise(recorded), normalise::normalise(&outputs[i]));
        mismatches.push(CellMismatch {
            cell: i as u32 + 1,
            recorded_status: c.status.clone(),
            replayed_status: r.status.name(),
            diff: normalise::diff(&rec, &rep, DIFF_BYTES),
            recorded: normalise::cut(&rec, MISMATCH_BYTES),
            replayed: normalise::cut(&rep, MISMATCH_BYTES),
        });
    }
    let missing_outputs: Vec<String> = t.outputs.iter().filter(|f| !files.contains(f)).cloned().collect();
    let mut cells_run = first.len() as u64;
    let class = if mismatches.is_empty() {
        ReplayClass::Consistent
    } else if broken.is_some() {
        ReplayClass::Broken
    } else {
        match run_once(pool, run, task, seed, &cells, o) {
            Ok((second, ..)) => {
                cells_run += second.len() as u64;
                let agree = second
                    .iter()
                    .zip(&outputs)
                    .all(|(r, first)| normalise::same_text(&normalise::normalise(&body(r)), &normalise::normalise(first), o.tolerance));
                if agree { ReplayClass::Hallucinated } else { ReplayClass::Nondeterministic }
            }
            Err(detail) => {
                broken = Some(format!("the second replay could not start: {detail}"));
                ReplayClass::Broken
            }
        }
    };
    Replay {
        class,
        cells: n,
        matched: n - mismatches.len() as u32,
        mismatches,
        missing_outputs,
        outputs,
        files,
        outputs_dir: Some(Arc::new(outputs_dir)),
        detail: broken.unwrap_or_default(),
        cells_run,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dasynth_core::trajectory::{CellOutcome, Finish, Message, Turn};

    fn turn(status: Option<&str>) -> Turn {
        Turn {
            started_ms: 0.0,
            generate_ms: 0.0,
            input_tokens: 0,
            output_tokens: 0,
            cached: false,
            cost_usd: 0.0,
            cell: status.map(|s| CellOutcome { status: s.into(), duration_ms: 0.0, truncated: false, stdout_bytes: 0, stderr_bytes: 0 }),
            format_error: None,
        }
    }

    #[test]
    fn cells_pair_code_turns_with_their_execute_messages() {
        let t = Trajectory {
            key: "k".into(),
            task_id: "t".into(),
            family: "f".into(),
            teacher: "x".into(),
            model: "m".into(),
            sample: 0,
            messages: vec![
                Message::new("system", "s"),
                Message::new("user", "u"),
                Message::new("assistant", "<Analyze>a</Analyze><Code>\n```python\nprint(1)\n```\n</Code>"),
                Message::new("execute", "<Execute>\n1\n</Execute>"),
                Message::new("assistant", "<Analyze>b</Analyze><Code>\n```python\n1/0\n```\n</Code>"),
                Message::new("execute", "<Execute>\n[Error]:\nZeroDivisionError\n</Execute>"),
                Message::new("assistant", "<Answer>1</Answer>"),
            ],
            turns: vec![turn(Some("ok")), turn(None), turn(None)],
            answer: Some("1".into()),
            finish: Finish::Answer,
            finish_detail: String::new(),
            outputs: vec![],
            passed: None,
            check_detail: String::new(),
            input_tokens: 0,
            output_tokens: 0,
            cost_usd: 0.0,
            wall_ms: 0.0,
            inspection: None,
        };
        let cells = recorded_cells(&t);
        assert_eq!(cells.len(), 2);
        assert_eq!((cells[0].code.as_str(), cells[0].status.as_str()), ("print(1)\n", "ok"));
        assert_eq!(cells[1].status, "unknown");
        assert!(recorded_ok(&cells[0]) && !recorded_ok(&cells[1]));
    }
}
