//! The audit report: what a run made, what it threw away, and why.
//!
//! [`report`] reads whatever a run folder holds — the catalog, profiles, tasks, trajectories,
//! verdicts, per-stage stats, the resolved settings and the student's pass rates — and writes
//! three files under `report/`: `index.html` (one self-contained page: overview, quality
//! breakdowns, table profiles and a trajectory browser), `report.json` (every figure, typed as
//! [`dasynth_core::report::Report`]) and `report.md` (the headline figures for a pull request or
//! a dataset card). A stage that has not run leaves its part empty and is named as missing;
//! a damaged file becomes a note, not an error.
//!
//! The model is two passes over `trajectories/*.jsonl`, never holding more than one block of
//! trajectories:
//!
//! 1. `gather` streams every trajectory once and reduces it to `facts::Facts` (its
//!    dimensions — family, stage, difficulty, template, source, table, format, teacher, model —
//!    and its numbers, joined with its task and verdict). Every figure comes from these:
//!    `figures` (funnel, cost, time, tables), `breakdown` (quality per group, weak spots)
//!    and `distribution` (histograms).
//! 2. `browser` streams them again and encodes the trajectory view's data in blocks that
//!    share the page's byte budget: long texts are cut (head and tail kept, the cut marked)
//!    only as far as the budget needs.
//!
//! `html` writes the page (charts from `charts`, inline SVG), `markdown` the Markdown.
//! The page's script and style are files of this crate (`assets/`), embedded at build time.

mod breakdown;
mod browser;
mod charts;
mod distribution;
mod error;
mod facts;
mod figures;
mod gather;
mod html;
mod inputs;
mod markdown;
mod settings;
mod stream;
mod text;

pub use error::ReportError;

use dasynth_core::layout::{RunDir, Stage};
use dasynth_core::report::Report;
use dasynth_core::reporter::Reporter;
use dasynth_core::stats::StageStats;
use std::path::PathBuf;
use std::time::Instant;

/// Limits of the page.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    /// The most bytes `index.html` should take; trajectory texts are cut to fit.
    pub max_page_bytes: u64,
    /// The largest image inlined, in bytes.
    pub max_image_bytes: u64,
    /// The most bytes of images inlined in all.
    pub max_images_bytes: u64,
}

impl Default for ReportOptions {
    fn default() -> Self {
        Self { max_page_bytes: 14_000_000, max_image_bytes: 256 * 1024, max_images_bytes: 3_000_000 }
    }
}

/// What [`report`] wrote.
#[derive(Debug)]
pub struct ReportOutcome {
    /// Every figure, as written to `report.json`.
    pub report: Report,
    pub html: PathBuf,
    pub json: PathBuf,
    pub markdown: PathBuf,
    pub seconds: f64,
}

/// Bytes each data block's element adds around its base64.
const BLOCK_OVERHEAD: usize = 80;
/// Room kept for the sections' text that depends on the second pass (what was cut).
const SECTIONS_SLACK: usize = 4096;

/// Writes `report/index.html`, `report/report.json` and `report/report.md` for a run folder,
/// and `stats/report.json`.
pub fn report(run: &RunDir, options: &ReportOptions, reporter: &dyn Reporter) -> Result<ReportOutcome, ReportError> {
    let started = Instant::now();
    let root = run.root();
    if !root.is_dir() {
        return Err(ReportError::NoRunFolder { path: root.to_path_buf() });
    }
    let markers = [run.settings(), run.catalog(), run.profiles_dir(), run.tasks(), run.trajectories_dir(), run.verdicts()];
    if !markers.iter().any(|p| p.exists()) {
        return Err(ReportError::NotARun { path: root.to_path_buf() });
    }
    let mut inputs = inputs::Inputs::read(run);
    let planner = browser::images::ImagePlanner::new(options.max_image_bytes, options.max_images_bytes);
    let mut g = gather::gather(run, &inputs, planner);
    let mut report = g.report(run, &inputs);
    let summary = browser::summary_block(&g)?;

    // The detail blocks get what the rest of the page leaves of the budget.
    let n = g.facts.len();
    let images_b64 = (g.images.used as usize).div_ceil(3) * 4 + g.images.inlined as usize * BLOCK_OVERHEAD;
    let fixed = html::shell_bytes()
        + html::sections(&report).len()
        + SECTIONS_SLACK
        + summary.as_ref().map_or(0, String::len)
        + images_b64
        + n.div_ceil(browser::chunks::CHUNK) * BLOCK_OVERHEAD;
    let share = (options.max_page_bytes as f64 - fixed as f64).max(0.0) / n.max(1) as f64;
    let details = browser::details(run, &mut inputs, &mut g, share, reporter)?;
    tracing::debug!(share, encodings = details.encoder.encodings, blocks = details.encoder.blocks.len(), "report: detail blocks encoded");

    let e = &details.encoder;
    report.browser = dasynth_core::report::BrowserContents {
        trajectories: n as u64,
        complete: e.complete,
        cut: e.cut,
        messages_left_out: e.left_out,
        tightest_cut_chars: e.tightest.map(|t| t as u64),
        images_inlined: details.images.iter().filter(|(_, b)| !b.is_empty()).count() as u64,
        images_left_out: g.images.left_out + details.images.iter().filter(|(_, b)| b.is_empty()).count() as u64,
        page_bytes: 0,
    };
    let sections = html::sections(&report);
    let embedded = html::Embedded { summary: summary.as_deref(), blocks: &e.blocks, images: &details.images };
    let page = html::page(&report, &sections, &embedded);
    report.browser.page_bytes = page.len() as u64;

    dasynth_core::atomic::write_atomic(&run.report_html(), page.as_bytes())?;
    dasynth_core::atomic::write_json_atomic(&run.report_json(), &report)?;
    dasynth_core::atomic::write_atomic(&run.report_md(), markdown::markdown(&report).as_bytes())?;
    let seconds = started.elapsed().as_secs_f64();
    let stats = StageStats { kept: n as u64, seconds, ..StageStats::new(Stage::Report.name()) };
    dasynth_core::atomic::write_json_atomic(&run.stats(Stage::Report), &stats)?;
    Ok(ReportOutcome { report, html: run.report_html(), json: run.report_json(), markdown: run.report_md(), seconds })
}
