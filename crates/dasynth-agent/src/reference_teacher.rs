//! The reference teacher: an offline teacher that needs no API. For a template task it writes a
//! DeepAnalyze trajectory around the template's reference solution, the way an analyst works:
//!
//! 1. a plan, then a first cell that loads the files and looks at them (shape, the types and
//!    missing values of the columns the task is about, a few rows);
//! 2. an `<Understand>` that states what that output showed, with its numbers;
//! 3. the solution's cells, each introduced by what the previous output said, the last one
//!    printing the result;
//! 4. where it fits, a sanity check of the result (its range against the column's, a count
//!    against the rows, the size of a table, that a chart file exists);
//! 5. an `<Answer>` that states the result and what the check found.
//!
//! A share of trajectories (`reference-mistakes`, 15% by default) makes a realistic mistake
//! that the next output exposes — a column name with the wrong letter case, a date column left
//! unparsed, a text column averaged — and fixes it. Wording is drawn per trajectory from pools of
//! alternatives (the `phrases` module). Every number the text states is taken from a cell's real output
//! in the sandbox (facts are read by hidden cells that change nothing, and a number is only
//! written when the visible output shows it), so verify can prove each claim.

mod phrases;
mod scene;
pub mod shape;
mod write;

use crate::format::{self, SYSTEM_PROMPT};
use crate::reference::task_session;
use dasynth_core::layout::RunDir;
use dasynth_core::trajectory::{CellOutcome, Finish, Trajectory};
use dasynth_sandbox::{CellResult, SessionPool, Status};
use dasynth_tasks::checker::CheckerSpec;
use dasynth_tasks::spec::AnswerType;
use dasynth_tasks::task::{Task, TaskExt};
use serde_json::Value;
use std::time::Instant;

/// The teacher's name in trajectories.
pub const REFERENCE: &str = "reference";

/// Options of the agent loop shared by every teacher.
#[derive(Debug, Clone)]
pub struct LoopLimits {
    /// Most assistant turns.
    pub max_turns: usize,
    /// Most bytes of cell output shown in `<Execute>`.
    pub execute_bytes: usize,
    /// Share of reference trajectories that make a mistake and recover from it.
    pub mistakes: f64,
}

/// The default share of reference trajectories with a mistake and its fix.
pub const DEFAULT_MISTAKES: f64 = 0.15;

impl Default for LoopLimits {
    fn default() -> Self {
        Self { max_turns: 30, execute_bytes: 4096, mistakes: DEFAULT_MISTAKES }
    }
}

pub fn cell_outcome(r: &CellResult) -> CellOutcome {
    CellOutcome {
        status: r.status.name(),
        duration_ms: r.duration.as_secs_f64() * 1000.0,
        truncated: r.truncated,
        stdout_bytes: r.stdout.len() as u64,
        stderr_bytes: r.stderr.len() as u64,
    }
}

/// The `<Execute>` text for a cell result.
pub fn execute_text(r: &CellResult, max_bytes: usize) -> String {
    let error = match r.status {
        Status::Ok => None,
        Status::Error | Status::Memory => Some(r.stderr.clone()),
        other => Some(format!("{}\n{}", r.stderr.trim(), other.name())),
    };
    format::execute_message(&r.stdout, error.as_deref(), max_bytes)
}

fn number_text(x: &Value) -> String {
    match x.as_f64() {
        Some(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
        Some(f) => format!("{f}"),
        None => scalar(x),
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "missing".into(),
        Value::Number(_) => number_text(v),
        other => other.to_string(),
    }
}

/// A table cell: fractions to six decimals at most, as pandas prints a frame (the value
/// itself is checked, not this text).
fn table_cell(v: &Value) -> String {
    match v.as_f64() {
        Some(f) if v.is_f64() && f.fract() != 0.0 && f.is_finite() => {
            let t = format!("{f:.6}");
            t.trim_end_matches('0').trim_end_matches('.').to_string()
        }
        _ => scalar(v),
    }
}

/// A table as markdown, its first `max_rows` rows (the rest is not mentioned: its count is
/// a number no output may have shown).
fn markdown_table(v: &Value, max_rows: usize) -> String {
    let cols: Vec<String> = v.get("columns").and_then(Value::as_array).map(|c| c.iter().map(scalar).collect()).unwrap_or_default();
    let rows = v.get("rows").and_then(Value::as_array).cloned().unwrap_or_default();
    let mut out = format!("| {} |\n|{}|\n", cols.join(" | "), vec!["---"; cols.len().max(1)].join("|"));
    for r in rows.iter().take(max_rows) {
        let cells: Vec<String> = r.as_array().map(|c| c.iter().map(table_cell).collect()).unwrap_or_default();
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    if rows.len() > max_rows {
        out.push_str("| … |\n");
    }
    out
}

/// Rows of a table answer written out in full.
pub(crate) const TABLE_ROWS: usize = 10;

/// The data file written beside a chart: `outputs/counts.png` → `outputs/counts.csv`.
pub(crate) fn data_file(chart: &str) -> String {
    let stem = chart.rsplit_once('.').map_or(chart, |(s, _)| s);
    format!("{stem}.csv")
}

/// The `<Answer>` text for a structured answer.
pub fn render_answer(spec: &CheckerSpec, answer: &Value, files: &[String]) -> String {
    match spec.answer_type {
        AnswerType::Number | AnswerType::Integer => number_text(answer),
        AnswerType::String => scalar(answer),
        AnswerType::Set | AnswerType::List => {
            answer.as_array().map(|a| a.iter().map(scalar).collect::<Vec<_>>().join(", ")).unwrap_or_default()
        }
        AnswerType::Table => markdown_table(answer, TABLE_ROWS),
        AnswerType::File => {
            let file = spec.file.clone().unwrap_or_default();
            let saved = files.iter().find(|f| f.ends_with(&file)).cloned().unwrap_or(file);
            let data = data_file(&format!("outputs/{saved}"));
            format!("The chart is saved as `outputs/{saved}`, its data as `{data}`:\n\n{}", markdown_table(answer, TABLE_ROWS))
        }
        AnswerType::Report => scalar(answer),
        AnswerType::Metric => format!("{}: {}", spec.metric.as_deref().unwrap_or("score"), number_text(answer)),
    }
}

/// Writes a trajectory for a task from its reference solution.
pub fn reference_trajectory(pool: &SessionPool, run: &RunDir, task: &Task, sample: u32, limits: &LoopLimits) -> Trajectory {
    let started = Instant::now();
    let mut t = Trajectory::start(task, REFERENCE, REFERENCE, sample, SYSTEM_PROMPT);
    t.finish = Finish::SandboxError;
    let Some(spec) = task.checker_spec() else {
        t.finish_detail = "the task has no checker".into();
        return t;
    };
    let (mut session, outputs, _data) = match task_session(pool, run, task, task.seed.wrapping_add(sample as u64)) {
        Ok(s) => s,
        Err(e) => {
            t.finish_detail = format!("{e}");
            return t;
        }
    };
    let scene = scene::Scene::new(run, task);
    let mut w = write::Writer::new(&mut session, &mut t, started, limits);
    write::write(&mut w, &scene, task, &spec, sample, outputs.path());
    t.wall_ms = started.elapsed().as_secs_f64() * 1000.0;
    t
}
