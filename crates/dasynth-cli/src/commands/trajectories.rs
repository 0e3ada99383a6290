//! `dasynth trajectories`: tasks.parquet → trajectories/*.jsonl with the configured teachers.

use crate::ExitStatus;
use crate::cli::{GlobalArgs, TrajectoriesArgs};
use crate::printer::{self, Progress};
use crate::settings::{self, Overrides};
use anyhow::Context;
use dasynth_agent::generate::{AsyncRun, GenerateStats, Teacher, plan, run_jobs};
use dasynth_agent::llm_teacher::AgentLimits;
use dasynth_agent::trajectory::TrajectoryStore;
use dasynth_core::config::{Settings, TeacherOptions};
use dasynth_core::layout::RunDir;
use dasynth_core::reporter::Reporter;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub fn run(global: &GlobalArgs, args: TrajectoriesArgs) -> anyhow::Result<ExitStatus> {
    let s = settings::resolve(global, Overrides { out: args.dir, ..Default::default() })?;
    trajectories(&s)
}

/// An endpoint configuration for the LLM client from a `[[teacher]]` table.
fn endpoint(t: &TeacherOptions) -> anyhow::Result<dasynth_llm::EndpointConfig> {
    let mut v = serde_json::to_value(t)?;
    if let Some(m) = v.as_object_mut() {
        m.retain(|_, x| !x.is_null());
    }
    serde_json::from_value(v).with_context(|| format!("teacher {:?}: invalid endpoint settings", t.label()))
}

/// The configured teachers by label, and the budget the LLM ones share (if any).
type TeacherSetup = (Vec<(String, Teacher)>, Option<dasynth_llm::Budget>);

fn teachers(s: &Settings, run: &RunDir) -> anyhow::Result<TeacherSetup> {
    let mut out = Vec::new();
    let mut budget = None;
    let mut cache = None;
    for t in &s.teachers {
        if t.kind == "reference" {
            out.push((t.label(), Teacher::Reference));
            continue;
        }
        let shared = match &cache {
            Some(c) => dasynth_llm::ResponseCache::clone(c),
            None => {
                let path = s.generate.cache.clone().unwrap_or_else(|| run.cache_dir().join("llm.sqlite"));
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
                }
                let c = dasynth_llm::ResponseCache::open(&path)?;
                cache = Some(c.clone());
                c
            }
        };
        let b = budget.get_or_insert_with(|| dasynth_llm::Budget::new(s.generate.budget_usd, s.generate.budget_tokens)).clone();
        let client = dasynth_llm::Client::builder(endpoint(t)?).cache(shared).budget(b).build()?;
        out.push((t.label(), Teacher::Llm(client)));
    }
    Ok((out, budget))
}

/// The questioner's open tasks: read from `questions.parquet` when an earlier run wrote it,
/// otherwise asked for (one call per task; the response cache makes a rerun free) and written.
fn questions(s: &Settings, run: &RunDir, name: &str, client: &dasynth_llm::Client) -> anyhow::Result<Vec<dasynth_tasks::task::Task>> {
    let path = run.root().join("questions.parquet");
    if path.exists() {
        return Ok(dasynth_sources::catalog_io::read_rows(&path)?);
    }
    let catalog = dasynth_sources::catalog_io::read(&run.catalog())?;
    let mut tables = Vec::new();
    for e in catalog.into_iter().filter(|e| e.status == dasynth_core::catalog::Status::Ok) {
        let Ok(bytes) = std::fs::read(run.profile(&e.id)) else { continue };
        let Ok(p) = serde_json::from_slice::<dasynth_core::profile::TableProfile>(&bytes) else { continue };
        tables.push((e, p));
    }
    let (tasks, errors) = dasynth_agent::generate::write_all_questions(
        client,
        name,
        &s.tasks.templates,
        run,
        &tables,
        s.generate.questions_per_table,
        s.tasks.seed,
    )?;
    for e in &errors {
        printer::note(format!("  questioner: {e}"));
    }
    if errors.is_empty() {
        dasynth_sources::catalog_io::write_rows(&path, &tasks, dasynth_tasks::task::schema())?;
        printer::note(format!("questions: {} open task(s) from {name} in {}", tasks.len(), path.display()));
    } else {
        printer::note(format!(
            "questions: {} open task(s) from {name}; not saved, so the next run asks again for the failed ones",
            tasks.len()
        ));
    }
    Ok(tasks)
}

/// Writes trajectories for the run folder's tasks; shared with `generate`.
pub fn trajectories(s: &Settings) -> anyhow::Result<ExitStatus> {
    let started = Instant::now();
    let run = RunDir::new(&s.out);
    let mut tasks = dasynth_tasks::read_tasks(&run)?;
    let mut store = TrajectoryStore::open(&run.root().join("trajectories"))?;
    let (teachers, budget) = teachers(s, &run)?;
    let llm = |name: &Option<String>| -> Option<(String, dasynth_llm::Client)> {
        let name = name.as_ref()?;
        teachers.iter().find_map(|(n, t)| match t {
            Teacher::Llm(c) if n == name => Some((n.clone(), c.clone())),
            _ => None,
        })
    };
    if let Some((qname, client)) = llm(&s.generate.questioner) {
        tasks.extend(questions(s, &run, &qname, &client)?);
    }
    let inspector = llm(&s.generate.inspector);
    let names: Vec<String> = teachers.iter().map(|(n, _)| n.clone()).collect();
    let weights: Vec<f64> = s.teachers.iter().map(|t| t.weight.unwrap_or(1.0)).collect();
    let is_reference: Vec<bool> = teachers.iter().map(|(_, t)| matches!(t, Teacher::Reference)).collect();
    let (jobs, reused) = plan(&tasks, s.generate.samples, &names, &weights, &is_reference, &store);
    let mut stats = GenerateStats { reused: reused as u64, ..Default::default() };
    if !jobs.is_empty() {
        let (_sandbox, pool, warm) = super::sandbox::pool(16)?;
        let pool = Arc::new(pool);
        let g = &s.generate;
        let all_reference = teachers.iter().all(|(_, t)| matches!(t, Teacher::Reference));
        let limits = AgentLimits {
            max_turns: g.max_turns,
            max_tokens: g.max_tokens,
            time_limit: Duration::from_secs(g.time_limit_secs),
            cell_timeout: Duration::from_secs(g.cell_timeout_secs),
            execute_bytes: g.execute_bytes,
            turn_tokens: None,
        };
        let async_run = AsyncRun {
            teachers,
            pool,
            run: run.clone(),
            tasks: Arc::new(tasks),
            limits,
            // Reference trajectories are CPU-bound: one per core.
            concurrency: if all_reference { warm } else { g.concurrency },
            max_consecutive_failures: g.concurrency.clamp(8, 64),
            inspector,
            templates: s.tasks.templates.clone(),
        };
        let progress = Progress::new();
        progress.start("trajectories", jobs.len() as u64);
        let stopped = run_jobs(async_run, jobs, &mut store, &mut stats, &progress)?;
        progress.finish();
        stats.stopped = stopped;
    }
    stats.seconds = started.elapsed().as_secs_f64();
    dasynth_core::atomic::write_json_atomic(&run.stats("generate"), &stats)?;
    let finishes: Vec<String> = stats.by_finish.iter().map(|(k, v)| format!("{k} {v}")).collect();
    printer::note(format!(
        "trajectories: {} written to {}, {} kept from an earlier run, {} passed the answer check, {} failed it ({}), {:.1}s",
        stats.written,
        store.dir().display(),
        stats.reused,
        stats.passed,
        stats.failed_check,
        finishes.join(", "),
        stats.seconds
    ));
    if let Some(b) = budget {
        let snap = b.snapshot();
        printer::note(format!(
            "  spend: ${:.4}, {} tokens, {} requests ({} input / {} output tokens in these trajectories, {} cached turns)",
            snap.spent_usd, snap.tokens, snap.requests, stats.input_tokens, stats.output_tokens, stats.cached_turns
        ));
    }
    if let Some(why) = &stats.stopped {
        printer::note(format!("  stopped early: {why}\n  hint: finished trajectories are kept; rerun the same command to continue"));
        return Ok(ExitStatus::Problems);
    }
    Ok(if stats.failed_check == 0 && stats.by_finish.keys().all(|k| k == "answer") { ExitStatus::Success } else { ExitStatus::Problems })
}
