//! Sharded runs: one run folder split across N processes, machines, Slurm array tasks or
//! Kubernetes Indexed Job pods, and put together again.
//!
//! # The model
//!
//! `--shard I/N` selects the items whose content-hash id falls in shard `I`
//! ([`dasynth_core::shard::Shard`]). The stages every shard needs whole — crawl, profile and
//! the task plan — run once ([`prepare::plan_once`]): the first shard to take the plan lock crawls, profiles
//! and writes `tasks.parquet`, records the settings it planned from, and every other shard
//! (waiting on the lock) finds the plan current and reuses it. Ground truths are therefore
//! computed once per run, never recomputed per shard, so a floating-point sum that polars
//! could order differently in another process cannot make two shards disagree.
//!
//! Trajectories and verdicts are split: a shard writes only its own files
//! (`trajectories/shard-I-of-N.jsonl`, `verdicts/shard-I-of-N.parquet`,
//! `stats/<stage>-shard-I-of-N.json`). Around each sharded stage, [`claim::ShardRun`] holds the
//! shard's lock, writes a claim when it starts and a completion marker last, after every file
//! is in place. A rerun of a crashed shard reopens its own file, keeps the finished lines and
//! does only the rest.
//!
//! [`merge::check`] reads the markers and refuses a run with a shard that never ran, one that
//! started but did not finish, two runs of one shard (their tokens differ), shards of different
//! splits, or stray shard files; [`merge::sum_stats`] adds the shards' counters. The CLI's
//! `merge` then runs the unsharded verify, which takes every shard's verdicts over unchanged
//! and decides near duplicates across the whole run, so export and report read the single-run
//! layout.
//!
//! [`limits`] divides the teachers' rate limits and the run's budget by N, and [`launch`]
//! writes (and submits) a Slurm array job or a Kubernetes Indexed Job plus the merge job.
//! [`remote`] puts the run folder itself on object storage (`--out s3://…`), staged locally and
//! synced, so shards on machines without a shared file system work on one run.

pub mod claim;
mod error;
pub mod launch;
pub mod lease;
pub mod limits;
pub mod merge;
pub mod prepare;
pub mod remote;
pub mod streamed;

pub use error::ScaleError;

/// The name of this machine, for markers and messages.
pub(crate) fn host() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown-host".to_string())
}

pub(crate) fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
