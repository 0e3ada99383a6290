//! Everything a person sees: logs on stderr through tracing, progress bars, summaries, errors.
//! Standard output carries data only.

use crate::cli::GlobalArgs;
use dasynth_core::reporter::Reporter;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

static QUIET: AtomicBool = AtomicBool::new(false);

/// Sets up tracing on stderr: `RUST_LOG` wins; else errors with `--quiet`, warnings by default,
/// dasynth's debug logs with `-v`, and everything at debug (dasynth at trace) with `-vv`.
pub fn init_logging(global: &GlobalArgs) {
    QUIET.store(global.quiet, Ordering::Relaxed);
    let default = match (global.quiet, global.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info,dasynth=debug",
        (false, _) => "debug,dasynth=trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env(dasynth_core::env::RUST_LOG)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_target(false).try_init();
}

pub fn quiet() -> bool {
    QUIET.load(Ordering::Relaxed)
}

/// A line for a person, on stderr, unless `--quiet`.
pub fn note(msg: impl std::fmt::Display) {
    if !quiet() {
        let _ = writeln!(std::io::stderr(), "{msg}");
    }
}

/// A line that explains an exit status of 1 (some input failed), on stderr even with
/// `--quiet`, which prints only errors.
pub fn problem(msg: impl std::fmt::Display) {
    let _ = writeln!(std::io::stderr(), "{msg}");
}

/// Prints an error with its whole cause chain.
pub fn error_chain(err: &anyhow::Error) {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "error: {err}");
    for cause in err.chain().skip(1) {
        let _ = writeln!(stderr, "  caused by: {cause}");
    }
}

pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|c| c.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe))
}

/// Writes data to stdout, turning a closed pipe into an error the caller can stop on quietly.
pub fn out(text: &str) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()
}

/// A progress bar on stderr for one stage; hidden with `--quiet` or when stderr is not a
/// terminal, and only drawn once the stage has run for a second.
pub struct Progress {
    bar: ProgressBar,
    bytes: bool,
}

impl Progress {
    pub fn new() -> Self {
        let bar =
            ProgressBar::with_draw_target(None, if quiet() { ProgressDrawTarget::hidden() } else { ProgressDrawTarget::stderr_with_hz(4) });
        Self { bar, bytes: false }
    }

    /// A bar counting bytes (uploads).
    pub fn bytes() -> Self {
        Self { bytes: true, ..Self::new() }
    }
}

impl Reporter for Progress {
    fn start(&self, stage: &str, total: u64) {
        self.bar.reset();
        self.bar.set_length(total);
        self.bar.set_style(
            ProgressStyle::with_template(if self.bytes {
                "{prefix:>8.bold} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {eta} {wide_msg}"
            } else {
                "{prefix:>8.bold} [{bar:30}] {pos}/{len} {elapsed} {wide_msg}"
            })
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        self.bar.set_prefix(stage.to_string());
    }
    fn set_total(&self, total: u64) {
        self.bar.set_length(self.bar.position() + total);
    }
    fn item(&self, name: &str) {
        self.bar.set_message(name.to_string());
        self.bar.inc(1);
    }
    fn advance(&self, n: u64) {
        self.bar.inc(n);
    }
    fn finish(&self) {
        self.bar.finish_and_clear();
    }
    fn note(&self, message: &str) {
        self.bar.suspend(|| note(message));
    }
}
