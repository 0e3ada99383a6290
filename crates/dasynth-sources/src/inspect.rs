//! Validating a stored file and describing the tables in it: read options, shape, warnings.
//! Each table of a multi-table file succeeds or fails on its own. Every reader is held to the
//! crawl's [`Limits`] before it allocates: the column count is read from a delimited file's
//! header before its fields are built, a sheet's cells are counted before it is laid out, a
//! SQLite table or view is counted before it is read.

use crate::limits::Limits;
use crate::read::{self, ReadError};
use crate::sniff::{self, Encoding};
use dasynth_core::catalog::{ReadOptions, TableFormat};
use polars::prelude::*;
use serde::{Deserialize, Serialize};
use std::io::BufRead;
use std::path::Path;

/// One table found in a file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableMeta {
    pub member: Option<String>,
    pub options: ReadOptions,
    pub n_rows: u64,
    pub n_columns: u64,
    pub warnings: Vec<String>,
}

/// A table (or a whole file when `member` is `None`) that failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableFailure {
    pub member: Option<String>,
    pub message: String,
}

fn fail(member: Option<String>, e: impl std::fmt::Display) -> TableFailure {
    TableFailure { member, message: e.to_string() }
}

/// Inspects every table in `path` under `limits`.
pub fn inspect(path: &Path, format: TableFormat, scratch: &Path, limits: &Limits) -> Vec<Result<TableMeta, TableFailure>> {
    let max_columns = limits.max_columns;
    let results = match format {
        TableFormat::Csv | TableFormat::Tsv => vec![inspect_delimited(path, format, scratch, max_columns)],
        TableFormat::Json | TableFormat::Jsonl | TableFormat::Arrow => {
            let o = ReadOptions::default();
            vec![
                read::read_table(read::TableRef { path, format, member: None, options: &o }, scratch)
                    .map_err(|e| fail(None, e))
                    .and_then(|df| shape(None, &df, o, Vec::new())),
            ]
        }
        TableFormat::Parquet => vec![inspect_parquet(path)],
        TableFormat::Xlsx | TableFormat::Xls => match crate::excel::read_workbook(path, limits.max_cells) {
            Err(e) => vec![Err(fail(None, e))],
            Ok(sheets) => sheets
                .into_iter()
                .map(|(name, sheet)| {
                    sheet.map_err(|e| fail(Some(name.clone()), e)).and_then(|sheet| {
                        let o = ReadOptions { skip_rows: sheet.skip_rows, ..ReadOptions::default() };
                        shape(Some(name.clone()), &sheet.frame, o, sheet.warnings)
                    })
                })
                .collect(),
        },
        TableFormat::Sqlite => match crate::sqlite::list_tables(path) {
            Err(e) => vec![Err(fail(None, e))],
            Ok(tables) if tables.is_empty() => vec![Err(fail(None, "the SQLite database has no tables"))],
            Ok(tables) => {
                let deadline = std::time::Instant::now() + limits.timeout();
                tables
                    .into_iter()
                    .map(|t| {
                        crate::sqlite::read_table_bounded(path, &t, limits.max_cells, deadline)
                            .map_err(|e| fail(Some(t.clone()), e))
                            .and_then(|df| shape(Some(t.clone()), &df, ReadOptions::default(), Vec::new()))
                    })
                    .collect()
            }
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

fn inspect_delimited(path: &Path, format: TableFormat, scratch: &Path, max_columns: u64) -> Result<TableMeta, TableFailure> {
    let encoding = sniff::detect_encoding(path).map_err(|e| fail(None, format!("cannot read: {e}")))?;
    let hint = matches!(format, TableFormat::Tsv).then_some(b'\t');
    let mut options = sniff::sniff_dialect(path, encoding, hint).map_err(|e| fail(None, format!("cannot read: {e}")))?;
    // The header's width, before anything is built per column (names, readers, frames).
    let width = header_fields(path, &options, max_columns).map_err(|e| fail(None, format!("cannot read: {e}")))?;
    if width > max_columns {
        return Err(fail(None, format!("the header has more than {max_columns} columns, the limit (crawl.max-columns)")));
    }
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

/// The number of fields of the first non-blank record (quote-aware, a quote opening a field
/// only at its start, as the readers do), counted without building them and only up to
/// `limit + 1`: a header of three million columns is refused after its first `limit` commas.
fn header_fields(path: &Path, o: &ReadOptions, limit: u64) -> std::io::Result<u64> {
    let (delim, quote) = (o.delimiter_byte(), o.quote_byte());
    let mut reader = std::io::BufReader::with_capacity(1 << 16, std::fs::File::open(path)?);
    let (mut fields, mut seen, mut at_field_start) = (1u64, false, true);
    let (mut in_quotes, mut just_closed) = (false, false);
    loop {
        let chunk = reader.fill_buf()?;
        if chunk.is_empty() {
            return Ok(if seen { fields } else { 0 });
        }
        let n = chunk.len();
        for &b in chunk {
            if in_quotes {
                if Some(b) == quote {
                    (in_quotes, just_closed) = (false, true);
                }
                continue;
            }
            if std::mem::take(&mut just_closed) && Some(b) == quote {
                // A doubled quote inside a quoted field: the field goes on.
                in_quotes = true;
                continue;
            }
            if Some(b) == quote && at_field_start {
                (in_quotes, at_field_start, seen) = (true, false, true);
            } else if b == delim {
                (fields, at_field_start, seen) = (fields + 1, true, true);
                if fields > limit {
                    return Ok(fields);
                }
            } else if b == b'\n' || b == b'\r' {
                if seen {
                    return Ok(fields);
                }
            } else {
                (at_field_start, seen) = (false, true);
            }
        }
        reader.consume(n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn width(text: &str, limit: u64) -> u64 {
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), text).unwrap();
        header_fields(f.path(), &ReadOptions::default(), limit).unwrap()
    }

    #[test]
    fn header_width_is_counted_quote_aware_and_stops_past_the_limit() {
        assert_eq!(width("a,b,c\n1,2,3\n", 100), 3);
        assert_eq!(width("\n\r\n\"a,\"\"b\",c\n1,2\n", 100), 2, "blank lines skipped, quoted commas and doubled quotes kept");
        assert_eq!(width("x\"y,z\n", 100), 2, "a quote inside a field is a plain character");
        assert_eq!(width("", 100), 0);
        // Three million columns: counting stops one past the limit.
        let wide = ",".repeat(3_000_000);
        assert_eq!(width(&wide, 20_000), 20_001);
    }

    #[test]
    fn a_header_past_the_column_limit_fails_before_its_columns_are_built() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wide.csv");
        // 3 million columns (12 MB): the file took 2.9 GB before the limit refused it.
        let header: String = (0..3_000_000).map(|i| if i == 0 { "c".to_string() } else { ",c".to_string() }).collect();
        std::fs::write(&path, format!("{header}\n")).unwrap();
        let limits = Limits { max_columns: 20_000, ..Limits::default() };
        let results = inspect(&path, TableFormat::Csv, dir.path(), &limits);
        let err = results[0].as_ref().unwrap_err();
        assert!(err.message.contains("more than 20000 columns") && err.message.contains("crawl.max-columns"), "{err:?}");
    }
}
