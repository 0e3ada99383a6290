//! An opt-in profile of the forward pass by part (`DASYNTH_STUDENT_PROFILE=1`): each part is
//! timed between two device synchronisations, so the figures are exact but the run is slower,
//! and decode steps run eagerly (a CUDA graph cannot synchronise inside). Benchmarks print the
//! table with [`take`].

use std::collections::BTreeMap;
use std::sync::{LazyLock, Mutex};
use std::time::Instant;

use candle_core::Device;

static ON: LazyLock<bool> = LazyLock::new(|| std::env::var_os("DASYNTH_STUDENT_PROFILE").is_some_and(|v| v != "0"));
static TABLE: Mutex<BTreeMap<&'static str, (f64, u64)>> = Mutex::new(BTreeMap::new());

/// Whether profiling is on.
pub fn on() -> bool {
    *ON
}

/// Runs `f`, timing it as `name` when profiling.
pub(crate) fn span<R>(device: &Device, name: &'static str, f: impl FnOnce() -> R) -> R {
    if !on() {
        return f();
    }
    let _ = device.synchronize();
    let t = Instant::now();
    let r = f();
    let _ = device.synchronize();
    let mut table = TABLE.lock().unwrap_or_else(|e| e.into_inner());
    let e = table.entry(name).or_default();
    e.0 += t.elapsed().as_secs_f64();
    e.1 += 1;
    r
}

/// The parts timed since the last call: `(name, seconds, calls)`, slowest first.
pub fn take() -> Vec<(&'static str, f64, u64)> {
    let mut table = TABLE.lock().unwrap_or_else(|e| e.into_inner());
    let mut v: Vec<_> = std::mem::take(&mut *table).into_iter().map(|(k, (s, n))| (k, s, n)).collect();
    v.sort_by(|a, b| b.1.total_cmp(&a.1));
    v
}
