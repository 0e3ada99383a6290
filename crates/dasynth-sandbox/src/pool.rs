//! [`SessionPool`]: warm instances kept ready on a background thread, handed out to any thread.

use std::sync::{Arc, Condvar, Mutex, PoisonError};

use crate::error::SandboxError;
use crate::sandbox::Sandbox;
use crate::session::{Mounts, Prepared, Session, SessionOptions};

/// Keeps up to `warm` instantiated stores (each with its scratch folder made) ready, so that
/// [`SessionPool::session`] only binds the mounts and runs the prelude. All sessions share the
/// sandbox's engine and compiled module; the pool is `Sync`, so many threads can take and run
/// sessions at once.
pub struct SessionPool {
    sandbox: Sandbox,
    shared: Arc<Shared>,
    refill: Option<std::thread::JoinHandle<()>>,
}

struct Shared {
    ready: Mutex<Ready>,
    wake: Condvar,
}

struct Ready {
    items: Vec<Prepared>,
    target: usize,
    stop: bool,
}

impl std::fmt::Debug for SessionPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ready = self.shared.ready.lock().unwrap_or_else(PoisonError::into_inner);
        f.debug_struct("SessionPool").field("warm", &ready.items.len()).field("target", &ready.target).finish()
    }
}

impl SessionPool {
    /// A pool that keeps `warm` instances ready.
    pub fn new(sandbox: &Sandbox, warm: usize) -> Result<Self, SandboxError> {
        let shared = Arc::new(Shared { ready: Mutex::new(Ready { items: Vec::new(), target: warm, stop: false }), wake: Condvar::new() });
        let refill = {
            let shared = shared.clone();
            let sandbox = sandbox.clone();
            std::thread::Builder::new()
                .name("dasynth-sandbox-pool".into())
                .spawn(move || refill_loop(&sandbox, &shared))
                .map_err(|e| SandboxError::Thread(format!("spawning the pool's refill thread: {e}")))?
        };
        Ok(SessionPool { sandbox: sandbox.clone(), shared, refill: Some(refill) })
    }

    /// A fresh session: a warm instance when one is ready, else a new one made on this thread.
    pub fn session(&self, mounts: &Mounts, options: SessionOptions) -> Result<Session, SandboxError> {
        let warm = {
            let mut ready = self.shared.ready.lock().unwrap_or_else(PoisonError::into_inner);
            ready.items.pop()
        };
        self.shared.wake.notify_one();
        let prepared = match warm {
            Some(p) => p,
            None => Prepared::new(&self.sandbox)?,
        };
        Session::start(&self.sandbox, prepared, mounts, options)
    }

    /// How many warm instances are ready now.
    pub fn warm(&self) -> usize {
        self.shared.ready.lock().unwrap_or_else(PoisonError::into_inner).items.len()
    }

    /// The sandbox the sessions come from.
    pub fn sandbox(&self) -> &Sandbox {
        &self.sandbox
    }
}

impl Drop for SessionPool {
    fn drop(&mut self) {
        self.shared.ready.lock().unwrap_or_else(PoisonError::into_inner).stop = true;
        self.shared.wake.notify_all();
        if let Some(h) = self.refill.take() {
            let _ = h.join();
        }
    }
}

fn refill_loop(sandbox: &Sandbox, shared: &Shared) {
    loop {
        {
            let mut ready = shared.ready.lock().unwrap_or_else(PoisonError::into_inner);
            while !ready.stop && ready.items.len() >= ready.target {
                ready = shared.wake.wait(ready).unwrap_or_else(PoisonError::into_inner);
            }
            if ready.stop {
                return;
            }
        }
        match Prepared::new(sandbox) {
            Ok(p) => shared.ready.lock().unwrap_or_else(PoisonError::into_inner).items.push(p),
            Err(e) => {
                tracing::warn!(error = %e, "the session pool could not prepare an instance");
                std::thread::sleep(std::time::Duration::from_secs(1));
            }
        }
    }
}
