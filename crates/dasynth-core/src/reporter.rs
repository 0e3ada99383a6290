//! Progress reporting. Libraries never print; they call a [`Reporter`], and the CLI decides
//! whether that becomes a progress bar, log lines, or nothing.

/// Receives progress events from a stage.
pub trait Reporter: Send + Sync {
    /// A stage begins with `total` items (0 when unknown).
    fn start(&self, _stage: &str, _total: u64) {}
    /// The number of items became known or changed.
    fn set_total(&self, _total: u64) {}
    /// One item finished.
    fn item(&self, _name: &str) {}
    /// The position moved by `n` units (bytes, for uploads) without an item finishing.
    fn advance(&self, _n: u64) {}
    /// The stage ended.
    fn finish(&self) {}
    /// Something a person should read now (a slow first start, a skipped input): the CLI
    /// prints it on stderr unless `--quiet`.
    fn note(&self, _message: &str) {}
}

/// A reporter that ignores everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct Silent;

impl Reporter for Silent {}
