//! The content-addressed store under `tables/`: every crawled file is decompressed, hashed while
//! it streams, and kept once as `tables/<sha256>.<ext>`, whatever its origin.
//!
//! `crawl.max-table-bytes` caps every file the store writes: a plain file is measured before it
//! is copied (a sparse file can claim gigabytes it does not hold on disk), compressed input is
//! cut off where it passes the cap. A zip archive's directory is checked before anything is
//! inflated: entries whose data overlap (many directory entries pointing at one member) or
//! that disagree with their local headers are refused as a bomb, and every byte inflated, from members stored or refused alike, counts
//! against one cap for the whole archive. Nothing is left behind in `tables/` by a failure.

use crate::detect::{self, Compression, Kind};
use dasynth_core::catalog::TableFormat;
use dasynth_core::layout::RunDir;
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// A file placed in the store.
#[derive(Debug, Clone)]
pub struct Stored {
    /// Path relative to the run folder.
    pub rel_path: String,
    pub sha256: String,
    pub bytes: u64,
    pub format: TableFormat,
    /// The file's own name (inside an archive, the member's name).
    pub name: String,
    /// Where it was found, with `!member` for archive members.
    pub uri: String,
    pub compression: Option<Compression>,
}

/// Why one input could not be stored.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot read {uri}")]
    Read {
        uri: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write into the store {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{uri}: decompressed size exceeds the cap of {cap} bytes (crawl.max-table-bytes); possible zip bomb")]
    TooLarge { uri: String, cap: u64 },
    #[error(
        "{uri}: {bytes} bytes exceed the cap of {cap} bytes (crawl.max-table-bytes)\nhint: raise crawl.max-table-bytes to crawl larger files"
    )]
    FileTooLarge { uri: String, bytes: u64, cap: u64 },
    #[error("{uri}: expands more than {MAX_RATIO}x its compressed size (over {limit} bytes); refusing a likely zip bomb")]
    Bomb { uri: String, limit: u64 },
    #[error("{uri}: the zip directory does not match the archive ({message}); refusing a likely zip bomb")]
    Inconsistent { uri: String, message: String },
    #[error("{uri}: corrupt or truncated {kind} data: {message}")]
    Corrupt { uri: String, kind: &'static str, message: String },
    #[error("{uri}: unknown file type (extension {ext:?})\nhint: dasynth reads {}", detect::SUPPORTED)]
    Unknown { uri: String, ext: String },
    #[error("{uri}: the file is empty")]
    Empty { uri: String },
}

/// Largest expansion accepted from compressed input once past 64 MiB of output; text tables
/// compress 5–20×, a bomb of zeros about 1000×.
pub const MAX_RATIO: u64 = 500;
/// Output below this size is accepted whatever the ratio.
const RATIO_FLOOR: u64 = 64 << 20;

/// The output limit for `compressed` input bytes under a `cap`, and whether the ratio rule set it.
fn expansion_limit(compressed: u64, cap: u64) -> (u64, bool) {
    let by_ratio = compressed.saturating_mul(MAX_RATIO).max(RATIO_FLOOR);
    if by_ratio < cap { (by_ratio, true) } else { (cap, false) }
}

/// A writer that hashes and counts what passes through and refuses to grow past a cap.
struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    written: u64,
    cap: u64,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.written + buf.len() as u64 > self.cap {
            return Err(std::io::Error::new(std::io::ErrorKind::FileTooLarge, "cap exceeded"));
        }
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Outcome of storing one input: stored files, inputs skipped as not data, and failures.
#[derive(Debug, Default)]
pub struct StoreOutcome {
    pub stored: Vec<Stored>,
    pub failed: Vec<(String, StoreError)>,
    pub skipped: Vec<String>,
}

/// Places the file at `src` (found as `name` at `uri`, `detected` by [`detect::detect`]) into
/// the store, unpacking gzip, xz and zip. `in_folder` makes documentation and code files count as
/// skipped rather than failed.
pub fn store_input(
    run: &RunDir,
    src: &Path,
    detected: std::io::Result<Kind>,
    name: &str,
    uri: &str,
    cap: u64,
    in_folder: bool,
) -> StoreOutcome {
    let mut out = StoreOutcome::default();
    let kind = match detected {
        Ok(k) => k,
        Err(source) => {
            out.failed.push((uri.to_string(), StoreError::Read { uri: uri.to_string(), source }));
            return out;
        }
    };
    match kind {
        Kind::NotData if in_folder => out.skipped.push(uri.to_string()),
        Kind::NotData | Kind::Unknown => {
            let ext = Path::new(name).extension().and_then(|e| e.to_str()).unwrap_or("").to_string();
            if std::fs::metadata(src).map(|m| m.len() == 0).unwrap_or(false) {
                out.failed.push((uri.to_string(), StoreError::Empty { uri: uri.to_string() }));
            } else {
                out.failed.push((uri.to_string(), StoreError::Unknown { uri: uri.to_string(), ext }));
            }
        }
        Kind::Table(format) => match std::fs::File::open(src).and_then(|f| f.metadata().map(|m| (f, m.len()))) {
            // Measured first: a sparse file can claim gigabytes it does not hold.
            Ok((_, bytes)) if bytes > cap => {
                out.failed.push((uri.to_string(), StoreError::FileTooLarge { uri: uri.to_string(), bytes, cap }))
            }
            Ok((f, _)) => push(&mut out, uri, store_stream(run, f, name, uri, Some(format), None, (cap, false))),
            Err(source) => out.failed.push((uri.to_string(), StoreError::Read { uri: uri.to_string(), source })),
        },
        Kind::Compressed(c @ (Compression::Gzip | Compression::Xz)) => {
            let inner = detect::strip_compression_suffix(name).to_string();
            match std::fs::File::open(src) {
                Ok(f) => {
                    let compressed = f.metadata().map(|m| m.len()).unwrap_or(0);
                    let reader: Box<dyn Read> = match c {
                        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(f)),
                        _ => Box::new(xz2::read::XzDecoder::new_multi_decoder(f)),
                    };
                    push(&mut out, uri, store_stream(run, reader, &inner, uri, None, Some(c), expansion_limit(compressed, cap)));
                }
                Err(source) => out.failed.push((uri.to_string(), StoreError::Read { uri: uri.to_string(), source })),
            }
        }
        Kind::Compressed(Compression::Zip) => store_zip(run, src, uri, cap, &mut out),
    }
    out
}

fn push(out: &mut StoreOutcome, uri: &str, r: Result<Option<Stored>, StoreError>) {
    match r {
        Ok(Some(s)) => out.stored.push(s),
        Ok(None) => out.skipped.push(uri.to_string()),
        Err(e) => out.failed.push((uri.to_string(), e)),
    }
}

fn store_zip(run: &RunDir, src: &Path, uri: &str, cap: u64, out: &mut StoreOutcome) {
    let archive = std::fs::File::open(src).map_err(|source| StoreError::Read { uri: uri.to_string(), source }).and_then(|f| {
        zip::ZipArchive::new(f).map_err(|e| StoreError::Corrupt { uri: uri.to_string(), kind: "zip", message: e.to_string() })
    });
    let mut archive = match archive {
        Ok(a) => a,
        Err(e) => {
            out.failed.push((uri.to_string(), e));
            return;
        }
    };
    // Entries whose bytes overlap (thousands of directory entries pointing at one large
    // member inflate it thousands of times from a few kilobytes) or that disagree with their
    // local headers are refused before anything is inflated.
    if let Err(e) = archive.validate_header_consistency() {
        out.failed.push((uri.to_string(), StoreError::Inconsistent { uri: uri.to_string(), message: e.to_string() }));
        return;
    }
    // Every byte inflated counts, whether its member is stored or refused.
    let mut remaining = cap;
    for i in 0..archive.len() {
        if remaining == 0 {
            out.failed.push((uri.to_string(), StoreError::TooLarge { uri: uri.to_string(), cap }));
            break;
        }
        let member = match archive.by_index(i) {
            Ok(m) => m,
            Err(e) => {
                let member_uri = format!("{uri}!#{i}");
                out.failed.push((member_uri.clone(), StoreError::Corrupt { uri: member_uri, kind: "zip", message: e.to_string() }));
                continue;
            }
        };
        let mname = member.name().map(|n| n.into_owned()).unwrap_or_else(|_| format!("#{i}"));
        if member.is_dir() || mname.starts_with("__MACOSX/") {
            continue;
        }
        let member_uri = format!("{uri}!{mname}");
        let base = Path::new(&mname).file_name().and_then(|s| s.to_str()).unwrap_or(&mname).to_string();
        if base.starts_with('.') {
            continue;
        }
        if member.size() > remaining {
            out.failed.push((member_uri.clone(), StoreError::TooLarge { uri: member_uri, cap }));
            continue;
        }
        let hint = detect::format_from_name(detect::strip_compression_suffix(&base));
        let limit = expansion_limit(member.compressed_size(), remaining);
        let mut inflated = Counted { inner: member, bytes: 0 };
        let stored = store_stream(run, &mut inflated, &base, &member_uri, hint, Some(Compression::Zip), limit);
        remaining = remaining.saturating_sub(inflated.bytes);
        push(out, &member_uri, stored);
    }
}

/// Streams `reader` into the store. Returns `None` for content that is not a table.
fn store_stream(
    run: &RunDir,
    mut reader: impl Read,
    name: &str,
    uri: &str,
    hint: Option<TableFormat>,
    compression: Option<Compression>,
    (cap, by_ratio): (u64, bool),
) -> Result<Option<Stored>, StoreError> {
    let dir = run.tables_dir();
    std::fs::create_dir_all(&dir).map_err(|source| StoreError::Write { path: dir.clone(), source })?;
    let tmp = tempfile::Builder::new()
        .prefix(".incoming-")
        .tempfile_in(&dir)
        .map_err(|source| StoreError::Write { path: dir.clone(), source })?;
    let file = tmp.as_file().try_clone().map_err(|source| StoreError::Write { path: tmp.path().to_path_buf(), source })?;
    // io::copy reads straight into a BufWriter's buffer: 1 MiB pieces, not its usual 8 KiB.
    let mut w = std::io::BufWriter::with_capacity(1 << 20, HashingWriter { inner: file, hasher: Sha256::new(), written: 0, cap });
    if let Err(e) = std::io::copy(&mut reader, &mut w).and_then(|_| w.flush()) {
        return Err(match e.kind() {
            std::io::ErrorKind::FileTooLarge if by_ratio => StoreError::Bomb { uri: uri.to_string(), limit: cap },
            std::io::ErrorKind::FileTooLarge => StoreError::TooLarge { uri: uri.to_string(), cap },
            _ if compression.is_some() => StoreError::Corrupt {
                uri: uri.to_string(),
                kind: compression.map(|c| c.as_str()).unwrap_or("compressed"),
                message: e.to_string(),
            },
            _ => StoreError::Read { uri: uri.to_string(), source: e },
        });
    }
    let HashingWriter { inner, hasher, written: bytes, .. } =
        w.into_inner().map_err(|e| StoreError::Write { path: tmp.path().to_path_buf(), source: e.into_error() })?;
    drop(inner);
    let sha = hex::encode(hasher.finalize());
    if bytes == 0 {
        return Err(StoreError::Empty { uri: uri.to_string() });
    }
    let format = match hint {
        Some(f) => f,
        None => match detect::detect(tmp.path(), name).map_err(|source| StoreError::Read { uri: uri.to_string(), source })? {
            Kind::Table(f) => f,
            Kind::NotData => return Ok(None),
            Kind::Compressed(c) => {
                return Err(StoreError::Corrupt {
                    uri: uri.to_string(),
                    kind: c.as_str(),
                    message: "nested compression is not supported".into(),
                });
            }
            Kind::Unknown => {
                let ext = Path::new(name).extension().and_then(|e| e.to_str()).unwrap_or("").to_string();
                return Err(StoreError::Unknown { uri: uri.to_string(), ext });
            }
        },
    };
    // A name can claim a format the bytes contradict (an .xlsx of random bytes): trust the
    // magic bytes where they are decisive.
    let format = match detect::detect(tmp.path(), name) {
        Ok(Kind::Table(f)) if f != format && !matches!(f, TableFormat::Csv | TableFormat::Tsv) => f,
        _ => format,
    };
    let rel = RunDir::table_rel_path(&sha, format.extension());
    let dest = run.resolve(&rel);
    if dest.exists() {
        drop(tmp);
    } else {
        tmp.persist(&dest).map_err(|e| StoreError::Write { path: dest.clone(), source: e.error })?;
    }
    Ok(Some(Stored { rel_path: rel, sha256: sha, bytes, format, name: name.to_string(), uri: uri.to_string(), compression }))
}

/// A reader that counts the bytes it yields.
struct Counted<R> {
    inner: R,
    bytes: u64,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }
}
