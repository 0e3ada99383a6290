//! The export and push stages: a run folder's verified work as a dataset that trainers load
//! as-is, published to the Hugging Face Hub.
//!
//! **Export** ([`export`]) reads the accepted trajectories (rows of `verdicts.parquet` with
//! `accepted`; without that file, the trajectories whose answer check passed) and the tasks,
//! and writes `export/` with one folder per config under `data/`: `sft` (TRL's conversational
//! format), `deepanalyze` (one assistant message per trajectory with `<Execute>` spans),
//! `sharegpt` (LLaMA-Factory), `rl` (verl) and `deepanalyze-rl` (DeepAnalyze's SkyRL schema).
//! Trajectory rows carry their provenance ([`dasynth_core::export::RowMeta`]); RL rows are
//! tasks with a verified ground truth, optionally within a band of the student's pass rate.
//! Rows are split train / validation / test by source table ([`splits`]), streamed into
//! sharded zstd Parquet with plain Arrow types ([`sink`]), and described by a dataset card
//! ([`card`]). The tables RL rows need are exported once by content hash ([`tables`]), with
//! `reward.py` beside them. The folder is built under a temporary name and swapped in whole;
//! its manifest ([`manifest`]) lets `push` refuse an export edited since.
//!
//! **Push** ([`push`]) publishes `export/` through the Hub's HTTP API ([`hub`]): create the
//! repository if missing, compare with what the branch already holds, preupload, LFS upload
//! (single PUT or multipart), then commit in batches. A rerun after a failure anywhere uploads
//! only what is missing and never makes an empty or duplicate commit. The token comes from
//! `HF_TOKEN` or the token file and never appears in a message.

pub mod card;
mod error;
pub mod formats;
pub mod hub;
pub mod inputs;
pub mod manifest;
pub mod push;
pub mod read;
pub mod sink;
pub mod splits;
mod stage;
pub mod tables;

pub use error::ExportError;
pub use stage::{ExportOutcome, export};
