//! One sharded stage run: its claim, and its completion marker written last.

use crate::ScaleError;
use dasynth_core::layout::{RunDir, Stage};
use dasynth_core::shard::{Shard, ShardMarker};
use std::path::Path;

/// A stage of one shard in progress, run by the holder of the shard's lock
/// (`dasynth_core::lock::RunLock::acquire_shard`: a second process running the same shard on
/// this file system is refused at once). [`ShardRun::claim`] removes an earlier completion
/// marker and writes a claim; [`ShardRun::complete`] writes the completion marker
/// once the stage's files are in place. Dropped without `complete` (an error, a crash), the
/// shard stays claimed but not done, and `merge` names it.
#[derive(Debug)]
pub struct ShardRun {
    run: RunDir,
    stage: Stage,
    marker: ShardMarker,
}

/// Reads a marker file; `None` when it does not exist.
pub fn read_marker(path: &Path) -> Result<Option<ShardMarker>, ScaleError> {
    match std::fs::read(path) {
        Ok(bytes) => {
            serde_json::from_slice(&bytes).map(Some).map_err(|e| ScaleError::Marker { path: path.to_path_buf(), message: e.to_string() })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(ScaleError::Io { what: "read", path: path.to_path_buf(), source }),
    }
}

fn who(m: &ShardMarker) -> String {
    format!("pid {} on {} since {}", m.pid, m.host, m.started)
}

impl ShardRun {
    pub fn claim(run: &RunDir, stage: Stage, shard: Shard) -> Result<Self, ScaleError> {
        let dir = run.shards_dir();
        std::fs::create_dir_all(&dir).map_err(ScaleError::io("create", &dir))?;
        let started = crate::now();
        let pid = std::process::id();
        let host = crate::host();
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let marker = ShardMarker {
            stage: stage.name().to_string(),
            index: shard.index,
            count: shard.count,
            token: format!("{host}-{pid}-{nanos:x}"),
            host,
            pid,
            started,
            finished: None,
            items: 0,
            files: Vec::new(),
        };
        let done = run.shard_done(stage, shard);
        match std::fs::remove_file(&done) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(ScaleError::Io { what: "remove the old completion marker", path: done, source }),
        }
        dasynth_core::atomic::write_json_atomic(&run.shard_claim(stage, shard), &marker)?;
        Ok(Self { run: run.clone(), stage, marker })
    }

    pub fn shard(&self) -> Shard {
        self.marker.shard()
    }

    /// Marks the shard's stage complete: `items` it holds, in `files` (paths under the run root).
    /// Refuses when another run claimed the same shard meanwhile (a shared folder whose file
    /// system does not share locks).
    pub fn complete(mut self, items: u64, files: &[&Path]) -> Result<ShardMarker, ScaleError> {
        let shard = self.shard();
        let claim = read_marker(&self.run.shard_claim(self.stage, shard))?;
        if let Some(other) = claim.filter(|c| c.token != self.marker.token) {
            return Err(ScaleError::Overlap {
                shard: shard.to_string(),
                stage: self.stage.name().to_string(),
                run: self.run.root().to_path_buf(),
                this: who(&self.marker),
                other: who(&other),
            });
        }
        self.marker.items = items;
        self.marker.files =
            files.iter().map(|p| p.strip_prefix(self.run.root()).unwrap_or(p).to_string_lossy().replace('\\', "/")).collect();
        self.marker.finished = Some(crate::now());
        dasynth_core::atomic::write_json_atomic(&self.run.shard_done(self.stage, shard), &self.marker)?;
        Ok(self.marker)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claim_then_complete_writes_matching_markers() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::new(dir.path());
        let shard = Shard::new(1, 3).unwrap();
        let first = ShardRun::claim(&run, Stage::Trajectories, shard).unwrap();
        // Another shard runs beside it.
        let other = ShardRun::claim(&run, Stage::Trajectories, Shard::new(2, 3).unwrap()).unwrap();
        drop(other);
        let file = run.trajectories_shard(shard);
        let done = first.complete(7, &[file.as_path()]).unwrap();
        assert_eq!(done.items, 7);
        assert_eq!(done.files, vec!["trajectories/shard-0001-of-0003.jsonl".to_string()]);
        let claim = read_marker(&run.shard_claim(Stage::Trajectories, shard)).unwrap().unwrap();
        assert_eq!(claim.token, done.token);
        assert!(read_marker(&run.shard_done(Stage::Trajectories, shard)).unwrap().is_some());
        // A rerun removes the completion marker until it completes again.
        let again = ShardRun::claim(&run, Stage::Trajectories, shard).unwrap();
        assert!(read_marker(&run.shard_done(Stage::Trajectories, shard)).unwrap().is_none());
        drop(again);
    }

    #[test]
    fn a_claim_taken_over_by_another_run_is_not_marked_complete() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::new(dir.path());
        let shard = Shard::new(0, 2).unwrap();
        let first = ShardRun::claim(&run, Stage::Verify, shard).unwrap();
        // Another machine (whose lock this file system does not see) claims the same shard.
        let mut foreign = read_marker(&run.shard_claim(Stage::Verify, shard)).unwrap().unwrap();
        foreign.token = "elsewhere-1-1".into();
        foreign.host = "elsewhere".into();
        dasynth_core::atomic::write_json_atomic(&run.shard_claim(Stage::Verify, shard), &foreign).unwrap();
        let e = first.complete(1, &[]).unwrap_err();
        assert!(matches!(e, ScaleError::Overlap { .. }) && e.to_string().contains("elsewhere"), "{e}");
        assert!(read_marker(&run.shard_done(Stage::Verify, shard)).unwrap().is_none());
    }
}
