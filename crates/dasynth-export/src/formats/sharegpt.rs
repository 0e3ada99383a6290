//! `sharegpt`: LLaMA-Factory's ShareGPT format. `system` apart; `conversations` alternate
//! `human` / `observation` (odd positions) and `gpt` (even positions). Consecutive assistant
//! messages are joined, and the export also writes the `dataset_info.json` entry that tells
//! LLaMA-Factory these column and role names.

use super::*;
use dasynth_core::export::{ShareGptRow, ShareGptTurn};

pub fn schema() -> Schema {
    let mut fields =
        vec![field("conversations", list(strukt(vec![field("from", string()), field("value", string())]))), field("system", string())];
    fields.extend(meta_fields());
    Schema::from_iter(fields)
}

pub fn row(t: &Trajectory, meta: RowMeta) -> ShareGptRow {
    let mut system = String::new();
    let mut turns: Vec<ShareGptTurn> = Vec::new();
    for m in &t.messages {
        let from = match m.role.as_str() {
            "system" => {
                system.push_str(&m.content);
                continue;
            }
            "assistant" => "gpt",
            "execute" | "tool" => "observation",
            _ => "human",
        };
        match turns.last_mut() {
            // Two turns of one side in a row: keep the alternation LLaMA-Factory requires.
            Some(last) if last.from == from || (from != "gpt" && last.from != "gpt") => {
                last.value.push('\n');
                last.value.push_str(&m.content);
            }
            _ => turns.push(ShareGptTurn { from: from.to_string(), value: m.content.clone() }),
        }
    }
    if turns.last().is_some_and(|t| t.from != "gpt") {
        turns.pop();
    }
    ShareGptRow { conversations: turns, system, meta }
}

/// LLaMA-Factory's `dataset_info.json` entries for the sharegpt config: one per split
/// (`{name}_{split}`), or one per shard (`{name}_{split}_{i}`) when a split has several, since an
/// entry names one file. Paths are relative to the export folder (LLaMA-Factory's `dataset_dir`).
pub fn dataset_info(name: &str, splits: &[(&str, Vec<String>)]) -> serde_json::Value {
    let mut out = serde_json::Map::new();
    for (split, files) in splits {
        for (i, file) in files.iter().enumerate() {
            let key = if files.len() == 1 { format!("{name}_{split}") } else { format!("{name}_{split}_{i}") };
            out.insert(
                key,
                serde_json::json!({
                    "file_name": file,
                    "formatting": "sharegpt",
                    "columns": {"messages": "conversations", "system": "system"},
                    "tags": {
                        "role_tag": "from",
                        "content_tag": "value",
                        "user_tag": "human",
                        "assistant_tag": "gpt",
                        "observation_tag": "observation"
                    }
                }),
            );
        }
    }
    serde_json::Value::Object(out)
}
