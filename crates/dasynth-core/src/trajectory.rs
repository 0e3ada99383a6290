//! The trajectory record: one line of `trajectories/*.jsonl`.
//!
//! A trajectory is DeepAnalyze's chat: the system prompt, the task's prompt, then assistant
//! turns (`<Analyze>`, `<Understand>`, `<Code>`, `<Answer>`) each followed, when it ran code,
//! by an `execute` message holding the cell's output. Beside the messages it records what each
//! turn cost and what each cell did, how the trajectory ended, and the answer check. The store
//! that writes these lines crash-safely lives in `dasynth-agent`; every later stage (verify,
//! export, report, sample) reads them through this type.

use crate::task::Task;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One chat message. `role` is `system`, `user`, `assistant` or `execute` (DeepAnalyze's role
/// for code output; exports can map it to `user`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Message {
    pub role: String,
    pub content: String,
}

impl Message {
    pub fn new(role: &str, content: impl Into<String>) -> Self {
        Self { role: role.to_string(), content: content.into() }
    }
}

/// What one cell did in the sandbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CellOutcome {
    /// `ok`, `error`, `timeout`, `memory`, `disk_limit`, `crashed`, `exited(n)`, `session_over`.
    pub status: String,
    pub duration_ms: f64,
    pub truncated: bool,
    pub stdout_bytes: u64,
    pub stderr_bytes: u64,
}

/// One assistant turn with its cost and, when it ran code, the cell's outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Turn {
    /// Milliseconds from the start of the trajectory.
    pub started_ms: f64,
    /// Time the teacher took for this turn.
    pub generate_ms: f64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// Whether the response came from the response cache.
    pub cached: bool,
    pub cost_usd: f64,
    pub cell: Option<CellOutcome>,
    /// The format rule this turn broke, if any.
    pub format_error: Option<String>,
}

/// How a trajectory ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Finish {
    Answer,
    TurnLimit,
    TokenLimit,
    TimeLimit,
    FormatError,
    LlmError,
    SandboxError,
    Budget,
    /// The model wrote the same code cell again and again (a student stuck in a loop).
    RepeatedCell,
}

impl Finish {
    /// The name written in trajectories (`answer`, `turn_limit`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Finish::Answer => "answer",
            Finish::TurnLimit => "turn_limit",
            Finish::TokenLimit => "token_limit",
            Finish::TimeLimit => "time_limit",
            Finish::FormatError => "format_error",
            Finish::LlmError => "llm_error",
            Finish::SandboxError => "sandbox_error",
            Finish::Budget => "budget",
            Finish::RepeatedCell => "repeated_cell",
        }
    }
}

/// What the LLM inspector decided about a trajectory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Inspection {
    pub inspector: String,
    pub accepted: bool,
    pub reasons: Vec<String>,
}

/// A finished trajectory: one line of `trajectories/*.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Trajectory {
    /// Content hash of task id, teacher and sample index: a resumed run's identity check.
    pub key: String,
    pub task_id: String,
    pub family: String,
    /// The teacher's name (`reference`, or the endpoint's name or model).
    pub teacher: String,
    pub model: String,
    pub sample: u32,
    pub messages: Vec<Message>,
    pub turns: Vec<Turn>,
    /// The text of the final `<Answer>` block.
    pub answer: Option<String>,
    pub finish: Finish,
    /// Details of the finish (the error, the limit reached).
    pub finish_detail: String,
    /// Files written under `outputs/`.
    pub outputs: Vec<String>,
    /// The answer checked against the task's ground truth.
    pub passed: Option<bool>,
    pub check_detail: String,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cost_usd: f64,
    pub wall_ms: f64,
    /// The LLM inspector's verdict, when an inspector is configured.
    #[serde(default)]
    pub inspection: Option<Inspection>,
}

impl Trajectory {
    /// A trajectory that has only its system prompt and the task's prompt so far.
    pub fn start(task: &Task, teacher: &str, model: &str, sample: u32, system: &str) -> Self {
        Trajectory {
            key: trajectory_key(&task.id, teacher, sample),
            task_id: task.id.clone(),
            family: task.family.clone(),
            teacher: teacher.to_string(),
            model: model.to_string(),
            sample,
            messages: vec![Message::new("system", system), Message::new("user", task.prompt.clone())],
            turns: Vec::new(),
            answer: None,
            finish: Finish::TurnLimit,
            finish_detail: String::new(),
            outputs: Vec::new(),
            passed: None,
            check_detail: String::new(),
            input_tokens: 0,
            output_tokens: 0,
            cost_usd: 0.0,
            wall_ms: 0.0,
            inspection: None,
        }
    }
}

/// The key of a (task, teacher, sample).
pub fn trajectory_key(task_id: &str, teacher: &str, sample: u32) -> String {
    crate::ids::short_id(&[task_id, teacher, &sample.to_string()])
}
