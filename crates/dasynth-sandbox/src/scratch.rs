//! Sessions' scratch folders (`/tmp` of each session) in the system's temporary folder.
//!
//! A folder is removed when its session is dropped; one left by a process that was killed
//! (kill -9, out of memory, a timeout) would stay forever, so each folder's name carries the
//! id of the process that made it (`dasynth-session-<pid>-XXXXXX`) and the first sandbox of a
//! process removes the folders of processes that no longer run.

use std::path::Path;
use std::sync::Once;

const PREFIX: &str = "dasynth-session-";

/// The prefix of this process's scratch folders.
pub(crate) fn prefix() -> String {
    format!("{PREFIX}{}-", std::process::id())
}

/// Removes, once per process, the scratch folders of processes that are gone.
pub(crate) fn sweep_once() {
    static SWEEP: Once = Once::new();
    SWEEP.call_once(|| {
        let removed = sweep(&std::env::temp_dir(), process_alive);
        if removed > 0 {
            tracing::debug!(removed, "removed scratch folders of sessions whose process is gone");
        }
    });
}

/// Whether process `pid` runs; `true` where that cannot be told (no `/proc`), so nothing is
/// removed there.
fn process_alive(pid: u32) -> bool {
    let proc = Path::new("/proc");
    !proc.is_dir() || proc.join(pid.to_string()).exists()
}

/// Removes the scratch folders under `dir` whose process `alive` says is gone; returns how
/// many. Folders without a process id (older builds) are left alone.
fn sweep(dir: &Path, alive: impl Fn(u32) -> bool) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    let mut removed = 0;
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(PREFIX)) else { continue };
        let Some(pid) = rest.split_once('-').and_then(|(p, _)| p.parse::<u32>().ok()) else { continue };
        if pid != std::process::id() && !alive(pid) && e.file_type().is_ok_and(|t| t.is_dir()) && std::fs::remove_dir_all(e.path()).is_ok()
        {
            removed += 1;
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_of_gone_processes_go_and_the_rest_stay() {
        let dir = tempfile::tempdir().expect("tmp");
        let mk = |name: &str| {
            let p = dir.path().join(name);
            std::fs::create_dir_all(p.join("home")).expect("mkdir");
            p
        };
        let gone = mk("dasynth-session-4000001-abcdef");
        let running = mk("dasynth-session-4000002-ghijkl");
        let mine = mk(&format!("{}xyz", prefix()));
        let legacy = mk("dasynth-session-0W7uAO");
        let other = mk("something-else-4000001-x");
        let removed = sweep(dir.path(), |pid| pid == 4_000_002);
        assert_eq!(removed, 1);
        assert!(!gone.exists());
        for kept in [running, mine, legacy, other] {
            assert!(kept.exists(), "{}", kept.display());
        }
    }
}
