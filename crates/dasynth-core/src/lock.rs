//! One writer per run folder: an advisory lock on [`RunDir::lock`](crate::layout::RunDir::lock).
//!
//! Every command that writes a run folder takes a [`RunLock`] first and keeps it until it ends.
//! The lock is the operating system's advisory file lock on `.dasynth.lock`, so it goes away
//! with the process that held it, on a crash or `kill -9` too; the file itself stays behind and
//! is reused. The holder writes its process id into the file, so a second process can say who
//! it is waiting for. A second writer either fails at once ([`LockError::Held`], which the CLI
//! turns into exit code 2) or, asked to wait, blocks until the first one is gone.
//!
//! The lock is per file, not per folder: a sharded stage (`verify --shard I/N`) takes its
//! shard's lock ([`RunLock::acquire_shard`]) instead, so shards run side by side while two
//! processes on the same shard are still refused.

use crate::layout::RunDir;
use std::fs::{File, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

/// A held lock; released when dropped (or when the process ends).
#[derive(Debug)]
pub struct RunLock {
    file: File,
    path: PathBuf,
}

/// Why the lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("{} is in use by {}\nhint: wait for that process to finish, or pass --wait to wait for it", folder.display(), holder(*pid))]
    Held { folder: PathBuf, pid: Option<u32> },
    #[error("cannot lock {}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn holder(pid: Option<u32>) -> String {
    match pid {
        Some(pid) => format!("another dasynth process (pid {pid})"),
        None => "another dasynth process".to_string(),
    }
}

impl RunLock {
    /// Takes the lock of the run folder `run`, creating the folder when it does not exist yet.
    /// When another process holds it: fails naming that process, or with `wait`, blocks until
    /// it is released.
    pub fn acquire(run: &RunDir, wait: bool) -> Result<Self, LockError> {
        std::fs::create_dir_all(run.root()).map_err(|source| LockError::Io { path: run.root().to_path_buf(), source })?;
        Self::acquire_file(&run.lock(), run.root(), wait)
    }

    /// Takes the lock of one shard of the run folder `run` (see [`RunLock::acquire`]).
    pub fn acquire_shard(run: &RunDir, shard: crate::shard::Shard, wait: bool) -> Result<Self, LockError> {
        std::fs::create_dir_all(run.root()).map_err(|source| LockError::Io { path: run.root().to_path_buf(), source })?;
        Self::acquire_file(&run.shard_lock(shard), run.root(), wait)
    }

    /// Takes the lock held in the file `path` (named `folder` in messages).
    pub fn acquire_file(path: &Path, folder: &Path, wait: bool) -> Result<Self, LockError> {
        let io = |source| LockError::Io { path: path.to_path_buf(), source };
        // Never truncate on open: the file holds the current holder's pid.
        let mut file = File::options().read(true).write(true).create(true).truncate(false).open(path).map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let pid = read_pid(&mut file);
                if !wait {
                    return Err(LockError::Held { folder: folder.to_path_buf(), pid });
                }
                tracing::warn!("waiting for {} to release {}", holder(pid), folder.display());
                file.lock().map_err(io)?;
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        file.set_len(0).map_err(io)?;
        file.rewind().map_err(io)?;
        writeln!(file, "{}", std::process::id()).map_err(io)?;
        file.flush().map_err(io)?;
        Ok(Self { file, path: path.to_path_buf() })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        // Closing the file releases the lock too; unlocking first makes the order explicit.
        let _ = self.file.unlock();
    }
}

/// The pid a holder wrote into the lock file, if it is there yet.
fn read_pid(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    file.rewind().ok()?;
    file.take(64).read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_writer_is_refused_with_the_holders_pid_until_the_first_is_gone() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::new(dir.path().join("run"));
        let first = RunLock::acquire(&run, false).unwrap();
        assert!(run.root().is_dir(), "the folder is created");
        // Advisory locks belong to an open file, so a second open in this process is refused
        // just as another process would be.
        let err = RunLock::acquire(&run, false).unwrap_err();
        match &err {
            LockError::Held { pid, .. } => assert_eq!(*pid, Some(std::process::id())),
            other => panic!("{other:?}"),
        }
        let msg = err.to_string();
        assert!(msg.contains(&format!("pid {}", std::process::id())) && msg.contains("--wait"), "{msg}");
        drop(first);
        let again = RunLock::acquire(&run, false).unwrap();
        assert_eq!(std::fs::read_to_string(again.path()).unwrap().trim(), std::process::id().to_string());
    }

    #[test]
    fn a_waiting_writer_gets_the_lock_once_it_is_released() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::new(dir.path());
        let first = RunLock::acquire(&run, false).unwrap();
        let started = std::time::Instant::now();
        let waiter = std::thread::spawn({
            let run = run.clone();
            move || RunLock::acquire(&run, true).map(|_| started.elapsed())
        });
        std::thread::sleep(std::time::Duration::from_millis(300));
        assert!(!waiter.is_finished(), "the waiter must block while the lock is held");
        drop(first);
        let waited = waiter.join().unwrap().unwrap();
        assert!(waited >= std::time::Duration::from_millis(300), "{waited:?}");
    }

    #[test]
    fn shards_lock_apart_from_each_other() {
        use crate::shard::Shard;
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::new(dir.path());
        let first = RunLock::acquire_shard(&run, Shard::new(0, 2).unwrap(), false).unwrap();
        let _second = RunLock::acquire_shard(&run, Shard::new(1, 2).unwrap(), false).unwrap();
        assert!(matches!(RunLock::acquire_shard(&run, Shard::new(0, 2).unwrap(), false), Err(LockError::Held { .. })));
        drop(first);
        RunLock::acquire_shard(&run, Shard::new(0, 2).unwrap(), false).unwrap();
    }
}
