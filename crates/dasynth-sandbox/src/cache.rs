//! Cache-folder helpers: an exclusive file lock per entry, and atomic writes.

use std::fs::{self, File};
use std::io::Write;
use std::path::Path;

use crate::error::SandboxError;

/// An exclusive lock on `<dir>/.<name>.lock`, held until dropped. Two processes filling the
/// same cache entry take turns; the second finds the first one's finished work.
pub(crate) struct LockedDir {
    _file: File,
}

impl LockedDir {
    pub(crate) fn lock(dir: &Path, name: &str) -> Result<Self, SandboxError> {
        let path = dir.join(format!(".{name}.lock"));
        let file =
            File::options().create(true).truncate(false).write(true).open(&path).map_err(SandboxError::io("opening lock file", &path))?;
        file.lock().map_err(SandboxError::io("locking", &path))?;
        Ok(LockedDir { _file: file })
    }
}

/// Writes `bytes` to a temporary file beside `path`, fsyncs it and renames it over `path`, so a
/// reader sees the old file or the whole new one, never half of it.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), SandboxError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(SandboxError::io("creating", dir))?;
    let mut tmp =
        tempfile::Builder::new().prefix(".tmp-").tempfile_in(dir).map_err(SandboxError::io("creating a temporary file in", dir))?;
    tmp.write_all(bytes).map_err(SandboxError::io("writing", tmp.path()))?;
    tmp.as_file().sync_all().map_err(SandboxError::io("syncing", tmp.path()))?;
    tmp.persist(path).map_err(|e| SandboxError::Io { action: "renaming into", path: path.to_path_buf(), source: e.error })?;
    Ok(())
}
