//! Teacher LLM clients for dasynth: an async [`Client`] for OpenAI-compatible
//! (`/chat/completions`) and Anthropic Messages (`/v1/messages`) endpoints with
//! adaptive (AIMD) concurrency, request and token rate limits, retries with
//! exponential backoff and full jitter that honour `Retry-After`, a circuit
//! breaker, per-request timeouts, a crash-safe SQLite [`ResponseCache`], a
//! shared spending [`Budget`] and a deterministic weighted [`Teachers`] pool.
//!
//! API keys are read from the environment variable named in the endpoint
//! configuration, wrapped in [`ApiKey`] (redacted `Debug`), and never appear
//! in logs, errors or cache keys. The library never prints; it reports
//! through `tracing`.

mod budget;
mod cache;
mod client;
mod config;
mod error;
mod http1;
pub mod limit;
mod pool;
mod types;
mod wire;

pub use budget::{Budget, BudgetSnapshot};
pub use cache::{CacheKeyParts, ResponseCache};
pub use client::{Client, ClientBuilder, ClientStats, MAX_RETRY_AFTER};
pub use config::ApiKey;
pub use dasynth_core::config::{TeacherConfig, TeacherKind};
pub use error::LlmError;
pub use limit::BreakerState;
pub use pool::Teachers;
pub use types::{ChatRequest, ChatResponse, Message, Role, Usage};
