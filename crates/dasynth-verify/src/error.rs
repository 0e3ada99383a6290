//! Why the verify stage could not run at all. A single bad trajectory is never an error: it is a
//! verdict with a reason.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("no run folder at {}\nhint: pass the run folder that `dasynth generate` or `dasynth trajectories` wrote", path.display())]
    NoRun { path: PathBuf },
    #[error("no trajectories at {}\nhint: run `dasynth trajectories {}` first (or `dasynth generate`)", path.display(), path.parent().map(|p| p.display().to_string()).unwrap_or_default())]
    NoTrajectories { path: PathBuf },
    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Tasks(#[from] dasynth_tasks::TasksError),
    #[error(transparent)]
    Rows(#[from] dasynth_parquet::RowsError),
    #[error(transparent)]
    Write(#[from] dasynth_core::atomic::PathError),
    #[error(transparent)]
    Sandbox(#[from] dasynth_sandbox::SandboxError),
    #[error("benchmark question file {}: {message}\nhint: verify.decontaminate takes JSONL or Parquet files with one question per row in a text field named {}", path.display(), crate::decontaminate::QUESTION_FIELDS.join(", "))]
    Benchmark { path: PathBuf, message: String },
    #[error("judge {judge:?}")]
    Judge {
        judge: String,
        #[source]
        source: Box<dasynth_llm::LlmError>,
    },
    #[error(transparent)]
    Shard(#[from] dasynth_core::shard::ShardError),
    #[error("cannot start the verify workers: {0}")]
    Threads(String),
}
