//! Streaming `trajectories/*.jsonl`: one trajectory at a time, in file order, so a report of
//! 50,000 trajectories never holds them all. Lines that are not trajectories (a torn last line
//! after a crash, foreign text) are counted and named, and a key seen before is skipped, so two
//! passes over the same folder yield the same trajectories in the same order. The files come
//! through the run folder's [`JsonlFolders`](dasynth_core::folders::JsonlFolders): the local
//! folder, or a bucket read as it goes.

use dasynth_core::layout::RunDir;
use dasynth_core::trajectory::Trajectory;
use std::collections::HashSet;
use std::io::BufRead;
use std::path::Path;

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

/// Calls `each` with every readable trajectory of `dir`, first occurrence of a key only.
pub(crate) fn for_each(run: &RunDir, dir: &Path, mut each: impl FnMut(Trajectory)) -> StreamSummary {
    let mut summary = StreamSummary::default();
    let files = match run.jsonl_files(dir) {
        Ok(Some(files)) => files,
        Ok(None) => return summary,
        Err(e) => {
            summary.notes.push(format!("{}: cannot list the trajectories: {e}", dir.display()));
            return summary;
        }
    };
    summary.present = true;
    let mut seen = HashSet::new();
    let mut named = 0;
    for path in files {
        summary.files += 1;
        let file = match run.open_jsonl(&path) {
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
