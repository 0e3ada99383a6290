//! The task record's Parquet schema (`tasks.parquet`; the record is `dasynth_core::task`'s), the
//! data files a task shows its agent, and the pandas code that loads a table exactly the way
//! dasynth read it.

use crate::checker::CheckerSpec;
use crate::template::py_str;
use dasynth_core::catalog::{CatalogEntry, TableFormat};
use dasynth_core::layout::RunDir;
use polars::prelude::{DataType, Field, Schema};
use std::path::{Path, PathBuf};

pub use dasynth_core::task::{Task, TaskFile};

/// What only this crate can read from a task: its checker spec.
pub trait TaskExt {
    fn checker_spec(&self) -> Option<CheckerSpec>;
}

impl TaskExt for Task {
    fn checker_spec(&self) -> Option<CheckerSpec> {
        serde_json::from_str(&self.checker).ok()
    }
}

/// The Parquet schema of `tasks.parquet`.
pub fn schema() -> Schema {
    let s = DataType::String;
    let mut fields = Vec::new();
    for name in
        ["id", "family", "stage", "difficulty", "template", "template_version", "template_sha256", "prompt", "instruction", "source"]
    {
        let dt = match name {
            "stage" | "template_version" => DataType::UInt32,
            _ => s.clone(),
        };
        fields.push(Field::new(name.into(), dt));
    }
    for name in ["table_ids", "files", "answer_type", "ground_truth", "checker", "solution", "bindings"] {
        fields.push(Field::new(name.into(), s.clone()));
    }
    fields.push(Field::new("seed".into(), DataType::UInt64));
    fields.push(Field::new("variant".into(), DataType::UInt32));
    Schema::from_iter(fields)
}

/// The file name the agent sees for a table: the crawled file's own name; Parquet and Arrow
/// tables become CSV (the sandbox's pandas has no pyarrow).
pub fn visible_name(e: &CatalogEntry) -> String {
    let last = e.uri.rsplit(['/', '\\']).next().unwrap_or(&e.uri);
    let last = last.split(['?', '#']).next().unwrap_or(last);
    let mut name = dasynth_sources::detect::strip_compression_suffix(last).to_string();
    if name.is_empty() || name.starts_with('.') {
        name = format!("{}.{}", e.id, e.format.map_or("csv", |f| f.extension()));
    }
    if needs_conversion(e) {
        let stem = Path::new(&name).file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_else(|| e.id.clone());
        name = format!("{stem}.csv");
    }
    name
}

pub fn needs_conversion(e: &CatalogEntry) -> bool {
    matches!(e.format, Some(TableFormat::Parquet | TableFormat::Arrow))
}

/// Where a converted copy of a table lives, relative to the run folder.
pub fn converted_rel_path(e: &CatalogEntry) -> String {
    RunDir::task_file_rel_path(&e.id, &visible_name(e))
}

/// How the prompt refers to a table.
pub fn table_ref(e: &CatalogEntry) -> String {
    let file = visible_name(e);
    match (e.format, e.member.as_deref()) {
        (Some(TableFormat::Sqlite), Some(m)) => format!("the `{m}` table of the SQLite database `{file}`"),
        (Some(TableFormat::Xlsx | TableFormat::Xls), Some(m)) => format!("the sheet `{m}` of `{file}`"),
        _ => format!("`{file}`"),
    }
}

/// chrono's format → the `format=` pandas needs. chrono's `%.f` is an optional fraction, which
/// strptime cannot say; those formats are ISO 8601, which pandas parses as such.
pub fn python_date_format(fmt: &str) -> String {
    if fmt.contains("%.f") { "ISO8601".to_string() } else { fmt.to_string() }
}

/// pandas code that loads a table into `var` the way an analyst would, which is the way dasynth
/// read it: pandas' defaults (its missing-value text included) plus only the options the file
/// needs (delimiter, encoding, skipped rows, sheet, SQLite table). `dates` are text columns to
/// parse, with their formats.
pub fn pandas_loader(e: &CatalogEntry, var: &str, column_names: &[String], dates: &[(String, String)]) -> String {
    let file = py_str(&visible_name(e));
    let mut code = String::new();
    match e.format {
        Some(TableFormat::Csv | TableFormat::Tsv) => {
            let o = e.read_options.clone().unwrap_or_default();
            let mut args = vec![file];
            if o.delimiter != "," {
                args.push(format!("sep={}", py_str(&o.delimiter)));
            }
            match o.encoding.as_str() {
                "utf-8" => {}
                "windows-1252" => args.push("encoding=\"cp1252\"".into()),
                other => args.push(format!("encoding={}", py_str(other))),
            }
            if let Some(q) = o.quote.as_deref()
                && q != "\""
            {
                args.push(format!("quotechar={}", py_str(q)));
            }
            if o.skip_rows > 0 {
                args.push(format!("skiprows={}", o.skip_rows));
            }
            if !o.has_header {
                let names: Vec<String> = column_names.iter().map(|n| py_str(n)).collect();
                args.push(format!("header=None, names=[{}]", names.join(", ")));
            }
            code.push_str(&format!("{var} = pd.read_csv({})\n", args.join(", ")));
        }
        Some(TableFormat::Parquet | TableFormat::Arrow) => code.push_str(&format!("{var} = pd.read_csv({file})\n")),
        Some(TableFormat::Json) => code.push_str(&format!("{var} = pd.read_json({file})\n")),
        Some(TableFormat::Jsonl) => code.push_str(&format!("{var} = pd.read_json({file}, lines=True)\n")),
        Some(TableFormat::Xlsx | TableFormat::Xls) => {
            let sheet = py_str(e.member.as_deref().unwrap_or_default());
            let skip = e.read_options.as_ref().map_or(0, |o| o.skip_rows);
            let skip = if skip > 0 { format!(", skiprows={skip}") } else { String::new() };
            code.push_str(&format!("{var} = pd.read_excel({file}, sheet_name={sheet}{skip})\n"));
        }
        Some(TableFormat::Sqlite) => {
            let table = e.member.as_deref().unwrap_or_default().replace('"', "\"\"");
            // Read-only and immutable: the data folder is read-only, so SQLite must not try to
            // create a journal or take locks there.
            let uri = py_str(&format!("file:{}?mode=ro&immutable=1", visible_name(e)));
            code.push_str(&format!(
                "{var} = pd.read_sql_query({}, sqlite3.connect({uri}, uri=True))\n",
                py_str(&format!("SELECT * FROM \"{table}\""))
            ));
        }
        None => code.push_str(&format!("{var} = pd.read_csv({file})\n")),
    }
    for (c, fmt) in dates {
        code.push_str(&format!(
            "{var}[{c}] = pd.to_datetime({var}[{c}], format={f}, errors=\"coerce\")\n",
            c = py_str(c),
            f = py_str(&python_date_format(fmt))
        ));
    }
    code
}

/// The imports a reference solution starts with: pandas and numpy, and `sqlite3` when one of
/// its tables is in a SQLite file.
pub fn solution_prelude(entries: &[&CatalogEntry]) -> String {
    let mut p = String::from("import pandas as pd\nimport numpy as np\n");
    if entries.iter().any(|e| e.format == Some(TableFormat::Sqlite)) {
        p.push_str("import sqlite3\n");
    }
    p
}

/// Human size in DeepAnalyze's style (`10.6KB`).
pub fn human_size(bytes: u64) -> String {
    let b = bytes as f64;
    if b >= 1024.0 * 1024.0 { format!("{:.1}MB", b / 1024.0 / 1024.0) } else { format!("{:.1}KB", b / 1024.0) }
}

/// The prompt: instruction plus the data files' names and sizes.
pub fn deepanalyze_prompt(instruction: &str, files: &[TaskFile]) -> String {
    let mut p = format!("# Instruction\n{}\n\n# Data\n", instruction.trim());
    for (i, f) in files.iter().enumerate() {
        // The spacing of Python's json.dumps, as in DeepAnalyze's data.
        let name = serde_json::to_string(&f.name).unwrap_or_default();
        p.push_str(&format!("File {}: {{\"name\": {name}, \"size\": \"{}\"}}\n", i + 1, human_size(f.bytes)));
    }
    p
}

/// Makes `<run>/workspaces/<task id>/` hold the task's files (hard links, copies where links
/// fail) and returns it. Idempotent.
pub fn stage_workspace(run: &RunDir, task: &Task) -> std::io::Result<PathBuf> {
    let dir = run.workspace(&task.id);
    std::fs::create_dir_all(&dir)?;
    for f in task.files() {
        let target = dir.join(&f.name);
        if target.metadata().is_ok_and(|m| m.len() == f.bytes) {
            continue;
        }
        let _ = std::fs::remove_file(&target);
        let src = run.resolve(&f.path);
        if std::fs::hard_link(&src, &target).is_err() {
            std::fs::copy(&src, &target).map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", src.display())))?;
        }
    }
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dasynth_core::catalog::{ReadOptions, Status};

    fn entry(uri: &str, format: TableFormat, member: Option<&str>) -> CatalogEntry {
        CatalogEntry {
            id: "abc".into(),
            name: "t".into(),
            source: "s".into(),
            uri: uri.into(),
            final_uri: None,
            format: Some(format),
            compression: None,
            path: Some("tables/x".into()),
            member: member.map(str::to_string),
            sha256: None,
            bytes: Some(2048),
            licence: None,
            description: None,
            read_options: Some(ReadOptions { delimiter: ";".into(), encoding: "windows-1252".into(), ..Default::default() }),
            n_rows: None,
            n_columns: None,
            status: Status::Ok,
            error: None,
            warnings: vec![],
            provenance: vec![],
            crawled_at: String::new(),
        }
    }

    #[test]
    fn loaders_reproduce_read_options() {
        let e = entry("https://x.org/data/sales.csv.gz?x=1", TableFormat::Csv, None);
        assert_eq!(visible_name(&e), "sales.csv");
        let code = pandas_loader(&e, "df", &[], &[("when".into(), "%Y-%m-%d %H:%M:%S%.f".into())]);
        assert!(code.starts_with("df = pd.read_csv(\"sales.csv\", sep=\";\", encoding=\"cp1252\")\n"), "{code}");
        assert!(code.contains("format=\"ISO8601\""), "{code}");
        let s = entry("sources/demo/chinook.sqlite", TableFormat::Sqlite, Some("Track"));
        assert!(pandas_loader(&s, "tracks", &[], &[]).contains("SELECT * FROM \\\"Track\\\""));
        assert_eq!(table_ref(&s), "the `Track` table of the SQLite database `chinook.sqlite`");
        let p = entry("sources/demo/w.parquet", TableFormat::Parquet, None);
        assert_eq!(visible_name(&p), "w.csv");
        assert_eq!(pandas_loader(&p, "w", &[], &[]), "w = pd.read_csv(\"w.csv\")\n");
        assert!(!solution_prelude(&[&e, &p]).contains("sqlite3"));
        assert!(solution_prelude(&[&e, &s]).contains("import sqlite3\n"));
    }

    #[test]
    fn prompt_has_deepanalyze_layout() {
        let p = deepanalyze_prompt("Do it.", &[TaskFile { name: "a.csv".into(), path: "x".into(), bytes: 10854 }]);
        assert_eq!(p, "# Instruction\nDo it.\n\n# Data\nFile 1: {\"name\": \"a.csv\", \"size\": \"10.6KB\"}\n");
    }
}
