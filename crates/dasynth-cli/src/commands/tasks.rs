//! `dasynth tasks`: profiles + templates → tasks.parquet, optionally with every reference
//! solution run in the sandbox and checked against the ground truth.

use crate::ExitStatus;
use crate::printer::{self, Progress};
use dasynth_core::config::Settings;
use dasynth_core::layout::RunDir;
use dasynth_core::lock::RunLock;
use dasynth_core::shard::Shard;
use dasynth_scale::prepare::plan_once;

/// `dasynth tasks [DIR] [--shard I/N] [--check-solutions]`: the whole run holds the run folder's
/// lock, a shard its shard's (the plan itself is made under the plan lock).
pub fn run(s: &Settings, check_solutions: bool, shard: Option<&str>, wait: bool) -> anyhow::Result<ExitStatus> {
    let run = RunDir::new(&s.out);
    let (status, _lock) = match shard.map(Shard::parse).transpose()? {
        Some(shard) => {
            let lock = RunLock::acquire_shard(&run, shard, wait)?;
            (tasks_shard(s, shard)?, lock)
        }
        None => {
            let lock = RunLock::acquire(&run, wait)?;
            (tasks(s)?, lock)
        }
    };
    if check_solutions {
        let checked = solutions(s)?;
        return Ok(if status == ExitStatus::Success { checked } else { status });
    }
    Ok(status)
}

/// One shard's view of the task plan. The plan is made once per run folder, by the first
/// shard to get there (it needs every table: quotas, duplicates and `max-tasks` across
/// sources), and reused by the others; the shard then counts the tasks that are its own.
fn tasks_shard(s: &Settings, shard: Shard) -> anyhow::Result<ExitStatus> {
    let run = RunDir::new(&s.out);
    let status = plan_once(&run, s, || tasks(s))?.unwrap_or(ExitStatus::Success);
    let all = dasynth_tasks::read_tasks(&run)?;
    let mine = all.iter().filter(|t| shard.contains(&t.id)).count();
    printer::note(format!("tasks: shard {shard} holds {mine} of the {} task(s) in {}", all.len(), run.tasks().display()));
    Ok(status)
}

/// Builds the tasks of the settings' run folder; shared with `generate`, which holds the lock.
pub fn tasks(s: &Settings) -> anyhow::Result<ExitStatus> {
    let run = RunDir::new(&s.out);
    let outcome = dasynth_tasks::build_tasks(&run, &s.tasks, &Progress::new())?;
    let st = &outcome.stats;
    printer::note(format!(
        "tasks: {} task(s) in {} from {} template(s), {} dropped, {:.1}s",
        st.stage.kept,
        run.tasks().display(),
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
        printer::problem(format!("  template skipped: {e}"));
    }
    Ok(if outcome.template_errors.is_empty() { ExitStatus::Success } else { ExitStatus::Problems })
}

/// Runs every task's reference solution in the sandbox; writes `stats/solutions.json`.
pub fn solutions(s: &Settings) -> anyhow::Result<ExitStatus> {
    let run = RunDir::new(&s.out);
    let tasks = dasynth_tasks::read_tasks(&run)?;
    let progress = Progress::new();
    let (pool, _) = dasynth_agent::open_pool(8, &progress)?;
    let stats = dasynth_agent::solutions::check_solutions(&run, &tasks, &pool, &progress)?;
    for f in &stats.failures {
        printer::note(format!("  disagreement: {} ({}): {}", f.template, f.task, f.reason));
    }
    let fam: Vec<String> = stats.by_family.iter().map(|(f, g)| format!("{f} {}/{}", g.passed, g.passed + g.failed)).collect();
    printer::note(format!(
        "solutions: {}/{} reference solution(s) agree with the ground truth ({})",
        stats.passed,
        stats.checked,
        fam.join(", ")
    ));
    if !stats.dropped_by_reason.is_empty() {
        let drops: Vec<String> = stats.dropped_by_reason.iter().map(|(r, n)| format!("{r} {n}")).collect();
        printer::note(format!("  dropped from {}: {}", run.tasks().display(), drops.join(", ")));
    }
    if stats.bugs() > 0 && printer::quiet() {
        printer::problem(format!(
            "solutions: {} reference solution(s) disagree with their ground truth, their tasks dropped (each in {}; rerun without -q to list them)",
            stats.bugs(),
            run.stats(dasynth_core::layout::Stage::Solutions).display()
        ));
    }
    Ok(if stats.bugs() == 0 { ExitStatus::Success } else { ExitStatus::Problems })
}
