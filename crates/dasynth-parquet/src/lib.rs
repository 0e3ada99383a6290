//! Rows of serde structs to and from Parquet files.
//!
//! The run folder's tables (`catalog.parquet`, `tasks.parquet`, `verdicts.parquet`, ...) are
//! vectors of plain Rust structs. [`write_rows`] serializes them through JSON Lines into a
//! polars frame with an explicit schema, so nested fields become real Parquet structs and lists
//! that pandas, pyarrow and DuckDB read directly, and writes the file atomically with
//! statistics and a page index. [`read_rows`] is its inverse and names the row and field that
//! does not fit the type.
//!
//! [`columnar::Columns`] is the streaming path: rows serialized straight into Arrow columns, one
//! row group at a time, for files too large to hold as rows.
//!
//! Every file is written by [`parquet_writer`]: zstd, full statistics (so a page index), and the
//! plain Arrow schema in the footer ([`footer`]), so pandas, pyarrow and `datasets` see `string`
//! and `list` columns rather than polars' string views and large lists.

pub mod columnar;
pub mod footer;

use polars::prelude::*;
use std::path::{Path, PathBuf};

pub use polars::prelude::{DataType, Field, Schema};

/// A Parquet file of rows that cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum RowsError {
    #[error("no file at {}\nhint: run the stage that writes it first", path.display())]
    Missing { path: PathBuf },
    #[error("cannot read {}\nhint: the file is damaged or not Parquet; rerun the stage that writes it", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: PolarsError,
    },
    #[error("{} has an unexpected layout: {message}\nhint: it was written by another version of dasynth or edited; rerun the stage that writes it", path.display())]
    Layout { path: PathBuf, message: String },
    #[error("cannot write {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl RowsError {
    /// The file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            RowsError::Missing { path } | RowsError::Read { path, .. } | RowsError::Layout { path, .. } | RowsError::Write { path, .. } => {
                path
            }
        }
    }
}

/// Serializes rows through JSON Lines into a frame with the given schema.
pub fn frame<T: serde::Serialize>(rows: &[T], schema: Schema) -> Result<DataFrame, std::io::Error> {
    if rows.is_empty() {
        return Ok(DataFrame::empty_with_schema(&schema));
    }
    let mut ndjson = Vec::new();
    for r in rows {
        serde_json::to_writer(&mut ndjson, r).map_err(std::io::Error::other)?;
        ndjson.push(b'\n');
    }
    ndjson_frame(ndjson, Arc::new(schema))
}

/// Reads JSON Lines (one serialized row per line) into a frame with the given schema.
pub fn ndjson_frame(ndjson: Vec<u8>, schema: SchemaRef) -> Result<DataFrame, std::io::Error> {
    if ndjson.is_empty() {
        return Ok(DataFrame::empty_with_schema(&schema));
    }
    JsonReader::new(std::io::Cursor::new(ndjson))
        .with_json_format(JsonFormat::JsonLines)
        .with_schema(schema)
        .finish()
        .map_err(std::io::Error::other)
}

/// The zstd level of every file dasynth writes unless told otherwise (Arrow's default).
pub const DEFAULT_ZSTD_LEVEL: i32 = 1;

/// A Parquet writer with dasynth's settings: zstd at `zstd_level`, full statistics (which also
/// writes the column and offset indexes), and the plain Arrow schema of `schema` in the footer
/// together with `extra` key/value pairs.
pub fn parquet_writer<W: std::io::Write>(w: W, schema: &Schema, zstd_level: i32, extra: &[(String, String)]) -> ParquetWriter<W> {
    ParquetWriter::new(w)
        .with_compression(ParquetCompression::Zstd(polars_parquet::write::ZstdLevel::try_new(zstd_level).ok()))
        .with_statistics(StatisticsOptions::full())
        .with_key_value_metadata(Some(footer::footer_metadata(schema, extra)))
}

/// Writes rows as a Parquet file atomically, with statistics and a page index.
pub fn write_rows<T: serde::Serialize>(path: &Path, rows: &[T], schema: Schema) -> Result<(), RowsError> {
    let werr = |e: std::io::Error| RowsError::Write { path: path.to_path_buf(), source: e };
    let mut df = frame(rows, schema).map_err(werr)?;
    let file_schema = df.schema().as_ref().clone();
    dasynth_core::atomic::write_atomic_with(path, |f| {
        // Buffered: the Parquet writer makes thousands of writes of a few bytes each.
        let mut w = std::io::BufWriter::with_capacity(1 << 16, f);
        parquet_writer(&mut w, &file_schema, DEFAULT_ZSTD_LEVEL, &[]).finish(&mut df).map_err(std::io::Error::other)?;
        std::io::Write::flush(&mut w)
    })
    .map_err(|e| werr(std::io::Error::other(e)))
}

/// Reads a Parquet file of rows (the inverse of [`write_rows`]).
pub fn read_rows<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Vec<T>, RowsError> {
    let f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(RowsError::Missing { path: path.to_path_buf() }),
        Err(e) => return Err(RowsError::Read { path: path.to_path_buf(), source: e.into() }),
    };
    let mut df = ParquetReader::new(f).finish().map_err(|source| RowsError::Read { path: path.to_path_buf(), source })?;
    let mut buf = Vec::new();
    JsonWriter::new(&mut buf)
        .with_json_format(JsonFormat::JsonLines)
        .finish(&mut df)
        .map_err(|source| RowsError::Read { path: path.to_path_buf(), source })?;
    let mut rows = Vec::with_capacity(df.height());
    for (i, line) in buf.split(|&b| b == b'\n').filter(|l| !l.is_empty()).enumerate() {
        let row =
            serde_json::from_slice(line).map_err(|e| RowsError::Layout { path: path.to_path_buf(), message: format!("row {i}: {e}") })?;
        rows.push(row);
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Row {
        name: String,
        tags: Vec<String>,
        n: Option<u64>,
    }

    fn schema() -> Schema {
        Schema::from_iter([
            Field::new("name".into(), DataType::String),
            Field::new("tags".into(), DataType::List(Box::new(DataType::String))),
            Field::new("n".into(), DataType::UInt64),
        ])
    }

    #[test]
    fn rows_round_trip_and_errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rows.parquet");
        let rows = vec![Row { name: "a".into(), tags: vec!["x".into()], n: Some(3) }, Row { name: "b".into(), tags: vec![], n: None }];
        write_rows(&path, &rows, schema()).unwrap();
        assert_eq!(read_rows::<Row>(&path).unwrap(), rows);
        write_rows::<Row>(&path, &[], schema()).unwrap();
        assert!(read_rows::<Row>(&path).unwrap().is_empty());

        let missing = read_rows::<Row>(&dir.path().join("none.parquet")).unwrap_err();
        assert!(matches!(missing, RowsError::Missing { .. }) && missing.to_string().contains("none.parquet"));
        std::fs::write(&path, b"not parquet").unwrap();
        let damaged = read_rows::<Row>(&path).unwrap_err().to_string();
        assert!(damaged.contains("rows.parquet") && damaged.contains("hint:"), "{damaged}");
    }
}
