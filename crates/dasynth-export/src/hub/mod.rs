//! A client for the Hugging Face Hub's HTTP API, as far as publishing a dataset needs it:
//! repository creation, revision and tree listing, preupload, the LFS batch API (single PUT and
//! multipart, then verify), branch creation and the NDJSON commit.
//!
//! Every error names the step it happened in. URLs in messages lose their query strings
//! (presigned upload URLs carry signatures) and the token never leaves its sensitive header.

mod commit;
mod error;
mod lfs;
pub mod token;

pub use commit::{CommitOp, CommitResult};
pub use error::HubError;
pub use lfs::{LfsObject, LfsUpload};
pub use token::Token;

use reqwest::blocking::{Client, RequestBuilder, Response};
use serde_json::Value;
use std::time::Duration;

/// The default Hub endpoint.
pub const DEFAULT_ENDPOINT: &str = "https://huggingface.co";

/// One file in a repository's tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteFile {
    pub path: String,
    pub size: u64,
    /// The git blob id (sha1 of `blob {len}\0` + content).
    pub oid: String,
    /// The sha256 of an LFS file's content.
    pub lfs_sha256: Option<String>,
}

/// Where a file's content goes, as the Hub decided in preupload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadMode {
    Regular,
    Lfs,
}

/// A client for one dataset repository.
pub struct Hub {
    endpoint: String,
    repo: String,
    token: Token,
    http: Client,
}

/// A URL without its query string, for messages.
pub(crate) fn redact(url: &str) -> String {
    url.split('?').next().unwrap_or(url).to_string()
}

impl Hub {
    pub fn new(endpoint: &str, repo: &str, token: Token) -> Result<Self, HubError> {
        let http = dasynth_sources::fetch::http::client_builder()
            .connect_timeout(Duration::from_secs(30))
            .timeout(None)
            .build()
            .map_err(|e| HubError::Network { step: "connect", url: redact(endpoint), source: e.without_url() })?;
        Ok(Hub { endpoint: endpoint.trim_end_matches('/').to_string(), repo: repo.to_string(), token, http })
    }

    pub fn repo(&self) -> &str {
        &self.repo
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.endpoint)
    }

    pub(crate) fn authed(&self, rb: RequestBuilder) -> RequestBuilder {
        match self.token.header() {
            Some(h) => rb.header(reqwest::header::AUTHORIZATION, h),
            None => rb,
        }
    }

    /// Sends a request, turning transport failures and error statuses into step-named errors.
    pub(crate) fn send(&self, step: &'static str, url: &str, rb: RequestBuilder) -> Result<Response, HubError> {
        let resp = rb.send().map_err(|e| HubError::Network { step, url: redact(url), source: e.without_url() })?;
        if resp.status().is_success() {
            return Ok(resp);
        }
        Err(HubError::from_status(step, &self.repo, url, resp))
    }

    pub(crate) fn json(&self, step: &'static str, url: &str, resp: Response) -> Result<Value, HubError> {
        let bytes = resp.bytes().map_err(|e| HubError::Network { step, url: redact(url), source: e.without_url() })?;
        serde_json::from_slice(&bytes).map_err(|e| HubError::Protocol { step, url: redact(url), message: e.to_string() })
    }

    /// Creates the dataset repository; an existing one (HTTP 409) is fine.
    pub fn create_repo(&self, private: bool) -> Result<bool, HubError> {
        let step = "create repository";
        let url = self.url("/api/repos/create");
        let (org, name) = self.repo.split_once('/').unwrap_or(("", &self.repo));
        let body = serde_json::json!({"name": name, "organization": org, "type": "dataset", "private": private});
        match self.send(step, &url, self.authed(self.http.post(&url)).json_body(&body)) {
            Ok(_) => Ok(true),
            Err(HubError::Conflict { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The commit a branch points to, or none when the branch does not exist.
    pub fn revision(&self, revision: &str) -> Result<Option<String>, HubError> {
        let step = "read the branch";
        let url = self.url(&format!("/api/datasets/{}/revision/{}", self.repo, encode(revision)));
        match self.send(step, &url, self.authed(self.http.get(&url))) {
            Ok(resp) => {
                let v = self.json(step, &url, resp)?;
                let sha = v.get("sha").and_then(Value::as_str).map(str::to_string);
                sha.map(Some).ok_or_else(|| HubError::Protocol { step, url: redact(&url), message: "no `sha` in the answer".into() })
            }
            Err(HubError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Creates `branch` from the default branch.
    pub fn create_branch(&self, branch: &str) -> Result<(), HubError> {
        let step = "create the branch";
        let url = self.url(&format!("/api/datasets/{}/branch/{}", self.repo, encode(branch)));
        match self.send(step, &url, self.authed(self.http.post(&url)).json_body(&serde_json::json!({}))) {
            Ok(_) | Err(HubError::Conflict { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Every file at a commit.
    pub fn tree(&self, commit: &str) -> Result<Vec<RemoteFile>, HubError> {
        let step = "list the repository";
        let mut url = Some(self.url(&format!("/api/datasets/{}/tree/{commit}?recursive=true&expand=false", self.repo)));
        let mut out = Vec::new();
        while let Some(u) = url.take() {
            let resp = self.send(step, &u, self.authed(self.http.get(&u)))?;
            url = next_link(&resp);
            let v = self.json(step, &u, resp)?;
            let Some(items) = v.as_array() else {
                return Err(HubError::Protocol { step, url: redact(&u), message: "the tree is not a list".into() });
            };
            for it in items {
                if it.get("type").and_then(Value::as_str) != Some("file") {
                    continue;
                }
                let s = |k: &str| it.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
                out.push(RemoteFile {
                    path: s("path"),
                    size: it.get("size").and_then(Value::as_u64).unwrap_or(0),
                    oid: s("oid"),
                    lfs_sha256: it.get("lfs").and_then(|l| l.get("oid")).and_then(Value::as_str).map(str::to_string),
                });
            }
        }
        Ok(out)
    }

    /// Asks how each file must be uploaded (at most 256 per call, as the Hub requires).
    pub fn preupload(&self, revision: &str, files: &[(String, Vec<u8>, u64)]) -> Result<Vec<(String, UploadMode, bool)>, HubError> {
        use base64::Engine as _;
        let step = "preupload";
        let url = self.url(&format!("/api/datasets/{}/preupload/{}", self.repo, encode(revision)));
        let mut out = Vec::new();
        for chunk in files.chunks(256) {
            let body = serde_json::json!({"files": chunk.iter().map(|(path, sample, size)| serde_json::json!({
                "path": path,
                "sample": base64::engine::general_purpose::STANDARD.encode(sample),
                "size": size,
            })).collect::<Vec<_>>()});
            let resp = self.send(step, &url, self.authed(self.http.post(&url)).json_body(&body))?;
            let v = self.json(step, &url, resp)?;
            for f in v.get("files").and_then(Value::as_array).into_iter().flatten() {
                let path = f.get("path").and_then(Value::as_str).unwrap_or_default().to_string();
                let mode = if f.get("uploadMode").and_then(Value::as_str) == Some("lfs") { UploadMode::Lfs } else { UploadMode::Regular };
                let ignore = f.get("shouldIgnore").and_then(Value::as_bool).unwrap_or(false);
                out.push((path, mode, ignore));
            }
        }
        Ok(out)
    }

    /// Checks the card's YAML as the Hub would.
    pub fn validate_yaml(&self, readme: &str) -> Result<Vec<String>, HubError> {
        let step = "validate the dataset card";
        let url = self.url("/api/validate-yaml");
        let body = serde_json::json!({"content": readme, "repoType": "dataset"});
        let resp = self.send(step, &url, self.authed(self.http.post(&url)).json_body(&body))?;
        let v = self.json(step, &url, resp)?;
        let mut out = Vec::new();
        for k in ["errors", "warnings"] {
            for e in v.get(k).and_then(Value::as_array).into_iter().flatten() {
                out.push(format!("{}: {}", k.trim_end_matches('s'), e.get("message").and_then(Value::as_str).unwrap_or(&e.to_string())));
            }
        }
        Ok(out)
    }
}

/// A path segment with `/` kept (branch names may hold one) and the rest percent-encoded.
fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The `Link: <url>; rel="next"` of a paginated answer.
fn next_link(resp: &Response) -> Option<String> {
    let link = resp.headers().get(reqwest::header::LINK)?.to_str().ok()?;
    link.split(',').find(|p| p.contains("rel=\"next\"")).and_then(|p| Some(p.split_once('<')?.1.split_once('>')?.0.to_string()))
}

/// JSON bodies without reqwest's `json` feature.
pub(crate) trait JsonBody {
    fn json_body(self, v: &Value) -> Self;
}

impl JsonBody for RequestBuilder {
    fn json_body(self, v: &Value) -> Self {
        self.header(reqwest::header::CONTENT_TYPE, "application/json").body(v.to_string())
    }
}
