//! Provider-neutral request and response types.

use serde::{Deserialize, Serialize};

/// Role of a chat message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Assistant,
    /// Only meaningful for OpenAI-compatible endpoints; for Anthropic a
    /// system message is moved into the separate `system` field.
    System,
}

/// One chat message.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: String,
}

impl Message {
    pub fn user(content: impl Into<String>) -> Self {
        Message { role: Role::User, content: content.into() }
    }
    pub fn assistant(content: impl Into<String>) -> Self {
        Message { role: Role::Assistant, content: content.into() }
    }
    pub fn system(content: impl Into<String>) -> Self {
        Message { role: Role::System, content: content.into() }
    }
}

/// A chat request. Unset sampling fields fall back to the endpoint config.
///
/// `stop` strings end generation; as with both providers' APIs, the matched
/// stop string is **not** included in [`ChatResponse::content`].
///
/// `sample_index` distinguishes repeated samples of the same prompt: it is
/// part of the cache key (so sample 0 and sample 1 are cached separately) and
/// is not sent to the provider.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ChatRequest {
    pub messages: Vec<Message>,
    pub system: Option<String>,
    pub max_tokens: Option<u32>,
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    pub seed: Option<u64>,
    pub stop: Vec<String>,
    pub sample_index: u32,
}

impl ChatRequest {
    /// A single-turn request with one user message.
    pub fn user(content: impl Into<String>) -> Self {
        ChatRequest { messages: vec![Message::user(content)], ..Default::default() }
    }

    /// Rough token estimate (chars / 4) of the prompt, used for rate limiting.
    pub fn estimated_input_tokens(&self) -> u64 {
        let chars: usize = self.messages.iter().map(|m| m.content.len()).sum::<usize>() + self.system.as_ref().map_or(0, |s| s.len());
        chars as u64 / 4 + 1
    }
}

/// Token usage reported by the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
}

impl Usage {
    pub fn total(&self) -> u64 {
        self.input_tokens + self.output_tokens
    }
}

/// A completed chat response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatResponse {
    /// Assistant text (without the matched stop string).
    pub content: String,
    /// Reasoning / thinking text when the provider returned it.
    pub reasoning: Option<String>,
    /// Provider finish reason ("stop", "length", "end_turn", "max_tokens", ...).
    pub finish_reason: Option<String>,
    pub usage: Usage,
    /// Model name reported by the provider (falls back to the configured one).
    pub model: String,
    /// True when served from the [`crate::ResponseCache`] (no request made).
    pub cached: bool,
    /// Wall time of the whole call including retries and waits.
    pub latency_ms: u64,
    /// Cost of this call in USD (0 for cache hits).
    pub cost_usd: f64,
    /// HTTP attempts made (0 for cache hits).
    pub attempts: u32,
}
