//! The NDJSON commit: a header line, then one line per operation (`file` with base64 content,
//! `lfsFile` naming an uploaded object, `deletedFile`).

use super::{Hub, HubError};
use base64::Engine as _;
use serde_json::Value;

/// One operation of a commit.
#[derive(Debug, Clone)]
pub enum CommitOp {
    /// A small file stored in git, with its content.
    Regular {
        path: String,
        content: Vec<u8>,
    },
    /// A file whose content was uploaded through LFS.
    Lfs {
        path: String,
        sha256: String,
        size: u64,
    },
    Delete {
        path: String,
    },
}

impl CommitOp {
    pub fn path(&self) -> &str {
        match self {
            CommitOp::Regular { path, .. } | CommitOp::Lfs { path, .. } | CommitOp::Delete { path } => path,
        }
    }
    /// Bytes this operation adds to the commit request.
    pub fn inline_bytes(&self) -> u64 {
        match self {
            CommitOp::Regular { content, .. } => content.len() as u64 * 4 / 3 + 64,
            _ => 128,
        }
    }
}

/// The commit the Hub made.
#[derive(Debug, Clone)]
pub struct CommitResult {
    pub oid: String,
    pub url: String,
}

impl Hub {
    /// Commits `ops` on `revision` on top of `parent` (the Hub refuses when the branch moved).
    pub fn commit(&self, revision: &str, parent: Option<&str>, summary: &str, ops: &[CommitOp]) -> Result<CommitResult, HubError> {
        let step = "commit";
        let url = format!("{}/api/datasets/{}/commit/{}", self.endpoint(), self.repo(), super::encode(revision));
        let mut header = serde_json::json!({"summary": summary, "description": ""});
        if let Some(p) = parent {
            header["parentCommit"] = p.into();
        }
        let mut body = serde_json::json!({"key": "header", "value": header}).to_string();
        body.push('\n');
        for op in ops {
            let line = match op {
                CommitOp::Regular { path, content } => serde_json::json!({"key": "file", "value": {
                    "content": base64::engine::general_purpose::STANDARD.encode(content), "path": path, "encoding": "base64"}}),
                CommitOp::Lfs { path, sha256, size } => {
                    serde_json::json!({"key": "lfsFile", "value": {"path": path, "algo": "sha256", "oid": sha256, "size": size}})
                }
                CommitOp::Delete { path } => serde_json::json!({"key": "deletedFile", "value": {"path": path}}),
            };
            body.push_str(&line.to_string());
            body.push('\n');
        }
        let rb = self.authed(self.http.post(&url)).header(reqwest::header::CONTENT_TYPE, "application/x-ndjson").body(body);
        let resp = self.send(step, &url, rb)?;
        let v = self.json(step, &url, resp)?;
        let oid = v.get("commitOid").and_then(Value::as_str).unwrap_or_default().to_string();
        if oid.is_empty() {
            return Err(HubError::Protocol { step, url: super::redact(&url), message: "no `commitOid` in the answer".into() });
        }
        Ok(CommitResult { oid, url: v.get("commitUrl").and_then(Value::as_str).unwrap_or_default().to_string() })
    }
}
