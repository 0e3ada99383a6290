//! What a session holds in its writable folders, counted as the guest acts.
//!
//! The [`Ledger`] is pure bookkeeping; `fs_guard` feeds it from the WASI calls that change the
//! filesystem and asks it before each one whether the change fits the session's caps. It counts:
//!
//! - **bytes**: the size of every file the guest created or grew, by inode, so a file that is
//!   unlinked while a descriptor still holds it keeps counting until the last descriptor closes,
//!   and a sparse file counts at its full length. A file that existed before the session counts
//!   only what it grew past its first seen size.
//! - **entries**: files and folders the guest created, less those it removed.
//! - **handles**: descriptors the guest opened and has not closed.
//! - **depth**: every descriptor of a folder carries its depth and path length below its mount,
//!   so a path the guest names can be checked against the depth and length caps whatever folder
//!   it starts from.

use std::collections::HashMap;

/// A file's identity on the host: (device, inode).
pub(crate) type FileKey = (u64, u64);

/// The caps a ledger enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Caps {
    pub(crate) bytes: u64,
    pub(crate) entries: u64,
    pub(crate) handles: usize,
    pub(crate) depth: u32,
    pub(crate) path_bytes: u32,
}

/// Where a descriptor the guest opened points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Held {
    File(FileKey),
    Dir { depth: u32, len: u32 },
}

#[derive(Debug, Clone, Copy)]
struct FileRec {
    size: u64,
    base: u64,
}

impl FileRec {
    fn counted(self) -> u64 {
        self.size.saturating_sub(self.base)
    }
}

/// Why a change does not fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Over {
    Bytes,
    Entries,
    Handles,
    Depth,
}

/// The per-session bookkeeping.
#[derive(Debug)]
pub(crate) struct Ledger {
    pub(crate) caps: Caps,
    files: HashMap<FileKey, FileRec>,
    held: HashMap<u32, Held>,
    bytes: u64,
    entries: u64,
    /// Set once the guest closed or renumbered a descriptor it did not open (a preopen,
    /// stdio): its WASI context can then no longer be built again from its mounts.
    pub(crate) fds_touched: bool,
}

impl Ledger {
    pub(crate) fn new(caps: Caps) -> Self {
        Ledger { caps, files: HashMap::new(), held: HashMap::new(), bytes: 0, entries: 0, fds_touched: false }
    }

    /// Bytes the guest's files hold now.
    pub(crate) fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Files and folders the guest made and still has.
    pub(crate) fn entries(&self) -> u64 {
        self.entries
    }

    /// Descriptors the guest holds open.
    pub(crate) fn handles(&self) -> usize {
        self.held.len()
    }

    /// Depth and path length of a descriptor's folder below its mount (a preopen is 0, 0).
    pub(crate) fn dir_of(&self, fd: u32) -> (u32, u32) {
        match self.held.get(&fd) {
            Some(Held::Dir { depth, len }) => (*depth, *len),
            _ => (0, 0),
        }
    }

    /// Depth and length of `path` resolved from folder descriptor `fd`, or `None` when it climbs
    /// above the mount (the filesystem refuses that anyway).
    pub(crate) fn resolve(&self, fd: u32, path: &str) -> Option<(u32, u32)> {
        let (depth, len) = self.dir_of(fd);
        let mut parts: Vec<u32> = Vec::new();
        let mut base_depth = depth;
        let base_len = len;
        for c in path.split('/') {
            match c {
                "" | "." => {}
                ".." => {
                    if parts.pop().is_none() {
                        // Climbing out of the descriptor's folder: its own components are
                        // not known one by one, so count its depth down and keep its length
                        // (an overestimate, never an underestimate).
                        base_depth = base_depth.checked_sub(1)?;
                    }
                }
                c => parts.push(u32::try_from(c.len()).unwrap_or(u32::MAX)),
            }
        }
        let n = u32::try_from(parts.len()).unwrap_or(u32::MAX);
        let l = parts.iter().fold(base_len, |a, p| a.saturating_add(*p).saturating_add(1));
        Some((base_depth.saturating_add(n), l))
    }

    /// Whether a path at this depth and length is within the caps.
    pub(crate) fn check_path(&self, at: (u32, u32)) -> Result<(), Over> {
        if at.0 > self.caps.depth || at.1 > self.caps.path_bytes { Err(Over::Depth) } else { Ok(()) }
    }

    /// Whether one more descriptor may be opened.
    pub(crate) fn check_open(&self) -> Result<(), Over> {
        if self.held.len() >= self.caps.handles { Err(Over::Handles) } else { Ok(()) }
    }

    /// Whether one more file or folder may be made.
    pub(crate) fn check_new_entry(&self) -> Result<(), Over> {
        if self.entries >= self.caps.entries { Err(Over::Entries) } else { Ok(()) }
    }

    /// Whether the file `key`, now `size` bytes, may grow to `new_size`.
    pub(crate) fn check_size(&self, key: FileKey, size: u64, new_size: u64) -> Result<(), Over> {
        let rec = self.files.get(&key).copied().unwrap_or(FileRec { size, base: size });
        let after = FileRec { size: new_size, ..rec };
        let total = self.bytes.saturating_sub(rec.counted()).saturating_add(after.counted());
        if after.counted() > rec.counted() && total > self.caps.bytes { Err(Over::Bytes) } else { Ok(()) }
    }

    /// Records that file `key`, `before` bytes until now, is `size` bytes (first seen: counted
    /// from `before` on, or from 0 if `created`).
    pub(crate) fn set_size(&mut self, key: FileKey, before: u64, size: u64, created: bool) {
        let rec = self.files.entry(key).or_insert(FileRec { size: before, base: if created { 0 } else { before } });
        let before = rec.counted();
        rec.size = size;
        let after = rec.counted();
        self.bytes = self.bytes.saturating_sub(before).saturating_add(after);
    }

    /// A new file or folder was made.
    pub(crate) fn entry_made(&mut self) {
        self.entries += 1;
    }

    /// A name was removed. `file` is the file it named and that file's link count before, so
    /// that its bytes go once its last name and last descriptor are gone.
    pub(crate) fn entry_removed(&mut self, file: Option<(FileKey, u64)>) {
        self.entries = self.entries.saturating_sub(1);
        if let Some((key, links)) = file
            && links <= 1
            && !self.is_held(key)
        {
            self.forget(key);
        }
    }

    /// A descriptor was opened.
    pub(crate) fn opened(&mut self, fd: u32, held: Held) {
        self.held.insert(fd, held);
    }

    /// The file a descriptor holds, if it is one the guest opened.
    pub(crate) fn held_file(&self, fd: u32) -> Option<FileKey> {
        match self.held.get(&fd) {
            Some(Held::File(k)) => Some(*k),
            _ => None,
        }
    }

    /// Whether the descriptor `fd` is the last one holding its file.
    pub(crate) fn last_holder(&self, fd: u32) -> bool {
        match self.held_file(fd) {
            Some(k) => self.held.iter().filter(|(_, h)| **h == Held::File(k)).count() == 1,
            None => false,
        }
    }

    /// A descriptor was closed; `links` is its file's link count just before (0: unlinked, so
    /// its bytes go with the last descriptor).
    pub(crate) fn closed(&mut self, fd: u32, links: Option<u64>) {
        let held = self.held.remove(&fd);
        if held.is_none() {
            self.fds_touched = true;
        }
        if let Some(Held::File(key)) = held
            && links == Some(0)
            && !self.is_held(key)
        {
            self.forget(key);
        }
    }

    /// `fd_renumber(from, to)`: `to` closed, `from` moved to `to`.
    pub(crate) fn renumbered(&mut self, from: u32, to: u32, to_links: Option<u64>) {
        self.closed(to, to_links);
        match self.held.remove(&from) {
            Some(h) => {
                self.held.insert(to, h);
            }
            None => self.fds_touched = true,
        }
    }

    fn is_held(&self, key: FileKey) -> bool {
        self.held.values().any(|h| *h == Held::File(key))
    }

    fn forget(&mut self, key: FileKey) {
        if let Some(rec) = self.files.remove(&key) {
            self.bytes = self.bytes.saturating_sub(rec.counted());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ledger() -> Ledger {
        Ledger::new(Caps { bytes: 100, entries: 3, handles: 2, depth: 3, path_bytes: 20 })
    }

    #[test]
    fn an_unlinked_open_file_counts_until_its_last_descriptor_closes() {
        let mut l = ledger();
        let k = (1, 7);
        l.entry_made();
        l.opened(3, Held::File(k));
        l.set_size(k, 0, 80, true);
        assert_eq!(l.bytes(), 80);
        assert_eq!(l.check_size(k, 80, 101), Err(Over::Bytes));
        // Unlinked while open: the bytes stay.
        l.entry_removed(Some((k, 1)));
        assert_eq!((l.bytes(), l.entries()), (80, 0));
        assert!(l.last_holder(3));
        l.closed(3, Some(0));
        assert_eq!((l.bytes(), l.handles()), (0, 0));
    }

    #[test]
    fn a_file_seen_first_counts_only_its_growth_and_shrinking_frees_room() {
        let mut l = ledger();
        let k = (1, 9);
        assert_eq!(l.check_size(k, 1000, 1050), Ok(()));
        l.set_size(k, 1000, 1050, false);
        assert_eq!(l.bytes(), 50);
        assert_eq!(l.check_size(k, 1050, 1200), Err(Over::Bytes));
        l.set_size(k, 1050, 0, false);
        assert_eq!(l.bytes(), 0);
        // A shrink always fits, even past the cap.
        let big = (1, 10);
        l.set_size(big, 0, 500, true);
        assert_eq!(l.check_size(big, 500, 400), Ok(()));
    }

    #[test]
    fn caps_on_entries_handles_and_depth() {
        let mut l = ledger();
        for _ in 0..3 {
            assert_eq!(l.check_new_entry(), Ok(()));
            l.entry_made();
        }
        assert_eq!(l.check_new_entry(), Err(Over::Entries));
        l.opened(3, Held::Dir { depth: 2, len: 10 });
        l.opened(4, Held::File((1, 1)));
        assert_eq!(l.check_open(), Err(Over::Handles));
        assert!(!l.fds_touched);
        l.renumbered(4, 5, Some(1));
        // 5 was not the guest's: a descriptor it did not open was replaced.
        assert!(l.fds_touched);
        assert_eq!(l.handles(), 2);
        assert_eq!(l.held_file(5), Some((1, 1)));
        assert_eq!(l.resolve(3, "a"), Some((3, 12)));
        assert_eq!(l.check_path((3, 12)), Ok(()));
        assert_eq!(l.check_path(l.resolve(3, "a/b").unwrap_or_default()), Err(Over::Depth));
        assert_eq!(l.resolve(3, "../../x"), Some((1, 12)));
        assert_eq!(l.resolve(0, ".."), None);
        assert_eq!(l.check_path(l.resolve(0, &"x".repeat(30)).unwrap_or_default()), Err(Over::Depth));
    }
}
