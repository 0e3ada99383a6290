//! The crawl stage: find real tables and record them in `catalog.parquet`.
//!
//! A *source* ([`spec::SourceSpec`]) is a file, a folder, an http(s) URL, a Hugging Face Hub
//! dataset, or a named entry of a `sources/*.toml` file. Fetching ([`fetch`]) turns a source
//! into local files; the store ([`store`]) decompresses each (gzip, xz, zip, with a size cap
//! against bombs), hashes it while it streams and keeps it once under `tables/<sha256>.<ext>`;
//! inspection ([`inspect`]) sniffs encoding and dialect ([`sniff`]), finds every table in the
//! file (Excel sheets, SQLite tables and views) and validates it. The result is one catalog row
//! per table, with a content-hash id, or per input that failed, with a reason naming it.
//!
//! Inputs are untrusted. Every reader is bounded before it allocates ([`limits`]: columns from
//! the header, a sheet's cells before it is laid out, a SQLite view's rows before they are read,
//! JSON nesting, the table size cap on every file, zip directories checked before inflating),
//! files read by third-party code can be inspected in a child process with memory and time caps
//! ([`isolate`]), and HTTP redirects into private networks are refused ([`fetch::redirect`]).
//!
//! [`read::read_table`] reads a catalogued table into a polars `DataFrame` with the recorded
//! read options; later stages use it so every stage sees the same table.

mod blockscan;
pub mod catalog_io;
pub mod crawl;
mod delimited;
pub mod detect;
pub mod excel;
pub mod fetch;
pub mod inspect;
pub mod isolate;
mod json_depth;
pub mod limits;
pub mod missing;
pub mod read;
pub mod sniff;
pub mod spec;
pub mod sqlite;
pub mod store;

pub use crawl::{CrawlError, CrawlOutcome, crawl};

/// The demo sources file a checkout of the repository has.
pub const LOCAL_DEMO: &str = "sources/demo.toml";

/// The sources used when neither flags nor configuration name any: `./sources/demo.toml` in a
/// checkout of the repository, else the demo tables built into the binary, written once into the
/// cache folder.
pub fn demo_sources() -> Result<std::path::PathBuf, spec::SpecError> {
    if std::path::Path::new(LOCAL_DEMO).is_file() {
        return Ok(std::path::PathBuf::from(LOCAL_DEMO));
    }
    let cache = dasynth_core::env::cache_dir().unwrap_or_else(std::env::temp_dir);
    let dir = dasynth_assets::DEMO.materialize(&cache).map_err(|source| spec::SpecError::Read { path: cache.clone(), source })?;
    Ok(dir.join("demo.toml"))
}
