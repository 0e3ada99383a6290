//! `report/report.json`: every figure of the audit report, the same numbers the page and
//! `report.md` show.
//!
//! The report reads whatever a run folder holds, so every part is optional in spirit: a stage
//! that has not run leaves its figures empty and is named in [`Report::missing`]. Counts are
//! of trajectories unless a field says otherwise; shares are in [0, 1].

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Version of this document's layout; bump when a field changes meaning.
pub const REPORT_VERSION: u32 = 1;

/// The whole report.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Report {
    pub report_version: u32,
    /// When the report was made (RFC 3339).
    pub generated_at: String,
    /// The run folder, as given.
    pub run: String,
    /// Which of the run folder's parts were found.
    pub stages: Vec<StagePresence>,
    /// Stages whose files are missing (`crawl`, `profile`, `tasks`, `trajectories`, `verify`).
    pub missing: Vec<String>,
    /// Things that could not be read (torn trajectory lines, damaged files), each naming the file.
    pub notes: Vec<String>,
    /// Tables → tasks → trajectories → replayed → accepted.
    pub funnel: Vec<FunnelStep>,
    /// Tokens and cost by teacher and model.
    pub teachers: Vec<TeacherCost>,
    /// Wall-clock seconds by stage, from `stats/<stage>.json`.
    pub stage_times: Vec<StageTime>,
    /// The run's resolved configuration (`dasynth.toml`) with header values redacted.
    pub settings: Option<String>,
    /// Inputs the crawl could not read.
    pub crawl_failures: Vec<CrawlFailure>,
    pub quality: Quality,
    /// Groups that do markedly worse than the whole run.
    pub weak_spots: Vec<WeakSpot>,
    /// Per-trajectory distributions (turns, code cells, cell errors, recoveries, tokens).
    pub distributions: Vec<Distribution>,
    /// The student's per-task pass rates, when `dasynth sample` has run.
    pub pass_rates: Option<PassRates>,
    /// Profile highlights of every crawled table.
    pub tables: Vec<TableHighlight>,
    /// What the trajectory browser of `index.html` holds.
    pub browser: BrowserContents,
}

/// Whether one part of the run folder exists.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct StagePresence {
    pub stage: String,
    pub present: bool,
    /// What was found (`12 tables`, `no verdicts.parquet`).
    pub detail: String,
}

/// One step of the funnel.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FunnelStep {
    /// `tables`, `tasks`, `trajectories`, `replayed`, `accepted` or `exported`.
    pub step: String,
    pub count: u64,
    /// The share of the previous step's items that went on to this one (tables with a task,
    /// tasks with a trajectory, trajectories replayed, verdicts accepted); none when the
    /// previous step is missing.
    pub share: Option<f64>,
    /// What `share` is a share of, in words.
    pub share_of: String,
    /// Why items of the previous step did not reach this one, with counts.
    pub dropped: BTreeMap<String, u64>,
}

/// What one teacher (and model) spent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TeacherCost {
    pub teacher: String,
    pub model: String,
    pub trajectories: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cost_usd: f64,
    /// Turns answered from the response cache.
    pub cached_turns: u64,
    /// Sum of the trajectories' wall time.
    pub wall_seconds: f64,
}

/// One stage's time and counts from `stats/<stage>.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct StageTime {
    pub stage: String,
    pub seconds: f64,
    pub kept: Option<u64>,
    pub dropped: Option<u64>,
    pub dropped_by_reason: BTreeMap<String, u64>,
}

/// A crawl input that failed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CrawlFailure {
    pub name: String,
    pub source: String,
    pub uri: String,
    pub error: String,
}

/// What the verify checks found, overall and broken down.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Quality {
    /// Figures over every trajectory.
    pub overall: GroupFigures,
    /// How trajectories ended (`answer`, `turn_limit`, ...).
    pub finishes: BTreeMap<String, u64>,
    /// Rules DeepAnalyze's format check found broken, with counts.
    pub format_issues: BTreeMap<String, u64>,
    /// Style signals that do not reject, with counts.
    pub style_issues: BTreeMap<String, u64>,
    /// Mean judge score per dimension, over judged reports.
    pub judge_dimensions: BTreeMap<String, f64>,
    /// The same figures per family, stage, difficulty, template, source, table, format,
    /// teacher and model.
    pub breakdowns: Vec<Breakdown>,
}

/// Figures of one group of trajectories.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct GroupFigures {
    /// The group's value (`data-cleaning`, a teacher's name, ...); `all` for the whole run.
    pub value: String,
    pub trajectories: u64,
    /// Trajectories with a verdict.
    pub verdicts: u64,
    pub accepted: u64,
    /// Failed checks by reason (a rejected trajectory counts once under each of its reasons).
    pub reasons: BTreeMap<String, u64>,
    /// Replay classes (`consistent`, `nondeterministic`, `hallucinated`, `broken`, `not_replayed`).
    pub replay: BTreeMap<String, u64>,
    /// Answers checked against a ground truth, and those that matched.
    pub answers_checked: u64,
    pub answers_passed: u64,
    /// Reports with numeric claims, and the mean share of claims grounded in outputs.
    pub reports: u64,
    pub mean_grounded_share: Option<f64>,
    /// Reports a judge scored, and the mean of their five-dimension means (1–5).
    pub judged: u64,
    pub mean_judge_score: Option<f64>,
    /// Verdicts whose format check failed.
    pub format_errors: u64,
    /// Mean verify score in [0, 1].
    pub mean_score: Option<f64>,
}

/// The figures of every value of one dimension, largest group first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Breakdown {
    /// `family`, `stage`, `difficulty`, `template`, `source`, `table`, `format`, `teacher`, `model`.
    pub dimension: String,
    pub groups: Vec<GroupFigures>,
}

/// A group that fails one check markedly more often than the run as a whole.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct WeakSpot {
    /// `family`, `template`, ... or a pair such as `teacher × format`.
    pub dimension: String,
    /// The group's value (`gpt-x × xlsx` for a pair).
    pub value: String,
    /// What goes wrong: a rejection reason, a replay class, or `rejected`.
    pub problem: String,
    /// Trajectories of the group that were checked, and the share with the problem.
    pub n: u64,
    pub rate: f64,
    /// The share with the problem over the whole run.
    pub overall_rate: f64,
}

/// A histogram of one per-trajectory quantity.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Distribution {
    /// `turns`, `code_cells`, `cell_errors`, `recoveries`, `tokens`.
    pub name: String,
    pub n: u64,
    pub mean: f64,
    pub median: f64,
    pub p90: f64,
    pub max: f64,
    /// Buckets in order; `lo` inclusive, `hi` exclusive (the last one inclusive).
    pub buckets: Vec<Bucket>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Bucket {
    pub lo: f64,
    pub hi: f64,
    pub count: u64,
}

/// The student's pass rates (`student/pass_rates.parquet`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PassRates {
    pub tasks: u64,
    pub samples: u64,
    pub mean_pass_rate: f64,
    /// Tasks the student never solved, and tasks it always solved.
    pub never_solved: u64,
    pub always_solved: u64,
    /// Tasks by pass rate, in buckets of 0.1.
    pub histogram: Vec<Bucket>,
    /// Mean pass rate by family, by curriculum stage and by template.
    pub by_family: Vec<PassRateGroup>,
    #[serde(default)]
    pub by_stage: Vec<PassRateGroup>,
    pub by_template: Vec<PassRateGroup>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PassRateGroup {
    pub value: String,
    pub tasks: u64,
    pub mean_pass_rate: f64,
}

/// Profile highlights of one crawled table.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TableHighlight {
    pub id: String,
    pub name: String,
    pub source: String,
    pub format: Option<String>,
    pub rows: Option<u64>,
    pub columns: Option<u64>,
    pub duplicate_rows: Option<u64>,
    /// Table-level quality flags.
    pub quality_flags: Vec<String>,
    /// Column quality flags with the number of columns that carry each.
    pub column_flags: BTreeMap<String, u64>,
    /// Whether `profiles/<id>.json` exists.
    pub profiled: bool,
    pub tasks: u64,
    pub trajectories: u64,
    pub accepted: u64,
}

/// What the page's trajectory browser holds, and what was cut to keep the page small.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BrowserContents {
    pub trajectories: u64,
    /// Trajectories whose messages are embedded without any cut.
    pub complete: u64,
    /// Trajectories with at least one message or output cut, and those whose messages were
    /// left out entirely (only their figures and verdict are in the page).
    pub cut: u64,
    pub messages_left_out: u64,
    /// The most characters any one message part kept (the tightest cut applied), if any cut.
    pub tightest_cut_chars: Option<u64>,
    /// Images inlined into the page, and images left out (too large, or past the total cap).
    pub images_inlined: u64,
    pub images_left_out: u64,
    /// Size of `index.html` in bytes.
    pub page_bytes: u64,
}
