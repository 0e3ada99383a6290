//! Streams `trajectories/*.jsonl` in batches of lines, parsed in parallel, so an export of any
//! size holds only one batch of trajectories at a time. The files come through the run folder's
//! [`JsonlFolders`](dasynth_core::folders::JsonlFolders): the local folder, or a bucket read as
//! it goes.

use dasynth_core::layout::RunDir;
use dasynth_core::trajectory::Trajectory;
use rayon::prelude::*;
use std::io::BufRead;
use std::path::{Path, PathBuf};

/// Lines per batch: enough to keep every core busy parsing, few enough to keep memory small.
const BATCH_LINES: usize = 1024;
/// Bytes per batch, whichever limit comes first.
const BATCH_BYTES: usize = 32 << 20;

/// A line that is not a trajectory (a torn last line after a crash, a hand edit).
#[derive(Debug)]
pub struct Unreadable {
    pub file: PathBuf,
    pub line: u64,
    pub message: String,
}

/// Calls `each` with every batch of parsed lines, in file and line order.
pub fn for_each_batch(
    run: &RunDir,
    dir: &Path,
    mut each: impl FnMut(Vec<Result<Trajectory, Unreadable>>) -> Result<(), crate::ExportError>,
) -> Result<(), crate::ExportError> {
    let io = |path: &Path, source| crate::ExportError::Trajectories { path: path.to_path_buf(), source };
    for file in run.jsonl_files(dir).map_err(|e| io(dir, e))?.unwrap_or_default() {
        let f = run.open_jsonl(&file).map_err(|e| io(&file, e))?;
        let mut reader = std::io::BufReader::with_capacity(1 << 20, f);
        let mut line_no = 0u64;
        loop {
            let mut lines: Vec<(u64, Vec<u8>)> = Vec::with_capacity(BATCH_LINES);
            let mut bytes = 0;
            while lines.len() < BATCH_LINES && bytes < BATCH_BYTES {
                let mut buf = Vec::new();
                if reader.read_until(b'\n', &mut buf).map_err(|e| io(&file, e))? == 0 {
                    break;
                }
                line_no += 1;
                if buf.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                bytes += buf.len();
                lines.push((line_no, buf));
            }
            if lines.is_empty() {
                break;
            }
            let parsed: Vec<Result<Trajectory, Unreadable>> = lines
                .into_par_iter()
                .map(|(line, buf)| {
                    serde_json::from_slice(&buf).map_err(|e| Unreadable { file: file.clone(), line, message: e.to_string() })
                })
                .collect();
            each(parsed)?;
        }
    }
    Ok(())
}
