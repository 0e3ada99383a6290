//! The agent loop with an LLM teacher: the model writes `<Analyze>`/`<Code>` turns, each code
//! cell runs in the task's sandbox session, its output comes back as `<Execute>`, until the
//! model answers or a limit ends the trajectory.
//!
//! A trajectory spends nearly all its time waiting on its teacher, so its session need cost
//! memory only while it computes: the session starts with the first code cell, and with [`Idle`]
//! set, a wait on the teacher longer than [`Idle::after`] while the process is over
//! [`Idle::resident_budget`] suspends it (its memory goes into the [`Vault`], compressed); the
//! next cell resumes it as it was.

use crate::format::{self, Action, SYSTEM_PROMPT};
use crate::reference::{output_files, task_session};
use crate::reference_teacher::{cell_outcome, execute_text};
use dasynth_core::layout::RunDir;
use dasynth_core::trajectory::{Finish, Message, Trajectory, Turn};
use dasynth_llm::{ChatRequest, Client, LlmError};
use dasynth_sandbox::{Limits, Session, SessionPool, Vault};
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
    /// Sampling of every request; the endpoint's configured defaults when `None`.
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    /// Mixed into every request's seed (never the session's, which replay reproduces), so one
    /// run can be sampled again differently.
    pub seed_salt: u64,
    /// The same code cell this many times in a row ends the trajectory (`repeated_cell`).
    pub max_repeats: Option<usize>,
}

impl AgentLimits {
    /// Limits from the `[trajectories]` settings, with the endpoints' sampling defaults.
    pub fn from_settings(g: &dasynth_core::config::TrajectorySettings) -> AgentLimits {
        AgentLimits {
            max_turns: g.max_turns,
            max_tokens: g.max_tokens,
            time_limit: Duration::from_secs(g.time_limit_secs),
            cell_timeout: Duration::from_secs(g.cell_timeout_secs),
            execute_bytes: g.execute_bytes,
            turn_tokens: None,
            temperature: None,
            top_p: None,
            seed_salt: 0,
            max_repeats: None,
        }
    }
}

/// How a trajectory's session waits on its teacher: once the wait has lasted `after`, suspended
/// into `vault` if the process holds `resident_budget` bytes of its own resident memory or more,
/// else left resident and looked at again every `after` until the answer comes.
///
/// Suspending costs CPU twice (compress now, map and restore at the next cell), so a run whose
/// waiting sessions fit in memory keeps them; past the budget, waits suspend one at a time per
/// permit of `suspending`, each deciding with the memory the suspensions before it freed, so a
/// crowd of waits that cross the budget together suspends only as many sessions as it must.
#[derive(Debug, Clone)]
pub struct Idle {
    pub vault: Vault,
    pub after: Duration,
    pub resident_budget: u64,
    pub suspending: Arc<tokio::sync::Semaphore>,
}

impl Idle {
    /// The `[trajectories]` settings' idle policy (`None` with `suspend = false`): spilled
    /// sessions under `spill_dir`, up to `parallel` suspensions at once.
    pub fn from_settings(g: &dasynth_core::config::TrajectorySettings, spill_dir: std::path::PathBuf, parallel: usize) -> Option<Idle> {
        let budget = memory_budget(g);
        g.suspend.then(|| Idle {
            vault: Vault::new(budget / 4, spill_dir),
            after: Duration::from_millis(g.suspend_after_ms),
            resident_budget: g.idle_resident_budget.unwrap_or(budget / 2),
            suspending: Arc::new(tokio::sync::Semaphore::new(parallel.max(1))),
        })
    }

    /// Whether a waiting session should leave resident memory now.
    fn over_budget(&self) -> bool {
        self.resident_budget == 0 || dasynth_sandbox::resident_private_bytes().is_none_or(|m| m >= self.resident_budget)
    }
}

/// The run's memory budget (`trajectories.memory-budget`): the setting, else half the memory
/// the process may use (4 GiB where that cannot be read).
pub fn memory_budget(g: &dasynth_core::config::TrajectorySettings) -> u64 {
    g.memory_budget.unwrap_or_else(|| dasynth_sandbox::available_memory().map_or(4 << 30, |m| m / 2))
}

/// How the trajectories of a run share the sandbox: sessions come from `pool`; at most
/// `cells`' permits of cells (with the session start or resume before them) compute at once, so
/// that however many trajectories are in flight only about as many sessions as there are cores
/// are resident and computing; `idle` suspends the others while they wait.
#[derive(Debug, Clone)]
pub struct Sandboxing {
    pub pool: Arc<SessionPool>,
    pub cells: Arc<tokio::sync::Semaphore>,
    pub idle: Option<Idle>,
}

/// Awaits `fut` (a teacher's answer); if it takes longer than `idle.after` while the process is
/// over `idle.resident_budget`, suspends `session` meanwhile on a blocking thread. Returns the
/// answer, and an error if the session was lost.
async fn wait_on<T>(fut: impl std::future::Future<Output = T>, session: &mut Option<Session>, idle: Option<&Idle>) -> (T, Option<String>) {
    let (Some(idle), Some(s)) = (idle, session.as_ref()) else { return (fut.await, None) };
    if !s.is_alive() || s.is_suspended() {
        return (fut.await, None);
    }
    let mut fut = std::pin::pin!(fut);
    let permit = loop {
        tokio::select! {
            out = &mut fut => return (out, None),
            () = tokio::time::sleep(idle.after) => {}
        }
        if !idle.over_budget() {
            continue;
        }
        let permit = tokio::select! {
            out = &mut fut => return (out, None),
            p = idle.suspending.clone().acquire_owned() => p,
        };
        // Suspensions that held the permit meanwhile may have freed enough.
        if idle.over_budget() {
            break permit;
        }
    };
    let Some(mut s) = session.take() else { return (fut.await, None) };
    let vault = idle.vault.clone();
    let suspending = tokio::task::spawn_blocking(move || {
        let r = s.suspend(&vault);
        drop(permit);
        (s, r)
    });
    let out = fut.await;
    match suspending.await {
        Ok((s, r)) => {
            if let Err(e) = r {
                // The session stays resident (memory not readable) or is over (spill failed):
                // its next cell says which.
                tracing::warn!(error = %e, "could not suspend a waiting session");
            }
            *session = Some(s);
            (out, None)
        }
        Err(e) => (out, Some(format!("the sandbox worker suspending the session failed: {e}"))),
    }
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

/// How many times in a row the last assistant turn's code cell was written (1: it is new).
fn repeats(messages: &[Message]) -> usize {
    let mut cells = messages.iter().rev().filter(|m| m.role == "assistant").map(|m| format::parse_turn(&m.content));
    let Some(Ok(Action::Code(last))) = cells.next() else { return 0 };
    1 + cells.take_while(|c| matches!(c, Ok(Action::Code(code)) if code.trim() == last.trim())).count()
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
    sandboxing: &Sandboxing,
    run: &RunDir,
    task: &Task,
    sample: u32,
    limits: &AgentLimits,
) -> Outcome {
    let idle = sandboxing.idle.as_ref();
    let started = Instant::now();
    let mut t = Trajectory::start(task, teacher, &client.config().model, sample, SYSTEM_PROMPT);
    let seed = session_seed(task, sample);
    // Started with the first code cell: until then the trajectory holds no sandbox memory.
    let mut session: Option<Session> = None;
    let mut outputs: Option<tempfile::TempDir> = None;
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
            temperature: limits.temperature,
            top_p: limits.top_p,
            seed: Some(seed ^ limits.seed_salt),
            stop: vec!["</Code>".to_string()],
            sample_index: sample,
        };
        let turn_started = Instant::now();
        let started_ms = started.elapsed().as_secs_f64() * 1000.0;
        let (resp, lost) = wait_on(client.chat(&req), &mut session, idle).await;
        if let Some(msg) = lost {
            return Outcome::Transient(msg);
        }
        let resp = match resp {
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
                if let Some(max) = limits.max_repeats
                    && repeats(&t.messages) >= max
                {
                    t.turns.push(turn);
                    t.finish = Finish::RepeatedCell;
                    t.finish_detail = format!("the same code cell {max} times in a row");
                    break;
                }
                let Ok(_computing) = sandboxing.cells.acquire().await else {
                    return Outcome::Transient("the run is stopping".into());
                };
                // The session's start (with the first cell) and the cell run on a blocking
                // thread: the async workers stay free to send other trajectories' requests the
                // moment their cells end. Started on a worker, a thousand first cells in a row
                // kept both workers busy, so the next requests went out together at the end of
                // the burst and the teacher's answers came back together too, while the cores
                // idled in between.
                // The resident session, or what starting one takes.
                let session_or_start = session.take().ok_or_else(|| (sandboxing.pool.clone(), run.clone(), task.clone()));
                let cell_timeout = limits.cell_timeout;
                let ran = tokio::task::spawn_blocking(move || {
                    let (mut s, out) = match session_or_start {
                        Ok(s) => (s, None),
                        Err((pool, run, task)) => {
                            let (mut s, out, _data) = task_session(&pool, &run, &task, seed).map_err(|e| e.to_string())?;
                            *s.limits_mut() = Limits { timeout: cell_timeout, ..Limits::default() };
                            (s, Some(out))
                        }
                    };
                    let r = s.run(&code);
                    Ok::<_, String>((s, out, r))
                })
                .await;
                let (s, out, r) = match ran {
                    Ok(Ok(v)) => v,
                    Ok(Err(e)) => return Outcome::Transient(e),
                    Err(e) => return Outcome::Transient(format!("sandbox worker failed: {e}")),
                };
                if let Some(out) = out {
                    outputs = Some(out);
                }
                session = Some(s);
                turn.cell = Some(cell_outcome(&r));
                t.turns.push(turn);
                t.messages.push(Message::new("execute", execute_text(&r, limits.execute_bytes)));
                if !r.status.session_alive() {
                    t.finish = Finish::SandboxError;
                    t.finish_detail = match r.status {
                        dasynth_sandbox::Status::SessionOver => format!("the session ended: {}", r.stderr.trim()),
                        other => format!("the session ended: {other:?}"),
                    };
                    break;
                }
            }
        }
    }
    drop(session);
    t.outputs = outputs.as_ref().map(|o| output_files(o.path())).unwrap_or_default();
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

#[cfg(test)]
mod tests {
    use super::*;

    fn turn(code: &str) -> Message {
        Message::new("assistant", format!("<Analyze>again</Analyze>\n<Code>\n```python\n{code}\n```\n</Code>"))
    }

    /// A wait past `after` suspends the session only while the process is over the resident
    /// budget; either way the next cell sees the same variables.
    #[test]
    fn a_waiting_session_is_suspended_only_over_the_resident_budget() {
        use dasynth_sandbox::{Mounts, Sandbox, SandboxConfig, SessionOptions, Status};
        let sandbox = Sandbox::new(SandboxConfig::default()).expect("sandbox");
        let spill = tempfile::tempdir().expect("tmp");
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
        let idle = |resident_budget| Idle {
            vault: Vault::new(1 << 30, spill.path().join("sessions")),
            after: Duration::from_millis(5),
            resident_budget,
            suspending: Arc::new(tokio::sync::Semaphore::new(1)),
        };
        // (budget, whether the wait suspends): 0 suspends every wait; u64::MAX none.
        for (budget, suspends) in [(u64::MAX, false), (0, true), (1, true)] {
            let idle = idle(budget);
            let mut session = Some(Session::new(&sandbox, &Mounts::default(), SessionOptions::default()).expect("session"));
            let r = session.as_mut().map(|s| s.run("x = 41")).expect("run");
            assert_eq!(r.status, Status::Ok, "{}", r.stderr);
            let (answer, lost) =
                rt.block_on(async { wait_on(tokio::time::sleep(Duration::from_millis(60)), &mut session, Some(&idle)).await });
            assert_eq!((answer, lost), ((), None));
            let s = session.as_mut().expect("session back");
            assert_eq!(s.is_suspended(), suspends, "budget {budget}");
            assert_eq!(idle.vault.stats().suspends, u64::from(suspends), "budget {budget}");
            let r = s.run("print(x + 1)");
            assert_eq!((r.status, r.stdout.trim()), (Status::Ok, "42"), "budget {budget}: {}", r.stderr);
        }
    }

    #[test]
    fn repeated_cells_are_counted_in_a_row_only() {
        let out = Message::new("execute", "<Execute>\n1\n</Execute>");
        let mut m = vec![Message::new("user", "task"), turn("print(1)"), out.clone(), turn("print(2)"), out.clone()];
        assert_eq!(repeats(&m), 1);
        m.extend([turn("print(2)"), out.clone(), turn("print(2)")]);
        assert_eq!(repeats(&m), 3);
        m.push(Message::new("assistant", "<Answer>2</Answer>"));
        assert_eq!(repeats(&m), 0, "an answer is no cell");
    }
}
