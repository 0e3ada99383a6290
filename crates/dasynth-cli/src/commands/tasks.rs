//! `dasynth tasks`: profiles + templates → tasks.parquet, optionally with every reference
//! solution run in the sandbox and checked against the ground truth.

use crate::ExitStatus;
use crate::cli::{GlobalArgs, TasksArgs};
use crate::printer::{self, Progress};
use crate::settings::{self, Overrides};
use dasynth_core::config::Settings;
use dasynth_core::layout::RunDir;
use dasynth_tasks::task::Task;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

pub fn run(global: &GlobalArgs, args: TasksArgs) -> anyhow::Result<ExitStatus> {
    let s = settings::resolve(global, Overrides { out: args.dir, tasks: args.flags, ..Default::default() })?;
    let status = tasks(&s)?;
    if args.check_solutions {
        let checked = check_solutions(&s)?;
        return Ok(if status == ExitStatus::Success { checked } else { status });
    }
    Ok(status)
}

/// Builds the tasks of the settings' run folder; shared with `generate`.
pub fn tasks(s: &Settings) -> anyhow::Result<ExitStatus> {
    let run = RunDir::new(&s.out);
    let outcome = dasynth_tasks::build_tasks(&run, &s.tasks, &Progress::new())?;
    let st = &outcome.stats;
    printer::note(format!(
        "tasks: {} task(s) in {} from {} template(s), {} dropped, {:.1}s",
        st.stage.kept,
        run.root().join("tasks.parquet").display(),
        st.by_template.len(),
        st.stage.dropped,
        st.stage.seconds
    ));
    let fam: Vec<String> = st.by_family.iter().map(|(f, n)| format!("{f} {n}")).collect();
    printer::note(format!("  by family: {}", fam.join(", ")));
    if !st.stage.dropped_by_reason.is_empty() {
        let drops: Vec<String> = st.stage.dropped_by_reason.iter().map(|(r, n)| format!("{r} {n}")).collect();
        printer::note(format!("  dropped: {}", drops.join(", ")));
    }
    if st.tables_without_tasks > 0 {
        printer::note(format!("  {} table(s) fit no template", st.tables_without_tasks));
    }
    for e in &outcome.template_errors {
        printer::note(format!("  template skipped: {e}"));
    }
    Ok(if outcome.template_errors.is_empty() { ExitStatus::Success } else { ExitStatus::Problems })
}

/// Runs every task's reference solution in the sandbox; writes `stats/solutions.json`.
pub fn check_solutions(s: &Settings) -> anyhow::Result<ExitStatus> {
    let run = RunDir::new(&s.out);
    let tasks = dasynth_tasks::read_tasks(&run)?;
    let (_sandbox, pool, workers) = super::sandbox::pool(8)?;
    let progress = Progress::new();
    use dasynth_core::reporter::Reporter;
    progress.start("solutions", tasks.len() as u64);
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(usize, Result<dasynth_agent::ReferenceRun, String>)>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(t) = tasks.get(i) else { break };
                    let r = dasynth_agent::run_reference(&pool, &run, t).map_err(|e| format!("{e:#}"));
                    progress.item(&t.template);
                    if let Ok(mut v) = results.lock() {
                        v.push((i, r));
                    }
                }
            });
        }
    });
    progress.finish();
    let mut results = results.into_inner().unwrap_or_default();
    results.sort_by_key(|(i, _)| *i);
    let mut by_family: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut failures = Vec::new();
    for (i, r) in &results {
        let t: &Task = &tasks[*i];
        let e = by_family.entry(t.family.clone()).or_default();
        match r {
            Ok(run) if run.verdict.passed => e.0 += 1,
            Ok(run) => {
                e.1 += 1;
                failures
                    .push(serde_json::json!({"task": t.id, "template": t.template, "reason": run.verdict.reason, "answer": run.answer}));
            }
            Err(msg) => {
                e.1 += 1;
                failures.push(serde_json::json!({"task": t.id, "template": t.template, "reason": msg}));
            }
        }
    }
    for f in &failures {
        printer::note(format!(
            "  disagreement: {} ({}): {}",
            f["template"].as_str().unwrap_or(""),
            f["task"].as_str().unwrap_or(""),
            f["reason"].as_str().unwrap_or("")
        ));
    }
    let passed: u64 = by_family.values().map(|v| v.0).sum();
    let fam: Vec<String> = by_family.iter().map(|(f, (p, n))| format!("{f} {p}/{}", p + n)).collect();
    printer::note(format!("solutions: {passed}/{} reference solution(s) agree with the ground truth ({})", results.len(), fam.join(", ")));
    let report = serde_json::json!({
        "checked": results.len(),
        "passed": passed,
        "by_family": by_family.iter().map(|(f, (p, n))| (f.clone(), serde_json::json!({"passed": p, "failed": n}))).collect::<serde_json::Map<_, _>>(),
        "failures": failures,
    });
    dasynth_core::atomic::write_json_atomic(&run.stats("solutions"), &report)?;
    Ok(if failures.is_empty() { ExitStatus::Success } else { ExitStatus::Problems })
}
