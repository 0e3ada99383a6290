//! Where a stage reads the run folder's append-only JSONL folders from (`trajectories/`,
//! `student/trajectories/`, the bulk of a run after its tables): the folder itself, or, for a
//! run folder on object storage, the bucket, read as the stage goes.
//!
//! A [`RunDir`](crate::layout::RunDir) lists and opens those files through a [`JsonlFolders`]:
//! [`Local`] unless one was attached with
//! [`RunDir::streaming`](crate::layout::RunDir::streaming). `dasynth_scale::remote` attaches the
//! bucket's for the commands that read trajectories without writing them (verify, export,
//! report), so a machine that verifies, exports or reports a remote run never stores them: it
//! holds a few megabytes of each file at a time. Every other file of the run folder is read from the local path as always.

use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// Lists and opens the `.jsonl` files of a run folder's JSONL folders.
pub trait JsonlFolders: Send + Sync + std::fmt::Debug {
    /// The `.jsonl` files directly in `dir` (a folder path under the run folder), sorted by
    /// path; `None` when there is no such folder.
    fn files(&self, dir: &Path) -> io::Result<Option<Vec<PathBuf>>>;
    /// Opens a file [`files`](JsonlFolders::files) listed, to read from its start. Errors name
    /// where the bytes came from (the file, or the object's URL).
    fn open(&self, file: &Path) -> io::Result<Box<dyn Read + Send>>;
}

/// The folders on the local file system.
#[derive(Debug, Clone, Copy, Default)]
pub struct Local;

impl JsonlFolders for Local {
    fn files(&self, dir: &Path) -> io::Result<Option<Vec<PathBuf>>> {
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let mut files = Vec::new();
        for e in entries {
            let p = e?.path();
            if p.extension().is_some_and(|x| x == "jsonl") && p.is_file() {
                files.push(p);
            }
        }
        files.sort();
        Ok(Some(files))
    }

    fn open(&self, file: &Path) -> io::Result<Box<dyn Read + Send>> {
        Ok(Box::new(std::fs::File::open(file)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_lists_only_jsonl_files_in_name_order_and_none_for_a_missing_folder() {
        let dir = tempfile::tempdir().unwrap();
        assert!(Local.files(&dir.path().join("absent")).unwrap().is_none());
        for name in ["b.jsonl", "a.jsonl", "notes.txt"] {
            std::fs::write(dir.path().join(name), name).unwrap();
        }
        std::fs::create_dir(dir.path().join("c.jsonl")).unwrap();
        let files = Local.files(dir.path()).unwrap().unwrap();
        let names: Vec<_> = files.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
        assert_eq!(names, ["a.jsonl", "b.jsonl"]);
        let mut text = String::new();
        Local.open(&files[1]).unwrap().read_to_string(&mut text).unwrap();
        assert_eq!(text, "b.jsonl");
    }
}
