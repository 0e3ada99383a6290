//! The stage as the CLI calls it: select tasks, run the student's samples that the store does
//! not hold yet, verify them, write the pass rates and `stats/sample.json`.

use crate::error::SampleError;
use crate::pass_rates::{pass_rate_schema, pass_rates};
use crate::student::Student;
use dasynth_agent::llm_teacher::{AgentLimits, Idle};
use dasynth_agent::store::TrajectoryStore;
use dasynth_agent::trajectories::{AsyncRun, Teacher, TrajectoryStats, plan, run_jobs};
use dasynth_core::config::Settings;
use dasynth_core::layout::{RunDir, Stage};
use dasynth_core::reporter::Reporter;
use dasynth_core::shard::Shard;
use dasynth_core::task::Task;
use dasynth_core::trajectory::trajectory_key;
use dasynth_core::verdict::{PassRate, Verdict, VerifyStats};
use dasynth_verify::Corpus;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::time::Instant;

/// What to sample, and how.
#[derive(Debug, Clone)]
pub struct SampleOptions {
    pub student: Student,
    /// Samples per task.
    pub n: u32,
    pub temperature: f64,
    pub top_p: f64,
    /// Salts every request's seed: another seed samples the same tasks afresh.
    pub seed: u64,
    /// Output tokens per turn.
    pub turn_tokens: u32,
    /// Only tasks of these families / curriculum stages (all when empty).
    pub families: Vec<String>,
    pub stages: Vec<u32>,
    /// The first this many selected tasks, in `tasks.parquet` order.
    pub max_tasks: Option<usize>,
    /// Sample only the selected tasks whose id falls in this shard, into the shard's own files
    /// (`dasynth merge` joins them).
    pub shard: Option<Shard>,
}

/// What the stage did: `stats/sample.json` (`stats/sample-shard-I-of-N.json` for a shard).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SampleStats {
    /// The student's model name and its variant (the teacher name in its trajectories).
    pub model: String,
    pub variant: String,
    pub n: u32,
    pub tasks: u64,
    /// Samples run now, and samples an earlier run had finished.
    pub samples_run: u64,
    pub samples_reused: u64,
    /// Samples that failed for the moment (endpoint errors) and are retried by the next run.
    pub samples_missing: u64,
    /// How the samples of this variant ended (`answer`, `format_error`, `repeated_cell`, ...).
    pub by_finish: BTreeMap<String, u64>,
    /// Samples verify accepted, and the mean of the tasks' pass rates.
    pub passed: u64,
    pub mean_pass_rate: f64,
    /// Tasks never solved, always solved, and in between.
    pub never_solved: u64,
    pub always_solved: u64,
    pub sometimes_solved: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// Samples run per minute of sampling (the agent loop, not verify).
    pub samples_per_minute: f64,
    pub sampling_seconds: f64,
    /// The verify stage over `student/trajectories/`.
    pub verify: VerifyStats,
    /// Why sampling stopped early, if it did.
    pub stopped: Option<String>,
    pub seconds: f64,
}

/// What [`sample`] did.
#[derive(Debug)]
pub struct SampleOutcome {
    pub stats: SampleStats,
    /// The pass rates written (the shard's file for a shard).
    pub pass_rates: PathBuf,
    /// Every file the run wrote its results to (what a shard's completion marker lists).
    pub files: Vec<PathBuf>,
}

/// The teacher name of a student's samples: the model and everything that changes them.
pub fn variant_name(model: &str, o: &SampleOptions) -> String {
    format!("{model} (t={}, top-p={}, seed={})", o.temperature, o.top_p, o.seed)
}

/// The tasks to sample: those with a ground truth (open tasks have none to pass), filtered.
fn select(tasks: Vec<Task>, o: &SampleOptions) -> Vec<Task> {
    let mut out: Vec<Task> = tasks
        .into_iter()
        .filter(|t| t.template != dasynth_tasks::QUESTIONER_TEMPLATE && !t.ground_truth_value().is_null())
        .filter(|t| o.families.is_empty() || o.families.contains(&t.family))
        .filter(|t| o.stages.is_empty() || o.stages.contains(&t.stage))
        .collect();
    if let Some(max) = o.max_tasks {
        out.truncate(max);
    }
    out
}

fn selection(o: &SampleOptions) -> String {
    let mut parts = Vec::new();
    if !o.families.is_empty() {
        parts.push(format!("families {}", o.families.join(", ")));
    }
    if !o.stages.is_empty() {
        parts.push(format!("stages {:?}", o.stages));
    }
    if let Some(m) = o.max_tasks {
        parts.push(format!("at most {m} tasks"));
    }
    if parts.is_empty() { "every task with a ground truth".into() } else { parts.join("; ") }
}

/// Runs the student over the run folder's tasks and writes `student/`.
pub fn sample(s: &Settings, o: &SampleOptions, reporter: &dyn Reporter) -> Result<SampleOutcome, SampleError> {
    let started = Instant::now();
    let run = RunDir::new(&s.out);
    let mut tasks = select(dasynth_tasks::read_tasks(&run)?, o);
    if tasks.is_empty() {
        return Err(SampleError::NoTasks { path: run.tasks(), selection: selection(o) });
    }
    // A shard may own none of the selected tasks: it then writes empty files, and completes.
    if let Some(sh) = o.shard {
        tasks.retain(|t| sh.contains(&t.id));
    }
    let model = o.student.model();
    let variant = variant_name(&model, o);
    // The folder of samples, or the shard's own file in it.
    let samples = o.shard.map_or_else(|| run.student_trajectories_dir(), |sh| run.student_trajectories_shard(sh));
    let io = |what, path: &std::path::Path| {
        let path = path.to_path_buf();
        move |source| SampleError::Io { what, path, source }
    };
    // A shard appends to its own file only (other shards may be writing theirs).
    let opened = match o.shard {
        Some(_) => TrajectoryStore::open_file(&samples),
        None => TrajectoryStore::open(&samples),
    };
    let mut store = opened.map_err(io("cannot open the student's trajectory store", &samples))?;
    if o.shard.is_some() {
        // The shard's file exists even when it has nothing to sample, so verify reads it alone.
        std::fs::OpenOptions::new().create(true).append(true).open(&samples).map_err(io("cannot create", &samples))?;
    }
    let (jobs, reused) = plan(&tasks, o.n, std::slice::from_ref(&variant), &[1.0], &[false], &store);
    let keys: HashSet<String> = tasks.iter().flat_map(|t| (0..o.n).map(|i| trajectory_key(&t.id, &variant, i))).collect();
    let mut traj = TrajectoryStats { reused: reused as u64, ..Default::default() };
    let sampling = Instant::now();
    // The sandbox the samples ran in replays them too.
    let mut sandbox: Option<std::sync::Arc<dasynth_sandbox::SessionPool>> = None;
    if !jobs.is_empty() {
        let g = &s.trajectories;
        reporter.note(&format!("student {model}: loading"));
        let student = o.student.start(g.concurrency)?;
        let endpoint =
            |source| SampleError::Endpoint { url: student.config.base_url.clone().unwrap_or_default(), source: Box::new(source) };
        let cache = dasynth_llm::ResponseCache::open(g.cache.clone().unwrap_or_else(|| run.llm_cache())).map_err(endpoint)?;
        let client = dasynth_llm::Client::builder(student.config.clone()).cache(cache).build().map_err(endpoint)?;
        let (pool, warm) = dasynth_agent::open_pool(16, reporter)?;
        let pool = std::sync::Arc::new(pool);
        sandbox = Some(pool.clone());
        let spill_dir = run.session_spill_dir();
        let _ = std::fs::remove_dir_all(&spill_dir);
        let memory_budget = dasynth_agent::llm_teacher::memory_budget(g);
        let limits = AgentLimits {
            turn_tokens: Some(o.turn_tokens),
            temperature: Some(o.temperature),
            top_p: Some(o.top_p),
            seed_salt: o.seed,
            max_repeats: Some(3),
            ..AgentLimits::from_settings(g)
        };
        let async_run = AsyncRun {
            teachers: vec![(variant.clone(), Teacher::Llm(client))],
            pool,
            cells: warm,
            run: run.clone(),
            tasks: std::sync::Arc::new(tasks.clone()),
            limits,
            // Enough samples in flight to keep every slot of the student busy while others run cells.
            concurrency: (student.parallel * 2).max(warm),
            max_consecutive_failures: g.concurrency.clamp(8, 64),
            inspector: None,
            templates: dasynth_tasks::templates_dir(&s.tasks)?,
            idle: Idle::from_settings(g, spill_dir.clone(), warm),
            memory_budget,
            reference_mistakes: 0.0,
        };
        reporter.start("sample", jobs.len() as u64);
        let stopped = run_jobs(async_run, jobs, &mut store, &mut traj, reporter).map_err(io("cannot write samples to", &samples))?;
        reporter.finish();
        let _ = std::fs::remove_dir_all(&spill_dir);
        traj.stopped = stopped.map(|why| format!("{why}\n(the student at {})", student.config.base_url.as_deref().unwrap_or_default()));
    }
    let sampling_seconds = sampling.elapsed().as_secs_f64();
    drop(store);

    let verified = dasynth_verify::verify_corpus(&run, s, Corpus::Student, o.shard, sandbox.as_deref(), reporter)?;
    let verdicts: Vec<Verdict> = dasynth_parquet::read_rows(&verified.verdicts)?;
    let rows = pass_rates(&tasks, &verdicts, &keys);
    let rates_path = o.shard.map_or_else(|| run.pass_rates(), |sh| run.pass_rates_shard(sh));
    dasynth_parquet::write_rows(&rates_path, &rows, pass_rate_schema())?;

    let mine: Vec<&Verdict> = verdicts.iter().filter(|v| keys.contains(&v.key)).collect();
    let mut stats = SampleStats {
        model,
        variant,
        n: o.n,
        tasks: tasks.len() as u64,
        samples_run: traj.written,
        samples_reused: traj.reused,
        samples_missing: keys.len().saturating_sub(mine.len()) as u64,
        passed: mine.iter().filter(|v| v.accepted).count() as u64,
        input_tokens: mine.iter().map(|v| v.input_tokens).sum(),
        output_tokens: mine.iter().map(|v| v.output_tokens).sum(),
        samples_per_minute: if traj.written > 0 { traj.written as f64 / sampling_seconds.max(1e-9) * 60.0 } else { 0.0 },
        sampling_seconds,
        verify: verified.stats,
        stopped: traj.stopped,
        ..Default::default()
    };
    for v in &mine {
        *stats.by_finish.entry(v.finish.clone()).or_default() += 1;
    }
    summarise(&mut stats, &rows);
    stats.seconds = started.elapsed().as_secs_f64();
    let stats_path = run.stats_of(Stage::Sample, o.shard);
    dasynth_core::atomic::write_json_atomic(&stats_path, &stats)?;
    let files = vec![samples, verified.verdicts, rates_path.clone(), stats_path];
    Ok(SampleOutcome { stats, pass_rates: rates_path, files })
}

pub(crate) fn summarise(stats: &mut SampleStats, rows: &[PassRate]) {
    for r in rows {
        match r.passed {
            0 => stats.never_solved += 1,
            p if p == r.n => stats.always_solved += 1,
            _ => stats.sometimes_solved += 1,
        }
    }
    stats.mean_pass_rate = if rows.is_empty() { 0.0 } else { rows.iter().map(|r| r.pass_rate).sum::<f64>() / rows.len() as f64 };
}
