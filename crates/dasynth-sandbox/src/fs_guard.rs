//! The WASI calls that change the filesystem, wrapped so that the session's [`Ledger`] sees every
//! byte and every name the guest makes, in every writable folder (`/tmp`, `outputs/`, writable
//! mounts), before the host does it.
//!
//! Each wrapper calls wasmtime-wasi's own implementation (the function its generated synchronous
//! linker calls), so the filesystem semantics are wasmtime-wasi's; around it, a wrapper stats
//! what it is about to change and asks the ledger whether the change fits:
//!
//! - `fd_write`, `fd_pwrite`, `fd_filestat_set_size`: the file's size after the call, bounded
//!   before it (a write at an offset past the end counts the whole gap), against the byte cap;
//! - `path_open`, `path_create_directory`: the handle cap, the entry cap for a new name, and the
//!   depth and length caps on the path;
//! - `fd_close`, `fd_renumber`, `path_unlink_file`, `path_remove_directory`, `path_rename`: what
//!   is freed, where an unlinked file keeps its bytes until its last descriptor closes;
//! - `path_symlink` and `path_link` are refused (`EPERM`): the guest never makes a link the host
//!   could later follow;
//! - `path_rename` of a folder to a deeper or longer place fails with `EXDEV`, so that a subtree
//!   cannot be moved past the depth cap (Python's `shutil.move` then copies, name by name).
//!
//! Past the byte or entry cap the call traps with [`Stop::Scratch`] (the cell ends with
//! `disk_limit`), or, when the session asked for it, fails inside the guest with `ENOSPC`. Past
//! the handle cap `path_open` fails with `EMFILE`; past the depth cap with `ENAMETOOLONG`.

use wasmtime::{AsContextMut, Caller, Extern};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::p1::types::{Fd, Filestat, Filetype, Lookupflags};
use wasmtime_wasi::p1::wasi_snapshot_preview1 as p1;
use wasmtime_wasi::p1::wasi_snapshot_preview1::WasiSnapshotPreview1;
use wasmtime_wasi::runtime::in_tokio;
use wiggle::{GuestMemory, GuestPtr};

use crate::ledger::{Held, Ledger, Over};
use crate::session::{State, Stop};

pub(crate) const ERRNO_FAULT: i32 = 21;
pub(crate) const ERRNO_MFILE: i32 = 33;
pub(crate) const ERRNO_NAMETOOLONG: i32 = 37;
pub(crate) const ERRNO_NOSPC: i32 = 51;
pub(crate) const ERRNO_PERM: i32 = 63;
pub(crate) const ERRNO_XDEV: i32 = 75;

const OFLAGS_CREAT: i32 = 1;
const OFLAGS_TRUNC: i32 = 8;

/// One call's view of the store: WASI context, guest memory and ledger, borrowed together.
struct Fs<'a> {
    wasi: &'a mut WasiP1Ctx,
    mem: GuestMemory<'a>,
    ledger: &'a mut Ledger,
    enospc: bool,
}

type Call<'a> = Caller<'a, State>;

/// Runs `f` with the store split into its WASI context, guest memory and ledger.
fn with_fs<R>(caller: &mut Call<'_>, f: impl FnOnce(&mut Fs<'_>) -> wasmtime::Result<R>) -> wasmtime::Result<R> {
    let Some(Extern::Memory(memory)) = caller.get_export("memory") else {
        return Err(wasmtime::Error::msg("missing required memory export"));
    };
    let fuel = caller.as_context_mut().hostcall_fuel();
    let (data, state) = memory.data_and_store_mut(&mut *caller);
    state.wasi.set_hostcall_fuel(fuel);
    let enospc = state.full_errors;
    let mut fs = Fs { wasi: &mut state.wasi, mem: GuestMemory::Unshared(data), ledger: &mut state.ledger, enospc };
    f(&mut fs)
}

impl Fs<'_> {
    fn fstat(&mut self, fd: i32) -> Option<Filestat> {
        in_tokio(WasiSnapshotPreview1::fd_filestat_get(self.wasi, &mut self.mem, Fd::from(fd as u32))).ok()
    }

    /// Stats `path` under folder `dirfd` without following a last link.
    fn lstat(&mut self, dirfd: i32, path: i32, len: i32) -> Option<Filestat> {
        let ptr = GuestPtr::<str>::new((path as u32, len as u32));
        in_tokio(WasiSnapshotPreview1::path_filestat_get(self.wasi, &mut self.mem, Fd::from(dirfd as u32), Lookupflags::empty(), ptr)).ok()
    }

    fn tell(&mut self, fd: i32) -> Option<u64> {
        WasiSnapshotPreview1::fd_tell(self.wasi, &mut self.mem, Fd::from(fd as u32)).ok()
    }

    fn bytes(&self, at: i32, len: usize) -> Option<&[u8]> {
        let start = usize::try_from(at as u32).ok()?;
        match &self.mem {
            GuestMemory::Unshared(d) => d.get(start..start.checked_add(len)?),
            GuestMemory::Shared(_) => None,
        }
    }

    fn path(&self, at: i32, len: i32) -> Option<String> {
        self.bytes(at, usize::try_from(len as u32).ok()?).map(|b| String::from_utf8_lossy(b).into_owned())
    }

    fn u32_at(&self, at: i32) -> Option<u32> {
        self.bytes(at, 4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Bytes an iovec array asks to write, or `None` when it lies outside memory.
    fn requested(&self, iovs: i32, n: i32) -> Option<u64> {
        let n = usize::try_from(n as u32).ok()?;
        let raw = self.bytes(iovs, n.checked_mul(8)?)?;
        Some(raw.chunks_exact(8).map(|iov| u64::from(u32::from_le_bytes([iov[4], iov[5], iov[6], iov[7]]))).sum())
    }

    /// What a refusal becomes: an errno for the guest, or the trap that ends the cell.
    fn refuse(&self, over: Over) -> wasmtime::Result<i32> {
        match over {
            Over::Handles => Ok(ERRNO_MFILE),
            Over::Depth => Ok(ERRNO_NAMETOOLONG),
            Over::Bytes | Over::Entries if self.enospc => Ok(ERRNO_NOSPC),
            Over::Bytes | Over::Entries => Err(wasmtime::Error::new(Stop::Scratch)),
        }
    }

    fn check_path(&self, dirfd: i32, path: i32, len: i32) -> Result<(), Over> {
        let Some(p) = self.path(path, len) else { return Ok(()) };
        match self.ledger.resolve(dirfd as u32, &p) {
            Some(at) => self.ledger.check_path(at),
            None => Ok(()),
        }
    }

    /// A write of `want` bytes at `at` (`None`: the descriptor's position) to file `fd`: checked,
    /// done by `call`, recorded.
    fn write(
        &mut self,
        fd: i32,
        want: u64,
        at: Option<u64>,
        call: impl FnOnce(&mut Self) -> wasmtime::Result<i32>,
    ) -> wasmtime::Result<i32> {
        let before = match self.fstat(fd) {
            Some(st) if st.filetype == Filetype::RegularFile && want > 0 => st,
            // Pipes (stdout, stderr), folders, bad descriptors: nothing to count.
            _ => return call(self),
        };
        let key = (before.dev, before.ino);
        let pos = at.or_else(|| self.tell(fd)).unwrap_or(before.size);
        // Appending or writing inside the file grows it by at most `want`; past the end, the
        // gap counts too.
        let bound = pos.max(before.size).saturating_add(want);
        if let Err(over) = self.ledger.check_size(key, before.size, bound) {
            return self.refuse(over);
        }
        let errno = call(self)?;
        if errno == 0 {
            let size = self.fstat(fd).map_or(bound, |st| st.size);
            self.ledger.set_size(key, before.size, size, false);
        }
        Ok(errno)
    }

    fn removed(&mut self, file: Option<Filestat>) {
        let file = file.filter(|st| st.filetype != Filetype::Directory).map(|st| ((st.dev, st.ino), st.nlink));
        self.ledger.entry_removed(file);
    }
}

/// `fd_write(fd, iovs, iovs_len, nwritten) -> errno`.
pub(crate) fn fd_write(mut caller: Call<'_>, fd: i32, iovs: i32, iovs_len: i32, nwritten: i32) -> wasmtime::Result<i32> {
    with_fs(&mut caller, |fs| {
        if fd <= 2 {
            return in_tokio(p1::fd_write(fs.wasi, &mut fs.mem, fd, iovs, iovs_len, nwritten));
        }
        let Some(want) = fs.requested(iovs, iovs_len) else { return Ok(ERRNO_FAULT) };
        fs.write(fd, want, None, |fs| in_tokio(p1::fd_write(fs.wasi, &mut fs.mem, fd, iovs, iovs_len, nwritten)))
    })
}

/// `fd_pwrite(fd, iovs, iovs_len, offset, nwritten) -> errno`.
pub(crate) fn fd_pwrite(mut caller: Call<'_>, fd: i32, iovs: i32, iovs_len: i32, offset: i64, nwritten: i32) -> wasmtime::Result<i32> {
    with_fs(&mut caller, |fs| {
        let Some(want) = fs.requested(iovs, iovs_len) else { return Ok(ERRNO_FAULT) };
        fs.write(fd, want, Some(offset as u64), |fs| in_tokio(p1::fd_pwrite(fs.wasi, &mut fs.mem, fd, iovs, iovs_len, offset, nwritten)))
    })
}

/// `fd_filestat_set_size(fd, size) -> errno`: a resize is a write of its growth.
pub(crate) fn fd_filestat_set_size(mut caller: Call<'_>, fd: i32, size: i64) -> wasmtime::Result<i32> {
    with_fs(&mut caller, |fs| {
        let Some(before) = fs.fstat(fd).filter(|st| st.filetype == Filetype::RegularFile) else {
            return in_tokio(p1::fd_filestat_set_size(fs.wasi, &mut fs.mem, fd, size));
        };
        let key = (before.dev, before.ino);
        if let Err(over) = fs.ledger.check_size(key, before.size, size as u64) {
            return fs.refuse(over);
        }
        let errno = in_tokio(p1::fd_filestat_set_size(fs.wasi, &mut fs.mem, fd, size))?;
        if errno == 0 {
            fs.ledger.set_size(key, before.size, size as u64, false);
        }
        Ok(errno)
    })
}

/// `path_open(dirfd, dirflags, path, path_len, oflags, rights, inheriting, fdflags, opened) -> errno`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn path_open(
    mut caller: Call<'_>,
    dirfd: i32,
    dirflags: i32,
    path: i32,
    path_len: i32,
    oflags: i32,
    rights: i64,
    inheriting: i64,
    fdflags: i32,
    opened: i32,
) -> wasmtime::Result<i32> {
    with_fs(&mut caller, |fs| {
        if let Err(over) = fs.check_path(dirfd, path, path_len).and_then(|()| fs.ledger.check_open()) {
            return fs.refuse(over);
        }
        let creating = oflags & OFLAGS_CREAT != 0 && fs.lstat(dirfd, path, path_len).is_none();
        if creating && let Err(over) = fs.ledger.check_new_entry() {
            return fs.refuse(over);
        }
        let at = fs.path(path, path_len).and_then(|p| fs.ledger.resolve(dirfd as u32, &p)).unwrap_or((0, 0));
        let errno =
            in_tokio(p1::path_open(fs.wasi, &mut fs.mem, dirfd, dirflags, path, path_len, oflags, rights, inheriting, fdflags, opened))?;
        if errno != 0 {
            return Ok(errno);
        }
        if creating {
            fs.ledger.entry_made();
        }
        let Some(fd) = fs.u32_at(opened) else { return Ok(errno) };
        match fs.fstat(fd as i32) {
            Some(st) if st.filetype == Filetype::Directory => fs.ledger.opened(fd, Held::Dir { depth: at.0, len: at.1 }),
            Some(st) => {
                let key = (st.dev, st.ino);
                fs.ledger.opened(fd, Held::File(key));
                if creating || oflags & OFLAGS_TRUNC != 0 {
                    fs.ledger.set_size(key, st.size, st.size, creating);
                }
            }
            None => {}
        }
        Ok(errno)
    })
}

/// `fd_close(fd) -> errno`.
pub(crate) fn fd_close(mut caller: Call<'_>, fd: i32) -> wasmtime::Result<i32> {
    with_fs(&mut caller, |fs| {
        let links = if fs.ledger.last_holder(fd as u32) { fs.fstat(fd).map(|st| st.nlink) } else { None };
        let errno = in_tokio(p1::fd_close(fs.wasi, &mut fs.mem, fd))?;
        if errno == 0 {
            fs.ledger.closed(fd as u32, links);
        }
        Ok(errno)
    })
}

/// `fd_renumber(from, to) -> errno`.
pub(crate) fn fd_renumber(mut caller: Call<'_>, from: i32, to: i32) -> wasmtime::Result<i32> {
    with_fs(&mut caller, |fs| {
        let links = if fs.ledger.last_holder(to as u32) { fs.fstat(to).map(|st| st.nlink) } else { None };
        let errno = in_tokio(p1::fd_renumber(fs.wasi, &mut fs.mem, from, to))?;
        if errno == 0 {
            fs.ledger.renumbered(from as u32, to as u32, links);
        }
        Ok(errno)
    })
}

/// `path_create_directory(dirfd, path, path_len) -> errno`.
pub(crate) fn path_create_directory(mut caller: Call<'_>, dirfd: i32, path: i32, path_len: i32) -> wasmtime::Result<i32> {
    with_fs(&mut caller, |fs| {
        if let Err(over) = fs.check_path(dirfd, path, path_len).and_then(|()| fs.ledger.check_new_entry()) {
            return fs.refuse(over);
        }
        let errno = in_tokio(p1::path_create_directory(fs.wasi, &mut fs.mem, dirfd, path, path_len))?;
        if errno == 0 {
            fs.ledger.entry_made();
        }
        Ok(errno)
    })
}

/// `path_unlink_file(dirfd, path, path_len) -> errno`.
pub(crate) fn path_unlink_file(mut caller: Call<'_>, dirfd: i32, path: i32, path_len: i32) -> wasmtime::Result<i32> {
    with_fs(&mut caller, |fs| {
        let before = fs.lstat(dirfd, path, path_len);
        let errno = in_tokio(p1::path_unlink_file(fs.wasi, &mut fs.mem, dirfd, path, path_len))?;
        if errno == 0 {
            fs.removed(before);
        }
        Ok(errno)
    })
}

/// `path_remove_directory(dirfd, path, path_len) -> errno`.
pub(crate) fn path_remove_directory(mut caller: Call<'_>, dirfd: i32, path: i32, path_len: i32) -> wasmtime::Result<i32> {
    with_fs(&mut caller, |fs| {
        let errno = in_tokio(p1::path_remove_directory(fs.wasi, &mut fs.mem, dirfd, path, path_len))?;
        if errno == 0 {
            fs.removed(None);
        }
        Ok(errno)
    })
}

/// `path_rename(fd, old, old_len, new_fd, new, new_len) -> errno`.
pub(crate) fn path_rename(
    mut caller: Call<'_>,
    fd: i32,
    old: i32,
    old_len: i32,
    new_fd: i32,
    new: i32,
    new_len: i32,
) -> wasmtime::Result<i32> {
    with_fs(&mut caller, |fs| {
        if let Err(over) = fs.check_path(new_fd, new, new_len) {
            return fs.refuse(over);
        }
        let src = fs.lstat(fd, old, old_len);
        if src.as_ref().is_some_and(|st| st.filetype == Filetype::Directory) {
            let from = fs.path(old, old_len).and_then(|p| fs.ledger.resolve(fd as u32, &p));
            let to = fs.path(new, new_len).and_then(|p| fs.ledger.resolve(new_fd as u32, &p));
            // A folder may move up or sideways, never deeper or longer: its subtree must stay
            // within the caps it was checked against.
            if !matches!((from, to), (Some(a), Some(b)) if b.0 <= a.0 && b.1 <= a.1) {
                return Ok(ERRNO_XDEV);
            }
        }
        let dest = fs.lstat(new_fd, new, new_len).filter(|d| src.as_ref().is_none_or(|s| (s.dev, s.ino) != (d.dev, d.ino)));
        let errno = in_tokio(p1::path_rename(fs.wasi, &mut fs.mem, fd, old, old_len, new_fd, new, new_len))?;
        if errno == 0 && dest.is_some() {
            fs.removed(dest);
        }
        Ok(errno)
    })
}

/// `path_symlink(old, old_len, dirfd, new, new_len) -> errno`: refused.
pub(crate) fn path_symlink(_: Call<'_>, _: i32, _: i32, _: i32, _: i32, _: i32) -> wasmtime::Result<i32> {
    Ok(ERRNO_PERM)
}

/// `path_link(old_fd, flags, old, old_len, new_fd, new, new_len) -> errno`: refused.
#[allow(clippy::too_many_arguments)]
pub(crate) fn path_link(_: Call<'_>, _: i32, _: i32, _: i32, _: i32, _: i32, _: i32, _: i32) -> wasmtime::Result<i32> {
    Ok(ERRNO_PERM)
}

/// Shadows wasmtime-wasi's functions with these wrappers.
pub(crate) fn link(linker: &mut wasmtime::Linker<State>) -> wasmtime::Result<()> {
    const M: &str = "wasi_snapshot_preview1";
    linker.func_wrap(M, "fd_write", fd_write)?;
    linker.func_wrap(M, "fd_pwrite", fd_pwrite)?;
    linker.func_wrap(M, "fd_filestat_set_size", fd_filestat_set_size)?;
    linker.func_wrap(M, "path_open", path_open)?;
    linker.func_wrap(M, "fd_close", fd_close)?;
    linker.func_wrap(M, "fd_renumber", fd_renumber)?;
    linker.func_wrap(M, "path_create_directory", path_create_directory)?;
    linker.func_wrap(M, "path_unlink_file", path_unlink_file)?;
    linker.func_wrap(M, "path_remove_directory", path_remove_directory)?;
    linker.func_wrap(M, "path_rename", path_rename)?;
    linker.func_wrap(M, "path_symlink", path_symlink)?;
    linker.func_wrap(M, "path_link", path_link)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmtime_wasi::p1::types::Errno;

    #[test]
    fn errno_numbers_are_wasi_preview_1s() {
        assert_eq!(ERRNO_FAULT, Errno::Fault as i32);
        assert_eq!(ERRNO_MFILE, Errno::Mfile as i32);
        assert_eq!(ERRNO_NAMETOOLONG, Errno::Nametoolong as i32);
        assert_eq!(ERRNO_NOSPC, Errno::Nospc as i32);
        assert_eq!(ERRNO_PERM, Errno::Perm as i32);
        assert_eq!(ERRNO_XDEV, Errno::Xdev as i32);
    }
}
