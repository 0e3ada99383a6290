//! The sample stage: how often does the student solve each task?
//!
//! DeepAnalyze's curriculum keeps, for SFT, trajectories the student itself got right
//! (rejection sampling), and for RL, the tasks the student solves sometimes but not always.
//! [`sample`] runs every selected task `n` times with the student in the same agent loop the
//! teachers use (sandbox in the loop, DeepAnalyze's tags), judges every sample with the verify
//! stage's checks, and writes:
//!
//! ```text
//! student/trajectories/*.jsonl   one line per sample (the trajectory format)
//! student/verdicts.parquet       one verdict per sample (the verdict format)
//! student/pass_rates.parquet     per task: n, passed, pass rate, mean turns, mean tokens
//! stats/sample.json              what the run did (SampleStats)
//! ```
//!
//! **The student.** `Student::Local` loads a Qwen3 checkpoint into the in-process engine
//! (`dasynth-student`, behind this crate's `student` feature: candle and tokenizers are a
//! sizeable share of a cold build) and serves it on a loopback port for the run's lifetime;
//! [`Student::Endpoint`] is any OpenAI-compatible server (vLLM, SGLang, `dasynth
//! serve-student`). Either way the samples go through the teacher client, so retries, the
//! response cache and the error classes are the teachers' own: a dead endpoint stops the run
//! early with the client's message, a prompt past the context ends its sample as `llm_error`.
//!
//! **Samples.** Sample `i` of a task runs with the task's session seed for `i` (so replay
//! reproduces its cells) and a request seed salted with `--seed`. Its trajectory key hashes the
//! task, the sample index and the student's *variant* (model, temperature, top-p, seed), so a
//! rerun with the same variant reuses every finished sample (kill -9 loses only those in
//! flight) and another variant samples afresh beside it. A student that never closes a tag
//! ends as `format_error`, one that writes the same cell three times in a row as
//! `repeated_cell`; both are failed samples.
//!
//! **Pass rates.** A sample passes when verify accepts it (replay, answer, grounding and
//! format checks; near duplicates are not dropped, since agreeing samples are what a pass rate
//! counts). The pass rate of a task is passed / n over the current variant's samples.
//! `dasynth export` reads it: `sft-student` holds the accepted samples, and the RL configs keep
//! the tasks whose pass rate lies in `export.rl-pass-rate` (default [0.05, 0.95]).
//!
//! **Shards.** With [`SampleOptions::shard`] (`--shard I/N`) a run samples only the selected
//! tasks whose id falls in shard I, into the shard's own files (`student/trajectories/`,
//! `student/verdicts/`, `student/pass_rates/` as `shard-I-of-N.*`, and
//! `stats/sample-shard-I-of-N.json`); [`merge_shards`] (`dasynth merge`) joins them into the
//! single-run files above, the same as one unsharded run.

mod error;
mod merge;
mod pass_rates;
mod stage;
mod student;

pub use error::SampleError;
pub use merge::merge_shards;
pub use pass_rates::{pass_rate_schema, pass_rates};
pub use stage::{SampleOptions, SampleOutcome, SampleStats, sample, variant_name};
pub use student::{RunningStudent, Student};

/// JSON Schemas of the files the stage writes (`schemas/` in the repository).
pub fn schemas() -> Vec<(&'static str, String)> {
    vec![("sample-stats.schema.json", dasynth_core::schemas::render::<SampleStats>())]
}

#[cfg(test)]
mod tests {
    /// Fails when `schemas/` differs from the types.
    #[test]
    fn committed_schemas_match_the_types() {
        if let Err(message) = dasynth_core::schemas::check_committed(&super::schemas()) {
            panic!("{message}");
        }
    }
}
