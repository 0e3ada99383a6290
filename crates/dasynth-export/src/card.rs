//! The dataset card (`export/README.md`): YAML front matter generated from the export itself
//! (so `configs`, features and example counts always match the files), and prose rendered from
//! `datasets-card/card.md.j2`.

use crate::error::ExportError;
use dasynth_parquet::{DataType, Schema};
use polars::prelude::SchemaExt;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write;

/// The card template, built into the binary.
pub const TEMPLATE: &str = include_str!("../../../datasets-card/card.md.j2");
const TEMPLATE_NAME: &str = "datasets-card/card.md.j2";

/// One config as the card describes it.
#[derive(Debug, Clone, Serialize)]
pub struct CardConfig {
    pub name: String,
    pub description: String,
    /// Rows per split, in split order (splits without rows left out).
    pub rows: BTreeMap<String, u64>,
    /// Split order for the YAML (train, validation, test).
    #[serde(skip)]
    pub split_order: Vec<(String, u64, u64)>,
    pub files: u64,
    pub bytes: u64,
    #[serde(skip)]
    pub schema: Schema,
    #[serde(rename = "schema")]
    pub columns: Vec<Column>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Column {
    pub name: String,
    #[serde(rename = "type")]
    pub dtype: String,
}

/// Everything the card says besides the configs.
#[derive(Debug, Clone, Serialize)]
pub struct CardFacts {
    pub pretty_name: String,
    pub license: String,
    pub licence_note: String,
    #[serde(skip)]
    pub license_yaml: Vec<(String, String)>,
    pub tags: Vec<String>,
    pub source_datasets: Vec<String>,
    pub sources: Vec<serde_json::Value>,
    pub tables: Vec<serde_json::Value>,
    pub teachers: Vec<serde_json::Value>,
    pub templates: Vec<serde_json::Value>,
    pub families: Vec<serde_json::Value>,
    pub filters: serde_json::Value,
    pub rl: serde_json::Value,
    pub example: Option<serde_json::Value>,
    pub repo_hint: String,
}

/// A YAML scalar: JSON strings are valid YAML double-quoted scalars.
fn q(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// The Hugging Face feature type of a column, written at `indent` (the column's `- name:` line
/// is written by the caller).
fn feature(out: &mut String, dtype: &DataType, indent: usize) {
    let pad = " ".repeat(indent);
    match dtype {
        DataType::List(inner) => match inner.as_ref() {
            DataType::Struct(fields) => {
                let _ = writeln!(out, "{pad}list:");
                features(out, fields.iter().map(|f| (f.name.as_str(), &f.dtype)), indent);
            }
            scalar => {
                let _ = writeln!(out, "{pad}list: {}", dtype_name(scalar));
            }
        },
        DataType::Struct(fields) => {
            let _ = writeln!(out, "{pad}struct:");
            features(out, fields.iter().map(|f| (f.name.as_str(), &f.dtype)), indent);
        }
        scalar => {
            let _ = writeln!(out, "{pad}dtype: {}", dtype_name(scalar));
        }
    }
}

fn features<'a>(out: &mut String, fields: impl Iterator<Item = (&'a str, &'a DataType)>, indent: usize) {
    let pad = " ".repeat(indent);
    for (name, dtype) in fields {
        let _ = writeln!(out, "{pad}- name: {name}");
        feature(out, dtype, indent + 2);
    }
}

/// The `datasets` dtype name of a scalar polars type.
fn dtype_name(d: &DataType) -> &'static str {
    match d {
        DataType::Boolean => "bool",
        DataType::UInt8 => "uint8",
        DataType::UInt16 => "uint16",
        DataType::UInt32 => "uint32",
        DataType::UInt64 => "uint64",
        DataType::Int8 => "int8",
        DataType::Int16 => "int16",
        DataType::Int32 => "int32",
        DataType::Int64 => "int64",
        DataType::Float32 => "float32",
        DataType::Float64 => "float64",
        DataType::Binary => "binary",
        _ => "string",
    }
}

/// A column type as the card's schema tables show it.
fn type_text(d: &DataType) -> String {
    match d {
        DataType::List(inner) => format!("list<{}>", type_text(inner)),
        DataType::Struct(fields) => {
            format!("struct<{}>", fields.iter().map(|f| format!("{}: {}", f.name, type_text(&f.dtype))).collect::<Vec<_>>().join(", "))
        }
        other => dtype_name(other).to_string(),
    }
}

pub fn columns(schema: &Schema) -> Vec<Column> {
    schema.iter_fields().map(|f| Column { name: f.name.to_string(), dtype: type_text(&f.dtype) }).collect()
}

/// The Hub's size category for a number of rows.
pub fn size_category(n: u64) -> &'static str {
    match n {
        0..1_000 => "n<1K",
        1_000..10_000 => "1K<n<10K",
        10_000..100_000 => "10K<n<100K",
        100_000..1_000_000 => "100K<n<1M",
        1_000_000..10_000_000 => "1M<n<10M",
        10_000_000..100_000_000 => "10M<n<100M",
        _ => "100M<n<1B",
    }
}

/// The YAML front matter (without the `---` lines).
pub fn front_matter(facts: &CardFacts, configs: &[CardConfig]) -> String {
    let mut y = String::new();
    for (k, v) in &facts.license_yaml {
        let _ = writeln!(y, "{k}: {v}");
    }
    let _ = writeln!(y, "pretty_name: {}", q(&facts.pretty_name));
    y.push_str("task_categories:\n- text-generation\n- question-answering\n- table-question-answering\n");
    y.push_str("language:\n- en\n");
    y.push_str("tags:\n");
    for t in &facts.tags {
        let _ = writeln!(y, "- {}", q(t));
    }
    let most = configs.iter().map(|c| c.rows.values().sum::<u64>()).max().unwrap_or(0);
    let _ = writeln!(y, "size_categories:\n- {}", size_category(most));
    y.push_str("source_datasets:\n");
    for s in &facts.source_datasets {
        let _ = writeln!(y, "- {}", q(s));
    }
    y.push_str("configs:\n");
    for (i, c) in configs.iter().enumerate() {
        let _ = writeln!(y, "- config_name: {}", c.name);
        y.push_str("  data_files:\n");
        for (split, _, _) in &c.split_order {
            let _ = writeln!(y, "  - split: {split}\n    path: {}", q(&format!("data/{}/{split}-*.parquet", c.name)));
        }
        if i == 0 {
            y.push_str("  default: true\n");
        }
    }
    y.push_str("dataset_info:\n");
    for c in configs {
        let _ = writeln!(y, "- config_name: {}", c.name);
        y.push_str("  features:\n");
        features(&mut y, c.schema.iter().map(|(n, d)| (n.as_str(), d)), 2);
        y.push_str("  splits:\n");
        let mut size = 0;
        for (split, rows, bytes) in &c.split_order {
            let _ = writeln!(y, "  - name: {split}\n    num_bytes: {bytes}\n    num_examples: {rows}");
            size += bytes;
        }
        let _ = writeln!(y, "  download_size: {}\n  dataset_size: {size}", c.bytes);
    }
    y
}

/// Renders the whole card.
pub fn render(facts: &CardFacts, configs: &[CardConfig], formats: &[&str]) -> Result<String, ExportError> {
    let err = |e: minijinja::Error| ExportError::Card { template: TEMPLATE_NAME.into(), message: e.to_string() };
    let mut env = minijinja::Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env.add_template(TEMPLATE_NAME, TEMPLATE).map_err(err)?;
    let mut cx = serde_json::to_value(facts).map_err(|e| ExportError::Card { template: TEMPLATE_NAME.into(), message: e.to_string() })?;
    if let Some(m) = cx.as_object_mut() {
        m.insert("front_matter".into(), front_matter(facts, configs).into());
        m.insert("configs".into(), serde_json::to_value(configs).unwrap_or_default());
        for f in ["sft", "deepanalyze", "rl", "deepanalyze-rl", "sharegpt"] {
            m.insert(format!("has_{}", f.replace('-', "_")), formats.contains(&f).into());
        }
    }
    env.get_template(TEMPLATE_NAME).and_then(|t| t.render(cx)).map_err(err)
}

/// The card's licence: one id when every table has the same declared licence, `unknown` when
/// none declared one, else `other` with the list in `license_details`.
pub fn combine_licences(licences: &[Option<String>], override_: Option<&str>) -> (String, Vec<(String, String)>, String) {
    if let Some(l) = override_ {
        return (
            l.to_string(),
            vec![("license".into(), q(l))],
            format!("The dataset is released under `{l}` (set in the export settings)."),
        );
    }
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for l in licences {
        *counts.entry(l.clone().map(|s| s.to_lowercase()).unwrap_or_else(|| "unknown".into())).or_default() += 1;
    }
    match counts.len() {
        0 => ("unknown".into(), vec![("license".into(), "unknown".into())], "No source table declared a licence.".into()),
        1 => {
            let l = counts.keys().next().cloned().unwrap_or_default();
            let note = if l == "unknown" {
                "No source table declared a licence: check each source's terms before use.".to_string()
            } else {
                format!("Every source table is licensed `{l}`, and so is this dataset.")
            };
            (l.clone(), vec![("license".into(), q(&l))], note)
        }
        _ => {
            let list: Vec<String> = counts.iter().map(|(l, n)| format!("{l} ({n} table{})", if *n == 1 { "" } else { "s" })).collect();
            let details = format!("The source tables carry different licences: {}.", list.join(", "));
            (
                "other".into(),
                vec![
                    ("license".into(), "other".into()),
                    ("license_name".into(), "mixed-source-licences".into()),
                    ("license_details".into(), q(&details)),
                ],
                format!("{details} Each row lists its tables' licences in `licences`; the table below names each table's."),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn licences_combine() {
        assert_eq!(combine_licences(&[Some("MIT".into()), Some("mit".into())], None).0, "mit");
        assert_eq!(combine_licences(&[Some("MIT".into()), Some("CC0-1.0".into())], None).0, "other");
        assert_eq!(combine_licences(&[None], None).0, "unknown");
        assert_eq!(combine_licences(&[None], Some("apache-2.0")).0, "apache-2.0");
    }

    #[test]
    fn features_nest_lists_and_structs() {
        let s = crate::formats::schema(dasynth_core::config::ExportFormat::Rl);
        let mut y = String::new();
        features(&mut y, s.iter().map(|(n, d)| (n.as_str(), d)), 2);
        assert!(y.contains("  - name: prompt\n    list:\n    - name: role\n      dtype: string\n"), "{y}");
        assert!(y.contains("  - name: extra_info\n    struct:\n    - name: split\n"), "{y}");
        assert!(y.contains("    - name: tables\n      list:\n      - name: name\n"), "{y}");
    }
}
