//! The agent loop with an LLM teacher: the model writes `<Analyze>`/`<Code>` turns, each code
//! cell runs in the task's sandbox session, its output comes back as `<Execute>`, until the
//! model answers or a limit ends the trajectory.

use crate::format::{self, Action, SYSTEM_PROMPT};
use crate::reference::{output_files, task_session};
use crate::reference_teacher::{cell_outcome, execute_text};
use dasynth_core::layout::RunDir;
use dasynth_core::trajectory::{Finish, Message, Trajectory, Turn};
use dasynth_llm::{ChatRequest, Client, LlmError};
use dasynth_sandbox::{Limits, SessionPool};
use dasynth_tasks::checker;
use dasynth_tasks::task::{Task, TaskExt};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Limits of one LLM trajectory.
#[derive(Debug, Clone)]
pub struct AgentLimits {
    pub max_turns: usize,
    /// Output tokens of all turns together.
    pub max_tokens: u64,
    pub time_limit: Duration,
    pub cell_timeout: Duration,
    pub execute_bytes: usize,
    /// Output tokens per turn.
    pub turn_tokens: Option<u32>,
}

/// How an LLM trajectory ended, for the orchestrator.
#[derive(Debug)]
pub enum Outcome {
    /// A trajectory to store (answered, or ended by a limit, a format error or a task-level
    /// model error such as a too-long context).
    Done(Box<Trajectory>),
    /// A transient failure (timeouts, an endpoint that does not answer): nothing is stored, so
    /// a later run retries it.
    Transient(String),
    /// Every further request would fail the same way (bad key, unknown model, budget spent).
    Fatal(String),
}

fn error_text(e: &LlmError) -> String {
    let mut s = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(c) = src {
        s.push_str(": ");
        s.push_str(&c.to_string());
        src = c.source();
    }
    s
}

/// Whether a model error belongs to the task (stored) rather than to the moment (retried).
fn task_level(e: &LlmError) -> bool {
    matches!(e.root(), LlmError::ContextLength { .. } | LlmError::EmptyResponse { .. } | LlmError::BadRequest { .. })
}

fn chat_messages(messages: &[Message]) -> Vec<dasynth_llm::Message> {
    messages
        .iter()
        .filter(|m| m.role != "system")
        .map(|m| match m.role.as_str() {
            "assistant" => dasynth_llm::Message::assistant(m.content.clone()),
            // Execution output goes back as a user turn on chat APIs.
            _ => dasynth_llm::Message::user(m.content.clone()),
        })
        .collect()
}

/// The seed of an LLM trajectory's sandbox session (and of its requests), so a replay of its
/// cells starts from the same random state.
pub fn session_seed(task: &Task, sample: u32) -> u64 {
    task.seed.wrapping_mul(1_000_003).wrapping_add(sample as u64)
}

/// Runs one trajectory for a task with a teacher.
pub async fn llm_trajectory(
    client: &Client,
    teacher: &str,
    pool: Arc<SessionPool>,
    run: &RunDir,
    task: &Task,
    sample: u32,
    limits: &AgentLimits,
) -> Outcome {
    let started = Instant::now();
    let mut t = Trajectory::start(task, teacher, &client.config().model, sample, SYSTEM_PROMPT);
    let seed = session_seed(task, sample);
    let (mut session, outputs, _data) = match task_session(&pool, run, task, seed) {
        Ok(s) => s,
        Err(e) => return Outcome::Transient(format!("{e}")),
    };
    *session.limits_mut() = Limits { timeout: limits.cell_timeout, ..Limits::default() };
    loop {
        if t.turns.len() >= limits.max_turns {
            t.finish = Finish::TurnLimit;
            t.finish_detail = format!("{} turns", limits.max_turns);
            break;
        }
        if started.elapsed() >= limits.time_limit {
            t.finish = Finish::TimeLimit;
            t.finish_detail = format!("{:.0}s", limits.time_limit.as_secs_f64());
            break;
        }
        if t.output_tokens >= limits.max_tokens {
            t.finish = Finish::TokenLimit;
            t.finish_detail = format!("{} output tokens", t.output_tokens);
            break;
        }
        let req = ChatRequest {
            messages: chat_messages(&t.messages),
            system: Some(SYSTEM_PROMPT.to_string()),
            max_tokens: limits.turn_tokens,
            temperature: None,
            top_p: None,
            seed: Some(seed),
            stop: vec!["</Code>".to_string()],
            sample_index: sample,
        };
        let turn_started = Instant::now();
        let started_ms = started.elapsed().as_secs_f64() * 1000.0;
        let resp = match client.chat(&req).await {
            Ok(r) => r,
            Err(e) if e.is_fatal_for_run() => return Outcome::Fatal(error_text(&e)),
            Err(e) if task_level(&e) => {
                t.finish = Finish::LlmError;
                t.finish_detail = error_text(&e);
                break;
            }
            Err(e) => return Outcome::Transient(error_text(&e)),
        };
        t.input_tokens += resp.usage.input_tokens;
        t.output_tokens += resp.usage.output_tokens;
        t.cost_usd += resp.cost_usd;
        let text = format::complete_stopped_turn(&resp.content);
        let mut turn = Turn {
            started_ms,
            generate_ms: turn_started.elapsed().as_secs_f64() * 1000.0,
            input_tokens: resp.usage.input_tokens,
            output_tokens: resp.usage.output_tokens,
            cached: resp.cached,
            cost_usd: resp.cost_usd,
            cell: None,
            format_error: None,
        };
        match format::parse_turn(&text) {
            Err(fe) => {
                turn.format_error = Some(fe.0.clone());
                t.messages.push(Message::new("assistant", text));
                t.turns.push(turn);
                t.finish = Finish::FormatError;
                t.finish_detail = fe.0;
                break;
            }
            Ok(Action::Answer(answer)) => {
                t.messages.push(Message::new("assistant", text));
                t.turns.push(turn);
                t.answer = Some(answer);
                t.finish = Finish::Answer;
                break;
            }
            Ok(Action::Code(code)) => {
                t.messages.push(Message::new("assistant", text));
                // The guest runs on its own thread; keep the async workers free meanwhile.
                let ran = tokio::task::spawn_blocking(move || {
                    let r = session.run(&code);
                    (session, r)
                })
                .await;
                let (s, r) = match ran {
                    Ok(v) => v,
                    Err(e) => return Outcome::Transient(format!("sandbox worker failed: {e}")),
                };
                session = s;
                turn.cell = Some(cell_outcome(&r));
                t.turns.push(turn);
                t.messages.push(Message::new("execute", execute_text(&r, limits.execute_bytes)));
                if !r.status.session_alive() {
                    t.finish = Finish::SandboxError;
                    t.finish_detail = format!("the session ended: {:?}", r.status);
                    break;
                }
            }
        }
    }
    t.outputs = output_files(outputs.path());
    if task.template == dasynth_tasks::QUESTIONER_TEMPLATE {
        // Open tasks have a checklist, not a ground truth: the inspector decides.
    } else if let (Some(answer), Some(spec)) = (&t.answer, task.checker_spec()) {
        let v = checker::check_text(&spec, &task.ground_truth_value(), answer, &t.outputs);
        t.passed = Some(v.passed);
        t.check_detail = v.reason;
    } else if t.finish != Finish::Answer {
        t.passed = Some(false);
        t.check_detail = "no answer".into();
    }
    t.wall_ms = started.elapsed().as_secs_f64() * 1000.0;
    Outcome::Done(Box::new(t))
}
