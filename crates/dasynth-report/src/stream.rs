//! Streaming `trajectories/*.jsonl`: one trajectory at a time, in file order, so a report of
//! 50,000 trajectories never holds them all. Lines that are not trajectories (a torn last line
//! after a crash, foreign text) are counted and named, and a key seen before is skipped, so two
//! passes over the same folder yield the same trajectories in the same order.

use dasynth_core::trajectory::Trajectory;
use std::collections::HashSet;
use std::io::BufRead;
use std::path::{Path, PathBuf};

/// Most unreadable lines named one by one in the notes.
const NAMED_LINES: usize = 5;

/// What one pass over the folder found besides trajectories.
#[derive(Debug, Default, Clone)]
pub(crate) struct StreamSummary {
    /// Whether the folder exists.
    pub present: bool,
    pub files: u64,
    pub unreadable_lines: u64,
    pub duplicates: u64,
    pub notes: Vec<String>,
}

/// The `.jsonl` files of a trajectory folder, sorted.
fn files(dir: &Path) -> Option<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).ok()?;
    let mut files: Vec<PathBuf> = entries.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|e| e == "jsonl")).collect();
    files.sort();
    Some(files)
}

/// Calls `each` with every readable trajectory of `dir`, first occurrence of a key only.
pub(crate) fn for_each(dir: &Path, mut each: impl FnMut(Trajectory)) -> StreamSummary {
    let mut summary = StreamSummary::default();
    let Some(files) = files(dir) else { return summary };
    summary.present = true;
    let mut seen = HashSet::new();
    let mut named = 0;
    for path in files {
        summary.files += 1;
        let file = match std::fs::File::open(&path) {
            Ok(f) => f,
            Err(e) => {
                summary.notes.push(format!("{}: {e}", path.display()));
                continue;
            }
        };
        let mut reader = std::io::BufReader::with_capacity(1 << 16, file);
        let mut line = Vec::new();
        let mut number = 0u64;
        loop {
            line.clear();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => {
                    summary.notes.push(format!("{}: stopped reading after line {number}: {e}", path.display()));
                    break;
                }
            }
            number += 1;
            let torn = line.last() != Some(&b'\n');
            let body = line.trim_ascii();
            if body.is_empty() {
                continue;
            }
            match serde_json::from_slice::<Trajectory>(body) {
                Ok(t) => {
                    if seen.insert(t.key.clone()) {
                        each(t);
                    } else {
                        summary.duplicates += 1;
                    }
                }
                Err(e) => {
                    summary.unreadable_lines += 1;
                    if named < NAMED_LINES {
                        named += 1;
                        let why =
                            if torn { "a torn last line (a write was interrupted)".to_string() } else { format!("not a trajectory ({e})") };
                        summary.notes.push(format!("{} line {number}: {why}", path.display()));
                    }
                }
            }
        }
    }
    if summary.unreadable_lines > named as u64 {
        summary.notes.push(format!("{} more unreadable trajectory lines in {}", summary.unreadable_lines - named as u64, dir.display()));
    }
    if summary.duplicates > 0 {
        summary.notes.push(format!("{} trajectory lines repeat an earlier key in {} and were skipped", summary.duplicates, dir.display()));
    }
    summary
}
