//! The CUDA path's own pieces (feature `cuda`): fused kernels for the KV-cache write and for
//! decode attention, CUDA graphs for decode steps, and sampling in one kernel.
//!
//! **Fused kernels** ([`kernels`], used by [`ops`]). Each residual add is fused with the RMSNorm
//! after it; one kernel takes the q/k/v projection through the q/k norms and the rotary
//! embedding and writes keys and values straight into the cache (slot and position per token,
//! read on the device); silu(gate) * up is one kernel. Decode tokens attend straight from the
//! cache, flash-decoding style: each (sequence, kv head) is split into chunks that run as
//! separate blocks with an online softmax, then merged, so the cache is read once per step.
//! Prefill chunks use cuBLAS for the scores and values with a causal-softmax kernel between
//! (no mask tensor, no float32 copies). With the four projections that leaves ten kernels per
//! layer for a decode step.
//!
//! **Decode graphs** ([`graph`]). A step with only decode tokens runs as a captured CUDA graph:
//! one graph per batch bucket (1, 2, 4, 8, 16, 32, 48, 64, then steps of 32 and 64), padded
//! rows skipped by the kernels. A step's inputs (tokens, positions, slots, lengths) are copied
//! into the graph's input buffer and the whole forward pass is
//! launched with one call, so batch-1 decode is bound by memory, not by host launches. The
//! first step of each bucket runs eagerly (it loads the kernels and fills candle's cache of
//! small kernel parameters) and then captures; a capture that fails turns graphs off with a
//! warning and the engine goes on eagerly.

//!
//! **Sampling** ([`sample`]). A step's tokens are picked by one kernel launch (one block per
//! row: argmax, top-k and top-p thresholds by radix select, the inverse-CDF draw), where
//! candle's ops would take a few hundred launches over `[rows, vocab]`.

mod graph;
mod kernels;
mod ops;
mod sample;

pub use graph::CudaRunner;
pub use sample::sample;
