//! Inspecting a file in a child process, so that a reader that aborts cannot take the crawl
//! with it.
//!
//! Workbooks, databases, JSON, Parquet and Arrow files are decoded by third-party code (calamine,
//! SQLite, polars). The crawl bounds what it can before that code runs ([`crate::limits`]), but
//! a hostile file can still make such a reader ask for more memory than exists, and Rust aborts
//! the whole process when an allocation fails. With [`Isolation::Child`], each such file is
//! inspected by a child process that caps its own memory (`RLIMIT_DATA`) and CPU time
//! (`RLIMIT_CPU`) before it opens the file, under a wall-clock deadline the parent enforces by
//! killing it. The child answers through a response file; when it dies instead, the parent
//! turns what it left on stderr and its exit signal into one failed row naming the file and the
//! limit it hit, and the crawl goes on. Delimited text is read by dasynth's own reader under the
//! column limit and stays in the crawling process.
//!
//! The child is the `dasynth` binary itself, started with a hidden subcommand that calls
//! [`serve`] on the request file; tests start their own test binary the same way.

use crate::inspect::{self, TableFailure, TableMeta};
use crate::limits::Limits;
use dasynth_core::catalog::TableFormat;
use serde::{Deserialize, Serialize};
use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Where the crawl inspects files whose readers are third-party code.
#[derive(Debug, Clone, Default)]
pub enum Isolation {
    /// In the crawling process (library tests, or where no child can be started).
    #[default]
    InProcess,
    /// In a child process: `program args... REQUEST`, which must call [`serve`] on `REQUEST`.
    Child { program: PathBuf, args: Vec<OsString> },
}

/// What the parent asks the child to do.
#[derive(Debug, Serialize, Deserialize)]
struct Request {
    path: PathBuf,
    format: TableFormat,
    scratch: PathBuf,
    limits: Limits,
    /// Where the child writes its answer (a JSON list of results).
    response: PathBuf,
}

type Results = Vec<Result<TableMeta, TableFailure>>;

/// A request the child cannot serve.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot read the inspection request {}", path.display())]
    Request {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid inspection request {}: {message}", path.display())]
    Invalid { path: PathBuf, message: String },
    #[error("cannot cap the inspecting process's {what}")]
    Limit {
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Write(#[from] dasynth_core::atomic::PathError),
}

/// Stack of the thread that inspects a file in the child: deep enough for any reader's
/// recursion on input within the limits, whatever the process's default.
const CHILD_STACK: usize = 64 << 20;
/// Time the parent gives a child past the inspection deadline (the child's own SQLite deadline
/// answers first) before it kills it.
const GRACE: Duration = Duration::from_secs(2);
/// How much of a child's stderr is kept for the failure message.
const STDERR_KEPT: u64 = 16 << 10;

impl Isolation {
    /// Whether a file of `format` goes to the child: every format but delimited text.
    fn isolates(format: TableFormat) -> bool {
        !matches!(format, TableFormat::Csv | TableFormat::Tsv)
    }

    /// Inspects every table in `path` (see [`inspect::inspect`]), in a child process when this
    /// is [`Isolation::Child`] and the format's reader is third-party code. A reader that
    /// panics, or a child that dies, yields one failure for the whole file.
    pub fn inspect(&self, path: &Path, format: TableFormat, scratch: &Path, limits: &Limits) -> Results {
        match self {
            Isolation::Child { program, args } if Self::isolates(format) => {
                let request =
                    Request { path: path.to_path_buf(), format, scratch: scratch.to_path_buf(), limits: *limits, response: PathBuf::new() };
                match in_child(program, args, request) {
                    Ok(results) => results,
                    Err(Child::Failed(message)) => vec![Err(TableFailure { member: None, message })],
                    Err(Child::NotStarted(why)) => {
                        tracing::warn!("{why}; inspecting {} in this process", path.display());
                        guarded(path, format, scratch, limits)
                    }
                }
            }
            _ => guarded(path, format, scratch, limits),
        }
    }
}

/// [`inspect::inspect`], with a panicking reader turned into a failure of the file.
fn guarded(path: &Path, format: TableFormat, scratch: &Path, limits: &Limits) -> Results {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| inspect::inspect(path, format, scratch, limits))).unwrap_or_else(|panic| {
        let why =
            panic.downcast_ref::<String>().map(String::as_str).or_else(|| panic.downcast_ref::<&str>().copied()).unwrap_or("no message");
        vec![Err(TableFailure { member: None, message: format!("the {format} reader failed: {why}") })]
    })
}

/// Why a child gave no answer.
enum Child {
    /// It could not be started (the file is then inspected in this process).
    NotStarted(String),
    /// It ran and failed: the failure message for the whole file.
    Failed(String),
}

/// Runs one request in a child.
fn in_child(program: &Path, args: &[OsString], mut request: Request) -> Result<Results, Child> {
    let shown = request.path.display().to_string();
    let limits = request.limits;
    let not_started = |what: String| Child::NotStarted(what);
    std::fs::create_dir_all(&request.scratch).map_err(|e| not_started(format!("cannot create {}: {e}", request.scratch.display())))?;
    let work = tempfile::Builder::new()
        .prefix(".inspect-")
        .tempdir_in(&request.scratch)
        .map_err(|e| not_started(format!("cannot create a folder in {}: {e}", request.scratch.display())))?;
    let request_path = work.path().join("request.json");
    request.response = work.path().join("response.json");
    dasynth_core::atomic::write_json_atomic(&request_path, &request).map_err(|e| not_started(e.to_string()))?;
    let mut child = Command::new(program)
        .args(args)
        .arg(&request_path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| not_started(format!("cannot start the inspecting process {}: {e}", program.display())))?;
    // Drain stderr on a thread so a chatty child never blocks on a full pipe; keep its start.
    let (sender, stderr) = std::sync::mpsc::channel();
    if let Some(mut pipe) = child.stderr.take() {
        std::thread::spawn(move || {
            let mut kept = Vec::new();
            let _ = (&mut pipe).take(STDERR_KEPT).read_to_end(&mut kept);
            let _ = sender.send(String::from_utf8_lossy(&kept).into_owned());
            let _ = std::io::copy(&mut pipe, &mut std::io::sink());
        });
    }
    let deadline = Instant::now() + limits.timeout() + GRACE;
    let mut pause = Duration::from_millis(1);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(50));
            }
            Err(e) => return Err(Child::Failed(format!("{shown}: cannot wait for the inspecting process: {e}"))),
        }
    };
    // A process the child started may still hold the pipe open: wait only briefly for it.
    let stderr = stderr.recv_timeout(Duration::from_secs(1)).unwrap_or_default();
    let Some(status) = status else {
        return Err(Child::Failed(format!(
            "{shown}: reading it took longer than {} s (crawl.inspect-timeout-secs); stopped",
            limits.timeout_secs
        )));
    };
    if status.success() {
        let bytes = std::fs::read(&request.response)
            .map_err(|e| Child::Failed(format!("{shown}: the inspecting process gave no answer ({e}){}", last_line(&stderr))))?;
        return serde_json::from_slice(&bytes)
            .map_err(|e| Child::Failed(format!("{shown}: the inspecting process gave an unreadable answer: {e}")));
    }
    Err(Child::Failed(format!("{shown}: {}", why_it_died(status, &stderr, &limits))))
}

/// A person's account of a child that did not finish, from its exit and what it printed.
fn why_it_died(status: std::process::ExitStatus, stderr: &str, limits: &Limits) -> String {
    use std::os::unix::process::ExitStatusExt;
    if let Some(asked) = stderr.split("memory allocation of ").nth(1).and_then(|rest| rest.split(' ').next()) {
        return format!(
            "the reader asked for {asked} bytes at once and was stopped at the memory cap of {} bytes (crawl.inspect-memory-bytes)",
            limits.memory_bytes
        );
    }
    if stderr.contains("overflowed its stack") {
        return "the reader overflowed its stack (the file nests too deeply)".to_string();
    }
    match status.signal() {
        // SIGXCPU: the CPU-time cap.
        Some(24) => format!("the reader used more CPU time than {} s allows (crawl.inspect-timeout-secs)", limits.timeout_secs),
        Some(signal) => format!("the reader was killed by signal {signal}{}", last_line(stderr)),
        None => format!("the reader failed with exit code {}{}", status.code().unwrap_or(-1), last_line(stderr)),
    }
}

fn last_line(stderr: &str) -> String {
    match stderr.lines().rev().map(str::trim).find(|l| !l.is_empty()) {
        Some(line) => format!(": {line}"),
        None => String::new(),
    }
}

/// The child's side: reads the request at `request`, caps this process's memory and CPU time,
/// inspects the file on a thread with a large stack, and writes the answer where the request
/// says. Prints nothing.
pub fn serve(request: &Path) -> Result<(), ServeError> {
    let bytes = std::fs::read(request).map_err(|source| ServeError::Request { path: request.to_path_buf(), source })?;
    let req: Request =
        serde_json::from_slice(&bytes).map_err(|e| ServeError::Invalid { path: request.to_path_buf(), message: e.to_string() })?;
    cap_self(&req.limits)?;
    let Request { path, format, scratch, limits, response } = req;
    let results = std::thread::Builder::new()
        .name("inspect".into())
        .stack_size(CHILD_STACK)
        .spawn(move || guarded(&path, format, &scratch, &limits))
        .map_err(|source| ServeError::Limit { what: "stack", source })?
        .join()
        .unwrap_or_else(|_| vec![Err(TableFailure { member: None, message: "the reader failed".into() })]);
    dasynth_core::atomic::write_json_atomic(&response, &results)?;
    Ok(())
}

/// Lowers this process's limits: data memory to the cap, CPU time to what the deadline allows
/// on every core, and no core dumps. Limits only ever go down.
fn cap_self(limits: &Limits) -> Result<(), ServeError> {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let cpu = limits.timeout_secs.saturating_mul(dasynth_core::machine::cores() as u64).saturating_add(GRACE.as_secs());
    for (resource, want, what) in
        [(Resource::Data, limits.memory_bytes, "memory"), (Resource::Cpu, cpu, "CPU time"), (Resource::Core, 0, "core dumps")]
    {
        let now = getrlimit(resource);
        let capped = |v: Option<u64>| Some(v.map_or(want, |v| v.min(want)));
        let new = Rlimit { current: capped(now.current), maximum: capped(now.maximum) };
        setrlimit(resource, new).map_err(|e| ServeError::Limit { what, source: e.into() })?;
    }
    Ok(())
}
