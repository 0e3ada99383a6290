//! The trajectory store: `trajectories/*.jsonl`, append-only and crash-safe.
//!
//! The record itself ([`Trajectory`]) is `dasynth_core::trajectory`'s. A line is written with a
//! single `write` on a file opened for appending and synced before the next one, so a crash
//! leaves at most one torn line at the end of a file; [`TrajectoryStore::open`] cuts it off and
//! collects the keys of every finished trajectory, so a resumed run skips them.

use dasynth_core::trajectory::Trajectory;
use std::collections::BTreeSet;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// The run folder's trajectory files.
pub struct TrajectoryStore {
    dir: PathBuf,
    done: BTreeSet<String>,
    file: Option<std::fs::File>,
    path: PathBuf,
}

impl TrajectoryStore {
    /// Opens `<run>/trajectories/`, repairs torn tails and loads the finished keys. New lines go
    /// to a file of their own for this invocation.
    pub fn open(dir: &Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let mut done = BTreeSet::new();
        let mut files: Vec<PathBuf> =
            std::fs::read_dir(dir)?.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|e| e == "jsonl")).collect();
        files.sort();
        for p in &files {
            load_keys(p, &mut done)?;
        }
        let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis());
        let path = dir.join(format!("part-{stamp}-{}.jsonl", std::process::id()));
        Ok(Self { dir: dir.to_path_buf(), done, file: None, path })
    }

    /// Opens one shard's file (`trajectories/shard-I-of-N.jsonl`) alone: repairs its torn tail,
    /// loads its finished keys and appends to it. Other files of the folder, which other
    /// shards may be writing at the same time, are neither read nor repaired.
    pub fn open_file(path: &Path) -> std::io::Result<Self> {
        let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        std::fs::create_dir_all(&dir)?;
        let mut done = BTreeSet::new();
        if path.exists() {
            load_keys(path, &mut done)?;
        }
        Ok(Self { dir, done, file: None, path: path.to_path_buf() })
    }

    pub fn is_done(&self, key: &str) -> bool {
        self.done.contains(key)
    }

    pub fn done_count(&self) -> usize {
        self.done.len()
    }

    /// Appends one trajectory durably (one write, then fsync).
    pub fn append(&mut self, t: &Trajectory) -> std::io::Result<()> {
        if self.done.contains(&t.key) {
            return Ok(());
        }
        let mut line = serde_json::to_vec(t).map_err(std::io::Error::other)?;
        line.push(b'\n');
        let f = match &mut self.file {
            Some(f) => f,
            None => self.file.insert(std::fs::OpenOptions::new().create(true).append(true).open(&self.path)?),
        };
        f.write_all(&line)?;
        f.sync_data()?;
        self.done.insert(t.key.clone());
        Ok(())
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// Repairs a file's torn tail and collects the keys of its finished trajectories.
fn load_keys(path: &Path, done: &mut BTreeSet<String>) -> std::io::Result<()> {
    repair_tail(path)?;
    for line in std::fs::read_to_string(path)?.lines() {
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(line)
            && let Some(k) = v.get("key").and_then(|k| k.as_str())
        {
            done.insert(k.to_string());
        }
    }
    Ok(())
}

/// Cuts a file back to its last complete line (a crash can leave half a line).
fn repair_tail(path: &Path) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new().read(true).write(true).open(path)?;
    let len = f.metadata()?.len();
    if len == 0 {
        return Ok(());
    }
    let mut last = [0u8; 1];
    f.seek(SeekFrom::Start(len - 1))?;
    f.read_exact(&mut last)?;
    if last[0] == b'\n' {
        return Ok(());
    }
    let mut bytes = Vec::new();
    f.seek(SeekFrom::Start(0))?;
    f.read_to_end(&mut bytes)?;
    let keep = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
    f.set_len(keep as u64)?;
    f.sync_data()?;
    Ok(())
}

/// Reads every trajectory of a folder (torn or foreign lines skipped).
pub fn read_all(dir: &Path) -> Vec<Trajectory> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return out };
    let mut files: Vec<PathBuf> = entries.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|e| e == "jsonl")).collect();
    files.sort();
    for p in files {
        if let Ok(text) = std::fs::read_to_string(&p) {
            out.extend(text.lines().filter_map(|l| serde_json::from_str::<Trajectory>(l).ok()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use dasynth_core::trajectory::{Finish, Message};

    fn traj(key: &str) -> Trajectory {
        Trajectory {
            key: key.into(),
            task_id: "t".into(),
            family: "f".into(),
            teacher: "reference".into(),
            model: "reference".into(),
            sample: 0,
            messages: vec![Message::new("user", "hi")],
            turns: vec![],
            answer: Some("1".into()),
            finish: Finish::Answer,
            finish_detail: String::new(),
            outputs: vec![],
            passed: Some(true),
            check_detail: String::new(),
            input_tokens: 0,
            output_tokens: 0,
            cost_usd: 0.0,
            wall_ms: 1.0,
            inspection: None,
        }
    }

    #[test]
    fn torn_lines_are_cut_and_finished_keys_survive() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = TrajectoryStore::open(dir.path()).unwrap();
        s.append(&traj("a")).unwrap();
        s.append(&traj("b")).unwrap();
        s.append(&traj("a")).unwrap();
        drop(s);
        // A crash in the middle of a write.
        let file = std::fs::read_dir(dir.path()).unwrap().next().unwrap().unwrap().path();
        let mut f = std::fs::OpenOptions::new().append(true).open(&file).unwrap();
        f.write_all(b"{\"key\":\"c\",\"task_").unwrap();
        let s = TrajectoryStore::open(dir.path()).unwrap();
        assert!(s.is_done("a") && s.is_done("b") && !s.is_done("c"));
        assert_eq!(s.done_count(), 2);
        assert!(std::fs::read_to_string(&file).unwrap().ends_with("}\n"));
        assert_eq!(read_all(dir.path()).len(), 2);
    }
}
