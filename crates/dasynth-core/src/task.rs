//! The task record: one row of `tasks.parquet` (and of `questions.parquet`).
//!
//! A task is an instruction over one or more crawled tables with a ground truth computed from
//! the data and a checker spec that says how answers are compared with it. `dasynth-tasks`
//! makes them from templates; every later stage reads them through this type.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One grounded task: a row of `tasks.parquet`. Nested values are JSON text so that every
/// Parquet reader (pandas, pyarrow, DuckDB, polars) reads the file without extension types.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Task {
    /// Content hash of the template file, the bindings, the parameters and the seed.
    pub id: String,
    pub family: String,
    pub stage: u32,
    pub difficulty: String,
    /// `<family folder>/<file stem>`.
    pub template: String,
    pub template_version: u32,
    /// sha256 of the template file the task was made from.
    pub template_sha256: String,
    /// The full prompt in DeepAnalyze's form: `# Instruction`, then `# Data` with file names
    /// and sizes.
    pub prompt: String,
    /// The instruction alone.
    pub instruction: String,
    /// Source of the (first) table.
    pub source: String,
    /// JSON list of the table ids the task reads.
    pub table_ids: String,
    /// JSON list of [`TaskFile`]: the files the agent sees in its working directory.
    pub files: String,
    pub answer_type: String,
    /// JSON ground truth (a number, text, list, `{columns, rows}` or `{fact: value}`).
    pub ground_truth: String,
    /// JSON checker spec (`dasynth_tasks::checker::CheckerSpec`).
    pub checker: String,
    /// JSON list of Python cells: the reference solution, ending with `answer = ...`.
    pub solution: String,
    /// JSON of the bindings: tables, columns, links and parameters.
    pub bindings: String,
    pub seed: u64,
    /// Which prompt paraphrase was used.
    pub variant: u32,
}

/// A file in a task's working directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskFile {
    /// The name the agent sees.
    pub name: String,
    /// Where the bytes are, relative to the run folder.
    pub path: String,
    pub bytes: u64,
}

impl Task {
    pub fn files(&self) -> Vec<TaskFile> {
        serde_json::from_str(&self.files).unwrap_or_default()
    }
    pub fn solution_cells(&self) -> Vec<String> {
        serde_json::from_str(&self.solution).unwrap_or_default()
    }
    pub fn ground_truth_value(&self) -> serde_json::Value {
        serde_json::from_str(&self.ground_truth).unwrap_or(serde_json::Value::Null)
    }
    pub fn checker_value(&self) -> serde_json::Value {
        serde_json::from_str(&self.checker).unwrap_or(serde_json::Value::Null)
    }
    pub fn table_id_list(&self) -> Vec<String> {
        serde_json::from_str(&self.table_ids).unwrap_or_default()
    }
}
