//! Bounded walks of folders a guest could write: they follow no link and stop at a number of
//! entries and a depth, so a guest's folder can never make the host walk elsewhere or for long.

use std::fs::Metadata;
use std::path::{Path, PathBuf};

/// How far a walk may go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bound {
    /// Entries (files, folders, links) seen at most.
    pub entries: u64,
    /// Folder levels below the root entered at most.
    pub depth: usize,
}

impl Default for Bound {
    /// Within the default [`Limits`](crate::Limits) with room to spare.
    fn default() -> Self {
        Bound { entries: 20_000, depth: 64 }
    }
}

/// Every entry under `root` that `keep` accepts, with its own metadata (a link's, never its
/// target's); kept folders are entered. Unreadable entries are skipped.
pub(crate) fn walk(root: &Path, bound: Bound, keep: impl Fn(&Path, &Metadata) -> bool) -> Vec<(PathBuf, Metadata)> {
    let mut out = Vec::new();
    let mut seen = 0u64;
    let mut stack = vec![(root.to_path_buf(), 0usize)];
    while let Some((dir, depth)) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&dir) else { continue };
        for e in rd.flatten() {
            seen += 1;
            if seen > bound.entries {
                return out;
            }
            // `DirEntry::metadata` does not traverse a link.
            let Ok(m) = e.metadata() else { continue };
            let path = e.path();
            if !keep(&path, &m) {
                continue;
            }
            if m.is_dir() && depth < bound.depth {
                stack.push((path.clone(), depth + 1));
            }
            out.push((path, m));
        }
    }
    out
}

/// The regular files under `dir`, as `/`-separated paths relative to it, sorted. Links (to files
/// or folders, inside or outside `dir`) are left out and never followed.
pub fn list_files(dir: &Path, bound: Bound) -> Vec<String> {
    let mut out: Vec<String> = walk(dir, bound, |_, _| true)
        .into_iter()
        .filter(|(_, m)| m.file_type().is_file())
        .filter_map(|(p, _)| p.strip_prefix(dir).ok().map(|r| r.to_string_lossy().replace('\\', "/")))
        .collect();
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_listed_never_followed_and_the_walk_is_bounded() {
        let d = tempfile::tempdir().expect("tmp");
        let root = d.path();
        std::fs::create_dir_all(root.join("a/b")).expect("mkdir");
        std::fs::write(root.join("top.txt"), "x").expect("write");
        std::fs::write(root.join("a/b/deep.txt"), "x").expect("write");
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink("/", root.join("root-link")).expect("link");
            std::os::unix::fs::symlink("/etc/hostname", root.join("a/file-link")).expect("link");
            std::os::unix::fs::symlink(root, root.join("a/loop")).expect("link");
        }
        assert_eq!(list_files(root, Bound::default()), ["a/b/deep.txt", "top.txt"]);
        assert_eq!(list_files(root, Bound { entries: 100, depth: 1 }), ["top.txt"]);
        assert!(list_files(root, Bound { entries: 2, depth: 64 }).len() <= 2);
        for i in 0..50 {
            std::fs::write(root.join(format!("f{i}")), "x").expect("write");
        }
        assert!(list_files(root, Bound { entries: 10, depth: 64 }).len() <= 10);
    }
}
