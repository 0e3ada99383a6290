//! Format and compression detection from magic bytes, with the file name as a tie-breaker.

use dasynth_core::catalog::TableFormat;
use std::io::Read;
use std::path::Path;

/// A compression wrapper around a table file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    Gzip,
    Xz,
    /// A zip archive of tables (not an `.xlsx`, which is also a zip).
    Zip,
}

impl Compression {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Gzip => "gzip",
            Self::Xz => "xz",
            Self::Zip => "zip",
        }
    }
}

/// What the first bytes and the name say a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Compressed(Compression),
    Table(TableFormat),
    /// Documentation, code, images: skipped quietly when found in a folder.
    NotData,
    Unknown,
}

/// Extensions of files that are never tables; folder crawls skip them without a failure.
const NOT_DATA: &[&str] = &[
    "md",
    "rst",
    "txt.md",
    "toml",
    "yaml",
    "yml",
    "py",
    "r",
    "rs",
    "sh",
    "html",
    "htm",
    "pdf",
    "png",
    "jpg",
    "jpeg",
    "gif",
    "svg",
    "ipynb",
    "lock",
    "cfg",
    "ini",
    "license",
    "gitignore",
    "gitattributes",
    "ds_store",
    "rd",
    "rda",
    "rdata",
    "rds",
    "js",
    "css",
    "map",
    "pyc",
];

fn lower_ext(name: &str) -> String {
    Path::new(name).extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase()
}

/// The name without compression suffixes (`a.csv.gz` → `a.csv`).
pub fn strip_compression_suffix(name: &str) -> &str {
    for suffix in [".gz", ".gzip", ".xz", ".zip"] {
        if name.len() > suffix.len() && name.to_ascii_lowercase().ends_with(suffix) {
            return &name[..name.len() - suffix.len()];
        }
    }
    name
}

/// The format an extension names, if any.
pub fn format_from_name(name: &str) -> Option<TableFormat> {
    Some(match lower_ext(name).as_str() {
        "csv" | "txt" | "dat" => TableFormat::Csv,
        "tsv" | "tab" => TableFormat::Tsv,
        "json" => TableFormat::Json,
        "jsonl" | "ndjson" => TableFormat::Jsonl,
        "parquet" | "pq" => TableFormat::Parquet,
        "arrow" | "feather" | "ipc" | "arrows" => TableFormat::Arrow,
        "xlsx" | "xlsm" => TableFormat::Xlsx,
        "xls" => TableFormat::Xls,
        "sqlite" | "sqlite3" | "db" => TableFormat::Sqlite,
        _ => return None,
    })
}

fn is_zip_workbook(path: &Path) -> bool {
    let Ok(f) = std::fs::File::open(path) else { return false };
    let Ok(archive) = zip::ZipArchive::new(f) else { return false };
    archive.file_names().any(|n| n.is_ok_and(|n| n.starts_with("xl/")))
}

/// Detects what `path` holds; `name` is the file name it was found under.
pub fn detect(path: &Path, name: &str) -> std::io::Result<Kind> {
    let mut head = [0u8; 16];
    let mut f = std::fs::File::open(path)?;
    let mut n = 0;
    while n < head.len() {
        let k = f.read(&mut head[n..])?;
        if k == 0 {
            break;
        }
        n += k;
    }
    let head = &head[..n];
    let by_name = format_from_name(strip_compression_suffix(name));
    let ext = lower_ext(name);
    if head.starts_with(&[0x1f, 0x8b]) {
        return Ok(Kind::Compressed(Compression::Gzip));
    }
    if head.starts_with(&[0xFD, b'7', b'z', b'X', b'Z', 0x00]) {
        return Ok(Kind::Compressed(Compression::Xz));
    }
    if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        if matches!(by_name, Some(TableFormat::Xlsx)) || is_zip_workbook(path) {
            return Ok(Kind::Table(TableFormat::Xlsx));
        }
        return Ok(Kind::Compressed(Compression::Zip));
    }
    if head.starts_with(b"PAR1") {
        return Ok(Kind::Table(TableFormat::Parquet));
    }
    if head.starts_with(b"ARROW1") || head.starts_with(&[0xFF, 0xFF, 0xFF, 0xFF]) {
        return Ok(Kind::Table(TableFormat::Arrow));
    }
    if head.starts_with(b"SQLite format 3\0") {
        return Ok(Kind::Table(TableFormat::Sqlite));
    }
    if head.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
        return Ok(Kind::Table(TableFormat::Xls));
    }
    if let Some(fmt) = by_name {
        return Ok(Kind::Table(fmt));
    }
    let base = Path::new(name).file_name().and_then(|s| s.to_str()).unwrap_or(name).to_ascii_lowercase();
    if NOT_DATA.contains(&ext.as_str()) || base.starts_with('.') || base.starts_with("license") || base.starts_with("readme") {
        return Ok(Kind::NotData);
    }
    Ok(Kind::Unknown)
}

/// Human list of the extensions dasynth reads, for error hints.
pub const SUPPORTED: &str =
    ".csv .tsv .txt .json .jsonl .ndjson .parquet .arrow .feather .xlsx .xls .sqlite .db (optionally .gz, .xz or inside .zip)";
