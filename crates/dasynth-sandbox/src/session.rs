//! One persistent interpreter: [`Session`], its options, limits, mounts and cell results.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use wasmtime::{Instance, Memory, Store, StoreLimits, Trap, TypedFunc, UpdateDeadline};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::{FsPerms, I32Exit, WasiCtxBuilder};

use crate::error::SandboxError;
use crate::hot_pages::HotPages;
use crate::ledger::{Caps, Ledger};
use crate::pipe::CappedPipe;
use crate::random::Streams;
use crate::sandbox::Sandbox;
use crate::suspend::{Image, Stored, Vault};

/// Guest path of the stdlib folder.
pub(crate) const STDLIB_GUEST: &str = "/usr/local/lib";
/// Guest path of matplotlib's data (where matplotlib computes it, inside the zip's path).
pub(crate) const MPL_DATA_GUEST: &str = "/usr/local/lib/python315.zip/matplotlib/mpl-data";
/// Guest path of the task's tables.
pub const DATA_GUEST: &str = "/data";
/// Guest path of the per-session scratch folder.
pub const SCRATCH_GUEST: &str = "/tmp";
/// Where [`Mounts::outputs`] appears: a writable folder inside the read-only working directory,
/// so code can save `outputs/chart.png` next to the data it read.
pub const OUTPUTS_GUEST: &str = "/data/outputs";
/// The guest's HOME, inside the scratch folder (not reported in `files_written`).
pub(crate) const HOME_NAME: &str = ".home";
pub(crate) const ARGV0: &str = "/usr/local/bin/python.wasm";

/// Limits that apply to every cell of a session.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Wall-clock time one cell may run; past it the cell ends with [`Status::Timeout`] and the
    /// session is over.
    pub timeout: Duration,
    /// Linear-memory cap for the session. Allocations past it fail inside Python with a clean
    /// `MemoryError` ([`Status::Memory`]). Memory never shrinks: recycle grown sessions.
    pub memory_bytes: usize,
    /// Bytes kept per stream per cell; the rest is dropped and the result marked `truncated`.
    pub output_bytes: usize,
    /// Fuel (roughly, wasm instructions) per cell; needs
    /// [`SandboxConfig::fuel_metering`](crate::SandboxConfig::fuel_metering). Running out is a
    /// [`Status::Timeout`].
    pub fuel: Option<u64>,
    /// Bytes the guest's files may hold, in all its writable folders together (`/tmp`,
    /// `outputs/`, writable mounts), counted on every write and resize; a file unlinked while
    /// open counts until its last descriptor closes.
    pub scratch_bytes: u64,
    /// Files and folders the guest may make, in all its writable folders together.
    pub scratch_files: u64,
    /// Descriptors the guest may hold open at once; past it opening fails with `EMFILE`.
    pub open_files: usize,
    /// How deep below a mount a path may go, and how many bytes it may take; past either,
    /// making or opening it fails with `ENAMETOOLONG`.
    pub path_depth: u32,
    /// See [`Limits::path_depth`].
    pub path_bytes: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout: Duration::from_secs(30),
            memory_bytes: 2 << 30,
            output_bytes: 1 << 20,
            fuel: None,
            scratch_bytes: 256 << 20,
            scratch_files: 10_000,
            open_files: 256,
            path_depth: 32,
            path_bytes: 1024,
        }
    }
}

/// One extra host folder shown to the guest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// The host folder.
    pub host: PathBuf,
    /// Its absolute guest path.
    pub guest: String,
    /// Whether the guest may write there.
    pub writable: bool,
}

/// What a session sees besides the stdlib and its scratch `/tmp`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mounts {
    /// The task's tables: read-only at `/data`, which is also the working directory.
    pub data: Option<PathBuf>,
    /// Further folders, preopened in this order before `/data`.
    pub extra: Vec<Mount>,
    /// A writable host folder shown at [`OUTPUTS_GUEST`] (needs `data`).
    pub outputs: Option<PathBuf>,
}

impl Mounts {
    /// `/data` only.
    pub fn data(dir: impl Into<PathBuf>) -> Self {
        Mounts { data: Some(dir.into()), extra: Vec::new(), outputs: None }
    }
}

/// How a session starts. The default: [`Limits::default`], seed 0, no extra environment.
#[derive(Debug, Clone, Default)]
pub struct SessionOptions {
    /// Limits per cell.
    pub limits: Limits,
    /// Seeds `random`, `numpy.random` and the guest's `os.urandom` stream, so that the same
    /// cells give the same outputs.
    pub seed: u64,
    /// Environment variables laid over the fixed ones (`TZ=UTC`, `TMPDIR=/tmp`, `HOME`,
    /// `PYTHONTZPATH=`, `MPLBACKEND=Agg`).
    pub env: Vec<(String, String)>,
}

/// How a cell ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// The cell ran to the end.
    Ok,
    /// The cell raised; the traceback is in `stderr`. The session goes on.
    Error,
    /// The wall-clock deadline (or the fuel) ran out. The session is over.
    Timeout,
    /// The memory cap was hit: Python raised `MemoryError` (the session goes on) or the guest
    /// trapped while out of memory (the session is over).
    Memory,
    /// A write, resize or new name would have taken the writable folders past
    /// [`Limits::scratch_bytes`] or [`Limits::scratch_files`]; it was not done. The session is
    /// over. (With [`Session::set_scratch_full_errors`] on, it fails inside the guest with
    /// `ENOSPC` instead.)
    DiskLimit,
    /// The guest trapped (a bug or an abort in native code). The session is over.
    Crashed,
    /// The code called `sys.exit(n)` with `n` not 0 or None (`sys.exit(0)` is [`Status::Ok`]),
    /// `quit()`, `exit()` or `os._exit(n)`; this is the exit status. The session is over.
    Exited(i32),
    /// Nothing ran: the session had already ended (see the earlier result).
    SessionOver,
}

impl Status {
    /// The status as written in reports and trajectories: `ok`, `error`, `timeout`, `memory`,
    /// `disk_limit`, `crashed`, `exited(N)`, `session_over`.
    pub fn name(self) -> String {
        match self {
            Status::Ok => "ok".into(),
            Status::Error => "error".into(),
            Status::Timeout => "timeout".into(),
            Status::Memory => "memory".into(),
            Status::DiskLimit => "disk_limit".into(),
            Status::Crashed => "crashed".into(),
            Status::Exited(n) => format!("exited({n})"),
            Status::SessionOver => "session_over".into(),
        }
    }

    /// Whether the session can run further cells after this status.
    pub fn session_alive(self) -> bool {
        matches!(self, Status::Ok | Status::Error | Status::Memory)
    }
}

/// The outcome of one cell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellResult {
    /// How it ended.
    pub status: Status,
    /// Standard output (lossy UTF-8), at most `Limits::output_bytes`.
    pub stdout: String,
    /// Standard error (lossy UTF-8), at most `Limits::output_bytes`; tracebacks and the
    /// sandbox's own note on a timeout or a trap.
    pub stderr: String,
    /// Whether output past the cap was dropped.
    pub truncated: bool,
    /// Wall-clock time of the cell.
    pub duration: Duration,
    /// Guest paths (`/tmp/...`) of the scratch files this cell created or changed, sorted.
    pub files_written: Vec<String>,
}

impl CellResult {
    /// Equal in everything but `duration`: what replay determinism means.
    pub fn same_outcome(&self, other: &CellResult) -> bool {
        self.status == other.status
            && self.stdout == other.stdout
            && self.stderr == other.stderr
            && self.truncated == other.truncated
            && self.files_written == other.files_written
    }

    fn over(note: &str) -> Self {
        CellResult {
            status: Status::SessionOver,
            stdout: String::new(),
            stderr: note.to_string(),
            truncated: false,
            duration: Duration::ZERO,
            files_written: Vec::new(),
        }
    }
}

/// Why the epoch callback stopped a cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    Deadline,
    Scratch,
}

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Stop::Deadline => "the cell ran past its deadline",
            Stop::Scratch => "the cell's files went past their byte or file cap",
        })
    }
}
impl std::error::Error for Stop {}

/// What the epoch callback watches.
#[derive(Debug)]
pub(crate) struct Watch {
    deadline: Instant,
}

/// Memory limiter that remembers whether it said no.
pub(crate) struct Limiter {
    inner: StoreLimits,
    cap: usize,
    pub(crate) denied: bool,
}

impl wasmtime::ResourceLimiter for Limiter {
    fn memory_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired > self.cap {
            self.denied = true;
            return Ok(false);
        }
        Ok(true)
    }
    fn table_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        self.inner.table_growing(current, desired, maximum)
    }
}

/// A store's data.
pub(crate) struct State {
    pub(crate) wasi: WasiP1Ctx,
    pub(crate) limiter: Limiter,
    pub(crate) stdout: CappedPipe,
    pub(crate) stderr: CappedPipe,
    /// Origin of the guest's monotonic clock (see `poll::SessionClock`).
    pub(crate) clock_origin: Instant,
    watch: Option<Watch>,
    /// What the guest holds in its writable folders (see `fs_guard`).
    pub(crate) ledger: Ledger,
    /// Whether writes past the caps fail with ENOSPC instead of ending the cell.
    pub(crate) full_errors: bool,
    /// The exit status of a `SystemExit` on its way out, as the guest reported it (see
    /// `host_door`).
    pub(crate) exit_code: Option<i32>,
}

/// One preopen: host folder, guest path, writable.
pub(crate) type Preopen = (PathBuf, String, bool);

/// A WASI context with these preopens, args and env, writing to the two pipes.
pub(crate) fn wasi_ctx(
    preopens: &[Preopen],
    env: &[(String, String)],
    random: &Streams,
    clock_origin: Instant,
    stdout: &CappedPipe,
    stderr: &CappedPipe,
) -> Result<WasiP1Ctx, SandboxError> {
    let mut b = WasiCtxBuilder::new();
    b.monotonic_clock(crate::poll::SessionClock { origin: clock_origin });
    b.args(&[ARGV0]).envs(env).stdout(stdout.clone()).stderr(stderr.clone()).allow_blocking_current_thread(true);
    // The guest's os.urandom is a stream derived from the seed: same seed, same bytes.
    b.secure_random(random.secure.clone());
    b.insecure_random(random.insecure.clone());
    b.insecure_random_seed(u128::from(random.seed));
    b.allow_tcp(false).allow_udp(false).allow_ip_name_lookup(false);
    for (host, guest, writable) in preopens {
        let perms = if *writable { FsPerms::ReadWrite } else { FsPerms::ReadOnly };
        b.preopened_dir(host, guest, perms).map_err(|e| SandboxError::Mount {
            host: host.clone(),
            guest: guest.clone(),
            source: std::io::Error::other(format!("{e:#}")),
        })?;
    }
    Ok(b.build_p1())
}

/// What it takes to build a session's WASI context again, as it was (its descriptors apart).
#[derive(Debug, Clone)]
pub(crate) struct WasiPlan {
    preopens: Vec<Preopen>,
    env: Vec<(String, String)>,
    random: Streams,
}

impl State {
    pub(crate) fn new(wasi: WasiP1Ctx, memory_bytes: usize, stdout: CappedPipe, stderr: CappedPipe) -> Self {
        State {
            wasi,
            limiter: Limiter {
                inner: wasmtime::StoreLimitsBuilder::new().table_elements(1 << 20).build(),
                cap: memory_bytes,
                denied: false,
            },
            stdout,
            stderr,
            clock_origin: Instant::now(),
            watch: None,
            ledger: Ledger::new(caps(&Limits::default())),
            full_errors: false,
            exit_code: None,
        }
    }

    /// The running cell's deadline, if a cell is running.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.watch.as_ref().map(|w| w.deadline)
    }
}

/// The ledger's caps for these limits.
pub(crate) fn caps(limits: &Limits) -> Caps {
    Caps {
        bytes: limits.scratch_bytes,
        entries: limits.scratch_files,
        handles: limits.open_files,
        depth: limits.path_depth,
        path_bytes: limits.path_bytes,
    }
}

/// Installs the store's limiter and the epoch callback that enforces the deadline.
pub(crate) fn arm_store(store: &mut Store<State>) {
    store.limiter(|s: &mut State| -> &mut dyn wasmtime::ResourceLimiter { &mut s.limiter });
    store.epoch_deadline_callback(|ctx| match ctx.data().watch.as_ref() {
        Some(w) if Instant::now() >= w.deadline => Err(wasmtime::Error::new(Stop::Deadline)),
        _ => Ok(UpdateDeadline::Continue(1)),
    });
    store.set_epoch_deadline(1);
}

/// Guest exports a turn needs.
pub(crate) struct Exports {
    pub(crate) memory: Memory,
    pub(crate) host_alloc: TypedFunc<i32, i32>,
    pub(crate) turn: TypedFunc<(i32, i32), i32>,
}

impl Exports {
    pub(crate) fn of(store: &mut Store<State>, instance: &Instance) -> Result<Self, String> {
        let memory = instance.get_memory(&mut *store, "memory").ok_or("the module exports no memory")?;
        let host_alloc = instance.get_typed_func::<i32, i32>(&mut *store, "host_alloc").map_err(|e| format!("host_alloc: {e:#}"))?;
        let turn = instance.get_typed_func::<(i32, i32), i32>(&mut *store, "turn").map_err(|e| format!("turn: {e:#}"))?;
        Ok(Exports { memory, host_alloc, turn })
    }
}

/// Runs one turn on the current thread: copies `code` into the guest and calls `turn`.
pub(crate) fn turn_here(store: &mut Store<State>, ex: &Exports, code: &[u8]) -> wasmtime::Result<i32> {
    let len = i32::try_from(code.len()).map_err(|_| wasmtime::Error::msg("code cell larger than 2 GiB"))?;
    let mut p = 0;
    if !code.is_empty() {
        p = ex.host_alloc.call(&mut *store, len)?;
        let fits = p != 0 && (p as u32 as usize).checked_add(code.len()).is_some_and(|end| end <= ex.memory.data_size(&*store));
        if fits {
            ex.memory.write(&mut *store, p as u32 as usize, code)?;
        } else {
            p = 0; // the guest raises MemoryError for its code
        }
    }
    ex.turn.call(&mut *store, (p, len))
}

/// Runs `f` on a guest thread (a reused one; see `worker`) with a native stack big enough for
/// guest calls.
pub(crate) use crate::worker::on_guest_thread;

/// A live interpreter, like a notebook kernel: variables persist across [`Session::run`]
/// calls. Dropping it removes its scratch folder.
pub struct Session {
    sandbox: Sandbox,
    store: Option<Store<State>>,
    exports: Option<Exports>,
    scratch: tempfile::TempDir,
    options: SessionOptions,
    seen: HashMap<PathBuf, (u64, Option<SystemTime>)>,
    over: Option<String>,
    full_errors: bool,
    /// Set while suspended: the store's host data, and where its memory is.
    suspended: Option<Suspended>,
    last_resume: Option<Duration>,
    /// The image the session was last resumed from, while it runs: the next suspension copies
    /// the chunks the cells did not change.
    resumed_from: Option<Image>,
    plan: WasiPlan,
    /// Whether a cell that mentions pandas has had pandas' hot pages copied in (see
    /// `hot_pages.rs`).
    pandas_pages: bool,
}

struct Suspended {
    state: State,
    stored: Stored,
    vault: Vault,
    /// Whether the WASI context was dropped (no descriptor of the guest's was open) and must
    /// be built again.
    rebuild: bool,
}

/// Sessions alive in this process (made and not dropped), suspended ones included.
static LIVE: AtomicUsize = AtomicUsize::new(0);

/// How many sessions are alive in this process now (suspended ones included).
pub fn live_sessions() -> usize {
    LIVE.load(Ordering::Relaxed)
}

/// What one [`Session::suspend`] kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Suspension {
    /// Pages of guest memory that differed from the snapshot.
    pub pages: usize,
    /// Their compressed size.
    pub bytes: usize,
    /// Chunks of pages copied from the image the session was last resumed from (the cells
    /// since did not change them), and chunks compressed anew.
    pub reused_chunks: usize,
    pub new_chunks: usize,
}

/// What a session's guest holds in its writable folders: see [`Session::holdings`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Holdings {
    /// Bytes of the files it made or grew (unlinked ones still open included).
    pub bytes: u64,
    /// Files and folders it made and still has.
    pub entries: u64,
    /// Descriptors it holds open.
    pub handles: usize,
}

impl Drop for Session {
    fn drop(&mut self) {
        LIVE.fetch_sub(1, Ordering::Relaxed);
        if let Some(s) = self.suspended.take() {
            s.vault.discard(s.stored);
        }
    }
}

/// Bytes in a wasm page.
const WASM_PAGE: usize = 64 << 10;

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session").field("scratch", &self.scratch.path()).field("alive", &self.over.is_none()).finish_non_exhaustive()
    }
}

/// An instantiated store whose scratch folder exists but whose mounts are not yet bound: what
/// the pool keeps warm.
pub(crate) struct Prepared {
    store: Store<State>,
    exports: Exports,
    scratch: tempfile::TempDir,
}

impl Prepared {
    pub(crate) fn new(sandbox: &Sandbox) -> Result<Self, SandboxError> {
        Self::new_with(sandbox, sandbox.hot_pages())
    }

    /// An instance with `hot`'s pages already copied in.
    pub(crate) fn new_with(sandbox: &Sandbox, hot: &HotPages) -> Result<Self, SandboxError> {
        let scratch = tempfile::Builder::new()
            .prefix(&crate::scratch::prefix())
            .tempdir()
            .map_err(SandboxError::io("creating a scratch folder in", std::env::temp_dir()))?;
        let home = scratch.path().join(HOME_NAME);
        std::fs::create_dir(&home).map_err(SandboxError::io("creating", &home))?;
        let stdout = CappedPipe::new(0);
        let stderr = CappedPipe::new(0);
        // A placeholder context; `Session::start` swaps in the real one before any guest code
        // runs (the snapshot reset wasi-libc's preopen table, so nothing is cached in the guest).
        let wasi = WasiCtxBuilder::new().build_p1();
        let mut store = Store::new(&sandbox.inner.engine, State::new(wasi, usize::MAX, stdout, stderr));
        arm_store(&mut store);
        let instance =
            sandbox.inner.pre.instantiate(&mut store).map_err(SandboxError::wasm("instantiating", &sandbox.inner.module_path))?;
        let exports = Exports::of(&mut store, &instance).map_err(|message| SandboxError::Wasm {
            action: "reading exports of",
            path: sandbox.inner.module_path.clone(),
            message,
        })?;
        hot.populate_start(exports.memory.data_mut(&mut store));
        Ok(Prepared { store, exports, scratch })
    }
}

impl Session {
    /// A fresh session: its own instance, its own scratch `/tmp`, the given mounts.
    pub fn new(sandbox: &Sandbox, mounts: &Mounts, options: SessionOptions) -> Result<Self, SandboxError> {
        Self::start(sandbox, Prepared::new(sandbox)?, mounts, options)
    }

    pub(crate) fn start(sandbox: &Sandbox, prepared: Prepared, mounts: &Mounts, options: SessionOptions) -> Result<Self, SandboxError> {
        let Prepared { mut store, exports, scratch } = prepared;
        if options.limits.fuel.is_some() && !sandbox.inner.config.fuel_metering {
            return Err(SandboxError::FuelNotEnabled);
        }
        let preopens = preopens(sandbox, mounts, scratch.path())?;
        let env = guest_env(&options);
        let (stdout, stderr) = (store.data().stdout.clone(), store.data().stderr.clone());
        let origin = store.data().clock_origin;
        let random = Streams::new(options.seed);
        let wasi = wasi_ctx(&preopens, &env, &random, origin, &stdout, &stderr)?;
        let plan = WasiPlan { preopens, env: env.clone(), random };
        {
            let data = store.data_mut();
            data.wasi = wasi;
            data.limiter.cap = options.limits.memory_bytes;
            data.ledger = Ledger::new(caps(&options.limits));
        }
        let mut session = Session {
            sandbox: sandbox.clone(),
            store: Some(store),
            exports: Some(exports),
            scratch,
            options,
            seen: HashMap::new(),
            over: None,
            full_errors: false,
            suspended: None,
            last_resume: None,
            resumed_from: None,
            plan,
            pandas_pages: false,
        };
        LIVE.fetch_add(1, Ordering::Relaxed);
        let prelude = prelude(&env, session.options.seed, mounts.data.is_some(), sandbox.preinitialized());
        let r = session.run_inner(prelude.as_bytes(), Duration::from_secs(60), true);
        if r.status != Status::Ok {
            return Err(SandboxError::Snapshot {
                path: sandbox.inner.module_path.clone(),
                message: format!("the session prelude failed ({:?}): {}", r.status, r.stderr),
            });
        }
        session.seen = snapshot_files(session.scratch.path(), session.options.limits.scratch_files);
        Ok(session)
    }

    /// Runs one cell. Never panics and never takes the host down: whatever the code does comes
    /// back as a [`Status`].
    pub fn run(&mut self, code: &str) -> CellResult {
        let t = self.options.limits.timeout;
        self.run_inner(code.as_bytes(), t, false)
    }

    /// [`Session::run`] for raw bytes: code that is not UTF-8 is refused without running.
    pub fn run_bytes(&mut self, code: &[u8]) -> Result<CellResult, SandboxError> {
        let code = std::str::from_utf8(code).map_err(|e| SandboxError::InvalidUtf8 { offset: e.valid_up_to() })?;
        Ok(self.run(code))
    }

    /// Whether further cells can run.
    pub fn is_alive(&self) -> bool {
        self.over.is_none()
    }

    /// The host folder behind `/tmp`.
    pub fn scratch_dir(&self) -> &Path {
        self.scratch.path()
    }

    /// Reads a scratch file by its guest path (`/tmp/plot.png`); refuses paths outside `/tmp`.
    pub fn collect(&self, guest_path: &str) -> Result<Vec<u8>, SandboxError> {
        let host = self.host_path(guest_path).ok_or_else(|| SandboxError::Io {
            action: "collecting (not a scratch path)",
            path: PathBuf::from(guest_path),
            source: std::io::Error::from(std::io::ErrorKind::InvalidInput),
        })?;
        // The guest can make links in its scratch folder; never follow one out of it on the host.
        let scratch = self.scratch.path().canonicalize().map_err(SandboxError::io("resolving", self.scratch.path()))?;
        let real = host.canonicalize().map_err(SandboxError::io("resolving", &host))?;
        if !real.starts_with(&scratch) || !real.is_file() {
            return Err(SandboxError::Io {
                action: "collecting (a link out of the scratch folder, or not a file)",
                path: PathBuf::from(guest_path),
                source: std::io::Error::from(std::io::ErrorKind::PermissionDenied),
            });
        }
        std::fs::read(&real).map_err(SandboxError::io("reading", real))
    }

    /// Whether a write, resize or new name that would take the writable folders past
    /// [`Limits::scratch_bytes`] or [`Limits::scratch_files`] fails inside the guest with
    /// `ENOSPC` (Python raises `OSError: [Errno 51] No space left on device`, which the cell can
    /// catch; the session goes on) instead of ending the session with [`Status::DiskLimit`].
    /// Off by default. Either way the change is not made.
    pub fn set_scratch_full_errors(&mut self, on: bool) {
        self.full_errors = on;
        if let Some(state) = self.state_mut() {
            state.full_errors = on;
        }
    }

    fn state(&self) -> Option<&State> {
        match (&self.store, &self.suspended) {
            (Some(store), _) => Some(store.data()),
            (None, Some(s)) => Some(&s.state),
            (None, None) => None,
        }
    }

    fn state_mut(&mut self) -> Option<&mut State> {
        match (&mut self.store, &mut self.suspended) {
            (Some(store), _) => Some(store.data_mut()),
            (None, Some(s)) => Some(&mut s.state),
            (None, None) => None,
        }
    }

    /// Takes the session's guest memory out of resident memory: the pages that differ from the
    /// snapshot, compressed, go into `vault`, and the instance is dropped; the host side (open
    /// files, pipes, limits) stays. The next [`Session::run`] (or [`Session::resume`]) restores
    /// it into a fresh instance and runs as if nothing had happened. A session that is over or
    /// already suspended is left as it is.
    ///
    /// Errors: the memory could not be read (the session stays resident and alive), or the
    /// vault could not keep the image (a spill file could not be written: the session is over).
    pub fn suspend(&mut self, vault: &Vault) -> Result<Suspension, SandboxError> {
        if self.over.is_some() || self.suspended.is_some() {
            return Ok(Suspension { pages: 0, bytes: 0, reused_chunks: 0, new_chunks: 0 });
        }
        let (Some(store), Some(exports)) = (self.store.take(), self.exports.take()) else {
            return Ok(Suspension { pages: 0, bytes: 0, reused_chunks: 0, new_chunks: 0 });
        };
        let pristine = match self.sandbox.pristine() {
            Ok(p) => p,
            Err(message) => {
                self.store = Some(store);
                self.exports = Some(exports);
                return Err(SandboxError::Suspend { message });
            }
        };
        let image = match Image::capture(exports.memory.data(&store), pristine, self.resumed_from.as_ref()) {
            Ok(image) => image,
            Err(message) => {
                self.store = Some(store);
                self.exports = Some(exports);
                return Err(SandboxError::Suspend { message });
            }
        };
        let kept = Suspension { pages: image.pages, bytes: image.len(), reused_chunks: image.reused_chunks, new_chunks: image.new_chunks };
        self.resumed_from = None;
        drop(exports);
        let mut state = store.into_data();
        // A context whose descriptors are just the preopens and stdio can be built again on
        // resume: dropping it closes its host descriptors, so a suspended session holds none.
        let rebuild = state.ledger.handles() == 0 && !state.ledger.fds_touched;
        if rebuild {
            state.wasi = WasiCtxBuilder::new().build_p1();
        }
        match vault.put(image) {
            Ok(stored) => {
                self.suspended = Some(Suspended { state, stored, vault: vault.clone(), rebuild });
                Ok(kept)
            }
            Err(e) => {
                self.over = Some(format!("the session could not be suspended: {e}"));
                Err(e)
            }
        }
    }

    /// Whether the session is suspended (see [`Session::suspend`]).
    pub fn is_suspended(&self) -> bool {
        self.suspended.is_some()
    }

    /// How long the last resume took, if the session was ever resumed.
    pub fn last_resume(&self) -> Option<Duration> {
        self.last_resume
    }

    /// Restores a suspended session (nothing to do otherwise); [`Session::run`] does it by
    /// itself. If the image cannot be had back (its spill file is gone or damaged), the session
    /// is over.
    pub fn resume(&mut self) -> Result<Duration, SandboxError> {
        let Some(Suspended { mut state, stored, vault, rebuild }) = self.suspended.take() else { return Ok(Duration::ZERO) };
        let started = Instant::now();
        let rebuilt = if rebuild {
            let p = &self.plan;
            wasi_ctx(&p.preopens, &p.env, &p.random, state.clock_origin, &state.stdout, &state.stderr).map(|w| state.wasi = w)
        } else {
            Ok(())
        };
        let restored = rebuilt.and_then(|()| vault.take(stored)).and_then(|image| {
            self.restore(state, &image)?;
            self.resumed_from = Some(image);
            Ok(())
        });
        match restored {
            Ok(()) => {
                let took = started.elapsed();
                vault.record_resume(took);
                self.last_resume = Some(took);
                Ok(took)
            }
            Err(e) => {
                self.over = Some(format!("the suspended session could not be restored: {e}"));
                Err(e)
            }
        }
    }

    fn restore(&mut self, state: State, image: &Image) -> Result<(), SandboxError> {
        let inner = &self.sandbox.inner;
        let mut store = Store::new(&inner.engine, state);
        arm_store(&mut store);
        let cap = store.data().limiter.cap;
        store.data_mut().limiter.cap = cap.max(image.memory_bytes);
        let instance = inner.pre.instantiate(&mut store).map_err(SandboxError::wasm("instantiating", &inner.module_path))?;
        let exports = Exports::of(&mut store, &instance).map_err(|message| SandboxError::Suspend { message })?;
        let now = exports.memory.data_size(&store);
        if image.memory_bytes > now {
            let pages = ((image.memory_bytes - now) / WASM_PAGE) as u64;
            exports.memory.grow(&mut store, pages).map_err(SandboxError::wasm("growing the restored memory of", &inner.module_path))?;
        }
        let pristine = self.sandbox.pristine().map_err(|message| SandboxError::Suspend { message })?;
        image.restore(exports.memory.data_mut(&mut store), pristine).map_err(|message| SandboxError::Suspend { message })?;
        let data = store.data_mut();
        data.limiter.cap = cap;
        data.limiter.denied = false;
        self.store = Some(store);
        self.exports = Some(exports);
        Ok(())
    }

    /// Leaves pandas' hot pages out of this session's cells (the probe that records them).
    pub(crate) fn without_hot_pages(mut self) -> Self {
        self.pandas_pages = true;
        self
    }

    /// The pages of the guest's memory written since the instance was made (see
    /// [`crate::suspend`]); none while suspended.
    pub(crate) fn written_pages(&self) -> Result<Vec<usize>, String> {
        match (&self.exports, &self.store) {
            (Some(ex), Some(store)) => crate::suspend::written_pages(ex.memory.data(store)),
            _ => Ok(Vec::new()),
        }
    }

    /// Whether [`Session::set_scratch_full_errors`] is on.
    pub fn scratch_full_errors(&self) -> bool {
        self.full_errors
    }

    /// Bytes, files and folders, and open descriptors the guest holds now in its writable
    /// folders, as the session counts them against its [`Limits`].
    pub fn holdings(&self) -> Holdings {
        match self.state() {
            Some(s) => Holdings { bytes: s.ledger.bytes(), entries: s.ledger.entries(), handles: s.ledger.handles() },
            None => Holdings::default(),
        }
    }

    /// The limits now in force; changes apply from the next cell (the memory cap at once).
    pub fn limits_mut(&mut self) -> &mut Limits {
        &mut self.options.limits
    }

    fn host_path(&self, guest_path: &str) -> Option<PathBuf> {
        let rel = guest_path.strip_prefix(SCRATCH_GUEST)?.trim_start_matches('/');
        let rel = Path::new(rel);
        if rel.components().any(|c| !matches!(c, std::path::Component::Normal(_))) {
            return None;
        }
        Some(self.scratch.path().join(rel))
    }

    fn run_inner(&mut self, code: &[u8], timeout: Duration, prelude: bool) -> CellResult {
        if self.suspended.is_some()
            && let Err(e) = self.resume()
        {
            tracing::warn!(error = %e, "a suspended session could not be restored");
        }
        if let Some(why) = &self.over {
            return CellResult::over(why);
        }
        let (Some(store), Some(exports)) = (self.store.as_mut(), self.exports.as_ref()) else {
            return CellResult::over("the session is over");
        };
        let limits = self.options.limits.clone();
        {
            let data = store.data_mut();
            data.stdout.reset(limits.output_bytes);
            data.stderr.reset(limits.output_bytes);
            data.limiter.cap = limits.memory_bytes;
            data.limiter.denied = false;
            data.ledger.caps = caps(&limits);
            data.exit_code = None;
            data.watch = Some(Watch { deadline: Instant::now() + timeout });
        }
        if self.sandbox.inner.config.fuel_metering {
            let fuel = if prelude { u64::MAX / 2 } else { limits.fuel.unwrap_or(u64::MAX / 2) };
            if let Err(e) = store.set_fuel(fuel) {
                tracing::warn!(error = %format!("{e:#}"), "setting fuel");
            }
        }
        store.set_epoch_deadline(1);
        if !prelude && !self.pandas_pages {
            self.pandas_pages = self.sandbox.hot_pages().populate_for(code, exports.memory.data_mut(&mut *store));
        }
        let started = Instant::now();
        let outcome = on_guest_thread(|| turn_here(store, exports, code));
        let duration = started.elapsed();
        store.data_mut().watch = None;
        let (out, out_cut) = store.data().stdout.take();
        let (err, err_cut) = store.data().stderr.take();
        let mut stderr = defang(String::from_utf8_lossy(&err).into_owned());
        let denied = store.data().limiter.denied;
        let exit_code = store.data_mut().exit_code.take();
        let status = match outcome {
            Err(e) => {
                stderr.push_str(&format!("\n[sandbox] {e}\n"));
                Status::Crashed
            }
            // A `SystemExit` whose code the guest's `turn` folds into one byte (`sys.exit(256)`
            // returns as if the cell had ended well).
            Ok(Ok(_)) if exit_code.is_some() => Status::Exited(exit_code.unwrap_or_default()),
            Ok(Ok(0)) => Status::Ok,
            // Only the cap makes a `MemoryError` a memory status: a class of that name raised by
            // the cell is an error like any other.
            Ok(Ok(1)) if denied && last_exception_is(&stderr, "MemoryError") => Status::Memory,
            // `sys.exit(1)` and `sys.exit("message")` also return 1, without a traceback.
            Ok(Ok(1)) if !stderr.contains("Traceback (most recent call last)") => Status::Exited(1),
            Ok(Ok(1)) => Status::Error,
            // 2..=255: `sys.exit(n)`; 256 and up: `quit()`/`exit()`, status in the low byte.
            Ok(Ok(v)) if (2..=511).contains(&v) => Status::Exited(v & 0xff),
            Ok(Ok(v)) => {
                stderr.push_str(&format!("\n[sandbox] the guest's turn returned {v}\n"));
                Status::Crashed
            }
            Ok(Err(e)) => {
                let (status, note) = classify_trap(&e, denied);
                stderr.push_str(&format!("\n[sandbox] {note}\n"));
                status
            }
        };
        let mut files_written = Vec::new();
        if !prelude {
            let now = snapshot_files(self.scratch.path(), limits.scratch_files);
            for (path, stamp) in &now {
                if self.seen.get(path) != Some(stamp)
                    && let Ok(rel) = path.strip_prefix(self.scratch.path())
                {
                    files_written.push(format!("{SCRATCH_GUEST}/{}", rel.display()));
                }
            }
            files_written.sort();
            self.seen = now;
        }
        if !status.session_alive() {
            let why = format!("the session ended earlier with {status:?}; start a new session");
            tracing::debug!(?status, "session over");
            self.over = Some(why);
            self.store = None;
            self.exports = None;
        }
        CellResult {
            status,
            stdout: defang(String::from_utf8_lossy(&out).into_owned()),
            stderr,
            truncated: out_cut || err_cut,
            duration,
            files_written,
        }
    }
}

fn classify_trap(e: &wasmtime::Error, memory_denied: bool) -> (Status, String) {
    if let Some(exit) = e.downcast_ref::<I32Exit>() {
        return (Status::Exited(exit.0), format!("the guest exited with status {}", exit.0));
    }
    if let Some(stop) = e.downcast_ref::<Stop>() {
        let status = match stop {
            Stop::Deadline => Status::Timeout,
            Stop::Scratch => Status::DiskLimit,
        };
        return (status, stop.to_string());
    }
    match e.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => return (Status::Timeout, "the cell ran out of fuel".into()),
        Some(Trap::Interrupt) => return (Status::Timeout, "the cell ran past its deadline".into()),
        _ => {}
    }
    if memory_denied {
        return (Status::Memory, format!("the guest trapped after hitting the memory cap: {e}"));
    }
    (Status::Crashed, format!("the guest trapped: {e}"))
}

/// The prefix of the sandbox's own notes in a cell's output.
pub const NOTE_PREFIX: &str = "[sandbox]";

/// A guest line that starts like a sandbox note gets a backslash in front (`\[sandbox]`), so
/// that every line starting with [`NOTE_PREFIX`] is the host's.
fn defang(text: String) -> String {
    if !text.contains(NOTE_PREFIX) {
        return text;
    }
    let mut out = String::with_capacity(text.len() + 8);
    for line in text.split_inclusive('\n') {
        if line.starts_with(NOTE_PREFIX) {
            out.push('\\');
        }
        out.push_str(line);
    }
    out
}

fn last_exception_is(stderr: &str, name: &str) -> bool {
    stderr.lines().rev().find(|l| !l.trim().is_empty()).is_some_and(|l| l.starts_with(name))
}

/// Size and modification time of the scratch folder's files (HOME left out), from a bounded
/// walk that follows no link.
fn snapshot_files(dir: &Path, max_entries: u64) -> HashMap<PathBuf, (u64, Option<SystemTime>)> {
    let home = dir.join(HOME_NAME);
    let bound = crate::listing::Bound { entries: max_entries.saturating_add(64), depth: 64 };
    crate::listing::walk(dir, bound, |path, m| path != home || !m.is_dir())
        .into_iter()
        .filter(|(_, m)| m.is_file())
        .map(|(p, m)| (p, (m.len(), m.modified().ok())))
        .collect()
}

fn guest_env(options: &SessionOptions) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> =
        [("TMPDIR", "/tmp"), ("HOME", "/tmp/.home"), ("PYTHONTZPATH", ""), ("TZ", "UTC"), ("MPLBACKEND", "Agg"), ("PYTHONHASHSEED", "0")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
    for (k, v) in &options.env {
        env.retain(|(ek, _)| ek != k);
        env.push((k.clone(), v.clone()));
    }
    env
}

fn preopens(sandbox: &Sandbox, mounts: &Mounts, scratch: &Path) -> Result<Vec<Preopen>, SandboxError> {
    let a = &sandbox.inner.artefacts;
    let mut out: Vec<Preopen> = Vec::new();
    for m in &mounts.extra {
        check_guest_path(&m.host, &m.guest)?;
        out.push((m.host.clone(), m.guest.clone(), m.writable));
    }
    if let Some(d) = &mounts.data {
        // The guest's libc resolves a path through the longest matching preopen, so this
        // writable folder wins over the read-only `/data` for `/data/outputs/...`.
        if let Some(o) = &mounts.outputs {
            out.push((o.clone(), OUTPUTS_GUEST.into(), true));
        }
        out.push((d.clone(), DATA_GUEST.into(), false));
    }
    out.push((scratch.to_path_buf(), SCRATCH_GUEST.into(), true));
    out.push((a.stdlib_dir.clone(), STDLIB_GUEST.into(), false));
    out.push((a.mpl_data_dir.clone(), MPL_DATA_GUEST.into(), false));
    for (host, guest, _) in &out {
        if !host.is_dir() {
            return Err(SandboxError::Mount {
                host: host.clone(),
                guest: guest.clone(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "not a folder"),
            });
        }
    }
    Ok(out)
}

fn check_guest_path(host: &Path, guest: &str) -> Result<(), SandboxError> {
    let refuse = |reason| Err(SandboxError::MountPath { host: host.to_path_buf(), guest: guest.to_string(), reason });
    if !guest.starts_with('/') || guest.split('/').any(|c| c == ".." || c == ".") {
        return refuse("a guest path must be absolute and plain");
    }
    let g = guest.trim_end_matches('/');
    for reserved in [DATA_GUEST, SCRATCH_GUEST, STDLIB_GUEST, "/usr/local/bin", ""] {
        if g == reserved || g.starts_with(&format!("{reserved}/")) && !reserved.is_empty() {
            return refuse("that guest path is the sandbox's own");
        }
    }
    Ok(())
}

/// The first turn of every session: forget the snapshot's environment, argv and random state.
fn prelude(env: &[(String, String)], seed: u64, has_data: bool, preinitialized: bool) -> String {
    let env_py: Vec<String> = env.iter().map(|(k, v)| format!("{}: {}", py_str(k), py_str(v))).collect();
    let cwd = if has_data { DATA_GUEST } else { SCRATCH_GUEST };
    let numpy =
        if preinitialized { format!("import numpy as _n\n_n.random.seed({})\ndel _n\n", seed & 0xffff_ffff) } else { String::new() };
    // The snapshot installed the exit monitor already; the package's own image has none.
    let monitor = if preinitialized { "" } else { crate::host_door::EXIT_MONITOR };
    format!(
        "import os as _o, sys as _s, random as _r\n\
         _o.environ.clear()\n\
         _o.environ.update({{{}}})\n\
         _s.argv[:] = ['']\n\
         _r.seed({seed})\n\
         {numpy}\
         _o.chdir({})\n\
         del _o, _s, _r\n\
         {}",
        env_py.join(", "),
        py_str(cwd),
        monitor,
    )
}

fn py_str(s: &str) -> String {
    let mut out = String::from("'");
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guest_paths_are_checked() {
        let h = Path::new("/x");
        assert!(check_guest_path(h, "/inputs").is_ok());
        assert!(check_guest_path(h, "inputs").is_err());
        assert!(check_guest_path(h, "/data").is_err());
        assert!(check_guest_path(h, "/tmp/x").is_err());
        assert!(check_guest_path(h, "/a/../tmp").is_err());
        assert!(check_guest_path(h, "/usr/local/lib").is_err());
    }

    #[test]
    fn python_strings_are_quoted() {
        assert_eq!(py_str("a'b\\c\n"), "'a\\'b\\\\c\\x0a'");
    }

    #[test]
    fn guest_lines_cannot_pass_for_sandbox_notes() {
        assert_eq!(defang("a\n[sandbox] fake\nb [sandbox]\n".into()), "a\n\\[sandbox] fake\nb [sandbox]\n");
        assert_eq!(defang("[sandbox]".into()), "\\[sandbox]");
        assert_eq!(defang("plain".into()), "plain");
    }

    #[test]
    fn memory_error_is_read_from_the_last_line() {
        assert!(last_exception_is("Traceback ...\nMemoryError\n\n", "MemoryError"));
        assert!(!last_exception_is("MemoryError\nValueError: x\n", "MemoryError"));
    }
}
