//! `deepanalyze-rl`: DeepAnalyze's RL schema for its SkyRL trainer. `env_class` is
//! `deepanalyze`; `reward_spec.method` follows the answer type (`qa` for values, `datatask`
//! for tables, files and metrics, `openresearch` for reports); `data`, `workspace_id` and
//! `max_turns` go to the environment, which finds the task's files under
//! `workspace/{data}/{workspace_id}/`. Tasks reading the same files share one workspace.

use super::*;
use crate::inputs::TaskInfo;
use dasynth_core::export::{DeepanalyzeRlRow, RewardSpec};

/// The folder every workspace of this export lives under: `workspace/dasynth/<id>/`.
pub const DATA: &str = "dasynth";

pub fn schema() -> Schema {
    Schema::from_iter([
        field("data_source", string()),
        field("prompt", messages()),
        field("env_class", string()),
        field("reward_spec", strukt(vec![field("method", string()), field("ground_truth", string()), field("function", string())])),
        field("data", string()),
        field("workspace_id", string()),
        field("max_turns", DataType::UInt32),
        field("task_id", string()),
        field("family", string()),
        field("split", string()),
    ])
}

/// DeepAnalyze's reward method for an answer type.
pub fn method(answer_type: &str) -> &'static str {
    match answer_type {
        "report" => "openresearch",
        "table" | "file" | "metric" => "datatask",
        _ => "qa",
    }
}

pub struct DeepanalyzeRlContext<'a> {
    pub system: Option<&'a str>,
    pub split: &'a str,
    pub workspace_id: String,
    pub max_turns: u32,
}

pub fn row(t: &TaskInfo, cx: DeepanalyzeRlContext<'_>) -> DeepanalyzeRlRow {
    DeepanalyzeRlRow {
        data_source: super::verl::DATA_SOURCE.to_string(),
        prompt: super::verl::prompt(cx.system, t),
        env_class: "deepanalyze".into(),
        reward_spec: RewardSpec {
            method: method(&t.task.answer_type).to_string(),
            ground_truth: super::verl::ground_truth(t),
            function: "reward.py:compute_score".into(),
        },
        data: DATA.to_string(),
        workspace_id: cx.workspace_id,
        max_turns: cx.max_turns,
        task_id: t.task.id.clone(),
        family: t.task.family.clone(),
        split: cx.split.to_string(),
    }
}
