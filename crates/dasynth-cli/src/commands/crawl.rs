//! `dasynth crawl`: sources → catalog.parquet.

use crate::ExitStatus;
use crate::printer::{self, Progress};
use anyhow::Context;
use dasynth_core::config::Settings;
use dasynth_core::layout::RunDir;
use dasynth_core::lock::RunLock;
use dasynth_sources::isolate::Isolation;

/// `dasynth crawl`: holds the run folder's lock while it crawls.
pub fn run(s: &Settings, wait: bool) -> anyhow::Result<ExitStatus> {
    let _lock = RunLock::acquire(&RunDir::new(&s.out), wait)?;
    crawl(s)
}

/// Crawls the settings' sources into the settings' run folder; shared with `generate`, which
/// holds the lock.
pub fn crawl(s: &Settings) -> anyhow::Result<ExitStatus> {
    if s.sources.is_empty() {
        anyhow::bail!(
            "no sources to crawl\nhint: give SOURCE arguments (files, folders, URLs, hf://datasets/ORG/NAME, sources/*.toml) or set `sources` in dasynth.toml"
        );
    }
    let specs = dasynth_sources::spec::expand(&s.sources)?;
    let run = RunDir::new(&s.out);
    std::fs::create_dir_all(run.root()).with_context(|| format!("cannot create run folder {}", run.root().display()))?;
    dasynth_core::atomic::write_atomic(&run.settings(), s.to_toml().as_bytes())?;
    let outcome = dasynth_sources::crawl(&specs, &s.crawl, &run, &isolation(), &Progress::new())?;
    let failed: Vec<_> = outcome.failed().collect();
    let ok = outcome.entries.len() - failed.len();
    printer::note(format!(
        "crawl: {ok} table(s) in {} ({} reused), {} failed, {:.1}s",
        run.catalog().display(),
        outcome.stats.reused,
        failed.len(),
        outcome.stats.seconds
    ));
    for e in &failed {
        printer::note(format!("  failed: {}", e.error.as_deref().unwrap_or("unknown error")));
    }
    Ok(if failed.is_empty() { ExitStatus::Success } else { ExitStatus::Problems })
}

/// Files whose readers are third-party code are inspected by this binary in a child process
/// (`dasynth inspect-worker`), so one that aborts its reader fails alone.
fn isolation() -> Isolation {
    match std::env::current_exe() {
        Ok(program) => Isolation::Child { program, args: vec!["inspect-worker".into()] },
        Err(e) => {
            tracing::warn!(error = %e, "cannot find this program's path; inspecting files in this process");
            Isolation::InProcess
        }
    }
}
