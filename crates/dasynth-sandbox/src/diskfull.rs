//! `fd_write` and `fd_pwrite` that can refuse, with `ENOSPC`, a write that would take the
//! scratch folder past its byte cap (see [`Session::set_scratch_full_errors`]).
//!
//! Both call wasmtime-wasi's own implementations (the functions its generated synchronous
//! linker calls), so nothing is reimplemented and with the mode off nothing changes. When the
//! mode is on, a write to a file (fd > 2) whose bytes would take the scratch folder's estimated
//! size past the cap makes this module rescan the folder; if the real size plus the write is
//! still past the cap the whole write fails with `ENOSPC` (no partial write) and Python raises
//! `OSError` ("No space left on device"), which the cell can catch. A write to a writable extra
//! mount is refused too while the scratch folder is full (a descriptor's folder is not known
//! here).
//! The estimate is the last scan plus every byte written since, so it only errs high (an
//! overwrite counts twice until the next scan). The epoch callback's periodic scan stays as the
//! backstop for growth that does not go through a write (`truncate` to a larger size).
//!
//! [`Session::set_scratch_full_errors`]: crate::Session::set_scratch_full_errors

use std::path::PathBuf;

use wasmtime::{Caller, Extern};

use crate::session::{State, usage};

const ERRNO_FAULT: i32 = 21;
const ERRNO_NOSPC: i32 = 51;

/// The opt-in cap on writes.
#[derive(Debug)]
pub(crate) struct WriteCap {
    pub(crate) scratch: PathBuf,
    pub(crate) cap: u64,
    /// Estimated bytes in the scratch folder: the last scan plus bytes written since.
    pub(crate) used: u64,
}

/// Bytes an iovec array asks to write, or `None` when it lies outside memory.
fn requested(caller: &mut Caller<'_, State>, iovs: i32, iovs_len: i32) -> Option<u64> {
    let Some(Extern::Memory(memory)) = caller.get_export("memory") else { return None };
    let data = memory.data(&*caller);
    let start = usize::try_from(iovs as u32).ok()?;
    let n = usize::try_from(iovs_len as u32).ok()?;
    let bytes = data.get(start..start.checked_add(n.checked_mul(8)?)?)?;
    let mut total = 0u64;
    for iov in bytes.chunks_exact(8) {
        let mut len = [0u8; 4];
        len.copy_from_slice(&iov[4..8]);
        total += u64::from(u32::from_le_bytes(len));
    }
    Some(total)
}

/// Whether a write of `want` bytes must be refused; rescans the folder when the estimate says
/// it would not fit.
fn refuse(caller: &mut Caller<'_, State>, fd: i32, iovs: i32, iovs_len: i32) -> Option<i32> {
    if fd <= 2 || caller.data().write_cap.is_none() {
        return None;
    }
    let Some(want) = requested(caller, iovs, iovs_len) else { return Some(ERRNO_FAULT) };
    let cap = caller.data_mut().write_cap.as_mut()?;
    if want == 0 || cap.used.saturating_add(want) <= cap.cap {
        return None;
    }
    cap.used = usage(&cap.scratch).0;
    (cap.used.saturating_add(want) > cap.cap).then_some(ERRNO_NOSPC)
}

fn written(caller: &mut Caller<'_, State>, nwritten: i32) {
    if caller.data().write_cap.is_none() {
        return;
    }
    let n = match caller.get_export("memory") {
        Some(Extern::Memory(m)) => {
            let at = nwritten as u32 as usize;
            m.data(&*caller).get(at..at + 4).map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        }
        _ => 0,
    };
    if let Some(cap) = caller.data_mut().write_cap.as_mut() {
        cap.used = cap.used.saturating_add(u64::from(n));
    }
}

/// wasmtime-wasi's own `fd_write` (`offset` None) or `fd_pwrite`: the same calls, fuel
/// setting and memory binding as its generated synchronous linker functions.
fn call(caller: &mut Caller<'_, State>, fd: i32, iovs: i32, iovs_len: i32, offset: Option<i64>, nwritten: i32) -> wasmtime::Result<i32> {
    use wasmtime::AsContextMut;
    use wasmtime_wasi::p1::wasi_snapshot_preview1 as p1;
    use wasmtime_wasi::p1::wasi_snapshot_preview1::WasiSnapshotPreview1;
    let Some(Extern::Memory(memory)) = caller.get_export("memory") else {
        return Err(wasmtime::Error::msg("missing required memory export"));
    };
    let fuel = caller.as_context_mut().hostcall_fuel();
    let (data, state) = memory.data_and_store_mut(&mut *caller);
    let ctx = &mut state.wasi;
    ctx.set_hostcall_fuel(fuel);
    let mut mem = wiggle::GuestMemory::Unshared(data);
    match offset {
        None => wasmtime_wasi::runtime::in_tokio(p1::fd_write(ctx, &mut mem, fd, iovs, iovs_len, nwritten)),
        Some(at) => wasmtime_wasi::runtime::in_tokio(p1::fd_pwrite(ctx, &mut mem, fd, iovs, iovs_len, at, nwritten)),
    }
}

/// `fd_write(fd, iovs, iovs_len, nwritten) -> errno`.
pub(crate) fn fd_write(mut caller: Caller<'_, State>, fd: i32, iovs: i32, iovs_len: i32, nwritten: i32) -> wasmtime::Result<i32> {
    if let Some(errno) = refuse(&mut caller, fd, iovs, iovs_len) {
        return Ok(errno);
    }
    let errno = call(&mut caller, fd, iovs, iovs_len, None, nwritten)?;
    if errno == 0 && fd > 2 {
        written(&mut caller, nwritten);
    }
    Ok(errno)
}

/// `fd_pwrite(fd, iovs, iovs_len, offset, nwritten) -> errno`.
pub(crate) fn fd_pwrite(
    mut caller: Caller<'_, State>,
    fd: i32,
    iovs: i32,
    iovs_len: i32,
    offset: i64,
    nwritten: i32,
) -> wasmtime::Result<i32> {
    if let Some(errno) = refuse(&mut caller, fd, iovs, iovs_len) {
        return Ok(errno);
    }
    let errno = call(&mut caller, fd, iovs, iovs_len, Some(offset), nwritten)?;
    if errno == 0 && fd > 2 {
        written(&mut caller, nwritten);
    }
    Ok(errno)
}
