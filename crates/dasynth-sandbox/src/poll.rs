//! A `poll_oneoff` that honours the cell's deadline.
//!
//! wasmtime-wasi's own `poll_oneoff` sleeps on the host, where epoch interruption cannot reach
//! it, so `time.sleep(10**6)` would hold a session past any deadline. This replacement serves
//! what a sandboxed Python asks of it: clock subscriptions (sleeps, relative or absolute, on the
//! realtime or the monotonic clock) are slept in short steps that check the deadline, and file
//! descriptor subscriptions are reported ready at once, as WASI does for regular files (there
//! are no sockets or pipes to wait on here; stdin is closed).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use wasmtime::{Caller, Extern};

use crate::session::{State, Stop};

const SUBSCRIPTION_SIZE: usize = 48;
const EVENT_SIZE: usize = 32;
const EVENTTYPE_CLOCK: u8 = 0;
const EVENTTYPE_FD_READ: u8 = 1;
const EVENTTYPE_FD_WRITE: u8 = 2;
const CLOCK_REALTIME: u32 = 0;
const CLOCK_MONOTONIC: u32 = 1;
const ABSTIME: u16 = 1;
const ERRNO_SUCCESS: i32 = 0;
const ERRNO_FAULT: i32 = 21;
const ERRNO_INVAL: i32 = 28;
const ERRNO_NOTSUP: i32 = 58;

/// The monotonic clock the guest sees: nanoseconds since the session's origin, so that this
/// module can turn an absolute monotonic timeout back into an `Instant`.
pub(crate) struct SessionClock {
    pub(crate) origin: Instant,
}

impl wasmtime_wasi::HostMonotonicClock for SessionClock {
    fn resolution(&self) -> u64 {
        1
    }
    fn now(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }
}

fn le_u64(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

fn le_u32(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(a)
}

/// `poll_oneoff(in, out, nsubscriptions, nevents_out) -> errno`.
pub(crate) fn poll_oneoff(mut caller: Caller<'_, State>, input: i32, output: i32, n: i32, nevents: i32) -> wasmtime::Result<i32> {
    let Some(Extern::Memory(memory)) = caller.get_export("memory") else {
        return Ok(ERRNO_FAULT);
    };
    let n = n as u32 as usize;
    if n == 0 {
        return Ok(ERRNO_INVAL);
    }
    let (input, output, nevents) = (input as u32 as usize, output as u32 as usize, nevents as u32 as usize);
    let mut subs = vec![0u8; n * SUBSCRIPTION_SIZE];
    if memory.read(&caller, input, &mut subs).is_err() {
        return Ok(ERRNO_FAULT);
    }
    let origin = caller.data().clock_origin;
    let now = Instant::now();
    let mut ready: Vec<[u8; EVENT_SIZE]> = Vec::new();
    let mut earliest: Option<(Instant, u64)> = None;
    for s in subs.chunks_exact(SUBSCRIPTION_SIZE) {
        let userdata = le_u64(s, 0);
        let tag = s[8];
        let mut ev = [0u8; EVENT_SIZE];
        ev[0..8].copy_from_slice(&userdata.to_le_bytes());
        ev[10] = tag;
        match tag {
            EVENTTYPE_CLOCK => {
                let clock = le_u32(s, 16);
                let timeout = le_u64(s, 24);
                let flags = u16::from_le_bytes([s[40], s[41]]);
                let when = if flags & ABSTIME == 0 {
                    now.checked_add(Duration::from_nanos(timeout))
                } else if clock == CLOCK_MONOTONIC {
                    origin.checked_add(Duration::from_nanos(timeout))
                } else if clock == CLOCK_REALTIME {
                    let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
                    let target = Duration::from_nanos(timeout);
                    Some(now + target.saturating_sub(since_epoch))
                } else {
                    ev[8..10].copy_from_slice(&(ERRNO_NOTSUP as u16).to_le_bytes());
                    ready.push(ev);
                    continue;
                };
                // A timeout too far to represent is as good as forever.
                let when = when.unwrap_or(now + Duration::from_secs(100 * 365 * 24 * 3600));
                if earliest.is_none_or(|(t, _)| when < t) {
                    earliest = Some((when, userdata));
                }
            }
            EVENTTYPE_FD_READ | EVENTTYPE_FD_WRITE => {
                // Regular files are always ready; report one byte available.
                ev[16..24].copy_from_slice(&1u64.to_le_bytes());
                ready.push(ev);
            }
            _ => return Ok(ERRNO_INVAL),
        }
    }
    if let (true, Some((when, userdata))) = (ready.is_empty(), earliest) {
        sleep_until(&caller, when)?;
        let mut ev = [0u8; EVENT_SIZE];
        ev[0..8].copy_from_slice(&userdata.to_le_bytes());
        ev[10] = EVENTTYPE_CLOCK;
        ready.push(ev);
    }
    let bytes: Vec<u8> = ready.iter().flatten().copied().collect();
    if memory.write(&mut caller, output, &bytes).is_err() {
        return Ok(ERRNO_FAULT);
    }
    let count = u32::try_from(ready.len()).unwrap_or(u32::MAX);
    if memory.write(&mut caller, nevents, &count.to_le_bytes()).is_err() {
        return Ok(ERRNO_FAULT);
    }
    Ok(ERRNO_SUCCESS)
}

/// Sleeps until `when` in steps of at most 10 ms, trapping with the cell's deadline error if the
/// deadline comes first.
fn sleep_until(caller: &Caller<'_, State>, when: Instant) -> wasmtime::Result<()> {
    let deadline = caller.data().deadline();
    loop {
        let now = Instant::now();
        if now >= when {
            return Ok(());
        }
        if deadline.is_some_and(|d| now >= d) {
            return Err(wasmtime::Error::new(Stop::Deadline));
        }
        std::thread::sleep((when - now).min(Duration::from_millis(10)));
    }
}
