//! Domain types shared by every dasynth stage.
//!
//! dasynth is a pipeline of stages (crawl → profile → tasks → generate → verify → export) that
//! talk only through files in a *run folder*. This crate owns what those files mean: the row
//! types of `catalog.parquet` ([`catalog`]), the exported dataset's rows ([`export`]), the
//! profile documents ([`profile`]), the layout of the run folder ([`layout`]) and its one-writer
//! lock ([`lock`]), content-hash ids ([`ids`]), atomic writes ([`atomic`]), the
//! configuration file and its resolution into settings ([`config`]), the source-definition
//! files under `sources/` ([`sourcedef`]), the environment variables dasynth reads ([`mod@env`]),
//! the cores it may use ([`machine`]), and the JSON Schemas generated from all of these
//! ([`schemas`]).
//!
//! The crate is deliberately light: no polars, no I/O beyond small files, so every other crate
//! can depend on it without paying for heavy builds.

pub mod atomic;
pub mod catalog;
pub mod config;
pub mod env;
pub mod export;
pub mod folders;
pub mod ids;
pub mod layout;
pub mod lock;
pub mod machine;
pub mod profile;
pub mod report;
pub mod reporter;
pub mod rng;
pub mod schemas;
pub mod shard;
pub mod sourcedef;
pub mod stats;
pub mod task;
pub mod trajectory;
pub mod verdict;
