//! Long-lived guest threads: guest calls need a 16 MiB native stack, so they run on threads
//! made for them. Spawning one per cell costs a `clone`, a fresh stack's page faults and
//! wasmtime's per-thread setup, and a new thread waits longer for a CPU on a loaded machine than
//! a woken one; so finished workers park in a process-wide idle list (at most the machine's
//! parallelism, 2 to 64) and the next cell, from any session, reuses one. A worker idle for
//! [`IDLE_EXIT`] ends, giving back its stack.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, SyncSender, sync_channel};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use crate::error::SandboxError;
use crate::sandbox::GUEST_THREAD_STACK;

/// One job for a worker: the erased call, and where to say that it is over.
struct Job {
    call: Box<dyn FnOnce() + Send + 'static>,
    done: SyncSender<()>,
}

/// Idle workers, each as its id and the sending end of its job channel.
static IDLE: Mutex<Vec<(u64, Sender<Job>)>> = Mutex::new(Vec::new());
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// How long an idle worker waits for a job before it ends.
const IDLE_EXIT: Duration = Duration::from_secs(30);

/// Idle workers kept at most; more finish after their job.
fn max_idle() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2).clamp(2, 64)
}

fn take_idle() -> Option<Sender<Job>> {
    IDLE.lock().unwrap_or_else(PoisonError::into_inner).pop().map(|(_, tx)| tx)
}

fn spawn_worker() -> Result<Sender<Job>, SandboxError> {
    let (tx, rx) = std::sync::mpsc::channel::<Job>();
    let me = (NEXT_ID.fetch_add(1, Ordering::Relaxed), tx.clone());
    std::thread::Builder::new()
        .name("dasynth-sandbox-guest".into())
        .stack_size(GUEST_THREAD_STACK)
        .spawn(move || worker_loop(&me, &rx))
        .map_err(|e| SandboxError::Thread(format!("spawning a guest thread: {e}")))?;
    Ok(tx)
}

fn worker_loop(me: &(u64, Sender<Job>), rx: &Receiver<Job>) {
    loop {
        let Job { call, done } = match rx.recv_timeout(IDLE_EXIT) {
            Ok(job) => job,
            Err(RecvTimeoutError::Disconnected) => return,
            Err(RecvTimeoutError::Timeout) => {
                // End only if no caller has taken this worker from the idle list: one that
                // has is about to send a job, which must run.
                let mut idle = IDLE.lock().unwrap_or_else(PoisonError::into_inner);
                match idle.iter().position(|(id, _)| *id == me.0) {
                    Some(i) => {
                        idle.swap_remove(i);
                        return;
                    }
                    None => continue,
                }
            }
        };
        call();
        // Back in the idle list before the caller hears that the call is over, so that its
        // next cell finds this worker.
        let keep = {
            let mut idle = IDLE.lock().unwrap_or_else(PoisonError::into_inner);
            let keep = idle.len() < max_idle();
            if keep {
                idle.push(me.clone());
            }
            keep
        };
        let _ = done.send(());
        if !keep {
            return;
        }
    }
}

/// Runs `f` on a guest thread (an idle worker, or a new one) and waits for it.
pub(crate) fn on_guest_thread<R: Send>(f: impl FnOnce() -> R + Send) -> Result<R, SandboxError> {
    let mut slot: Option<std::thread::Result<R>> = None;
    {
        let slot_ref = &mut slot;
        let call: Box<dyn FnOnce() + Send + '_> = Box::new(move || {
            *slot_ref = Some(catch_unwind(AssertUnwindSafe(f)));
        });
        // SAFETY: `call` borrows `slot` and whatever `f` borrows. This function does not return
        // before `call` has run to its end or has been dropped unrun: it waits for `done`, whose
        // sender travels with the job and is dropped (or used) only after `call` is gone. A
        // job that cannot be sent comes back in the error and is dropped here.
        let mut call: Box<dyn FnOnce() + Send + 'static> = unsafe { std::mem::transmute(call) };
        let mut spawned = false;
        loop {
            let worker = match take_idle() {
                Some(w) => w,
                None => {
                    spawned = true;
                    spawn_worker()?
                }
            };
            let (done_tx, done_rx) = sync_channel::<()>(1);
            match worker.send(Job { call, done: done_tx }) {
                Ok(()) => {
                    // Ok: the call ran. Err: the worker went away with the job, which dropped
                    // it (and `done`) unrun; `slot` stays empty.
                    let _ = done_rx.recv();
                    break;
                }
                Err(std::sync::mpsc::SendError(job)) => {
                    // A worker that has finished (never one in the idle list, but be safe).
                    if spawned {
                        drop(job);
                        return Err(SandboxError::Thread("a new guest thread refused its job".into()));
                    }
                    call = job.call;
                }
            }
        }
    }
    match slot {
        Some(Ok(r)) => Ok(r),
        Some(Err(_)) => Err(SandboxError::Thread("a guest thread panicked".into())),
        None => Err(SandboxError::Thread("a guest thread ended without running its call".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workers_run_borrowing_calls_and_are_reused() {
        let mut v = vec![1, 2, 3];
        let n = on_guest_thread(|| {
            v.push(4);
            v.len()
        });
        assert!(matches!(n, Ok(4)));
        assert_eq!(v, [1, 2, 3, 4]);
        let a = on_guest_thread(|| std::thread::current().id());
        let b = on_guest_thread(|| std::thread::current().id());
        assert!(matches!((a, b), (Ok(a), Ok(b)) if a != std::thread::current().id() && b != std::thread::current().id()));
    }

    #[test]
    fn a_panicking_call_is_an_error_and_the_pool_goes_on() {
        let r = on_guest_thread(|| -> i32 { panic!("boom") });
        assert!(matches!(r, Err(SandboxError::Thread(_))));
        assert!(matches!(on_guest_thread(|| 7), Ok(7)));
    }

    #[test]
    fn deep_recursion_fits_the_stack() {
        fn depth(n: u32) -> u32 {
            let pad = std::hint::black_box([0u8; 1024]);
            if n == 0 { u32::from(pad[0]) } else { depth(n - 1) + 1 }
        }
        assert!(matches!(on_guest_thread(|| depth(8_000)), Ok(8_000)));
    }
}
