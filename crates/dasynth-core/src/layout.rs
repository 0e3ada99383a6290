//! The run folder: every stage reads the previous stage's files here and writes its own.
//!
//! ```text
//! <out>/
//!   dasynth.toml                 resolved configuration of this run
//!   .dasynth.lock                held by the one process writing the folder
//!   .dasynth-shard-I-of-N.lock   held by the one process working on shard I/N
//!   catalog.parquet              crawl: crawled tables (one row per table)
//!   tables/<sha256>.<ext>        crawl: the crawled bytes, decompressed, content-addressed
//!   profiles/<table-id>.json     profile: one document per table
//!   tasks.parquet                tasks: grounded tasks with ground truth and checker
//!   tasks/files/<table>/<name>   tasks: CSV copies of Parquet and Arrow tables for the agent
//!   questions.parquet            trajectories: open tasks written by an LLM questioner
//!   workspaces/<task-id>/        trajectories, verify: a task's files as the agent sees them
//!   trajectories/*.jsonl         trajectories: append-only, one trajectory per line
//!   trajectories/shard-I-of-N.jsonl  trajectories --shard I/N: one shard's trajectories
//!   outputs/<key>/               trajectories: files a trajectory wrote under `outputs/`
//!   verdicts.parquet             verify: one row per trajectory (accepted?, checks, reasons)
//!   verdicts/shard-I-of-N.parquet  verify --shard I/N: one shard's verdicts, merged by `verify`
//!   student/                     sample: the student's trajectories, verdicts, pass rates
//!     trajectories/*.jsonl
//!     trajectories/shard-I-of-N.jsonl  sample --shard I/N: one shard's samples
//!     outputs/<key>/
//!     verdicts.parquet
//!     verdicts/shard-I-of-N.parquet    sample --shard I/N: one shard's verdicts, joined by `merge`
//!     pass_rates.parquet
//!     pass_rates/shard-I-of-N.parquet  sample --shard I/N: its tasks' pass rates, joined by `merge`
//!   export/                      export: the dataset folder pushed to the Hub
//!     README.md                  the dataset card
//!     data/<config>/<split>-0000i-of-0000n.parquet
//!     tables/                    the tables RL rows reference, deduplicated
//!     workspace/<data>/<id>/     DeepAnalyze RL workspaces (one per distinct set of files)
//!     reward.py                  the reward function (verl's `compute_score`)
//!     dataset_info.json          LLaMA-Factory's entry for the sharegpt config
//!   report/                      report: index.html, report.json, report.md
//!   stats/<stage>.json           per-stage counters (kept, dropped, reasons, time)
//!   stats/<stage>-shard-I-of-N.json  one shard's counters, summed by `merge`
//!   shards/                      --shard I/N bookkeeping
//!     <stage>-shard-I-of-N.claim.json  written when a shard starts
//!     <stage>-shard-I-of-N.done.json   written last, when every file of the shard is in place
//!     prepare.lock               held while one shard crawls, profiles and plans the tasks
//!     tasks-plan.json            the inputs `tasks.parquet` was planned from
//!   cache/                       HTTP validators, crawl state, LLM responses, downloads
//!     export-manifest.json       export: every file of export/ with its sha256
//! ```
//!
//! Every path a stage reads or writes comes from a method here; no stage spells a run-folder
//! path itself.

use crate::folders::{JsonlFolders, Local};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The stages that write a `stats/<stage>.json` file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    Crawl,
    Profile,
    Tasks,
    /// `tasks --check-solutions`: every reference solution run in the sandbox.
    Solutions,
    Trajectories,
    Verify,
    Export,
    Push,
    Report,
    Sample,
}

impl Stage {
    /// Every stage, in pipeline order.
    pub const ALL: [Stage; 10] = [
        Stage::Crawl,
        Stage::Profile,
        Stage::Tasks,
        Stage::Solutions,
        Stage::Trajectories,
        Stage::Verify,
        Stage::Export,
        Stage::Push,
        Stage::Report,
        Stage::Sample,
    ];

    /// The stage's name in file names, logs and reports.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Crawl => "crawl",
            Stage::Profile => "profile",
            Stage::Tasks => "tasks",
            Stage::Solutions => "solutions",
            Stage::Trajectories => "trajectories",
            Stage::Verify => "verify",
            Stage::Export => "export",
            Stage::Push => "push",
            Stage::Report => "report",
            Stage::Sample => "sample",
        }
    }
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Paths inside one run folder, and where its JSONL folders are read from
/// ([`crate::folders`]).
#[derive(Debug, Clone)]
pub struct RunDir {
    root: PathBuf,
    folders: Option<Arc<dyn JsonlFolders>>,
}

impl RunDir {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into(), folders: None }
    }
    /// Reads the JSONL folders ([`RunDir::jsonl_files`]) through `folders` rather than from the
    /// local paths: a run folder on object storage, streamed.
    pub fn streaming(mut self, folders: Arc<dyn JsonlFolders>) -> Self {
        self.folders = Some(folders);
        self
    }
    /// The `.jsonl` files of one of the run's JSONL folders ([`RunDir::trajectories_dir`],
    /// [`RunDir::student_trajectories_dir`]), sorted; `None` when the folder does not exist.
    pub fn jsonl_files(&self, dir: &Path) -> std::io::Result<Option<Vec<PathBuf>>> {
        self.folders().files(dir)
    }
    /// Opens a file [`RunDir::jsonl_files`] listed.
    pub fn open_jsonl(&self, file: &Path) -> std::io::Result<Box<dyn std::io::Read + Send>> {
        self.folders().open(file)
    }
    fn folders(&self) -> &dyn JsonlFolders {
        self.folders.as_deref().unwrap_or(&Local)
    }
    pub fn root(&self) -> &Path {
        &self.root
    }
    pub fn settings(&self) -> PathBuf {
        self.root.join("dasynth.toml")
    }
    /// The advisory lock file held by the one process writing this folder.
    pub fn lock(&self) -> PathBuf {
        self.root.join(".dasynth.lock")
    }
    /// The advisory lock file held by the one process working on one shard of this folder.
    pub fn shard_lock(&self, shard: crate::shard::Shard) -> PathBuf {
        self.root.join(format!(".dasynth-{}.lock", shard.file_stem()))
    }
    pub fn catalog(&self) -> PathBuf {
        self.root.join("catalog.parquet")
    }
    pub fn tables_dir(&self) -> PathBuf {
        self.root.join("tables")
    }
    /// Where a stored file lives, relative to the run root (as recorded in the catalog).
    pub fn table_rel_path(sha256: &str, ext: &str) -> String {
        format!("tables/{sha256}.{ext}")
    }
    /// A path relative to the run root (as recorded in the catalog and in tasks).
    pub fn resolve(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }
    pub fn profiles_dir(&self) -> PathBuf {
        self.root.join("profiles")
    }
    pub fn profile(&self, table_id: &str) -> PathBuf {
        self.profiles_dir().join(format!("{table_id}.json"))
    }
    pub fn tasks(&self) -> PathBuf {
        self.root.join("tasks.parquet")
    }
    /// Where the agent's copy of a converted table lives, relative to the run root.
    pub fn task_file_rel_path(table_id: &str, name: &str) -> String {
        format!("tasks/files/{table_id}/{name}")
    }
    pub fn questions(&self) -> PathBuf {
        self.root.join("questions.parquet")
    }
    pub fn workspaces_dir(&self) -> PathBuf {
        self.root.join("workspaces")
    }
    /// A task's files as the agent sees them (its working directory).
    pub fn workspace(&self, task_id: &str) -> PathBuf {
        self.workspaces_dir().join(task_id)
    }
    pub fn trajectories_dir(&self) -> PathBuf {
        self.root.join("trajectories")
    }
    pub fn outputs_dir(&self) -> PathBuf {
        self.root.join("outputs")
    }
    /// The files one trajectory wrote under `outputs/`.
    pub fn trajectory_outputs(&self, key: &str) -> PathBuf {
        self.outputs_dir().join(key)
    }
    pub fn verdicts(&self) -> PathBuf {
        self.root.join("verdicts.parquet")
    }
    /// The folder of `verify --shard I/N` verdicts, which a `verify` without `--shard` merges.
    pub fn verdict_shards_dir(&self) -> PathBuf {
        self.root.join("verdicts")
    }
    /// One shard's verdicts.
    pub fn verdicts_shard(&self, shard: crate::shard::Shard) -> PathBuf {
        self.verdict_shards_dir().join(format!("{}.parquet", shard.file_stem()))
    }
    pub fn student_dir(&self) -> PathBuf {
        self.root.join("student")
    }
    pub fn student_trajectories_dir(&self) -> PathBuf {
        self.student_dir().join("trajectories")
    }
    pub fn student_outputs(&self, key: &str) -> PathBuf {
        self.student_dir().join("outputs").join(key)
    }
    pub fn student_verdicts(&self) -> PathBuf {
        self.student_dir().join("verdicts.parquet")
    }
    pub fn pass_rates(&self) -> PathBuf {
        self.student_dir().join("pass_rates.parquet")
    }
    /// One shard's samples (`student/trajectories/shard-I-of-N.jsonl`).
    pub fn student_trajectories_shard(&self, shard: crate::shard::Shard) -> PathBuf {
        self.student_trajectories_dir().join(format!("{}.jsonl", shard.file_stem()))
    }
    /// The folder of `sample --shard I/N` verdicts, which `merge` joins.
    pub fn student_verdict_shards_dir(&self) -> PathBuf {
        self.student_dir().join("verdicts")
    }
    pub fn student_verdicts_shard(&self, shard: crate::shard::Shard) -> PathBuf {
        self.student_verdict_shards_dir().join(format!("{}.parquet", shard.file_stem()))
    }
    /// The folder of `sample --shard I/N` pass rates (one shard's tasks each), which `merge`
    /// joins into `pass_rates.parquet`.
    pub fn pass_rate_shards_dir(&self) -> PathBuf {
        self.student_dir().join("pass_rates")
    }
    pub fn pass_rates_shard(&self, shard: crate::shard::Shard) -> PathBuf {
        self.pass_rate_shards_dir().join(format!("{}.parquet", shard.file_stem()))
    }
    pub fn export_dir(&self) -> PathBuf {
        self.root.join("export")
    }
    /// Every file the export stage wrote, with its sha256 (kept outside `export/` so it is
    /// not published).
    pub fn export_manifest(&self) -> PathBuf {
        self.cache_dir().join("export-manifest.json")
    }
    pub fn report_dir(&self) -> PathBuf {
        self.root.join("report")
    }
    pub fn report_html(&self) -> PathBuf {
        self.report_dir().join("index.html")
    }
    pub fn report_json(&self) -> PathBuf {
        self.report_dir().join("report.json")
    }
    pub fn report_md(&self) -> PathBuf {
        self.report_dir().join("report.md")
    }
    pub fn stats_dir(&self) -> PathBuf {
        self.root.join("stats")
    }
    pub fn stats(&self, stage: Stage) -> PathBuf {
        self.stats_dir().join(format!("{}.json", stage.name()))
    }
    /// One shard's counters (`stats/<stage>-shard-I-of-N.json`).
    pub fn stats_shard(&self, stage: Stage, shard: crate::shard::Shard) -> PathBuf {
        self.stats_dir().join(format!("{}-{}.json", stage.name(), shard.file_stem()))
    }
    /// The counters of a whole stage, or of one shard of it.
    pub fn stats_of(&self, stage: Stage, shard: Option<crate::shard::Shard>) -> PathBuf {
        match shard {
            Some(sh) => self.stats_shard(stage, sh),
            None => self.stats(stage),
        }
    }
    /// One shard's trajectories (`trajectories/shard-I-of-N.jsonl`).
    pub fn trajectories_shard(&self, shard: crate::shard::Shard) -> PathBuf {
        self.trajectories_dir().join(format!("{}.jsonl", shard.file_stem()))
    }
    /// The bookkeeping of sharded runs: claims, completion markers, locks.
    pub fn shards_dir(&self) -> PathBuf {
        self.root.join("shards")
    }
    /// Written when a shard of a stage starts.
    pub fn shard_claim(&self, stage: Stage, shard: crate::shard::Shard) -> PathBuf {
        self.shards_dir().join(format!("{}-{}.claim.json", stage.name(), shard.file_stem()))
    }
    /// Written last, when every file of the shard's stage is in place.
    pub fn shard_done(&self, stage: Stage, shard: crate::shard::Shard) -> PathBuf {
        self.shards_dir().join(format!("{}-{}.done.json", stage.name(), shard.file_stem()))
    }
    /// Held while one shard runs the stages every shard shares (crawl, profile, the task plan).
    pub fn prepare_lock(&self) -> PathBuf {
        self.shards_dir().join("prepare.lock")
    }
    /// The fingerprint of the inputs `tasks.parquet` was planned from.
    pub fn tasks_plan(&self) -> PathBuf {
        self.shards_dir().join("tasks-plan.json")
    }
    pub fn cache_dir(&self) -> PathBuf {
        self.root.join("cache")
    }
    pub fn downloads_dir(&self) -> PathBuf {
        self.cache_dir().join("downloads")
    }
    pub fn crawl_state(&self) -> PathBuf {
        self.cache_dir().join("crawl-state.json")
    }
    /// The LLM response cache (unless the configuration names another file).
    pub fn llm_cache(&self) -> PathBuf {
        self.cache_dir().join("llm.sqlite")
    }
    /// Where suspended sandbox sessions spill their memory past the in-memory budget.
    pub fn session_spill_dir(&self) -> PathBuf {
        self.cache_dir().join("sessions")
    }
}
