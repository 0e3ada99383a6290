use std::path::PathBuf;

/// What can go wrong running, merging or launching shards.
#[derive(Debug, thiserror::Error)]
pub enum ScaleError {
    #[error(transparent)]
    Write(#[from] dasynth_core::atomic::PathError),
    #[error("cannot {what} {}", path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "shard {shard} ({stage}) of {} was started again by {other} while {this} ran it; not marking it complete\nhint: two processes ran the same shard; run it once more alone, then merge",
        run.display()
    )]
    Overlap { shard: String, stage: String, run: PathBuf, this: String, other: String },
    #[error("cannot read the shard marker {}: {message}\nhint: delete it and rerun that shard", path.display())]
    Marker { path: PathBuf, message: String },
    #[error("{} holds no sharded run (no completion markers in {})\nhint: run `dasynth generate --shard I/N` (or `trajectories --shard I/N`) for every shard first", run.display(), run.join("shards").display())]
    NotSharded { run: PathBuf },
    #[error("cannot merge {}:\n  {}\nhint: rerun the named shards (`dasynth generate --shard I/N`; a rerun only does that shard's missing work), then merge again", run.display(), problems.join("\n  "))]
    Incomplete { run: PathBuf, problems: Vec<String> },
    #[error("run folder {url}: cannot {what}: {message}\n{}", dasynth_sources::fetch::object::HINT)]
    Remote { url: String, what: String, message: String },
    #[error(
        "run folder {url} ({scope}) is {holder}\nhint: two machines must not run the same part of a run; wait for that one to finish, or, if it is gone, run again once its lease has gone {stale_secs} s without renewal (DASYNTH_REMOTE_LEASE_SECS)"
    )]
    Busy { url: String, scope: String, holder: String, stale_secs: u64 },
    #[error("invalid launch: {message}\nhint: {hint}")]
    Launch { message: String, hint: &'static str },
    #[error("`{program}` failed ({status}): {stderr}\nhint: {hint}")]
    Submit { program: String, status: String, stderr: String, hint: &'static str },
}

impl ScaleError {
    pub(crate) fn io(what: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| ScaleError::Io { what, path, source }
    }
}
