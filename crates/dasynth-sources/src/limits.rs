//! The bounds a crawl holds every reader to, checked before the reader allocates: columns
//! (counted in the header), cells (a sheet's extent and a SQLite table's rows × columns), JSON
//! nesting depth, and, for the child process that inspects files whose readers are third-party
//! code ([`crate::isolate`]), memory and time.

use dasynth_core::config::CrawlSettings;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Deepest JSON nesting read. Tables are one or two levels deep; polars' reader recurses once
/// per level and would overflow its stack on tens of thousands.
pub const MAX_JSON_DEPTH: usize = 256;

/// Bounds for inspecting one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Most columns a table may have (`crawl.max-columns`).
    pub max_columns: u64,
    /// Most cells (rows × columns, or a sheet's extent) a spreadsheet or SQLite table may have
    /// (`crawl.max-cells`).
    pub max_cells: u64,
    /// Memory a child inspecting one file may take, in bytes (`crawl.inspect-memory-bytes`).
    pub memory_bytes: u64,
    /// Wall-clock time for inspecting one file, in seconds (`crawl.inspect-timeout-secs`).
    pub timeout_secs: u64,
}

impl Limits {
    pub fn from_settings(s: &CrawlSettings) -> Self {
        Self {
            max_columns: s.max_columns,
            max_cells: s.max_cells,
            memory_bytes: s.inspect_memory_bytes,
            timeout_secs: s.inspect_timeout_secs,
        }
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs)
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self::from_settings(&CrawlSettings::default())
    }
}
