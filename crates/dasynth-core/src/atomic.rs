//! Crash-safe file writes: write to a temporary name in the same folder, fsync, rename.

use std::io::Write;
use std::path::{Path, PathBuf};

/// An I/O error that names the path it happened on.
#[derive(Debug, thiserror::Error)]
#[error("{action} {}", path.display())]
pub struct PathError {
    pub action: &'static str,
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

impl PathError {
    pub fn new(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self { action, path: path.into(), source }
    }
}

/// Writes `bytes` to `path` atomically: readers see the old file or the new one, never a torn
/// one, even after a crash.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), PathError> {
    write_atomic_with(path, |f| f.write_all(bytes))
}

/// Like [`write_atomic`], with the content produced by a closure writing into the temp file.
pub fn write_atomic_with(path: &Path, fill: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>) -> Result<(), PathError> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| PathError::new("cannot create folder", dir, e))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".tmp-")
        .tempfile_in(dir)
        .map_err(|e| PathError::new("cannot create a temporary file in", dir, e))?;
    fill(tmp.as_file_mut()).map_err(|e| PathError::new("cannot write", path, e))?;
    tmp.as_file().sync_all().map_err(|e| PathError::new("cannot sync", path, e))?;
    tmp.persist(path).map_err(|e| PathError::new("cannot rename into place", path, e.error))?;
    Ok(())
}

/// Serializes `value` as pretty JSON and writes it atomically.
pub fn write_json_atomic<T: serde::Serialize>(path: &Path, value: &T) -> Result<(), PathError> {
    let bytes =
        serde_json::to_vec_pretty(value).map_err(|e| PathError::new("cannot serialize JSON for", path, std::io::Error::other(e)))?;
    write_atomic(path, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_existing_file_and_leaves_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a/b.txt");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(p.parent().unwrap()).unwrap().collect();
        assert_eq!(names.len(), 1);
    }
}
