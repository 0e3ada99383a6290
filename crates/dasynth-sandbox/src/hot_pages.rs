//! The snapshot pages every session writes, copied into a new instance before its guest runs.
//!
//! A session's memory starts as a copy-on-write mapping of the snapshot's image, and wasm
//! writes memory as a load, then a store: the load maps the image's page read-only, the store
//! faults a second time to copy it, and replacing a present mapping flushes that page from the
//! TLB of every CPU the process runs on — an inter-processor interrupt each time, which a
//! virtual machine pays for in exits. Under many sessions at once these flushes were 14% of
//! the trajectory stage's CPU (`perf`: `ptep_clear_flush` and the APIC writes of the IPIs).
//!
//! Most of the pages a fresh session writes are the same in every session: the prelude's
//! (about 440 pages), and those pandas' code writes the first time a cell uses it (its reader,
//! its summaries, the interpreter's caches on the way: about 2,150 more), whatever the table. A
//! probe session records both sets once per [`crate::Sandbox`] (`/proc/self/pagemap`, as
//! suspension reads it). Every instance made afterwards has the first set copied up front, and
//! a session the second just before its first cell that mentions pandas, a run of pages per
//! `madvise(MADV_POPULATE_WRITE)`, which maps them writable without a read fault first and with
//! no present mapping to flush. The pages hold the image's bytes either way, so a guest sees
//! nothing of it; a page populated but never written stays equal to the image and is left out
//! of a suspended image like any other.

use crate::SandboxError;
use crate::memory::page_size;
use crate::sandbox::Sandbox;
use crate::session::{Mounts, Prepared, Session, SessionOptions};
use crate::suspend::populate;

/// What the probe session runs: a first pandas cell as agents write them (a table read, its
/// summary, a numeric aggregate, its head), on a table small enough to leave the heap as it
/// found it, so the pages recorded are the ones the libraries' code paths write.
const PROBE_CELL: &str = r#"import pandas as pd, io
df = pd.read_csv(io.StringIO("a,b,c\n1,x,2.5\n2,y,3.5\n3,x,\n"))
print(df.shape)
print(df.describe(include="all").to_string()[:2000])
print(df.select_dtypes("number").agg(["mean", "std", "min", "max"]).T.to_string())
print(df.head().to_string())
print(df.isna().sum().sum())
del df
"#;

/// Page numbers (of the guest's linear memory, ascending) that a fresh session writes.
#[derive(Debug, Default)]
pub(crate) struct HotPages {
    /// Written by the prelude and an empty cell: copied into every new instance.
    start: Vec<usize>,
    /// Written on top of those by a first pandas cell: copied before a session's first cell
    /// that mentions pandas.
    pandas: Vec<usize>,
}

impl HotPages {
    /// Runs a probe session (the prelude, an empty cell, then [`PROBE_CELL`]; no mounts) on an
    /// instance made without hot pages, and records the pages it wrote inside the snapshot's
    /// image after each step: pages past the image are fresh zeros, which cost no copy and no
    /// flush.
    pub(crate) fn probe(sandbox: &Sandbox) -> Result<HotPages, SandboxError> {
        let prepared = Prepared::new_with(sandbox, &HotPages::default())?;
        // Its cells must not ask for the hot pages being recorded.
        let mut session = Session::start(sandbox, prepared, &Mounts::default(), SessionOptions::default())?.without_hot_pages();
        let failed = |message: String| SandboxError::Snapshot { path: sandbox.inner.module_path.clone(), message };
        let image = sandbox.pristine().map_err(failed)?.len() / page_size();
        let mut written_after = |code: &str| -> Result<Vec<usize>, SandboxError> {
            let cell = session.run(code);
            if cell.status != crate::Status::Ok {
                return Err(failed(format!("the hot-page probe's cell failed ({:?}): {}", cell.status, cell.stderr)));
            }
            let written = session.written_pages().map_err(failed)?;
            Ok(written.into_iter().take_while(|&p| p < image).collect())
        };
        let start = written_after("pass")?;
        let mut pandas = written_after(PROBE_CELL)?;
        pandas.retain(|p| start.binary_search(p).is_err());
        tracing::debug!(start = start.len(), pandas = pandas.len(), "hot pages probed");
        Ok(HotPages { start, pandas })
    }

    /// Copies the pages every session writes into `mem`, a new instance's memory, before any
    /// guest code runs.
    pub(crate) fn populate_start(&self, mem: &mut [u8]) {
        populate_within(mem, &self.start);
    }

    /// Copies the pages a first pandas cell writes into `mem`, when `code` mentions pandas;
    /// says whether it did.
    pub(crate) fn populate_for(&self, code: &[u8], mem: &mut [u8]) -> bool {
        let uses_pandas = code.windows(6).any(|w| w == b"pandas");
        if uses_pandas {
            populate_within(mem, &self.pandas);
        }
        uses_pandas
    }

    /// How many pages, both sets.
    pub(crate) fn len(&self) -> usize {
        self.start.len() + self.pandas.len()
    }
}

/// Populates the pages of `pages` that lie inside `mem`.
fn populate_within(mem: &mut [u8], pages: &[usize]) {
    let page = page_size();
    let within = pages.partition_point(|&p| (p + 1) * page <= mem.len());
    populate(mem, &pages[..within], page);
}
