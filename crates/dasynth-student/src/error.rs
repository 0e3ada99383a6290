//! Typed errors. Messages name the file, tensor or limit involved and end with a `hint:` line
//! when there is something to do.

use std::path::PathBuf;

/// Everything that can go wrong loading a checkpoint or running the engine.
#[derive(Debug, thiserror::Error)]
pub enum StudentError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error(
        "{path}: not a valid model configuration: {source}\nhint: the checkpoint folder needs the config.json that transformers saves with the weights"
    )]
    Config {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },

    #[error("{path}: {reason}\nhint: dasynth-student runs Qwen3-architecture checkpoints (model_type \"qwen3\", Qwen3ForCausalLM)")]
    Architecture { path: PathBuf, reason: String },

    #[error("{path}: rope type {rope_type:?} is not supported\nhint: supported rope types are \"default\" and \"yarn\"")]
    UnsupportedRope { path: PathBuf, rope_type: String },

    #[error("{dir}: no safetensors weights found (looked for model.safetensors.index.json, model.safetensors and *.safetensors)")]
    NoWeights { dir: PathBuf },

    #[error(
        "{index}: shard {shard} is listed but missing from {dir}\nhint: download the checkpoint again; every file the index names must be present"
    )]
    MissingShard { index: PathBuf, shard: String, dir: PathBuf },

    #[error("{path}: unreadable safetensors file: {message}")]
    Safetensors { path: PathBuf, message: String },

    #[error("{dir}: tensor {name} is missing from the checkpoint{}", near_names(.near))]
    MissingTensor { dir: PathBuf, name: String, near: Vec<String> },

    #[error("{path}: tensor {name} has shape {found:?}, the config asks for {expected:?}")]
    TensorShape { path: PathBuf, name: String, expected: Vec<usize>, found: Vec<usize> },

    #[error(
        "{path}: unreadable tokenizer: {message}\nhint: build a Qwen tokenizer.json with scripts/make-qwen-tokenizer.py, or pass the tokenizer path"
    )]
    Tokenizer { path: PathBuf, message: String },

    #[error(
        "{what} needs a tokenizer, and this engine was started without one\nhint: put tokenizer.json in the checkpoint folder or pass its path"
    )]
    NoTokenizer { what: &'static str },

    #[error("device {device} cannot run dtype {dtype}\nhint: use {hint}")]
    DType { device: String, dtype: String, hint: &'static str },

    #[error("device {device}: {message}\nhint: {hint}")]
    Device { device: String, message: String, hint: &'static str },

    #[error(
        "prompt of {tokens} tokens does not fit the maximum context length of {limit} tokens\nhint: shorten the prompt or start the engine with a longer --max-len"
    )]
    PromptTooLong { tokens: usize, limit: usize },

    #[error(
        "out of device memory allocating {what} ({bytes} bytes), even after shrinking to {slots} slots\nhint: lower --max-len or --max-seqs, or use a smaller dtype"
    )]
    OutOfMemory { what: String, bytes: u64, slots: usize },

    #[error("invalid request: {0}")]
    InvalidRequest(String),

    #[error("{context}: {source}")]
    Tensor {
        context: String,
        #[source]
        source: candle_core::Error,
    },

    #[error("the engine has stopped{}", .0.as_deref().map(|e| format!(": {e}")).unwrap_or_default())]
    EngineStopped(Option<String>),

    #[error("sequence failed: {0}")]
    SequenceFailed(String),

    #[error("server: {0}")]
    Server(String),
}

fn near_names(near: &[String]) -> String {
    if near.is_empty() { String::new() } else { format!("\nhint: tensors with a similar name: {}", near.join(", ")) }
}

impl StudentError {
    /// Whether this is the device running out of memory (the scheduler shrinks the batch and
    /// retries on such errors).
    pub fn is_out_of_memory(&self) -> bool {
        match self {
            StudentError::OutOfMemory { .. } => true,
            StudentError::Tensor { source, .. } => is_oom_message(&source.to_string()),
            _ => false,
        }
    }
}

/// CUDA reports allocation failures as `CUDA_ERROR_OUT_OF_MEMORY` (driver) or
/// `out of memory` (runtime, cuBLAS workspace).
pub(crate) fn is_oom_message(msg: &str) -> bool {
    let m = msg.to_ascii_lowercase();
    m.contains("out_of_memory") || m.contains("out of memory")
}

pub type Result<T, E = StudentError> = std::result::Result<T, E>;

/// Attaches a context line to candle errors.
pub(crate) trait TensorContext<T> {
    fn ctx(self, context: impl FnOnce() -> String) -> Result<T>;
}

impl<T> TensorContext<T> for candle_core::Result<T> {
    fn ctx(self, context: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|source| StudentError::Tensor { context: context(), source })
    }
}
