//! Endpoint configuration (as written in a project file) and the API key wrapper.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// Which wire protocol an endpoint speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EndpointKind {
    /// OpenAI-compatible `POST {base}/chat/completions` (OpenAI, vLLM, SGLang, OpenRouter, ...).
    #[serde(rename = "openai")]
    OpenAi,
    /// Anthropic Messages `POST {base}/v1/messages`.
    Anthropic,
    /// Reference answers produced elsewhere; accepted in configuration files
    /// but this crate cannot build a client for it.
    Reference,
}

impl EndpointKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EndpointKind::OpenAi => "openai",
            EndpointKind::Anthropic => "anthropic",
            EndpointKind::Reference => "reference",
        }
    }

    /// Default base URL for the kind.
    pub fn default_base_url(self) -> &'static str {
        match self {
            EndpointKind::OpenAi => "https://api.openai.com/v1",
            EndpointKind::Anthropic => "https://api.anthropic.com",
            EndpointKind::Reference => "",
        }
    }
}

impl fmt::Display for EndpointKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One teacher endpoint. Only `kind` and `model` are required.
///
/// The API key is never part of the configuration: `api-key-env` names the
/// environment variable that holds it, and the variable is read when the
/// [`crate::Client`] is built.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct EndpointConfig {
    pub kind: EndpointKind,
    pub model: String,
    /// Label used in logs and errors; defaults to `kind:model`.
    #[serde(default)]
    pub name: Option<String>,
    /// Defaults to [`EndpointKind::default_base_url`].
    #[serde(default)]
    pub base_url: Option<String>,
    /// Name of the environment variable holding the API key. When unset the
    /// request is sent without credentials (local servers).
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// Per-attempt timeout (whole request including body), default 300.
    #[serde(default = "defaults::timeout_secs")]
    pub timeout_secs: f64,
    /// Upper bound of the adaptive concurrency limit, default 64.
    #[serde(default = "defaults::max_concurrency")]
    pub max_concurrency: usize,
    #[serde(default)]
    pub requests_per_minute: Option<f64>,
    #[serde(default)]
    pub tokens_per_minute: Option<f64>,
    /// USD per million input tokens.
    #[serde(default)]
    pub price_input_per_mtok: f64,
    /// USD per million output tokens.
    #[serde(default)]
    pub price_output_per_mtok: f64,
    /// Relative share in a [`crate::Teachers`] pool, default 1.0.
    #[serde(default = "defaults::weight")]
    pub weight: f64,
    /// Retries after the first attempt, default 6.
    #[serde(default = "defaults::max_retries")]
    pub max_retries: u32,
    /// Default temperature when a request does not set one.
    #[serde(default)]
    pub temperature: Option<f64>,
    /// Default max tokens when a request does not set one (Anthropic needs
    /// one; 4096 is used if neither sets it).
    #[serde(default)]
    pub max_tokens: Option<u32>,
    /// Extra HTTP headers sent with every request (not for secrets).
    #[serde(default)]
    pub extra_headers: BTreeMap<String, String>,
    /// Proxy URL for this endpoint (`http://` or `https://`);
    /// without it `http_proxy`/`https_proxy`/`all_proxy`/`no_proxy` from the
    /// environment apply.
    #[serde(default)]
    pub proxy: Option<String>,
    /// Consecutive failures that open the circuit breaker, default 8.
    #[serde(default = "defaults::breaker_threshold")]
    pub breaker_threshold: u32,
    /// Seconds the breaker stays open before a half-open probe, default 30.
    #[serde(default = "defaults::breaker_cooldown_secs")]
    pub breaker_cooldown_secs: f64,
}

mod defaults {
    pub fn timeout_secs() -> f64 {
        300.0
    }
    pub fn max_concurrency() -> usize {
        64
    }
    pub fn weight() -> f64 {
        1.0
    }
    pub fn max_retries() -> u32 {
        6
    }
    pub fn breaker_threshold() -> u32 {
        8
    }
    pub fn breaker_cooldown_secs() -> f64 {
        30.0
    }
}

impl EndpointConfig {
    /// A config with all defaults for the given kind and model.
    pub fn new(kind: EndpointKind, model: impl Into<String>) -> Self {
        EndpointConfig {
            kind,
            model: model.into(),
            name: None,
            base_url: None,
            api_key_env: None,
            timeout_secs: defaults::timeout_secs(),
            max_concurrency: defaults::max_concurrency(),
            requests_per_minute: None,
            tokens_per_minute: None,
            price_input_per_mtok: 0.0,
            price_output_per_mtok: 0.0,
            weight: defaults::weight(),
            max_retries: defaults::max_retries(),
            temperature: None,
            max_tokens: None,
            extra_headers: BTreeMap::new(),
            proxy: None,
            breaker_threshold: defaults::breaker_threshold(),
            breaker_cooldown_secs: defaults::breaker_cooldown_secs(),
        }
    }

    /// The label used in logs and errors.
    pub fn display_name(&self) -> String {
        self.name.clone().unwrap_or_else(|| format!("{}:{}", self.kind, self.model))
    }

    /// Base URL without a trailing slash.
    pub fn effective_base_url(&self) -> String {
        self.base_url.as_deref().unwrap_or(self.kind.default_base_url()).trim_end_matches('/').to_string()
    }

    /// USD cost of the given usage.
    pub fn cost(&self, input_tokens: u64, output_tokens: u64) -> f64 {
        (input_tokens as f64 * self.price_input_per_mtok + output_tokens as f64 * self.price_output_per_mtok) / 1e6
    }
}

/// An API key. Its `Debug` output is redacted and it has no `Display`, so it
/// cannot leak through logs or error messages by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(key: impl Into<String>) -> Self {
        ApiKey(key.into())
    }
    /// The secret itself; only for building request headers.
    pub fn expose(&self) -> &str {
        &self.0
    }
    /// Replace every occurrence of the key in `text` with `***`.
    pub fn redact(&self, text: &str) -> String {
        if self.0.len() >= 4 && text.contains(&self.0) { text.replace(&self.0, "***") } else { text.to_string() }
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_minimal_and_defaults() {
        let c: EndpointConfig = serde_json::from_str(r#"{"kind":"openai","model":"gpt-x"}"#).expect("parse");
        assert_eq!(c.max_concurrency, 64);
        assert_eq!(c.max_retries, 6);
        assert_eq!(c.weight, 1.0);
        assert_eq!(c.effective_base_url(), "https://api.openai.com/v1");
        assert_eq!(c.display_name(), "openai:gpt-x");
        let c: EndpointConfig = serde_json::from_str(
            r#"{"kind":"anthropic","model":"claude","base-url":"http://h/","api-key-env":"K","tokens-per-minute":1000,
                "price-input-per-mtok":3,"price-output-per-mtok":15,"extra-headers":{"x-a":"b"}}"#,
        )
        .expect("parse");
        assert_eq!(c.effective_base_url(), "http://h");
        assert!((c.cost(1_000_000, 1_000_000) - 18.0).abs() < 1e-9);
        let r: EndpointConfig = serde_json::from_str(r#"{"kind":"reference","model":"gold"}"#).expect("parse");
        assert_eq!(r.kind, EndpointKind::Reference);
    }

    #[test]
    fn rejects_unknown_fields_and_missing_model() {
        assert!(serde_json::from_str::<EndpointConfig>(r#"{"kind":"openai","model":"m","api-key":"x"}"#).is_err());
        assert!(serde_json::from_str::<EndpointConfig>(r#"{"kind":"openai"}"#).is_err());
        assert!(serde_json::from_str::<EndpointConfig>(r#"{"kind":"gemini","model":"m"}"#).is_err());
    }

    #[test]
    fn api_key_is_redacted() {
        let k = ApiKey::new("sk-secret-123");
        assert_eq!(format!("{k:?}"), "ApiKey(***)");
        assert_eq!(k.redact("bad key sk-secret-123!"), "bad key ***!");
    }
}
