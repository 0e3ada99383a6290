//! The rows of an exported dataset (`export/data/<config>/*.parquet`), the export's manifest and
//! its counters (`stats/export.json`).
//!
//! Trajectory configs (`sft`, `deepanalyze`, `sharegpt`) carry the same provenance columns
//! ([`RowMeta`]): task, family, curriculum stage, difficulty, template, source tables and their
//! licences, teacher and model, token counts and the verify stage's scores. RL configs (`rl`,
//! `deepanalyze-rl`) have one row per task with a verified ground truth, in the trainers' own
//! schemas. The [`ExportManifest`] lists every file of `export/` with its size and sha256, so
//! `dasynth push` can tell an export edited by hand from the one dasynth wrote.

use crate::trajectory::Message;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Provenance and scores shared by every trajectory config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RowMeta {
    /// The trajectory's key.
    pub id: String,
    pub task_id: String,
    pub family: String,
    /// Curriculum stage (1 single ability, 2 multi-ability agentic, 3 RL prompt).
    pub stage: u32,
    pub difficulty: String,
    pub template: String,
    pub answer_type: String,
    /// The tables the task reads (catalog ids).
    pub table_ids: Vec<String>,
    /// The licences of those tables (SPDX ids; `unknown` when none was declared).
    pub licences: Vec<String>,
    pub teacher: String,
    pub model: String,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// Assistant turns and code cells.
    pub turns: u32,
    pub code_cells: u32,
    /// The verify stage's quality score in [0, 1] (none when exported without verdicts).
    pub score: Option<f64>,
    /// The answer matched the ground truth.
    pub answer_passed: Option<bool>,
    /// How the replay went (`consistent`, ...; none without verdicts).
    pub replay: Option<String>,
    /// Share of a report's numeric claims found in cell outputs.
    pub grounded_share: Option<f64>,
    /// Mean of the judge's five scores (1–5), for judged reports.
    pub judge_score: Option<f64>,
}

/// A row of the `sft` config: TRL's conversational format.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SftRow {
    /// `system`, `user`, then `assistant` turns, each followed by its code output (role
    /// `execute`, `user` or `tool`, as configured).
    pub messages: Vec<Message>,
    #[serde(flatten)]
    pub meta: RowMeta,
}

/// A character span `[start, end)` in Unicode code points (Python string indices).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Span {
    pub start: u64,
    pub end: u64,
}

/// A row of the `deepanalyze` config: DeepAnalyze's SFT form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DeepanalyzeRow {
    /// `system`, `user`, and one `assistant` message holding the whole trajectory with its
    /// `<Execute>` blocks.
    pub messages: Vec<Message>,
    /// The spans of the assistant message, `<Execute>` through `</Execute>`, to mask out of the
    /// loss.
    pub execute_spans: Vec<Span>,
    #[serde(flatten)]
    pub meta: RowMeta,
}

/// One ShareGPT turn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ShareGptTurn {
    /// `human`, `gpt` or `observation`.
    pub from: String,
    pub value: String,
}

/// A row of the `sharegpt` config (LLaMA-Factory).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ShareGptRow {
    pub conversations: Vec<ShareGptTurn>,
    pub system: String,
    #[serde(flatten)]
    pub meta: RowMeta,
}

/// verl's `reward_model` column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RewardModel {
    /// Always `rule`.
    pub style: String,
    /// JSON text `{"answer_type", "truth", "checker"}`, read by `reward.py`.
    pub ground_truth: String,
}

/// A file an RL task reads, exported under `tables/`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TableFile {
    /// The name the agent sees in its working directory.
    pub name: String,
    /// Relative to the export folder: `tables/<sha256>.<ext>`.
    pub path: String,
}

/// verl's `extra_info` column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct VerlExtraInfo {
    pub split: String,
    /// Position of the row in its split.
    pub index: u64,
    pub task_id: String,
    pub family: String,
    pub stage: u32,
    pub difficulty: String,
    pub template: String,
    pub answer_type: String,
    /// The checker spec (JSON text), also inside the ground truth.
    pub checker: String,
    /// The files the task reads.
    pub tables: Vec<TableFile>,
    /// The licences of the task's tables.
    pub licences: Vec<String>,
    /// The student's pass rate, when one was measured.
    pub pass_rate: Option<f64>,
}

/// A row of the `rl` config (verl).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct VerlRow {
    pub data_source: String,
    pub prompt: Vec<Message>,
    pub ability: String,
    pub reward_model: RewardModel,
    pub extra_info: VerlExtraInfo,
}

/// DeepAnalyze's `reward_spec` column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RewardSpec {
    /// `qa`, `datatask` or `openresearch`.
    pub method: String,
    /// The same JSON text as verl's `reward_model.ground_truth`.
    pub ground_truth: String,
    /// The reward function file shipped in the export (`reward.py`), `compute_score`.
    pub function: String,
}

/// A row of the `deepanalyze-rl` config (DeepAnalyze's SkyRL trainer).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DeepanalyzeRlRow {
    pub data_source: String,
    pub prompt: Vec<Message>,
    /// Always `deepanalyze`.
    pub env_class: String,
    pub reward_spec: RewardSpec,
    /// The workspace group: the task's files are under `workspace/{data}/{workspace_id}/`.
    pub data: String,
    pub workspace_id: String,
    pub max_turns: u32,
    pub task_id: String,
    pub family: String,
    pub split: String,
}

/// One file of an export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ManifestFile {
    /// Relative to the export folder, with `/` separators.
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
}

/// Every file `dasynth export` wrote, for `dasynth push` to check before it uploads.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ExportManifest {
    pub files: Vec<ManifestFile>,
}

/// Rows of one config by split.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ConfigCounts {
    pub rows: BTreeMap<String, u64>,
    pub files: u64,
    pub bytes: u64,
}

/// What the export stage did: `stats/export.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ExportStats {
    /// `verdicts` when `verdicts.parquet` chose the rows, `answer-check` otherwise.
    pub selected_by: String,
    /// Trajectory lines read, and those exported.
    pub trajectories_read: u64,
    pub trajectories_exported: u64,
    /// The student's accepted samples written to the `sft-student` config.
    #[serde(default)]
    pub student_trajectories_exported: u64,
    /// Trajectories left out, by reason (`not_accepted`, `unknown_task`, `duplicate`,
    /// `unreadable`, `answer_check_failed`, `tables_across_splits`: a join whose tables landed
    /// in different splits).
    pub dropped_by_reason: BTreeMap<String, u64>,
    /// Tasks in RL configs, and tasks left out of them by reason (`no_ground_truth`,
    /// `pass_rate_band`, `missing_file`, `tables_across_splits`).
    pub rl_tasks: u64,
    pub rl_dropped_by_reason: BTreeMap<String, u64>,
    /// Source tables per split.
    pub tables_by_split: BTreeMap<String, u64>,
    pub by_config: BTreeMap<String, ConfigCounts>,
    /// Distinct files exported under `tables/`, and their bytes.
    pub table_files: u64,
    pub table_bytes: u64,
    pub seconds: f64,
}
