//! The crate's one error type. Inputs that are missing or damaged are not errors: the report
//! says what it could not read and goes on. Errors are what stops a report being written.

use std::path::PathBuf;

/// Why no report could be written.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The run folder does not exist.
    #[error("no run folder at {}\nhint: pass the folder `dasynth generate --out DIR` wrote, or run `dasynth generate` first", path.display())]
    NoRunFolder { path: PathBuf },
    /// The run folder holds none of the files a stage writes.
    #[error("{} is not a dasynth run folder: it has no dasynth.toml, catalog.parquet, tasks.parquet, trajectories/ or verdicts.parquet\nhint: pass the folder `dasynth generate --out DIR` wrote", path.display())]
    NotARun { path: PathBuf },
    /// One of the report's files could not be written.
    #[error("cannot write the report")]
    Write {
        #[source]
        source: dasynth_core::atomic::PathError,
    },
    /// The page's data could not be encoded (a value serde cannot write).
    #[error("cannot encode the report's data for {what}")]
    Encode {
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
}

impl From<dasynth_core::atomic::PathError> for ReportError {
    fn from(source: dasynth_core::atomic::PathError) -> Self {
        ReportError::Write { source }
    }
}
