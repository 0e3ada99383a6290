//! `rl`: verl's RL prompts. One row per task with a verified ground truth: `data_source`,
//! `prompt` (system and user messages), `ability` (the task family), `reward_model` (`rule`
//! style; the ground truth as the JSON text `reward.py` reads) and `extra_info` (split, index,
//! task id, checker spec, the task's files under `tables/`, licences, the student's pass rate).

use super::*;
use crate::inputs::TaskInfo;
use dasynth_core::export::{RewardModel, TableFile, VerlExtraInfo, VerlRow};
use dasynth_core::trajectory::Message;

/// The `data_source` of every RL row; `reward.py` scores any value the same way.
pub const DATA_SOURCE: &str = "dasynth";

pub fn schema() -> Schema {
    let table_file = strukt(vec![field("name", string()), field("path", string())]);
    Schema::from_iter([
        field("data_source", string()),
        field("prompt", messages()),
        field("ability", string()),
        field("reward_model", strukt(vec![field("style", string()), field("ground_truth", string())])),
        field(
            "extra_info",
            strukt(vec![
                field("split", string()),
                field("index", DataType::UInt64),
                field("task_id", string()),
                field("family", string()),
                field("stage", DataType::UInt32),
                field("difficulty", string()),
                field("template", string()),
                field("answer_type", string()),
                field("checker", string()),
                field("tables", list(table_file)),
                field("licences", list(string())),
                field("pass_rate", DataType::Float64),
            ]),
        ),
    ])
}

/// The ground truth as `reward.py` and `dasynth verify` read it:
/// `{"answer_type": ..., "truth": ..., "checker": {...}}`.
pub fn ground_truth(t: &TaskInfo) -> String {
    serde_json::json!({
        "answer_type": t.task.answer_type,
        "truth": t.task.ground_truth_value(),
        "checker": t.task.checker_value(),
    })
    .to_string()
}

/// The prompt an RL rollout starts from: the agent's system prompt (when known) and the task.
pub fn prompt(system: Option<&str>, t: &TaskInfo) -> Vec<Message> {
    let mut out = Vec::new();
    if let Some(s) = system {
        out.push(Message::new("system", s));
    }
    out.push(Message::new("user", t.task.prompt.clone()));
    out
}

/// One RL row and what it needs beyond the task.
pub struct RlContext<'a> {
    pub system: Option<&'a str>,
    pub split: &'a str,
    pub index: u64,
    pub tables: Vec<TableFile>,
    pub licences: Vec<String>,
    pub pass_rate: Option<f64>,
}

pub fn row(t: &TaskInfo, cx: RlContext<'_>) -> VerlRow {
    VerlRow {
        data_source: DATA_SOURCE.to_string(),
        prompt: prompt(cx.system, t),
        ability: t.task.family.clone(),
        reward_model: RewardModel { style: "rule".into(), ground_truth: ground_truth(t) },
        extra_info: VerlExtraInfo {
            split: cx.split.to_string(),
            index: cx.index,
            task_id: t.task.id.clone(),
            family: t.task.family.clone(),
            stage: t.task.stage,
            difficulty: t.task.difficulty.clone(),
            template: t.task.template.clone(),
            answer_type: t.task.answer_type.clone(),
            checker: t.task.checker.clone(),
            tables: cx.tables,
            licences: cx.licences,
            pass_rate: cx.pass_rate,
        },
    }
}
