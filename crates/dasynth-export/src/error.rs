//! What can go wrong while exporting a run folder.

use std::path::PathBuf;

/// An export that could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("cannot read the tasks of {}", path.display())]
    Tasks {
        path: PathBuf,
        #[source]
        source: dasynth_parquet::RowsError,
    },
    #[error("cannot read the verdicts in {}", path.display())]
    Verdicts {
        path: PathBuf,
        #[source]
        source: dasynth_parquet::RowsError,
    },
    #[error("cannot read the student's pass rates in {}", path.display())]
    PassRates {
        path: PathBuf,
        #[source]
        source: dasynth_parquet::RowsError,
    },
    #[error("cannot read the catalog")]
    Catalog(#[source] dasynth_sources::catalog_io::CatalogError),
    #[error("cannot read trajectories from {}", path.display())]
    Trajectories {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the file {name:?} of task {task} is missing at {}\nhint: rerun `dasynth tasks` so the task's files exist again", path.display())]
    TaskFile { task: String, name: String, path: PathBuf },
    #[error("cannot build the {config} rows")]
    Rows {
        config: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Atomic(#[from] dasynth_core::atomic::PathError),
    #[error("cannot render the dataset card from {template}: {message}\nhint: fix the template under datasets-card/")]
    Card { template: String, message: String },
}

impl ExportError {
    pub(crate) fn write(path: impl Into<PathBuf>, source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        ExportError::Write { path: path.into(), source: std::io::Error::other(source) }
    }
}
