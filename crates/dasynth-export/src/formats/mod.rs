//! One file per exported config: its Parquet schema and how a trajectory (or a task) becomes
//! its row. The row types live in `dasynth_core::export`; the schemas here list the same fields
//! in the same order, every column typed.

pub mod deepanalyze;
pub mod deepanalyze_rl;
pub mod sft;
pub mod sharegpt;
pub mod verl;

use dasynth_core::config::ExportFormat;
use dasynth_core::export::RowMeta;
use dasynth_core::trajectory::Trajectory;
use dasynth_parquet::{DataType, Field, Schema};

pub(crate) fn field(name: &str, dtype: DataType) -> Field {
    Field::new(name.into(), dtype)
}

pub(crate) fn string() -> DataType {
    DataType::String
}

pub(crate) fn list(inner: DataType) -> DataType {
    DataType::List(Box::new(inner))
}

pub(crate) fn strukt(fields: Vec<Field>) -> DataType {
    DataType::Struct(fields)
}

/// `list<struct<role, content>>`: chat messages.
pub(crate) fn messages() -> DataType {
    list(strukt(vec![field("role", string()), field("content", string())]))
}

/// The columns of [`RowMeta`], in order.
pub(crate) fn meta_fields() -> Vec<Field> {
    vec![
        field("id", string()),
        field("task_id", string()),
        field("family", string()),
        field("stage", DataType::UInt32),
        field("difficulty", string()),
        field("template", string()),
        field("answer_type", string()),
        field("table_ids", list(string())),
        field("licences", list(string())),
        field("teacher", string()),
        field("model", string()),
        field("input_tokens", DataType::UInt64),
        field("output_tokens", DataType::UInt64),
        field("turns", DataType::UInt32),
        field("code_cells", DataType::UInt32),
        field("score", DataType::Float64),
        field("answer_passed", DataType::Boolean),
        field("replay", string()),
        field("grounded_share", DataType::Float64),
        field("judge_score", DataType::Float64),
    ]
}

/// The Parquet schema of a config.
pub fn schema(format: ExportFormat) -> Schema {
    match format {
        ExportFormat::Sft | ExportFormat::SftStudent => sft::schema(),
        ExportFormat::Deepanalyze => deepanalyze::schema(),
        ExportFormat::Sharegpt => sharegpt::schema(),
        ExportFormat::Rl => verl::schema(),
        ExportFormat::DeepanalyzeRl => deepanalyze_rl::schema(),
    }
}

/// Assistant turns and code cells of a trajectory.
pub(crate) fn turn_counts(t: &Trajectory) -> (u32, u32) {
    let turns = t.messages.iter().filter(|m| m.role == "assistant").count() as u32;
    let cells = t.messages.iter().filter(|m| m.role == "execute").count() as u32;
    (turns, cells)
}
