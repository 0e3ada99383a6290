//! Reading and writing `catalog.parquet` through `dasynth-parquet`, with an explicit schema so
//! nested fields (read options, provenance) become real Parquet structs and lists that pandas,
//! pyarrow and DuckDB read directly.

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

impl CatalogError {
    fn from_rows(path: &Path, e: dasynth_parquet::RowsError) -> Self {
        use dasynth_parquet::RowsError as R;
        let path = path.to_path_buf();
        match e {
            R::Missing { .. } => CatalogError::Missing { path },
            R::Read { source, .. } => CatalogError::Read { path, source },
            R::Layout { message, .. } => CatalogError::Layout { path, message },
            R::Write { source, .. } => CatalogError::Write { path, source },
        }
    }
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
        Field::new("final_uri".into(), s.clone()),
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

/// Writes the catalog as a Parquet file atomically, with statistics and a page index.
pub fn write(path: &Path, rows: &[CatalogEntry]) -> Result<(), CatalogError> {
    dasynth_parquet::write_rows(path, rows, schema()).map_err(|e| CatalogError::from_rows(path, e))
}

/// Reads the catalog back into rows.
pub fn read(path: &Path) -> Result<Vec<CatalogEntry>, CatalogError> {
    dasynth_parquet::read_rows(path).map_err(|e| CatalogError::from_rows(path, e))
}
