//! Reading and writing `catalog.parquet`. Rows go through serde → JSON Lines → polars with an
//! explicit schema, so nested fields (read options, provenance) become real Parquet structs and
//! lists that pandas, pyarrow and DuckDB read directly.

use dasynth_core::catalog::CatalogEntry;
use polars::prelude::*;
use std::path::{Path, PathBuf};

/// A catalog that cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("cannot read catalog {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: PolarsError,
    },
    #[error("catalog {} has an unexpected layout: {message}\nhint: rerun `dasynth crawl` to rebuild it", path.display())]
    Layout { path: PathBuf, message: String },
    #[error("cannot write catalog {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("no catalog at {}\nhint: run `dasynth crawl SOURCE... --out {}` first", path.display(), path.parent().map(|p| p.display().to_string()).unwrap_or_default())]
    Missing { path: PathBuf },
}

fn read_options_dtype() -> DataType {
    DataType::Struct(vec![
        Field::new("delimiter".into(), DataType::String),
        Field::new("quote".into(), DataType::String),
        Field::new("has_header".into(), DataType::Boolean),
        Field::new("encoding".into(), DataType::String),
        Field::new("skip_rows".into(), DataType::UInt32),
    ])
}

fn provenance_dtype() -> DataType {
    DataType::List(Box::new(DataType::Struct(vec![
        Field::new("source".into(), DataType::String),
        Field::new("uri".into(), DataType::String),
        Field::new("licence".into(), DataType::String),
    ])))
}

/// The Parquet schema of the catalog, in column order.
pub fn schema() -> Schema {
    let s = DataType::String;
    Schema::from_iter([
        Field::new("id".into(), s.clone()),
        Field::new("name".into(), s.clone()),
        Field::new("source".into(), s.clone()),
        Field::new("uri".into(), s.clone()),
        Field::new("format".into(), s.clone()),
        Field::new("compression".into(), s.clone()),
        Field::new("path".into(), s.clone()),
        Field::new("member".into(), s.clone()),
        Field::new("sha256".into(), s.clone()),
        Field::new("bytes".into(), DataType::UInt64),
        Field::new("licence".into(), s.clone()),
        Field::new("description".into(), s.clone()),
        Field::new("read_options".into(), read_options_dtype()),
        Field::new("n_rows".into(), DataType::UInt64),
        Field::new("n_columns".into(), DataType::UInt64),
        Field::new("status".into(), s.clone()),
        Field::new("error".into(), s.clone()),
        Field::new("warnings".into(), DataType::List(Box::new(s.clone()))),
        Field::new("provenance".into(), provenance_dtype()),
        Field::new("crawled_at".into(), s),
    ])
}

/// Writes rows as a Parquet file atomically, with statistics and a page index.
pub fn write(path: &Path, rows: &[CatalogEntry]) -> Result<(), CatalogError> {
    write_rows(path, rows, schema())
}

/// Serializes any rows through JSON Lines into a frame with the given schema and writes Parquet.
pub fn write_rows<T: serde::Serialize>(path: &Path, rows: &[T], schema: Schema) -> Result<(), CatalogError> {
    let werr = |e: std::io::Error| CatalogError::Write { path: path.to_path_buf(), source: e };
    let mut ndjson = Vec::new();
    for r in rows {
        serde_json::to_writer(&mut ndjson, r).map_err(|e| werr(std::io::Error::other(e)))?;
        ndjson.push(b'\n');
    }
    let schema = Arc::new(schema);
    let mut df = if rows.is_empty() {
        DataFrame::empty_with_schema(&schema)
    } else {
        JsonReader::new(std::io::Cursor::new(ndjson))
            .with_json_format(JsonFormat::JsonLines)
            .with_schema(schema.clone())
            .finish()
            .map_err(|e| werr(std::io::Error::other(e)))?
    };
    dasynth_core::atomic::write_atomic_with(path, |f| {
        // Buffered: the Parquet writer makes thousands of writes of a few bytes each.
        let mut w = std::io::BufWriter::with_capacity(1 << 16, f);
        ParquetWriter::new(&mut w).with_statistics(StatisticsOptions::full()).finish(&mut df).map_err(std::io::Error::other)?;
        std::io::Write::flush(&mut w)
    })
    .map_err(|e| CatalogError::Write { path: path.to_path_buf(), source: std::io::Error::other(e) })
}

/// Reads the catalog back into rows.
pub fn read(path: &Path) -> Result<Vec<CatalogEntry>, CatalogError> {
    if !path.exists() {
        return Err(CatalogError::Missing { path: path.to_path_buf() });
    }
    read_rows(path)
}

/// Reads any Parquet file of serde rows (the inverse of [`write_rows`]).
pub fn read_rows<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Vec<T>, CatalogError> {
    let f = std::fs::File::open(path).map_err(|e| CatalogError::Read { path: path.to_path_buf(), source: e.into() })?;
    let mut df = ParquetReader::new(f).finish().map_err(|source| CatalogError::Read { path: path.to_path_buf(), source })?;
    let mut buf = Vec::new();
    JsonWriter::new(&mut buf)
        .with_json_format(JsonFormat::JsonLines)
        .finish(&mut df)
        .map_err(|source| CatalogError::Read { path: path.to_path_buf(), source })?;
    let mut rows = Vec::with_capacity(df.height());
    for (i, line) in buf.split(|&b| b == b'\n').filter(|l| !l.is_empty()).enumerate() {
        let row = serde_json::from_slice(line)
            .map_err(|e| CatalogError::Layout { path: path.to_path_buf(), message: format!("row {i}: {e}") })?;
        rows.push(row);
    }
    Ok(rows)
}
