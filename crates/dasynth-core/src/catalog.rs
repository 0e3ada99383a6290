//! Rows of `catalog.parquet`: one per crawled table, or per input that failed.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The file formats dasynth reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TableFormat {
    Csv,
    Tsv,
    Json,
    Jsonl,
    Parquet,
    Arrow,
    Xlsx,
    Xls,
    Sqlite,
}

impl TableFormat {
    pub const ALL: [TableFormat; 9] =
        [Self::Csv, Self::Tsv, Self::Json, Self::Jsonl, Self::Parquet, Self::Arrow, Self::Xlsx, Self::Xls, Self::Sqlite];
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Tsv => "tsv",
            Self::Json => "json",
            Self::Jsonl => "jsonl",
            Self::Parquet => "parquet",
            Self::Arrow => "arrow",
            Self::Xlsx => "xlsx",
            Self::Xls => "xls",
            Self::Sqlite => "sqlite",
        }
    }
    /// The extension used for stored copies.
    pub fn extension(self) -> &'static str {
        self.as_str()
    }
    /// Whether one file can hold several tables (sheets, SQLite tables).
    pub fn is_multi_table(self) -> bool {
        matches!(self, Self::Xlsx | Self::Xls | Self::Sqlite)
    }
}

impl std::fmt::Display for TableFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a table was read, so every later stage (and pandas) reads it the same way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadOptions {
    /// Field delimiter for CSV/TSV (one character); `,` for other formats.
    pub delimiter: String,
    /// Quote character for CSV/TSV, or none.
    pub quote: Option<String>,
    /// Whether the first row after `skip_rows` holds column names.
    pub has_header: bool,
    /// Text encoding of the stored bytes (`utf-8`, `utf-8-sig`, `windows-1252`).
    pub encoding: String,
    /// Rows above the header that were skipped (notes in spreadsheets).
    pub skip_rows: u32,
}

impl ReadOptions {
    /// The delimiter as a byte (`,` when unset).
    pub fn delimiter_byte(&self) -> u8 {
        self.delimiter.as_bytes().first().copied().unwrap_or(b',')
    }

    /// The quote character as a byte, if there is one.
    pub fn quote_byte(&self) -> Option<u8> {
        self.quote.as_deref().and_then(|q| q.as_bytes().first().copied())
    }
}

impl Default for ReadOptions {
    fn default() -> Self {
        Self { delimiter: ",".into(), quote: Some("\"".into()), has_header: true, encoding: "utf-8".into(), skip_rows: 0 }
    }
}

/// Where a table came from. A table found in several places keeps every provenance.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Provenance {
    /// Name of the source (from a sources file, or the argument itself).
    pub source: String,
    /// Where the bytes were found: a path, URL or `hf://` URI, with `!member` for archive members.
    pub uri: String,
    /// Licence declared for the source (SPDX id), if any.
    pub licence: Option<String>,
}

/// Outcome of crawling one table or input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Read and validated.
    Ok,
    /// Could not be fetched or read; `error` says why.
    Failed,
}

/// One row of `catalog.parquet`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CatalogEntry {
    /// Content-hash id: the first 16 hex of the file's sha256, or a hash of it and the member.
    /// For failed inputs, a hash of the URI.
    pub id: String,
    /// Human name: file stem, plus `/member` for sheets and SQLite tables.
    pub name: String,
    /// Name of the first source that yielded the table.
    pub source: String,
    /// The first URI the table was found at.
    pub uri: String,
    /// For downloads: the URL the bytes finally came from, after redirects (without the query
    /// string a redirect added, which may hold a signature). Null for local files and failures.
    pub final_uri: Option<String>,
    /// Detected format (null when detection failed).
    pub format: Option<TableFormat>,
    /// Compression the bytes arrived in (`gzip`, `xz`, `zip`), if any.
    pub compression: Option<String>,
    /// The stored, decompressed file, relative to the run folder.
    pub path: Option<String>,
    /// Sheet name (Excel) or table/view name (SQLite).
    pub member: Option<String>,
    /// sha256 of the stored (decompressed) bytes.
    pub sha256: Option<String>,
    /// Size of the stored bytes.
    pub bytes: Option<u64>,
    /// Licence of the first provenance.
    pub licence: Option<String>,
    /// Description from the sources file.
    pub description: Option<String>,
    /// How the table is read.
    pub read_options: Option<ReadOptions>,
    /// Rows (excluding the header).
    pub n_rows: Option<u64>,
    /// Columns.
    pub n_columns: Option<u64>,
    /// `ok` or `failed`.
    pub status: Status,
    /// For failed inputs: what is wrong, naming the file.
    pub error: Option<String>,
    /// Things worth knowing that did not stop the read (merged header cells, renamed columns).
    pub warnings: Vec<String>,
    /// Every place this table was found.
    pub provenance: Vec<Provenance>,
    /// When the bytes were fetched (RFC 3339).
    pub crawled_at: String,
}
