//! Reading `trajectories/*.jsonl` line by line, without trusting it: a torn line or a record
//! with missing fields is a [`Line`] whose record is the reason it cannot be read, so it becomes
//! a verdict rather than an error. Files are read in name order and lines in file order, which
//! is the order "earlier" means for near duplicates.

use crate::error::VerifyError;
use dasynth_core::layout::RunDir;
use dasynth_core::trajectory::Trajectory;
use std::io::BufRead;
use std::path::{Path, PathBuf};

/// One line of a trajectory file.
#[derive(Debug, Clone)]
pub struct Line {
    /// The file's name and the 1-based line number, for messages.
    pub file: String,
    pub number: usize,
    /// sha256 of the line's bytes (without the newline).
    pub sha256: String,
    /// The record, or why it cannot be read.
    pub record: Result<Trajectory, String>,
    /// The trajectory's key (`unreadable-<sha>` when the line has none).
    pub key: String,
    /// The task id, when the line names one.
    pub task_id: Option<String>,
}

impl Line {
    /// Parses one line of a trajectory file.
    pub fn parse(file: &str, number: usize, text: &str) -> Line {
        let sha256 = dasynth_core::ids::sha256_hex(text.as_bytes());
        let record = serde_json::from_str::<Trajectory>(text).map_err(|e| format!("{file}:{number}: {e}"));
        let (key, task_id) = match &record {
            Ok(t) => (t.key.clone(), Some(t.task_id.clone())),
            Err(_) => {
                // Salvage the identity of a record that has one, so the verdict names it.
                let v = serde_json::from_str::<serde_json::Value>(text).ok();
                let field = |name: &str| v.as_ref().and_then(|v| v.get(name)).and_then(|k| k.as_str()).map(str::to_string);
                (field("key").unwrap_or_else(|| format!("unreadable-{}", &sha256[..16])), field("task_id"))
            }
        };
        Line { file: file.to_string(), number, sha256, record, key, task_id }
    }
}

/// The trajectory files of a folder, in name order (through the run folder's
/// [`JsonlFolders`](dasynth_core::folders::JsonlFolders)).
pub fn files(run: &RunDir, dir: &Path) -> Result<Vec<PathBuf>, VerifyError> {
    run.jsonl_files(dir)
        .map_err(|source| VerifyError::Read { path: dir.to_path_buf(), source })?
        .ok_or_else(|| VerifyError::NoTrajectories { path: dir.to_path_buf() })
}

/// The non-blank lines of a trajectory file (what [`for_each_line`] will call `each` with),
/// counted without parsing them.
pub fn count_lines(run: &RunDir, path: &Path) -> Result<u64, VerifyError> {
    let read = |source| VerifyError::Read { path: path.to_path_buf(), source };
    let mut reader = std::io::BufReader::with_capacity(1 << 16, run.open_jsonl(path).map_err(read)?);
    let (mut lines, mut buf) = (0, Vec::new());
    loop {
        buf.clear();
        if reader.read_until(b'\n', &mut buf).map_err(read)? == 0 {
            return Ok(lines);
        }
        lines += u64::from(!buf.iter().all(u8::is_ascii_whitespace));
    }
}

/// Calls `each` for every non-empty line of a trajectory file, in order. Bytes that are not
/// UTF-8 are read lossily (the line then fails to parse as a record, or parses with the
/// replacement character), so one bad byte costs one line, not the file.
pub fn for_each_line(run: &RunDir, path: &Path, mut each: impl FnMut(Line) -> Result<(), VerifyError>) -> Result<(), VerifyError> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let f = run.open_jsonl(path).map_err(|source| VerifyError::Read { path: path.to_path_buf(), source })?;
    let mut reader = std::io::BufReader::with_capacity(1 << 16, f);
    let mut buf = Vec::new();
    let mut number = 0;
    loop {
        buf.clear();
        let n = reader.read_until(b'\n', &mut buf).map_err(|source| VerifyError::Read { path: path.to_path_buf(), source })?;
        if n == 0 {
            return Ok(());
        }
        number += 1;
        if buf.last() == Some(&b'\n') {
            buf.pop();
        }
        let text = String::from_utf8_lossy(&buf);
        if text.trim().is_empty() {
            continue;
        }
        each(Line::parse(&name, number, &text))?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn torn_and_partial_lines_keep_what_identity_they_have() {
        let torn = Line::parse("a.jsonl", 3, "{\"key\":\"k1\",\"task_");
        assert_eq!(torn.key.len(), "unreadable-".len() + 16);
        assert!(torn.record.unwrap_err().contains("a.jsonl:3"));
        let partial = Line::parse("a.jsonl", 4, "{\"key\":\"k2\",\"task_id\":\"t\"}");
        assert_eq!((partial.key.as_str(), partial.task_id.as_deref()), ("k2", Some("t")));
        assert!(partial.record.unwrap_err().contains("missing field"));
    }
}
