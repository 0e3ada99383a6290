//! One teacher (`[[teacher]]` in `dasynth.toml`): the offline reference teacher or an LLM
//! endpoint. This is the only type that describes a teacher; `dasynth-llm` builds its client from
//! it directly. Every field but `kind` is optional in the file; the defaults are filled in by
//! serde, so the file's table and the resolved settings are the same value.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// Which wire protocol a teacher speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum TeacherKind {
    /// OpenAI-compatible `POST {base}/chat/completions` (OpenAI, vLLM, SGLang, OpenRouter, ...).
    #[serde(rename = "openai")]
    OpenAi,
    /// Anthropic Messages `POST {base}/v1/messages`.
    Anthropic,
    /// The offline reference teacher: trajectories from the templates' reference solutions.
    Reference,
}

impl TeacherKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TeacherKind::OpenAi => "openai",
            TeacherKind::Anthropic => "anthropic",
            TeacherKind::Reference => "reference",
        }
    }

    /// Default base URL for the kind.
    pub fn default_base_url(self) -> &'static str {
        match self {
            TeacherKind::OpenAi => "https://api.openai.com/v1",
            TeacherKind::Anthropic => "https://api.anthropic.com",
            TeacherKind::Reference => "",
        }
    }
}

impl fmt::Display for TeacherKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One teacher. LLM kinds need `model` (and usually `base-url`).
///
/// The API key is never part of the configuration: `api-key-env` names the environment variable
/// that holds it, and the variable is read when the client is built.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct TeacherConfig {
    /// `openai` (any OpenAI-compatible server), `anthropic`, or `reference` (offline, from the
    /// templates' reference solutions).
    pub kind: TeacherKind,
    /// The model name sent to the endpoint (required for LLM kinds).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub model: String,
    /// A label for logs and trajectories (default: the model).
    #[serde(default)]
    pub name: Option<String>,
    /// Defaults to the kind's public API.
    #[serde(default)]
    pub base_url: Option<String>,
    /// The NAME of the environment variable holding the API key (never the key itself). When
    /// unset, requests carry no credentials (local servers).
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// Per-attempt timeout in seconds, the whole request including the body (default 300).
    #[serde(default = "defaults::timeout_secs")]
    pub timeout_secs: f64,
    /// Upper bound of the adaptive concurrency limit (default 64).
    #[serde(default = "defaults::max_concurrency")]
    pub max_concurrency: usize,
    #[serde(default)]
    pub requests_per_minute: Option<f64>,
    #[serde(default)]
    pub tokens_per_minute: Option<f64>,
    /// US dollars per million input tokens.
    #[serde(default)]
    pub price_input_per_mtok: f64,
    /// US dollars per million output tokens.
    #[serde(default)]
    pub price_output_per_mtok: f64,
    /// Share of samples this teacher writes (default 1.0).
    #[serde(default = "defaults::weight")]
    pub weight: f64,
    /// Retries after the first attempt (default 6).
    #[serde(default = "defaults::max_retries")]
    pub max_retries: u32,
    /// Temperature when a request does not set one.
    #[serde(default)]
    pub temperature: Option<f64>,
    /// Most output tokens per turn when a request does not set it (Anthropic needs one; 4096 is
    /// used if neither sets it).
    #[serde(default)]
    pub max_tokens: Option<u32>,
    /// Extra HTTP headers sent with every request (not for secrets).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra_headers: BTreeMap<String, String>,
    /// Proxy URL (`http://` or `https://`) for this teacher; without it `http_proxy`,
    /// `https_proxy`, `all_proxy` and `no_proxy` from the environment apply.
    #[serde(default)]
    pub proxy: Option<String>,
    /// Consecutive failures that open the circuit breaker (default 8).
    #[serde(default = "defaults::breaker_threshold")]
    pub breaker_threshold: u32,
    /// Seconds the breaker stays open before a half-open probe (default 30).
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

impl TeacherConfig {
    /// A teacher with every default for the given kind and model.
    pub fn new(kind: TeacherKind, model: impl Into<String>) -> Self {
        TeacherConfig {
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

    /// The offline reference teacher.
    pub fn reference() -> Self {
        Self::new(TeacherKind::Reference, "")
    }

    pub fn is_reference(&self) -> bool {
        self.kind == TeacherKind::Reference
    }

    /// The label used in trajectories and their keys: the name, else the model, else the kind.
    pub fn label(&self) -> String {
        match (&self.name, self.model.is_empty()) {
            (Some(n), _) => n.clone(),
            (None, false) => self.model.clone(),
            (None, true) => self.kind.as_str().to_string(),
        }
    }

    /// The label used in logs and errors: the name, else `kind:model`.
    pub fn display_name(&self) -> String {
        self.name.clone().unwrap_or_else(|| format!("{}:{}", self.kind, self.model))
    }

    /// Base URL without a trailing slash.
    pub fn effective_base_url(&self) -> String {
        self.base_url.as_deref().unwrap_or(self.kind.default_base_url()).trim_end_matches('/').to_string()
    }

    /// US dollar cost of the given usage.
    pub fn cost(&self, input_tokens: u64, output_tokens: u64) -> f64 {
        (input_tokens as f64 * self.price_input_per_mtok + output_tokens as f64 * self.price_output_per_mtok) / 1e6
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_minimal_and_defaults() {
        let c: TeacherConfig = toml::from_str("kind = \"openai\"\nmodel = \"gpt-x\"\n").expect("parse");
        assert_eq!((c.max_concurrency, c.max_retries, c.weight), (64, 6, 1.0));
        assert_eq!(c.effective_base_url(), "https://api.openai.com/v1");
        assert_eq!((c.display_name().as_str(), c.label().as_str()), ("openai:gpt-x", "gpt-x"));
        let c: TeacherConfig = toml::from_str(
            "kind = \"anthropic\"\nmodel = \"claude\"\nbase-url = \"http://h/\"\napi-key-env = \"K\"\n\
             tokens-per-minute = 1000\nrequests-per-minute = 60\nprice-input-per-mtok = 3\nprice-output-per-mtok = 15\n\
             [extra-headers]\nx-a = \"b\"\n",
        )
        .expect("parse");
        assert_eq!(c.effective_base_url(), "http://h");
        assert_eq!(c.requests_per_minute, Some(60.0));
        assert!((c.cost(1_000_000, 1_000_000) - 18.0).abs() < 1e-9);
        let r: TeacherConfig = toml::from_str("kind = \"reference\"\n").expect("parse");
        assert!(r.is_reference() && r.label() == "reference");
    }

    #[test]
    fn rejects_unknown_fields_and_kinds() {
        assert!(toml::from_str::<TeacherConfig>("kind = \"openai\"\nmodel = \"m\"\napi-key = \"x\"\n").is_err());
        assert!(toml::from_str::<TeacherConfig>("kind = \"gemini\"\nmodel = \"m\"\n").is_err());
    }
}
