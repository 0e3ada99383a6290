//! Typed errors. Messages name the endpoint, URL or model involved, never the API key.

use std::time::Duration;

/// Everything that can go wrong talking to a teacher endpoint.
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    #[error("endpoint {endpoint}: environment variable {var} (api-key-env) is not set or empty")]
    MissingApiKey { endpoint: String, var: String },

    #[error("endpoint {endpoint}: kind {kind:?} has no HTTP client in dasynth-llm")]
    UnsupportedKind { endpoint: String, kind: String },

    #[error("endpoint {endpoint}: invalid configuration: {reason}")]
    InvalidConfig { endpoint: String, reason: String },

    #[error("endpoint {endpoint}: authentication failed ({status}) at {url}: {message}")]
    Auth { endpoint: String, url: String, status: u16, message: String },

    #[error("endpoint {endpoint}: unknown model {model:?} at {url}: {message}")]
    UnknownModel { endpoint: String, url: String, model: String, message: String },

    #[error("endpoint {endpoint}: context length exceeded for model {model:?}: {message}")]
    ContextLength { endpoint: String, model: String, message: String },

    #[error("endpoint {endpoint}: request rejected ({status}) at {url}: {message}")]
    BadRequest { endpoint: String, url: String, status: u16, message: String },

    #[error("endpoint {endpoint}: model {model:?} returned empty content")]
    EmptyResponse { endpoint: String, model: String },

    #[error("endpoint {endpoint}: HTTP {status} from {url}: {message}")]
    Http { endpoint: String, url: String, status: u16, message: String, retry_after: Option<Duration> },

    #[error("endpoint {endpoint}: no response from {url} within {:.1}s", timeout.as_secs_f64())]
    Timeout { endpoint: String, url: String, timeout: Duration },

    #[error("endpoint {endpoint}: connection to {url} failed: {message}")]
    Connect { endpoint: String, url: String, message: String },

    #[error("endpoint {endpoint}: unreadable response body from {url}: {message}")]
    InvalidBody { endpoint: String, url: String, message: String },

    #[error("endpoint {endpoint}: circuit breaker open after repeated failures; retry in {:.1}s", retry_in.as_secs_f64())]
    CircuitOpen { endpoint: String, retry_in: Duration },

    #[error("endpoint {endpoint}: gave up after {attempts} attempts: {last}")]
    RetriesExhausted { endpoint: String, attempts: u32, last: Box<LlmError> },

    #[error("budget exhausted: spent ${spent_usd:.4} and {tokens} tokens")]
    BudgetExhausted { spent_usd: f64, tokens: u64 },

    #[error("response cache {path}: {message}")]
    Cache { path: String, message: String },
}

impl LlmError {
    /// Errors after which continuing the run makes no sense (every further
    /// request would fail the same way): bad or missing credentials, an
    /// unknown model, an unsupported kind or config, or an exhausted budget.
    pub fn is_fatal_for_run(&self) -> bool {
        match self {
            LlmError::MissingApiKey { .. }
            | LlmError::UnsupportedKind { .. }
            | LlmError::InvalidConfig { .. }
            | LlmError::Auth { .. }
            | LlmError::UnknownModel { .. }
            | LlmError::BudgetExhausted { .. } => true,
            LlmError::RetriesExhausted { last, .. } => last.is_fatal_for_run(),
            _ => false,
        }
    }

    /// Whether another attempt may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            LlmError::Http { status, .. } => is_retryable_status(*status),
            LlmError::Timeout { .. } | LlmError::Connect { .. } | LlmError::InvalidBody { .. } => true,
            _ => false,
        }
    }

    /// Overload signals (429, 503, 529) that shrink the concurrency limit.
    pub fn is_overload(&self) -> bool {
        matches!(self, LlmError::Http { status: 429 | 503 | 529, .. })
    }

    /// Server-suggested wait before the next attempt.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            LlmError::Http { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The underlying error, looking through [`LlmError::RetriesExhausted`].
    pub fn root(&self) -> &LlmError {
        match self {
            LlmError::RetriesExhausted { last, .. } => last.root(),
            e => e,
        }
    }
}

pub(crate) fn is_retryable_status(status: u16) -> bool {
    matches!(status, 408 | 409 | 425 | 429 | 500..=599)
}
