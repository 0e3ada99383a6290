//! The verify stage: decide which trajectories a dataset may contain, and say why for each.
//!
//! # The model
//!
//! A teacher can invent an `<Execute>` output it never ran, misread a number, reach the right
//! answer by luck, or write a report whose figures appear nowhere in its results. [`verify`]
//! reads every line of `trajectories/*.jsonl` (with `tasks.parquet` and `questions.parquet`)
//! and writes one [`Verdict`](dasynth_core::verdict::Verdict) per trajectory key to
//! `verdicts.parquet`, plus `stats/verify.json`. Each check is a file of its own:
//!
//! - [`replay`] runs the trajectory's code cells in order in a fresh sandbox session over the
//!   task's workspace, with the seed the agent loop used, and compares every recorded
//!   `<Execute>` with the replayed one after [`normalise`] (whitespace, float formatting within
//!   a tolerance, memory addresses, timing lines, warnings, the loop's head/tail truncation);
//!   a mismatch carries a short unified diff. A second replay runs only when the first one
//!   disagrees with the record, to tell `nondeterministic` from `hallucinated`; a replay that
//!   fails where the record did not is `broken`. Files the record lists under `outputs/` must
//!   be written again.
//! - the answer check runs `dasynth_tasks::checker::check_answer` on the `<Answer>` against the
//!   task's ground truth (pass, wrong or
//!   unextractable).
//! - [`grounding`] extracts the numeric claims of report, insight and open-ended answers and
//!   looks each up in the replayed outputs (as written, or rounded as the report rounds it),
//!   and scores how much of the task's checklist the report covers.
//! - [`process`] is DeepAnalyze's format check (its RL reward's −1 condition) plus the signals
//!   that only score: turn count, errored cells, recoveries, repeated cells, tokens, and style.
//! - [`judge`] (optional) asks a configured teacher to score open-ended reports on
//!   DeepAnalyze's five dimensions; its calls go through the LLM response cache.
//! - [`minhash`] drops near duplicates of earlier accepted trajectories (across samples of one
//!   task and across tasks), and [`decontaminate`] drops tasks whose instruction overlaps a
//!   benchmark question the user names.
//!
//! Every failed check adds exactly one [`Reason`](dasynth_core::verdict::Reason); a trajectory
//! is accepted when it has none. Bad input (a torn line, a missing field, an unknown task, code
//! that no longer runs, a workspace whose tables are gone) is a verdict with a reason, never a
//! panic. The stage is resumable and deterministic ([`stage`]): a verdict is reused when
//! neither the trajectory's line nor the verify settings changed, and `--shard I/N` verifies
//! the trajectories of one share of the tasks into a shard file that a later run without
//! `--shard` merges.

mod check;
pub mod decontaminate;
mod error;
pub mod grounding;
pub mod judge;
pub mod minhash;
pub mod normalise;
pub mod process;
pub mod records;
pub mod replay;
pub mod schema;
pub mod stage;

pub use dasynth_core::shard::Shard;
pub use error::VerifyError;
pub use stage::{Corpus, VerifyOutcome, verify, verify_corpus};
