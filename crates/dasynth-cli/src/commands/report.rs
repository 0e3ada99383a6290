//! `dasynth report`: the run folder → report/index.html, report.json and report.md.

use crate::ExitStatus;
use crate::printer::{self, Progress};
use dasynth_core::layout::RunDir;
use dasynth_core::lock::RunLock;

/// `dasynth report [DIR] [--open]`, holding the run folder's lock.
pub fn run(run: &RunDir, open: bool, wait: bool) -> anyhow::Result<ExitStatus> {
    let _lock = RunLock::acquire(run, wait)?;
    report(run, open)
}

/// Writes the audit report of the run folder `run` (maybe streaming its trajectories from a
/// bucket); shared with `generate`. `open` shows the page with the desktop's opener
/// (`xdg-open`), or prints where it is.
pub fn report(run: &RunDir, open: bool) -> anyhow::Result<ExitStatus> {
    let outcome = dasynth_report::report(run, &dasynth_report::ReportOptions::default(), &Progress::new())?;
    let r = &outcome.report;
    printer::note(format!(
        "report: {} trajectories in {} (index.html {:.1} MB, report.json, report.md), {:.1}s",
        r.browser.trajectories,
        run.report_dir().display(),
        r.browser.page_bytes as f64 / 1e6,
        outcome.seconds
    ));
    if !r.missing.is_empty() {
        printer::note(format!("  stages not run yet: {}", r.missing.join(", ")));
    }
    for n in &r.notes {
        printer::note(format!("  could not read: {n}"));
    }
    if open {
        open_page(&outcome.html);
    }
    Ok(if r.notes.is_empty() { ExitStatus::Success } else { ExitStatus::Problems })
}

fn open_page(page: &std::path::Path) {
    let opened = std::process::Command::new("xdg-open")
        .arg(page)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !opened {
        // No desktop opener: the path is the data the user asked for.
        let _ = printer::out(&format!("{}\n", page.display()));
    }
}
