//! The trajectory stage: every (task, sample) gets a teacher, runs, and lands in the store once.
//!
//! [`run_stage`] is the whole stage as the CLI calls it: read `tasks.parquet` (and ask the
//! questioner for open tasks, once), build the teachers from the settings, plan the jobs the store
//! does not hold yet, run them with a bounded number in flight, and write
//! `stats/trajectories.json`.
//!
//! Admission: `trajectories.concurrency` bounds the trajectories in flight, and a new one starts
//! only while the process's own resident memory is below `trajectories.memory-budget` (or when
//! none is in flight), so whatever the tables and cells do, a run slows down instead of swapping
//! or being killed. Waiting trajectories keep their sessions resident while the process is under
//! `trajectories.idle-resident-budget` and suspend them past it (see [`crate::llm_teacher`]), so
//! a run too big for memory holds a few hundred kilobytes of compressed memory per waiting
//! trajectory.

use crate::reference_teacher::{LoopLimits, reference_trajectory};
use crate::store::TrajectoryStore;
use dasynth_core::layout::RunDir;
use dasynth_core::reporter::Reporter;
use dasynth_core::trajectory::{Trajectory, trajectory_key};
use dasynth_sandbox::SessionPool;
use dasynth_tasks::task::Task;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};

/// One unit of work: a task, a sample index and the teacher that writes it.
#[derive(Debug, Clone)]
pub struct Job {
    pub task: usize,
    pub sample: u32,
    pub teacher: usize,
    pub key: String,
}

/// Weighted, deterministic teacher choice: a resumed run picks the same teacher for a sample.
pub fn pick_teacher(weights: &[f64], task_id: &str, sample: u32) -> usize {
    let total: f64 = weights.iter().sum();
    if weights.len() <= 1 || total <= 0.0 {
        return 0;
    }
    let h = dasynth_core::ids::short_id(&[task_id, &sample.to_string(), "teacher"]);
    let u = u64::from_str_radix(&h, 16).unwrap_or(0) as f64 / u64::MAX as f64 * total;
    let mut acc = 0.0;
    for (i, w) in weights.iter().enumerate() {
        acc += w;
        if u < acc {
            return i;
        }
    }
    weights.len() - 1
}

/// The jobs of a run, in task order, with the already finished ones left out. Tasks without a
/// reference solution (an LLM questioner's) get no job from a `reference` teacher.
pub fn plan(
    tasks: &[Task],
    samples: u32,
    teacher_names: &[String],
    weights: &[f64],
    is_reference: &[bool],
    store: &TrajectoryStore,
) -> (Vec<Job>, usize) {
    let mut jobs = Vec::new();
    let mut skipped = 0;
    for (ti, t) in tasks.iter().enumerate() {
        for sample in 0..samples {
            let teacher = pick_teacher(weights, &t.id, sample);
            if is_reference.get(teacher).copied().unwrap_or(false) && t.solution_cells().is_empty() {
                continue;
            }
            let key = trajectory_key(&t.id, &teacher_names[teacher], sample);
            if store.is_done(&key) {
                skipped += 1;
                continue;
            }
            jobs.push(Job { task: ti, sample, teacher, key });
        }
    }
    (jobs, skipped)
}

/// What the stage did: written to `stats/trajectories.json`.
#[derive(Debug, Clone, Default, Serialize, schemars::JsonSchema, PartialEq)]
pub struct TrajectoryStats {
    pub written: u64,
    /// Trajectories found from an earlier (interrupted) run and not redone.
    pub reused: u64,
    pub passed: u64,
    pub failed_check: u64,
    pub by_finish: BTreeMap<String, u64>,
    pub by_teacher: BTreeMap<String, u64>,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cost_usd: f64,
    pub cached_turns: u64,
    /// Why the run stopped early, if it did.
    pub stopped: Option<String>,
    pub seconds: f64,
    /// Suspended sessions and memory.
    #[serde(default)]
    pub sessions: SessionStats,
}

/// How the run's sandbox sessions waited, and the memory it took.
#[derive(Debug, Clone, Default, Serialize, schemars::JsonSchema, PartialEq)]
pub struct SessionStats {
    /// Sessions suspended while their trajectory waited on its teacher, and resumed after.
    pub suspends: u64,
    pub resumes: u64,
    /// Resume time per turn, in milliseconds.
    pub resume_ms_mean: f64,
    pub resume_ms_p50: f64,
    pub resume_ms_p99: f64,
    pub resume_ms_max: f64,
    /// Most suspended sessions spilled to files at once.
    pub spilled_peak: u64,
    /// Most trajectories in flight at once, and most sessions resident (not suspended) at once.
    pub in_flight_peak: u64,
    pub resident_peak: u64,
    /// The process's anonymous resident memory when the first trajectory started, at its peak,
    /// and the budget admission kept to.
    pub memory_start_bytes: u64,
    pub memory_peak_bytes: u64,
    pub memory_budget_bytes: u64,
    /// Times a ready trajectory waited for memory before it started.
    pub admission_waits: u64,
}

impl TrajectoryStats {
    pub fn add(&mut self, t: &Trajectory) {
        self.written += 1;
        match t.passed {
            Some(true) => self.passed += 1,
            Some(false) => self.failed_check += 1,
            None => {}
        }
        let finish = serde_json::to_value(t.finish).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
        *self.by_finish.entry(finish).or_default() += 1;
        *self.by_teacher.entry(t.teacher.clone()).or_default() += 1;
        self.input_tokens += t.input_tokens;
        self.output_tokens += t.output_tokens;
        self.cost_usd += t.cost_usd;
        self.cached_turns += t.turns.iter().filter(|x| x.cached).count() as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn teacher_choice_is_deterministic_and_follows_weights() {
        let w = [3.0, 1.0];
        let picks: Vec<usize> = (0..2000).map(|i| pick_teacher(&w, &format!("t{i}"), 0)).collect();
        let again: Vec<usize> = (0..2000).map(|i| pick_teacher(&w, &format!("t{i}"), 0)).collect();
        assert_eq!(picks, again);
        let share = picks.iter().filter(|&&p| p == 0).count() as f64 / 2000.0;
        assert!((share - 0.75).abs() < 0.05, "{share}");
    }
}

/// A teacher of a run: the offline reference teacher or an LLM client.
#[derive(Clone)]
pub enum Teacher {
    Reference,
    Llm(dasynth_llm::Client),
}

/// Everything an asynchronous run needs, owned so it can move into tasks.
pub struct AsyncRun {
    pub teachers: Vec<(String, Teacher)>,
    pub pool: std::sync::Arc<SessionPool>,
    /// Cells that compute at once (LLM teachers; see [`crate::llm_teacher::Sandboxing`]).
    pub cells: usize,
    pub run: RunDir,
    pub tasks: std::sync::Arc<Vec<Task>>,
    pub limits: crate::llm_teacher::AgentLimits,
    /// Trajectories in flight at once.
    pub concurrency: usize,
    /// Transient failures in a row (with no success between) after which the run stops.
    pub max_consecutive_failures: usize,
    /// An LLM that inspects every LLM trajectory (name, client).
    pub inspector: Option<(String, dasynth_llm::Client)>,
    /// The templates folder (for the role prompts).
    pub templates: std::path::PathBuf,
    /// Suspension of waiting sessions (none: sessions stay resident).
    pub idle: Option<crate::llm_teacher::Idle>,
    /// Bytes of anonymous resident memory under which new trajectories start.
    pub memory_budget: u64,
    /// Share of reference trajectories with a mistake and its fix.
    pub reference_mistakes: f64,
}

/// Live counters the producer, the trajectories and the progress line share.
#[derive(Debug, Default)]
struct Gauges {
    started: std::sync::atomic::AtomicUsize,
    received: std::sync::atomic::AtomicUsize,
    admission_waits: std::sync::atomic::AtomicU64,
    memory_peak: std::sync::atomic::AtomicU64,
    in_flight_peak: std::sync::atomic::AtomicU64,
    resident_peak: std::sync::atomic::AtomicU64,
    spilled_peak: std::sync::atomic::AtomicU64,
}

impl Gauges {
    fn in_flight(&self) -> usize {
        self.started.load(Ordering::Relaxed).saturating_sub(self.received.load(Ordering::Relaxed))
    }

    /// Reads the memory and session figures, keeps their peaks, and returns (resident memory,
    /// suspended sessions, resident sessions).
    fn sample(&self, vault: Option<&dasynth_sandbox::Vault>) -> (u64, usize, usize) {
        let memory = dasynth_sandbox::resident_private_bytes().unwrap_or(0);
        let (suspended, spilled) = vault.map(|v| v.stats()).map_or((0, 0), |s| (s.suspended, s.spilled));
        let resident = dasynth_sandbox::live_sessions().saturating_sub(suspended);
        self.memory_peak.fetch_max(memory, Ordering::Relaxed);
        self.in_flight_peak.fetch_max(self.in_flight() as u64, Ordering::Relaxed);
        self.resident_peak.fetch_max(resident as u64, Ordering::Relaxed);
        self.spilled_peak.fetch_max(spilled as u64, Ordering::Relaxed);
        (memory, suspended, resident)
    }
}

/// Runs the questioner over tables, one table at a time, and returns the open tasks it wrote
/// plus one message per failure.
pub fn write_all_questions(
    q: &crate::roles::Questioner<'_>,
    tables: &[(dasynth_core::catalog::CatalogEntry, dasynth_core::profile::TableProfile)],
) -> std::io::Result<(Vec<Task>, Vec<String>)> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    Ok(rt.block_on(async {
        let mut tasks = Vec::new();
        let mut errors = Vec::new();
        for (entry, profile) in tables {
            let (t, e) = crate::roles::write_questions(q, entry, profile).await;
            tasks.extend(t);
            errors.extend(e);
        }
        (tasks, errors)
    }))
}

/// Runs jobs with up to `concurrency` trajectories in flight; finished trajectories are
/// appended as they arrive. Returns why the run stopped early, if it did.
pub fn run_jobs(
    r: AsyncRun,
    jobs: Vec<Job>,
    store: &mut TrajectoryStore,
    stats: &mut TrajectoryStats,
    reporter: &dyn Reporter,
) -> std::io::Result<Option<String>> {
    use crate::llm_teacher::{Outcome, llm_trajectory};
    use std::sync::Arc;
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let stop = Arc::new(AtomicBool::new(false));
    let gauges = Arc::new(Gauges::default());
    let memory_start = dasynth_sandbox::resident_private_bytes().unwrap_or(0);
    let clock = std::time::Instant::now();
    let r = Arc::new(r);
    let sandboxing = crate::llm_teacher::Sandboxing {
        pool: r.pool.clone(),
        cells: Arc::new(tokio::sync::Semaphore::new(r.cells.max(1))),
        idle: r.idle.clone(),
    };
    let result = rt.block_on(async {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<(Job, Outcome)>(r.concurrency.max(1) * 2);
        let sem = Arc::new(tokio::sync::Semaphore::new(r.concurrency.max(1)));
        let sampler = {
            let (gauges, r) = (gauges.clone(), r.clone());
            tokio::spawn(async move {
                loop {
                    gauges.sample(r.idle.as_ref().map(|i| &i.vault));
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            })
        };
        let producer = {
            let (stop, r, sem, gauges, sandboxing) = (stop.clone(), r.clone(), sem.clone(), gauges.clone(), sandboxing.clone());
            tokio::spawn(async move {
                for job in jobs {
                    let Ok(permit) = sem.clone().acquire_owned().await else { break };
                    // Admission by memory: wait while the process holds its budget, unless
                    // nothing is in flight (which frees nothing by waiting).
                    let mut waited = false;
                    while !stop.load(Ordering::Relaxed)
                        && gauges.in_flight() > 0
                        && dasynth_sandbox::resident_private_bytes().is_some_and(|m| m >= r.memory_budget)
                    {
                        waited = true;
                        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    }
                    if waited {
                        gauges.admission_waits.fetch_add(1, Ordering::Relaxed);
                    }
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let (tx, r, sandboxing) = (tx.clone(), r.clone(), sandboxing.clone());
                    gauges.started.fetch_add(1, Ordering::Relaxed);
                    tokio::spawn(async move {
                        let task = &r.tasks[job.task];
                        let (name, teacher) = &r.teachers[job.teacher];
                        let outcome = match teacher {
                            Teacher::Reference => {
                                let (pool, run, tasks, limits) = (r.pool.clone(), r.run.clone(), r.tasks.clone(), r.limits.clone());
                                let (ti, sample) = (job.task, job.sample);
                                let loop_limits = LoopLimits {
                                    max_turns: limits.max_turns,
                                    execute_bytes: limits.execute_bytes,
                                    mistakes: r.reference_mistakes,
                                };
                                match tokio::task::spawn_blocking(move || reference_trajectory(&pool, &run, &tasks[ti], sample, &loop_limits)).await {
                                    Ok(t) => Outcome::Done(Box::new(t)),
                                    Err(e) => Outcome::Transient(format!("reference worker failed: {e}")),
                                }
                            }
                            Teacher::Llm(client) => {
                                let mut out = llm_trajectory(client, name, &sandboxing, &r.run, task, job.sample, &r.limits).await;
                                if let (Outcome::Done(t), Some((iname, inspector))) = (&mut out, &r.inspector) {
                                    match crate::roles::inspect(inspector, iname, &r.templates, task, t).await {
                                        Ok(i) => {
                                            if task.template == dasynth_tasks::QUESTIONER_TEMPLATE {
                                                t.passed = Some(i.accepted && t.answer.is_some());
                                                t.check_detail = i.reasons.join("; ");
                                            }
                                            t.inspection = Some(i);
                                        }
                                        Err(e) => tracing::warn!(task = %task.id, error = %e, "inspection failed"),
                                    }
                                }
                                out
                            }
                        };
                        let _ = tx.send((job, outcome)).await;
                        drop(permit);
                    });
                }
            })
        };
        let mut consecutive = 0usize;
        let mut finished = 0usize;
        let mut last_failure = None;
        let mut stopped = None;
        while let Some((job, outcome)) = rx.recv().await {
            gauges.received.fetch_add(1, Ordering::Relaxed);
            let task = &r.tasks[job.task];
            match outcome {
                Outcome::Done(t) => {
                    store.append(&t)?;
                    stats.add(&t);
                    consecutive = 0;
                    finished += 1;
                }
                Outcome::Transient(msg) => {
                    tracing::warn!(task = %task.id, teacher = %r.teachers[job.teacher].0, error = %msg, "trajectory failed; a later run retries it");
                    *stats.by_finish.entry("transient_error".into()).or_default() += 1;
                    consecutive += 1;
                    last_failure = Some(msg.clone());
                    if consecutive >= r.max_consecutive_failures && stopped.is_none() {
                        stopped = Some(format!("{consecutive} trajectories in a row failed; the last: {msg}"));
                        stop.store(true, Ordering::Relaxed);
                        sem.close();
                    }
                }
                Outcome::Fatal(msg) => {
                    if stopped.is_none() {
                        stopped = Some(msg);
                    }
                    stop.store(true, Ordering::Relaxed);
                    sem.close();
                }
            }
            let (memory, suspended, resident) = gauges.sample(r.idle.as_ref().map(|i| &i.vault));
            let rate = finished as f64 / clock.elapsed().as_secs_f64().max(1e-3);
            reporter.item(&format!(
                "in flight {} · suspended {suspended} · resident {resident} ({} MiB) · failed {} · {} tokens · ${:.4} · {rate:.1}/s",
                gauges.in_flight(),
                memory >> 20,
                stats.failed_check + stats.by_finish.get("transient_error").copied().unwrap_or(0),
                stats.input_tokens + stats.output_tokens,
                stats.cost_usd
            ));
        }
        let _ = producer.await;
        sampler.abort();
        if stopped.is_none() && finished == 0 {
            // Every trajectory failed: say so as loudly as an early stop.
            stopped = last_failure.map(|m| format!("no trajectory finished; the last failure: {m}"));
        }
        Ok(stopped)
    });
    gauges.sample(r.idle.as_ref().map(|i| &i.vault));
    let v = r.idle.as_ref().map(|i| i.vault.stats()).unwrap_or_default();
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
    stats.sessions = SessionStats {
        suspends: v.suspends,
        resumes: v.resumes,
        resume_ms_mean: ms(v.resume_mean),
        resume_ms_p50: ms(v.resume_p50),
        resume_ms_p99: ms(v.resume_p99),
        resume_ms_max: ms(v.resume_max),
        spilled_peak: gauges.spilled_peak.load(Ordering::Relaxed),
        in_flight_peak: gauges.in_flight_peak.load(Ordering::Relaxed),
        resident_peak: gauges.resident_peak.load(Ordering::Relaxed),
        memory_start_bytes: memory_start,
        memory_peak_bytes: gauges.memory_peak.load(Ordering::Relaxed),
        memory_budget_bytes: r.memory_budget,
        admission_waits: gauges.admission_waits.load(Ordering::Relaxed),
    };
    result
}

/// Why the trajectory stage could not run at all (a single failed trajectory is not an error:
/// it is counted and retried by the next run).
#[derive(Debug, thiserror::Error)]
pub enum TrajectoriesError {
    #[error(transparent)]
    Tasks(#[from] dasynth_tasks::TasksError),
    #[error(transparent)]
    Rows(#[from] dasynth_parquet::RowsError),
    #[error(transparent)]
    Catalog(#[from] dasynth_sources::catalog_io::CatalogError),
    #[error("teacher {teacher:?}")]
    Teacher {
        teacher: String,
        #[source]
        source: Box<dasynth_llm::LlmError>,
    },
    #[error(transparent)]
    Sandbox(#[from] dasynth_sandbox::SandboxError),
    #[error(transparent)]
    Write(#[from] dasynth_core::atomic::PathError),
    #[error("{what} {}", path.display())]
    Io {
        what: &'static str,
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// What [`run_stage`] did.
#[derive(Debug)]
pub struct TrajectoriesOutcome {
    pub stats: TrajectoryStats,
    /// What the LLM teachers spent in all (none when only the reference teacher ran).
    pub spend: Option<dasynth_llm::BudgetSnapshot>,
    /// Open tasks the questioner wrote, where they were saved (none when not saved because some
    /// requests failed), and the failures.
    pub questions: Option<QuestionsOutcome>,
}

/// What the questioner did.
#[derive(Debug)]
pub struct QuestionsOutcome {
    pub questioner: String,
    /// The tasks came from an earlier run's `questions.parquet`; nothing was asked.
    pub reused: bool,
    pub tasks: usize,
    pub saved: Option<std::path::PathBuf>,
    pub errors: Vec<String>,
}

/// The configured teachers by label, and the budget the LLM ones share (if any).
type TeacherSetup = (Vec<(String, Teacher)>, Option<dasynth_llm::Budget>);

fn teachers(s: &dasynth_core::config::Settings, run: &RunDir) -> Result<TeacherSetup, TrajectoriesError> {
    let mut out = Vec::new();
    let mut budget = None;
    let mut cache = None;
    for t in &s.teachers {
        if t.is_reference() {
            out.push((t.label(), Teacher::Reference));
            continue;
        }
        let err = |source| TrajectoriesError::Teacher { teacher: t.label(), source: Box::new(source) };
        let shared = match &cache {
            Some(c) => dasynth_llm::ResponseCache::clone(c),
            None => {
                let path = s.trajectories.cache.clone().unwrap_or_else(|| run.llm_cache());
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).map_err(|source| TrajectoriesError::Io {
                        what: "cannot create",
                        path: dir.to_path_buf(),
                        source,
                    })?;
                }
                let c = dasynth_llm::ResponseCache::open(&path).map_err(err)?;
                cache = Some(c.clone());
                c
            }
        };
        let b = budget.get_or_insert_with(|| dasynth_llm::Budget::new(s.trajectories.budget_usd, s.trajectories.budget_tokens)).clone();
        let client = dasynth_llm::Client::builder(t.clone()).cache(shared).budget(b).build().map_err(err)?;
        out.push((t.label(), Teacher::Llm(client)));
    }
    Ok((out, budget))
}

/// The questioner's open tasks: read from `questions.parquet` when an earlier run wrote it,
/// otherwise asked for (one call per task; the response cache makes a rerun free) and written
/// when every request succeeded.
fn questions(
    s: &dasynth_core::config::Settings,
    run: &RunDir,
    name: &str,
    client: &dasynth_llm::Client,
) -> Result<(Vec<Task>, QuestionsOutcome), TrajectoriesError> {
    let path = run.questions();
    if path.exists() {
        let tasks: Vec<Task> = dasynth_parquet::read_rows(&path)?;
        let n = tasks.len();
        return Ok((
            tasks,
            QuestionsOutcome { questioner: name.to_string(), reused: true, tasks: n, saved: Some(path), errors: Vec::new() },
        ));
    }
    let catalog = dasynth_sources::catalog_io::read(&run.catalog())?;
    let mut tables = Vec::new();
    for e in catalog.into_iter().filter(|e| e.status == dasynth_core::catalog::Status::Ok) {
        let Ok(bytes) = std::fs::read(run.profile(&e.id)) else { continue };
        let Ok(p) = serde_json::from_slice::<dasynth_core::profile::TableProfile>(&bytes) else { continue };
        tables.push((e, p));
    }
    let templates = dasynth_tasks::templates_dir(&s.tasks)?;
    let questioner = crate::roles::Questioner {
        client,
        name,
        templates: &templates,
        run,
        per_table: s.trajectories.questions_per_table,
        seed: s.tasks.seed,
    };
    let (tasks, errors) = write_all_questions(&questioner, &tables).map_err(|source| TrajectoriesError::Io {
        what: "cannot start the questioner's runtime for",
        path: path.clone(),
        source,
    })?;
    let saved = if errors.is_empty() {
        dasynth_parquet::write_rows(&path, &tasks, dasynth_tasks::task::schema())?;
        Some(path)
    } else {
        None
    };
    let outcome = QuestionsOutcome { questioner: name.to_string(), reused: false, tasks: tasks.len(), saved, errors };
    Ok((tasks, outcome))
}

/// Writes trajectories for the run folder's tasks with the configured teachers.
pub fn run_stage(s: &dasynth_core::config::Settings, reporter: &dyn Reporter) -> Result<TrajectoriesOutcome, TrajectoriesError> {
    run_shard(s, None, reporter)
}

/// Writes trajectories for the tasks of one shard (every task with `None`): a shard's go to
/// `trajectories/shard-I-of-N.jsonl` and its counters to `stats/trajectories-shard-I-of-N.json`.
pub fn run_shard(
    s: &dasynth_core::config::Settings,
    shard: Option<dasynth_core::shard::Shard>,
    reporter: &dyn Reporter,
) -> Result<TrajectoriesOutcome, TrajectoriesError> {
    let started = std::time::Instant::now();
    let run = RunDir::new(&s.out);
    let mut tasks = dasynth_tasks::read_tasks(&run)?;
    let dir = run.trajectories_dir();
    let store = match shard {
        Some(sh) => TrajectoryStore::open_file(&run.trajectories_shard(sh)),
        None => TrajectoryStore::open(&dir),
    };
    let mut store =
        store.map_err(|source| TrajectoriesError::Io { what: "cannot open the trajectory store", path: dir.clone(), source })?;
    let (teachers, budget) = teachers(s, &run)?;
    let llm = |name: &Option<String>| -> Option<(String, dasynth_llm::Client)> {
        let name = name.as_ref()?;
        teachers.iter().find_map(|(n, t)| match t {
            Teacher::Llm(c) if n == name => Some((n.clone(), c.clone())),
            _ => None,
        })
    };
    let mut questions_outcome = None;
    if let Some((qname, client)) = llm(&s.trajectories.questioner) {
        let (open, outcome) = questions(s, &run, &qname, &client)?;
        tasks.extend(open);
        questions_outcome = Some(outcome);
    }
    if let Some(sh) = shard {
        tasks.retain(|t| sh.contains(&t.id));
    }
    let inspector = llm(&s.trajectories.inspector);
    let names: Vec<String> = teachers.iter().map(|(n, _)| n.clone()).collect();
    let weights: Vec<f64> = s.teachers.iter().map(|t| t.weight).collect();
    let is_reference: Vec<bool> = teachers.iter().map(|(_, t)| matches!(t, Teacher::Reference)).collect();
    let (jobs, reused) = plan(&tasks, s.trajectories.samples, &names, &weights, &is_reference, &store);
    let mut stats = TrajectoryStats { reused: reused as u64, ..Default::default() };
    if !jobs.is_empty() {
        let (pool, warm) = crate::open_pool(16, reporter)?;
        // Spill files of an earlier run that crashed are of sessions that no longer exist.
        let spill_dir = run.session_spill_dir();
        let _ = std::fs::remove_dir_all(&spill_dir);
        let g = &s.trajectories;
        let memory_budget = crate::llm_teacher::memory_budget(g);
        let all_reference = is_reference.iter().all(|r| *r);
        let limits = crate::llm_teacher::AgentLimits::from_settings(g);
        let async_run = AsyncRun {
            teachers,
            pool: std::sync::Arc::new(pool),
            cells: warm,
            run: run.clone(),
            tasks: std::sync::Arc::new(tasks),
            limits,
            // Reference trajectories are CPU-bound: one per core.
            concurrency: if all_reference { warm } else { g.concurrency },
            max_consecutive_failures: g.concurrency.clamp(8, 64),
            inspector,
            templates: dasynth_tasks::templates_dir(&s.tasks)?,
            idle: crate::llm_teacher::Idle::from_settings(g, spill_dir.clone(), warm),
            memory_budget,
            reference_mistakes: g.reference_mistakes,
        };
        reporter.start("trajectories", jobs.len() as u64);
        let stopped = run_jobs(async_run, jobs, &mut store, &mut stats, reporter).map_err(|source| TrajectoriesError::Io {
            what: "cannot write trajectories to",
            path: dir.clone(),
            source,
        })?;
        reporter.finish();
        let _ = std::fs::remove_dir_all(&spill_dir);
        stats.stopped = stopped;
    }
    stats.seconds = started.elapsed().as_secs_f64();
    dasynth_core::atomic::write_json_atomic(&run.stats_of(dasynth_core::layout::Stage::Trajectories, shard), &stats)?;
    Ok(TrajectoriesOutcome { stats, spend: budget.map(|b| b.snapshot()), questions: questions_outcome })
}
