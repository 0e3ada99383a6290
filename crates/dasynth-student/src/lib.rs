//! The local student: an in-process Qwen3 inference engine on candle, for running a
//! Qwen3-architecture checkpoint (DeepAnalyze-8B and its kin) over many tasks many times.
//!
//! **Model.** [`ModelConfig`] reads `config.json` (YaRN from `rope_scaling` or transformers 5's
//! `rope_parameters`), [`Checkpoint`] maps the safetensors shards, and [`Qwen3`] runs the
//! forward pass (grouped-query attention with q/k RMSNorm and rotary embeddings, SwiGLU MLP) in
//! f32/bf16 on the CPU or bf16 on a CUDA GPU (feature `cuda`).
//!
//! **Engine.** [`Engine`] owns the model, a [`KvCache`] of fixed slots (one sequence each, with
//! its length) and the [`Scheduler`] on its own thread. Every step packs one token of each
//! decoding sequence and chunks of prompts into one forward pass (continuous batching: finished
//! or paused sequences leave, new ones join between steps). The `n` samples of a prompt share
//! its prefill. Sampling (temperature, top-k, top-p) runs on the device with one seeded
//! generator per sample, so runs are reproducible. A turn ends at a stop string (`</Code>`), a
//! stop id (end of turn), `max_tokens` or a full context; the sequence then keeps its KV cache
//! and can be resumed with more tokens (an `<Execute>` block), of which only the new ones are
//! prefilled. Callers drive it through [`Engine::generate`], which returns a [`Generation`]:
//! an async stream of [`Event`]s.
//!
//! **Server.** [`StudentServer`] exposes the engine as an OpenAI-compatible
//! `/v1/chat/completions`, so OpenAI clients (the teacher client included) can use it.
//!
//! **GPU.** With the `cuda` feature the engine writes the KV cache and attends decode tokens
//! with its own fused kernels (split over cache chunks, reading lengths on the device) and
//! runs decode-only steps as captured CUDA graphs, one per batch bucket, so batch-1 decode is
//! not bound by kernel launches; a step's tokens are sampled by one kernel launch
//! (`sample_fused`). `EngineOptions::fused_kernels` and `cuda_graphs` turn them off (candle's
//! ops alone, for comparison).

mod attention;
mod checkpoint;
mod config;
#[cfg(feature = "cuda")]
mod cuda;
mod device;
mod engine;
mod error;
mod kv_cache;
mod model;
mod params;
pub mod profile;
mod random;
mod rope;
mod sampler;
mod scheduler;
mod server;
mod stop;
mod tokenizer;

pub use checkpoint::{Checkpoint, weight_files};
pub use config::{GenerationConfig, ModelConfig, RopeConfig, YarnConfig};
#[cfg(feature = "cuda")]
pub use cuda::sample as sample_fused;
pub use device::DeviceSpec;
pub use engine::{Engine, EngineInfo, EngineOptions, Generation, Turn};
pub use error::{Result, StudentError};
pub use kv_cache::KvCache;
pub use model::{DecodeSeg, PrefillSeg, Qwen3, StepBatch};
pub use params::{Event, Finish, FinishReason, SamplingParams};
pub use random::{RandomSpec, write_random_checkpoint};
pub use rope::{RopeTables, inverse_frequencies};
pub use sampler::{SampleRow, sample};
pub use scheduler::{Scheduler, SchedulerStats, SeqId};
pub use server::StudentServer;
pub use tokenizer::{ChatMessage, Detokenizer, Tokenizer};

pub use candle_core::{DType, Device, Tensor};
