//! The run folder: every stage reads the previous stage's files here and writes its own.
//!
//! ```text
//! <out>/
//!   dasynth.toml            resolved configuration of this run
//!   catalog.parquet         crawled tables (one row per table)
//!   tables/<sha256>.<ext>   the crawled bytes, decompressed, content-addressed
//!   profiles/<table-id>.json
//!   stats/<stage>.json      per-stage counters (kept, dropped, reasons)
//!   cache/                  HTTP validators, crawl state
//! ```

use std::path::{Path, PathBuf};

/// Paths inside one run folder.
#[derive(Debug, Clone)]
pub struct RunDir {
    root: PathBuf,
}

impl RunDir {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }
    pub fn root(&self) -> &Path {
        &self.root
    }
    pub fn settings(&self) -> PathBuf {
        self.root.join("dasynth.toml")
    }
    pub fn catalog(&self) -> PathBuf {
        self.root.join("catalog.parquet")
    }
    pub fn tables_dir(&self) -> PathBuf {
        self.root.join("tables")
    }
    /// Where a stored file lives, relative to the run root (as recorded in the catalog).
    pub fn table_rel_path(sha256: &str, ext: &str) -> String {
        format!("tables/{sha256}.{ext}")
    }
    pub fn resolve(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }
    pub fn profiles_dir(&self) -> PathBuf {
        self.root.join("profiles")
    }
    pub fn profile(&self, table_id: &str) -> PathBuf {
        self.profiles_dir().join(format!("{table_id}.json"))
    }
    pub fn stats(&self, stage: &str) -> PathBuf {
        self.root.join("stats").join(format!("{stage}.json"))
    }
    pub fn cache_dir(&self) -> PathBuf {
        self.root.join("cache")
    }
    pub fn downloads_dir(&self) -> PathBuf {
        self.cache_dir().join("downloads")
    }
    pub fn crawl_state(&self) -> PathBuf {
        self.cache_dir().join("crawl-state.json")
    }
}
