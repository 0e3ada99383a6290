//! The stage as the CLI calls it: read the run folder, reuse what an earlier run decided, verify
//! the rest in parallel, drop near duplicates, write `verdicts.parquet` and `stats/verify.json`.
//!
//! Resumable: a verdict is keyed by the trajectory's key, the sha256 of its line and the sha256
//! of the verify settings (with the judge's model and the benchmark files' bytes), and an
//! earlier verdict with the same three is taken over as it is. Deterministic: lines are read in
//! file order, verified in parallel but written in that order, and nothing in a verdict depends
//! on timing. Trajectory lines are read in batches, so memory holds one batch of records plus a
//! MinHash fingerprint per trajectory.

use crate::check::{self, Context};
use crate::decontaminate::{Benchmarks, Match};
use crate::error::VerifyError;
use crate::judge::Judge;
use crate::minhash::{self, Fingerprint};
use crate::records::{self, Line};
use dasynth_core::config::Settings;
use dasynth_core::layout::{RunDir, Stage};
use dasynth_core::reporter::Reporter;
use dasynth_core::shard::Shard;
use dasynth_core::task::Task;
use dasynth_core::verdict::{Reason, Verdict, VerifyStats};
use dasynth_sandbox::SessionPool;
use rayon::prelude::*;
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

/// Bump when a check changes meaning: every verdict is made again.
pub const VERIFY_VERSION: u32 = 1;

/// Trajectory lines verified together.
const BATCH: usize = 256;

/// Which trajectories of a run folder a verify run decides on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Corpus {
    /// The teachers' trajectories (`trajectories/` → `verdicts.parquet`, `stats/verify.json`).
    Teacher,
    /// The student's samples (`student/trajectories/` → `student/verdicts.parquet`). Every
    /// sample is judged on its own: several samples of one task reaching the same answer the
    /// same way is what a pass rate counts, so near duplicates are not dropped here.
    Student,
}

impl Corpus {
    fn trajectories_dir(self, run: &RunDir) -> PathBuf {
        match self {
            Corpus::Teacher => run.trajectories_dir(),
            Corpus::Student => run.student_trajectories_dir(),
        }
    }

    /// Where the trajectory stage kept a trajectory's `outputs/` files.
    pub fn outputs(self, run: &RunDir, key: &str) -> PathBuf {
        match self {
            Corpus::Teacher => run.trajectory_outputs(key),
            Corpus::Student => run.student_outputs(key),
        }
    }

    /// One shard's own trajectory file.
    fn trajectories_shard(self, run: &RunDir, shard: Shard) -> PathBuf {
        match self {
            Corpus::Teacher => run.trajectories_shard(shard),
            Corpus::Student => run.student_trajectories_shard(shard),
        }
    }

    /// The folder of the shards' verdict files, which an unsharded run takes verdicts over from.
    fn verdict_shards_dir(self, run: &RunDir) -> PathBuf {
        match self {
            Corpus::Teacher => run.verdict_shards_dir(),
            Corpus::Student => run.student_verdict_shards_dir(),
        }
    }

    /// The verdicts file and the stats file (none: the caller reports the stats).
    fn destination(self, run: &RunDir, shard: Option<Shard>) -> (PathBuf, Option<PathBuf>) {
        match (self, shard) {
            (Corpus::Teacher, Some(sh)) => (run.verdicts_shard(sh), Some(run.stats_shard(Stage::Verify, sh))),
            (Corpus::Teacher, None) => (run.verdicts(), Some(run.stats(Stage::Verify))),
            (Corpus::Student, Some(sh)) => (run.student_verdicts_shard(sh), None),
            (Corpus::Student, None) => (run.student_verdicts(), None),
        }
    }
}

/// What [`verify`] did.
#[derive(Debug)]
pub struct VerifyOutcome {
    pub stats: VerifyStats,
    /// The verdicts file written (`verdicts.parquet`, or the shard's file).
    pub verdicts: PathBuf,
    /// Verdicts a check could not finish (the judge did not answer); the next run makes them again.
    pub incomplete: u64,
}

/// The sha256 of everything a verdict depends on besides its trajectory line.
fn settings_sha256(s: &Settings) -> Result<String, VerifyError> {
    let mut benchmarks = Vec::new();
    for p in &s.verify.decontaminate {
        let (sha, _) = dasynth_core::ids::sha256_file(p)
            .map_err(|e| VerifyError::Benchmark { path: p.clone(), message: format!("cannot read it: {e}") })?;
        benchmarks.push(sha);
    }
    let v = serde_json::json!({
        "version": VERIFY_VERSION,
        "verify": s.verify,
        "judge": Judge::fingerprint(s),
        "benchmarks": benchmarks,
    });
    Ok(dasynth_core::ids::sha256_hex(v.to_string().as_bytes()))
}

/// Every task a trajectory may name: `tasks.parquet` and, when present, `questions.parquet`.
fn read_tasks(run: &RunDir) -> Result<HashMap<String, Task>, VerifyError> {
    let mut tasks = dasynth_tasks::read_tasks(run)?;
    if run.questions().exists() {
        tasks.extend(dasynth_parquet::read_rows::<Task>(&run.questions())?);
    }
    Ok(tasks.into_iter().map(|t| (t.id.clone(), t)).collect())
}

/// Verdicts of earlier runs that may be taken over, by key (with the shard files' in
/// `shards_dir` when given).
fn earlier_verdicts(out: &std::path::Path, shards_dir: Option<PathBuf>) -> HashMap<String, Verdict> {
    let mut paths = vec![out.to_path_buf()];
    if let Some(dir) = shards_dir
        && let Ok(entries) = std::fs::read_dir(dir)
    {
        let mut shards: Vec<PathBuf> =
            entries.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|e| e == "parquet")).collect();
        shards.sort();
        paths.extend(shards);
    }
    let mut out = HashMap::new();
    for p in paths.iter().filter(|p| p.exists()) {
        match dasynth_parquet::read_rows::<Verdict>(p) {
            Ok(rows) => out.extend(rows.into_iter().map(|v| (v.key.clone(), v))),
            // An unreadable earlier file only costs the work it would have saved.
            Err(e) => tracing::warn!(error = %e, "earlier verdicts not reused"),
        }
    }
    out
}

/// One verdict slot, in file order.
struct Entry {
    verdict: Option<Verdict>,
    fingerprint: Option<Fingerprint>,
    complete: bool,
}

/// Verifies the run folder's trajectories (one shard of them with `shard`).
pub fn verify(run: &RunDir, s: &Settings, shard: Option<Shard>, reporter: &dyn Reporter) -> Result<VerifyOutcome, VerifyError> {
    verify_corpus(run, s, Corpus::Teacher, shard, None, reporter)
}

/// Verifies one corpus of the run folder: the teachers' trajectories (one shard of them with
/// `shard`) or the student's samples (`shard` is then only a filter on the tasks). Replays use
/// `pool` when the caller already started the sandbox, else a pool of their own, started on the
/// first trajectory that needs one.
pub fn verify_corpus(
    run: &RunDir,
    s: &Settings,
    corpus: Corpus,
    shard: Option<Shard>,
    pool: Option<&SessionPool>,
    reporter: &dyn Reporter,
) -> Result<VerifyOutcome, VerifyError> {
    let started = Instant::now();
    if !run.root().is_dir() {
        return Err(VerifyError::NoRun { path: run.root().to_path_buf() });
    }
    // A shard that wrote its own trajectory file verifies that file alone (other shards may be
    // appending to theirs); otherwise the shard's lines are picked from every file.
    let all = records::files(run, &corpus.trajectories_dir(run))?;
    let files = match shard.map(|sh| corpus.trajectories_shard(run, sh)).filter(|own| all.contains(own)) {
        Some(own) => vec![own],
        None => all,
    };
    let tasks = read_tasks(run)?;
    let settings_sha = settings_sha256(s)?;
    let benchmarks = Benchmarks::load(&s.verify.decontaminate, s.verify.decontaminate_ngram)?;
    let contamination: HashMap<String, Match> = tasks
        .values()
        .filter_map(|t| benchmarks.check(&t.instruction, s.verify.decontaminate_threshold).map(|m| (t.id.clone(), m)))
        .collect();
    let judge = Judge::from_settings(s, run)?;
    let (out, stats_path) = corpus.destination(run, shard);
    let mut earlier = earlier_verdicts(&out, shard.is_none().then(|| corpus.verdict_shards_dir(run)));

    let mut total = 0u64;
    for f in &files {
        total += records::count_lines(run, f)?;
    }
    reporter.start("verify", total);

    let workers = rayon::ThreadPoolBuilder::new()
        .num_threads(dasynth_core::machine::cores())
        .thread_name(|i| format!("dasynth-verify-{i}"))
        .build()
        .map_err(|e| VerifyError::Threads(e.to_string()))?;
    let mut own_pool: Option<SessionPool> = None;
    let mut stats = VerifyStats::default();
    let mut entries: Vec<Entry> = Vec::new();
    let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut pending: Vec<(usize, Line)> = Vec::new();

    let mut flush = |pending: &mut Vec<(usize, Line)>, entries: &mut Vec<Entry>, stats: &mut VerifyStats| -> Result<(), VerifyError> {
        if pending.is_empty() {
            return Ok(());
        }
        if s.verify.replay && pool.is_none() && own_pool.is_none() {
            own_pool = Some(dasynth_agent::open_pool(16, reporter)?.0);
        }
        let ctx = Context {
            run,
            settings: &s.verify,
            settings_sha256: &settings_sha,
            tasks: &tasks,
            pool: pool.or(own_pool.as_ref()),
            judge: judge.as_ref(),
            contamination: &contamination,
            corpus,
        };
        let done: Vec<(usize, check::Checked)> = workers.install(|| {
            pending
                .par_iter()
                .map(|(i, line)| {
                    let c = check::check_line(&ctx, line);
                    reporter.item(&line.key);
                    (*i, c)
                })
                .collect()
        });
        for (i, c) in done {
            stats.cells_replayed += c.cells_run;
            entries[i].verdict = Some(c.verdict);
            entries[i].complete = c.complete;
        }
        pending.clear();
        Ok(())
    };

    for f in &files {
        records::for_each_line(run, f, |line| {
            if let Some(sh) = shard
                && !sh.contains(line.task_id.as_deref().unwrap_or(&line.key))
            {
                return Ok(());
            }
            let i = entries.len();
            if !seen.insert(line.key.clone()) {
                entries.push(Entry { verdict: Some(check::repeated_key(&line, &settings_sha)), fingerprint: None, complete: true });
                reporter.item(&line.key);
                return Ok(());
            }
            let fingerprint = check::dedup_text(&line).map(|t| minhash::fingerprint(&t));
            let reuse = earlier.remove(&line.key).filter(|v| v.trajectory_sha256 == line.sha256 && v.settings_sha256 == settings_sha);
            match reuse {
                Some(mut v) => {
                    // Near duplicates are decided again below, over this run's verdicts.
                    v.reasons.retain(|r| *r != Reason::NearDuplicate);
                    v.duplicate_of = None;
                    check::settle(&mut v);
                    stats.reused += 1;
                    entries.push(Entry { verdict: Some(v), fingerprint, complete: true });
                    reporter.item(&line.key);
                }
                None => {
                    entries.push(Entry { verdict: None, fingerprint, complete: true });
                    pending.push((i, line));
                    if pending.len() >= BATCH {
                        flush(&mut pending, &mut entries, &mut stats)?;
                    }
                }
            }
            Ok(())
        })?;
    }
    flush(&mut pending, &mut entries, &mut stats)?;
    reporter.finish();

    // Near duplicates: each otherwise accepted trajectory against the accepted ones before it.
    let mut index = minhash::Index::default();
    let mut verdicts = Vec::with_capacity(entries.len());
    let mut incomplete = 0;
    for e in entries {
        let Some(mut v) = e.verdict else { continue };
        if v.accepted
            && corpus == Corpus::Teacher
            && let Some(fp) = e.fingerprint
        {
            match index.find(&fp, s.verify.near_duplicate) {
                Some((first, _)) => {
                    v.duplicate_of = Some(first.to_string());
                    v.reasons.push(Reason::NearDuplicate);
                    check::settle(&mut v);
                }
                None => index.insert(v.key.clone(), fp),
            }
        }
        if !e.complete {
            // Written, but not taken over by the next run.
            v.settings_sha256.clear();
            incomplete += 1;
        }
        stats.add(&v);
        verdicts.push(v);
    }
    dasynth_parquet::write_rows(&out, &verdicts, crate::schema::verdict_schema())?;
    stats.seconds = started.elapsed().as_secs_f64();
    if let Some(path) = stats_path {
        dasynth_core::atomic::write_json_atomic(&path, &stats)?;
    }
    Ok(VerifyOutcome { stats, verdicts: out, incomplete })
}
