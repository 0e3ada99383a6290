//! Why the sample stage could not run (a failed sample is not an error: it is counted).

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum SampleError {
    #[error(transparent)]
    Tasks(Box<dasynth_tasks::TasksError>),
    #[error(transparent)]
    Rows(Box<dasynth_parquet::RowsError>),
    #[error(
        "no task of {path} matches the selection ({selection})\nhint: loosen --family, --stage or --shard, or run `dasynth tasks` with the families you want"
    )]
    NoTasks { path: PathBuf, selection: String },
    #[cfg(feature = "student")]
    #[error("cannot load the student from {}\nhint: MODEL_DIR needs config.json, *.safetensors and tokenizer.json (a Hugging Face Qwen3 checkpoint)", path.display())]
    Load {
        path: PathBuf,
        #[source]
        source: Box<dasynth_student::StudentError>,
    },
    #[cfg(feature = "student")]
    #[error("cannot serve the student from {} on loopback", path.display())]
    Serve {
        path: PathBuf,
        #[source]
        source: Box<dasynth_student::StudentError>,
    },
    #[error("student endpoint {url}")]
    Endpoint {
        url: String,
        #[source]
        source: Box<dasynth_llm::LlmError>,
    },
    #[error("cannot merge the sample shards: {}: {message}\nhint: every shard of a run samples with the same student, --n, --temperature, --top-p and --seed", path.display())]
    Shards { path: PathBuf, message: String },
    #[error(transparent)]
    Sandbox(Box<dasynth_sandbox::SandboxError>),
    #[error(transparent)]
    Verify(Box<dasynth_verify::VerifyError>),
    #[error(transparent)]
    Write(Box<dasynth_core::atomic::PathError>),
    #[error("{what} {}", path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

macro_rules! boxed_from {
    ($($variant:ident($ty:ty)),* $(,)?) => {$(
        impl From<$ty> for SampleError {
            fn from(e: $ty) -> Self {
                SampleError::$variant(Box::new(e))
            }
        }
    )*};
}

boxed_from!(
    Tasks(dasynth_tasks::TasksError),
    Rows(dasynth_parquet::RowsError),
    Sandbox(dasynth_sandbox::SandboxError),
    Verify(dasynth_verify::VerifyError),
    Write(dasynth_core::atomic::PathError),
);
