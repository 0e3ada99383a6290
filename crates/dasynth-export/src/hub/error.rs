//! Hub errors, each naming the step of the push it happened in.

use super::redact;

#[derive(Debug, thiserror::Error)]
pub enum HubError {
    #[error(
        "{step}: the Hub rejected the token (HTTP 401)\nhint: set HF_TOKEN to a valid token with write access (or log in with `hf auth login`)"
    )]
    Unauthorized { step: &'static str },
    #[error(
        "{step}: the token may not write to {repo} (HTTP 403): {message}\nhint: push to a repository under your own name or an organisation you can write to, or use a token with write access"
    )]
    Forbidden { step: &'static str, repo: String, message: String },
    #[error("{step}: not found (HTTP 404) at {url}")]
    NotFound { step: &'static str, url: String },
    #[error(
        "{step}: conflict (HTTP {status}): {message}\nhint: the branch changed while pushing; rerun `dasynth push` to upload what is still missing"
    )]
    Conflict { step: &'static str, status: u16, message: String },
    #[error("{step}: rejected as too large (HTTP {status}): {message}")]
    TooLarge { step: &'static str, status: u16, message: String },
    #[error("{step}: HTTP {status} from {url}: {message}\nhint: rerun `dasynth push`; it continues where this one stopped")]
    Status { step: &'static str, status: u16, url: String, message: String },
    #[error(
        "{step}: the connection to {url} failed\nhint: check the network and HF_ENDPOINT, then rerun `dasynth push`; it continues where this one stopped"
    )]
    Network {
        step: &'static str,
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("{step}: unexpected answer from {url}: {message}")]
    Protocol { step: &'static str, url: String, message: String },
    #[error("{step}: cannot read {}", path.display())]
    Io {
        step: &'static str,
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl HubError {
    /// The error for a non-success answer.
    pub(crate) fn from_status(step: &'static str, repo: &str, url: &str, resp: reqwest::blocking::Response) -> Self {
        let status = resp.status().as_u16();
        let text = resp.text().unwrap_or_default();
        // The Hub answers `{"error": "..."}`; keep messages short.
        let message = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_string))
            .unwrap_or(text);
        let message: String = message.chars().take(300).collect();
        match status {
            401 => HubError::Unauthorized { step },
            403 => HubError::Forbidden { step, repo: repo.to_string(), message },
            404 => HubError::NotFound { step, url: redact(url) },
            409 | 412 => HubError::Conflict { step, status, message },
            413 => HubError::TooLarge { step, status, message },
            422 | 400 if message.to_lowercase().contains("too large") || message.to_lowercase().contains("too many") => {
                HubError::TooLarge { step, status, message }
            }
            _ => HubError::Status { step, status, url: redact(url), message },
        }
    }

    /// The step the error happened in.
    pub fn step(&self) -> &'static str {
        match self {
            HubError::Unauthorized { step }
            | HubError::Forbidden { step, .. }
            | HubError::NotFound { step, .. }
            | HubError::Conflict { step, .. }
            | HubError::TooLarge { step, .. }
            | HubError::Status { step, .. }
            | HubError::Network { step, .. }
            | HubError::Protocol { step, .. }
            | HubError::Io { step, .. } => step,
        }
    }
}
