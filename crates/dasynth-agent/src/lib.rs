//! Agent runs: code written for tasks, executed in the Python sandbox.
//!
//! [`reference`] runs a task's reference solution cell by cell in a fresh sandbox session with
//! the task's files at `/data` (the working directory) and a writable `outputs/` folder, reads
//! the `answer` the solution left behind as JSON, and checks it against the ground truth that
//! `dasynth-tasks` computed with polars. On the demo data every task must pass: a failure is a
//! bug in a template or in the Rust computation.
//!
//! [`reference_teacher`] turns the same solutions into DeepAnalyze trajectories (the offline
//! default teacher), [`format`] reads and writes DeepAnalyze's action tags, and [`trajectory`]
//! is the record and its crash-safe, resumable store.

pub mod format;
pub mod generate;
pub mod llm_teacher;
pub mod reference;
pub mod reference_teacher;
pub mod roles;
pub mod schemas;
pub mod trajectory;

pub use reference::{ReferenceRun, answer_cell, parse_answer, run_reference};
