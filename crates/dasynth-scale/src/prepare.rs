//! The work every shard shares — crawl, profile and the task plan — done once per run folder.
//!
//! The task plan is global by nature: per-table quotas, duplicate removal across tables and the
//! `max-tasks` quota balanced across sources all need every table. So shards do not plan their
//! own tasks: the first shard to take the [`PlanLock`] crawls, profiles and writes
//! `tasks.parquet`, then records the fingerprint of the settings it planned from in
//! `shards/tasks-plan.json`; the shards after it find the plan current and reuse it as it is.
//! Ground truths are computed once, by one process, so the float sums of a parallel group-by
//! cannot differ between shards. A change to the sources, crawl, profile or task settings
//! changes the fingerprint, and the next shard plans again.

use crate::ScaleError;
use dasynth_core::config::Settings;
use dasynth_core::layout::RunDir;
use serde::{Deserialize, Serialize};

/// Held while one shard prepares the run; others wait for it.
#[derive(Debug)]
pub struct PlanLock {
    run: RunDir,
    _file: std::fs::File,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanRecord {
    fingerprint: String,
    planned: String,
    host: String,
}

/// The sha256 of every setting the crawl, the profiles and the task plan depend on.
pub fn fingerprint(s: &Settings) -> String {
    let v = serde_json::json!({
        "sources": s.sources,
        "crawl": s.crawl,
        "profile": s.profile,
        "tasks": s.tasks,
    });
    dasynth_core::ids::sha256_hex(v.to_string().as_bytes())
}

impl PlanLock {
    /// Waits until no other shard is preparing the run folder.
    pub fn acquire(run: &RunDir) -> Result<Self, ScaleError> {
        let dir = run.shards_dir();
        std::fs::create_dir_all(&dir).map_err(ScaleError::io("create", &dir))?;
        let path = run.prepare_lock();
        let file =
            std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&path).map_err(ScaleError::io("open", &path))?;
        file.lock().map_err(ScaleError::io("lock", &path))?;
        Ok(Self { run: run.clone(), _file: file })
    }

    /// Whether `tasks.parquet` was planned from these settings.
    pub fn is_current(&self, s: &Settings) -> bool {
        plan_is_current(&self.run, s)
    }

    /// Records that `tasks.parquet` now holds the plan of these settings.
    pub fn record(&self, s: &Settings) -> Result<(), ScaleError> {
        let r = PlanRecord { fingerprint: fingerprint(s), planned: crate::now(), host: crate::host() };
        dasynth_core::atomic::write_json_atomic(&self.run.tasks_plan(), &r)?;
        Ok(())
    }
}

/// Whether `tasks.parquet` of `run` holds the plan of `s` (read without the plan lock: another
/// shard may be planning).
pub fn plan_is_current(run: &RunDir, s: &Settings) -> bool {
    run.tasks().is_file() && std::fs::read(run.tasks_plan()).is_ok_and(|b| record_matches(&b, s))
}

/// Whether a plan record (`shards/tasks-plan.json`, as bytes) names the settings `s`.
pub fn record_matches(record: &[u8], s: &Settings) -> bool {
    serde_json::from_slice::<PlanRecord>(record).is_ok_and(|r| r.fingerprint == fingerprint(s))
}

/// Runs `make` (crawl, profile, the task plan, or the part of it a command does) under the
/// plan lock unless `tasks.parquet` already holds the plan of `s`, then records the plan;
/// `None` when the plan was current and `make` did not run.
pub fn plan_once<T, E: From<ScaleError>>(run: &RunDir, s: &Settings, make: impl FnOnce() -> Result<T, E>) -> Result<Option<T>, E> {
    let lock = PlanLock::acquire(run)?;
    if lock.is_current(s) {
        return Ok(None);
    }
    let made = make()?;
    lock.record(s)?;
    Ok(Some(made))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plan_is_current_only_for_the_settings_it_was_made_from() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::new(dir.path());
        let s = Settings::default();
        let lock = PlanLock::acquire(&run).unwrap();
        assert!(!lock.is_current(&s));
        std::fs::write(run.tasks(), b"x").unwrap();
        assert!(!lock.is_current(&s), "no record yet");
        lock.record(&s).unwrap();
        assert!(lock.is_current(&s));
        let mut other = s.clone();
        other.tasks.max_tasks = Some(3);
        assert!(!lock.is_current(&other));
        drop(lock);
        // Released: the next shard takes it at once.
        drop(PlanLock::acquire(&run).unwrap());
    }
}
