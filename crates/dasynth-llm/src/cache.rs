//! SQLite-backed response cache.
//!
//! One connection in WAL mode behind a mutex; all access goes through
//! `spawn_blocking`. Every insert is its own (autocommit) transaction, so a
//! process killed with SIGKILL loses at most the response being written.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::LlmError;
use crate::types::{ChatResponse, Message};
use dasynth_core::config::TeacherKind;

/// A persistent (or in-memory) cache of completed responses.
#[derive(Clone)]
pub struct ResponseCache {
    conn: Arc<Mutex<Connection>>,
    path: Arc<str>,
}

impl std::fmt::Debug for ResponseCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseCache").field("path", &self.path).finish()
    }
}

/// The fields that identify a response. The API key is deliberately absent.
#[derive(Serialize)]
pub struct CacheKeyParts<'a> {
    pub kind: TeacherKind,
    pub base_url: &'a str,
    pub model: &'a str,
    pub system: Option<&'a str>,
    pub messages: &'a [Message],
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    pub max_tokens: Option<u32>,
    pub stop: &'a [String],
    pub seed: Option<u64>,
    pub sample_index: u32,
}

impl CacheKeyParts<'_> {
    /// sha256 (hex) of the canonical JSON of the parts (fixed field order).
    pub fn key(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        hex::encode(Sha256::digest(&json))
    }
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY,
    endpoint TEXT NOT NULL,
    model TEXT NOT NULL,
    response TEXT NOT NULL,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    cost_usd REAL NOT NULL,
    created_at INTEGER NOT NULL
);";

impl ResponseCache {
    /// Open (creating if needed) a cache file.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, LlmError> {
        let p: PathBuf = path.as_ref().to_path_buf();
        let shown = p.display().to_string();
        let err = |e: rusqlite::Error| LlmError::Cache { path: shown.clone(), message: e.to_string() };
        if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| LlmError::Cache { path: shown.clone(), message: format!("create directory: {e}") })?;
        }
        let conn = Connection::open(&p).map_err(err)?;
        conn.busy_timeout(std::time::Duration::from_secs(30)).map_err(err)?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(err)?;
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(err)?;
        conn.execute_batch(SCHEMA).map_err(err)?;
        Ok(ResponseCache { conn: Arc::new(Mutex::new(conn)), path: shown.into() })
    }

    /// A cache that lives only as long as this value (tests).
    pub fn in_memory() -> Result<Self, LlmError> {
        let err = |e: rusqlite::Error| LlmError::Cache { path: ":memory:".into(), message: e.to_string() };
        let conn = Connection::open_in_memory().map_err(err)?;
        conn.execute_batch(SCHEMA).map_err(err)?;
        Ok(ResponseCache { conn: Arc::new(Mutex::new(conn)), path: ":memory:".into() })
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    fn err(&self, message: impl ToString) -> LlmError {
        LlmError::Cache { path: self.path.to_string(), message: message.to_string() }
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, LlmError> {
        let conn = self.conn.clone();
        let res = tokio::task::spawn_blocking(move || {
            let c = conn.lock().unwrap_or_else(|p| p.into_inner());
            f(&c)
        })
        .await
        .map_err(|e| self.err(format!("cache task failed: {e}")))?;
        res.map_err(|e| self.err(e))
    }

    /// Look up a response by key. Returned responses have `cached = true`,
    /// zero cost and zero attempts.
    pub async fn get(&self, key: &str) -> Result<Option<ChatResponse>, LlmError> {
        let key = key.to_string();
        let row: Option<String> = self
            .blocking(move |c| c.query_row("SELECT response FROM responses WHERE key = ?1", params![key], |r| r.get(0)).optional())
            .await?;
        match row {
            None => Ok(None),
            Some(json) => {
                let mut resp: ChatResponse = serde_json::from_str(&json).map_err(|e| self.err(format!("corrupt entry: {e}")))?;
                resp.cached = true;
                resp.cost_usd = 0.0;
                resp.attempts = 0;
                Ok(Some(resp))
            }
        }
    }

    /// Store a response (replacing any previous one for the key).
    pub async fn put(&self, key: &str, endpoint: &str, resp: &ChatResponse) -> Result<(), LlmError> {
        let json = serde_json::to_string(resp).map_err(|e| self.err(e))?;
        let (key, endpoint, model) = (key.to_string(), endpoint.to_string(), resp.model.clone());
        let (inp, out, cost) = (resp.usage.input_tokens as i64, resp.usage.output_tokens as i64, resp.cost_usd);
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
        self.blocking(move |c| {
            c.execute(
                "INSERT OR REPLACE INTO responses (key, endpoint, model, response, input_tokens, output_tokens, cost_usd, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![key, endpoint, model, json, inp, out, cost, now],
            )
        })
        .await?;
        Ok(())
    }

    /// Number of cached responses.
    pub async fn len(&self) -> Result<u64, LlmError> {
        self.blocking(|c| c.query_row("SELECT COUNT(*) FROM responses", [], |r| r.get::<_, i64>(0))).await.map(|n| n as u64)
    }

    pub async fn is_empty(&self) -> Result<bool, LlmError> {
        Ok(self.len().await? == 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Usage;

    fn resp() -> ChatResponse {
        ChatResponse {
            content: "hi".into(),
            reasoning: Some("r".into()),
            finish_reason: Some("stop".into()),
            usage: Usage { input_tokens: 3, output_tokens: 4 },
            model: "m".into(),
            cached: false,
            latency_ms: 5,
            cost_usd: 0.25,
            attempts: 2,
        }
    }

    #[test]
    fn key_depends_on_every_part() {
        let msgs = vec![Message::user("x")];
        let base = CacheKeyParts {
            kind: TeacherKind::OpenAi,
            base_url: "u",
            model: "m",
            system: None,
            messages: &msgs,
            temperature: Some(0.7),
            top_p: None,
            max_tokens: Some(10),
            stop: &[],
            seed: None,
            sample_index: 0,
        };
        let k0 = base.key();
        assert_eq!(k0.len(), 64);
        assert_eq!(k0, CacheKeyParts { ..base }.key());
        let msgs2 = vec![Message::user("x")];
        let variants = [
            CacheKeyParts { sample_index: 1, messages: &msgs2, ..base },
            CacheKeyParts { seed: Some(1), messages: &msgs2, ..base },
            CacheKeyParts { model: "n", messages: &msgs2, ..base },
            CacheKeyParts { temperature: Some(0.0), messages: &msgs2, ..base },
            CacheKeyParts { kind: TeacherKind::Anthropic, messages: &msgs2, ..base },
            CacheKeyParts { system: Some("s"), messages: &msgs2, ..base },
        ];
        for v in variants {
            assert_ne!(v.key(), k0);
        }
    }

    #[tokio::test]
    async fn roundtrip_and_persist() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sub/cache.sqlite");
        {
            let c = ResponseCache::open(&path).expect("open");
            assert!(c.get("k").await.expect("get").is_none());
            c.put("k", "ep", &resp()).await.expect("put");
            assert_eq!(c.len().await.expect("len"), 1);
        }
        let c = ResponseCache::open(&path).expect("reopen");
        let r = c.get("k").await.expect("get").expect("hit");
        assert!(r.cached);
        assert_eq!(r.cost_usd, 0.0);
        assert_eq!(r.content, "hi");
        assert_eq!(r.usage.output_tokens, 4);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_writers() {
        let c = ResponseCache::in_memory().expect("mem");
        let mut hs = Vec::new();
        for i in 0..200 {
            let c = c.clone();
            hs.push(tokio::spawn(async move { c.put(&format!("k{i}"), "ep", &resp()).await }));
        }
        for h in hs {
            h.await.expect("join").expect("put");
        }
        assert_eq!(c.len().await.expect("len"), 200);
    }
}
