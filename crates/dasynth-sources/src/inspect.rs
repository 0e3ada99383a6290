//! Validating a stored file and describing the tables in it: read options, shape, warnings.
//! Each table of a multi-table file succeeds or fails on its own.

use crate::read::{self, ReadError};
use crate::sniff::{self, Encoding};
use dasynth_core::catalog::{ReadOptions, TableFormat};
use polars::prelude::*;
use std::path::Path;

/// One table found in a file.
#[derive(Debug, Clone)]
pub struct TableMeta {
    pub member: Option<String>,
    pub options: ReadOptions,
    pub n_rows: u64,
    pub n_columns: u64,
    pub warnings: Vec<String>,
}

/// A table (or a whole file when `member` is `None`) that failed.
#[derive(Debug)]
pub struct TableFailure {
    pub member: Option<String>,
    pub message: String,
}

fn fail(member: Option<String>, e: impl std::fmt::Display) -> TableFailure {
    TableFailure { member, message: e.to_string() }
}

/// Inspects every table in `path`. `shown` is how the file is named in messages.
pub fn inspect(path: &Path, format: TableFormat, scratch: &Path, max_columns: u64) -> Vec<Result<TableMeta, TableFailure>> {
    let results = match format {
        TableFormat::Csv | TableFormat::Tsv => vec![inspect_delimited(path, format, scratch)],
        TableFormat::Json | TableFormat::Jsonl | TableFormat::Arrow => {
            let o = ReadOptions::default();
            vec![
                read::read_table(read::TableRef { path, format, member: None, options: &o }, scratch)
                    .map_err(|e| fail(None, e))
                    .and_then(|df| shape(None, &df, o, Vec::new())),
            ]
        }
        TableFormat::Parquet => vec![inspect_parquet(path)],
        TableFormat::Xlsx | TableFormat::Xls => match crate::excel::sheet_names(path) {
            Err(e) => vec![Err(fail(None, e))],
            Ok(sheets) => sheets
                .into_iter()
                .map(|s| {
                    crate::excel::read_sheet(path, &s, 0).map_err(|e| fail(Some(s.clone()), e)).and_then(|sheet| {
                        let o = ReadOptions { skip_rows: sheet.skip_rows, ..ReadOptions::default() };
                        shape(Some(s.clone()), &sheet.frame, o, sheet.warnings)
                    })
                })
                .collect(),
        },
        TableFormat::Sqlite => match crate::sqlite::list_tables(path) {
            Err(e) => vec![Err(fail(None, e))],
            Ok(tables) if tables.is_empty() => vec![Err(fail(None, "the SQLite database has no tables"))],
            Ok(tables) => tables
                .into_iter()
                .map(|t| {
                    crate::sqlite::read_table(path, &t)
                        .map_err(|e| fail(Some(t.clone()), e))
                        .and_then(|df| shape(Some(t.clone()), &df, ReadOptions::default(), Vec::new()))
                })
                .collect(),
        },
    };
    results
        .into_iter()
        .map(|r| {
            r.and_then(|m| {
                if m.n_columns > max_columns {
                    Err(fail(m.member, format!("{} columns exceed the limit of {max_columns} (crawl.max-columns)", m.n_columns)))
                } else if m.n_columns == 0 {
                    Err(fail(m.member, "the table has no columns"))
                } else {
                    Ok(m)
                }
            })
        })
        .collect()
}

fn shape(member: Option<String>, df: &DataFrame, options: ReadOptions, warnings: Vec<String>) -> Result<TableMeta, TableFailure> {
    if df.width() == 0 {
        return Err(fail(member, "the table is empty"));
    }
    Ok(TableMeta { member, options, n_rows: df.height() as u64, n_columns: df.width() as u64, warnings })
}

fn inspect_delimited(path: &Path, format: TableFormat, scratch: &Path) -> Result<TableMeta, TableFailure> {
    let encoding = sniff::detect_encoding(path).map_err(|e| fail(None, format!("cannot read: {e}")))?;
    let hint = matches!(format, TableFormat::Tsv).then_some(b'\t');
    let mut options = sniff::sniff_dialect(path, encoding, hint).map_err(|e| fail(None, format!("cannot read: {e}")))?;
    let scan = sniff::scan_delimited(path, &options).map_err(|e| fail(None, e))?;
    let mut warnings = Vec::new();
    if encoding == Encoding::Windows1252 {
        warnings.push("not valid UTF-8; read as Windows-1252".to_string());
    }
    let (names, changed) = read::mangle_names(&scan.header);
    if changed && options.has_header {
        warnings.push(format!("empty or repeated column names were renamed: {}", names.join(", ")));
    }
    // Parse a prefix with polars so type problems show up now, not in a later stage.
    let prefix = read::read_delimited(path, &options, Some(1000), scratch).map_err(|e| fail(None, e))?;
    if prefix.width() as u64 != scan.fields {
        return Err(fail(None, format!("parsed {} columns but the header has {}", prefix.width(), scan.fields)));
    }
    if scan.records == 0 {
        warnings.push("the table has a header but no rows".to_string());
    }
    options.skip_rows = 0;
    Ok(TableMeta { member: None, options, n_rows: scan.records, n_columns: scan.fields, warnings })
}

fn inspect_parquet(path: &Path) -> Result<TableMeta, TableFailure> {
    let f = read::open(path).map_err(|e| fail(None, e))?;
    let mut reader = ParquetReader::new(f);
    let n_rows = reader.num_rows().map_err(|e| fail(None, ReadError::invalid(path, format!("invalid Parquet: {e}"))))?;
    let schema = reader.schema().map_err(|e| fail(None, ReadError::invalid(path, format!("invalid Parquet: {e}"))))?;
    Ok(TableMeta {
        member: None,
        options: ReadOptions::default(),
        n_rows: n_rows as u64,
        n_columns: schema.len() as u64,
        warnings: Vec::new(),
    })
}
