//! The reference teacher: an offline teacher that needs no API. For a template task it writes a
//! DeepAnalyze trajectory from the template's reference solution — a plan, one `<Code>` turn
//! per solution cell, the real sandbox output of each cell as `<Execute>`, and a final
//! `<Answer>` rendered from the value the solution computed — so a fresh clone produces real
//! training data with no key and no network.

use crate::format::{self, SYSTEM_PROMPT};
use crate::reference::{ANSWER_MARK, answer_cell, output_files, parse_answer, task_session};
use dasynth_core::layout::RunDir;
use dasynth_core::trajectory::{CellOutcome, Finish, Message, Trajectory, Turn};
use dasynth_sandbox::{CellResult, SessionPool, Status};
use dasynth_tasks::checker::{self, CheckerSpec};
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
}

impl Default for LoopLimits {
    fn default() -> Self {
        Self { max_turns: 30, execute_bytes: 4096 }
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

fn markdown_table(v: &Value) -> String {
    let cols: Vec<String> = v.get("columns").and_then(Value::as_array).map(|c| c.iter().map(scalar).collect()).unwrap_or_default();
    let rows = v.get("rows").and_then(Value::as_array).cloned().unwrap_or_default();
    let mut out = format!("| {} |\n|{}|\n", cols.join(" | "), vec!["---"; cols.len().max(1)].join("|"));
    for r in rows.iter().take(50) {
        let cells: Vec<String> = r.as_array().map(|c| c.iter().map(scalar).collect()).unwrap_or_default();
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    if rows.len() > 50 {
        out.push_str(&format!("\n({} more rows)\n", rows.len() - 50));
    }
    out
}

/// The `<Answer>` text for a structured answer.
pub fn render_answer(spec: &CheckerSpec, answer: &Value, files: &[String]) -> String {
    match spec.answer_type {
        AnswerType::Number | AnswerType::Integer => number_text(answer),
        AnswerType::String => scalar(answer),
        AnswerType::Set | AnswerType::List => {
            answer.as_array().map(|a| a.iter().map(scalar).collect::<Vec<_>>().join(", ")).unwrap_or_default()
        }
        AnswerType::Table => markdown_table(answer),
        AnswerType::File => {
            let file = spec.file.clone().unwrap_or_default();
            let saved = files.iter().find(|f| f.ends_with(&file)).cloned().unwrap_or(file);
            format!("The chart is saved as `outputs/{saved}`. The data it shows:\n\n{}", markdown_table(answer))
        }
        AnswerType::Report => scalar(answer),
        AnswerType::Metric => format!("{}: {}", spec.metric.as_deref().unwrap_or("score"), number_text(answer)),
    }
}

fn first_lines(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.trim().lines().take(n).collect();
    lines.join(" ").chars().take(240).collect()
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
    let files: Vec<String> = task.files().into_iter().map(|f| format!("`{}`", f.name)).collect();
    let cells = task.solution_cells();
    let mut last_output = String::new();
    for (i, code) in cells.iter().enumerate() {
        if i >= limits.max_turns {
            t.finish = Finish::TurnLimit;
            break;
        }
        let analyze = if i == 0 {
            format!(
                "<Analyze>\nThe task: {}\nI will load {} with pandas, check the columns involved, then compute the result step by step.\n</Analyze>\n",
                task.instruction.lines().next().unwrap_or_default(),
                files.join(" and ")
            )
        } else {
            format!(
                "<Analyze>\nThe previous cell ran as expected. Next I {}.\n</Analyze>\n<Understand>\n{}\n</Understand>\n",
                if i + 1 == cells.len() { "compute the final result" } else { "continue with the next step" },
                if last_output.is_empty() {
                    "The cell printed nothing; the variables are ready.".to_string()
                } else {
                    format!("The output shows: {last_output}")
                }
            )
        };
        let turn_text = format!("{analyze}<Code>\n```python\n{}```\n</Code>", code);
        let started_ms = started.elapsed().as_secs_f64() * 1000.0;
        let r = session.run(code);
        t.messages.push(Message::new("assistant", turn_text));
        t.messages.push(Message::new("execute", execute_text(&r, limits.execute_bytes)));
        t.turns.push(Turn {
            started_ms,
            generate_ms: 0.0,
            input_tokens: 0,
            output_tokens: 0,
            cached: false,
            cost_usd: 0.0,
            cell: Some(cell_outcome(&r)),
            format_error: None,
        });
        last_output = first_lines(&r.stdout, 3);
        if r.status != Status::Ok {
            t.finish = Finish::SandboxError;
            t.finish_detail = format!("reference cell {} ended {}: {}", i + 1, r.status.name(), format::short_traceback(&r.stderr));
            t.wall_ms = started.elapsed().as_secs_f64() * 1000.0;
            return t;
        }
    }
    // The answer value, read without a visible turn.
    let hidden = session.run(&answer_cell("answer"));
    let files_out = output_files(outputs.path());
    t.outputs = files_out.clone();
    let Some(value) = parse_answer(&hidden.stdout) else {
        t.finish_detail =
            format!("the reference solution left no `answer` ({ANSWER_MARK} missing): {}", format::short_traceback(&hidden.stderr));
        t.wall_ms = started.elapsed().as_secs_f64() * 1000.0;
        return t;
    };
    let text = render_answer(&spec, &value, &files_out);
    t.messages.push(Message::new(
        "assistant",
        format!("<Analyze>\nThe last output holds the result, so I can answer.\n</Analyze>\n<Answer>\n{text}\n</Answer>"),
    ));
    t.turns.push(Turn {
        started_ms: started.elapsed().as_secs_f64() * 1000.0,
        generate_ms: 0.0,
        input_tokens: 0,
        output_tokens: 0,
        cached: false,
        cost_usd: 0.0,
        cell: None,
        format_error: None,
    });
    let truth = task.ground_truth_value();
    let verdict = if matches!(spec.answer_type, AnswerType::Table | AnswerType::File) {
        checker::check_value(&spec, &truth, &value, &files_out)
    } else {
        checker::check_text(&spec, &truth, &text, &files_out)
    };
    t.passed = Some(verdict.passed);
    t.check_detail = verdict.reason;
    t.answer = Some(text);
    t.finish = Finish::Answer;
    t.wall_ms = started.elapsed().as_secs_f64() * 1000.0;
    t
}
