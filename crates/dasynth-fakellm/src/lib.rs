//! A fake OpenAI-compatible (`/v1/chat/completions`) and Anthropic Messages
//! (`/v1/messages`) HTTP server, used as a test double for `dasynth-llm` and
//! as a load target for benchmarks. It runs on its own tokio runtime thread,
//! so it can be started from synchronous and asynchronous tests alike, and it
//! can inject latency and faults (rate limits, server errors, overload,
//! hangs, truncated or invalid bodies, slow bodies, empty content, auth and
//! model errors) either at a seeded random rate or from a scripted queue.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use hyper::{Request, Response, StatusCode};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

mod loopback;
mod script;
mod server;
mod wire;

pub use loopback::*;
pub use script::*;
pub use server::*;
pub(crate) use wire::*;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rng_is_deterministic() {
        let a = Shared { cfg: FakeConfig::default(), counters: Counters::new(), rng: AtomicU64::new(7) };
        let b = Shared { cfg: FakeConfig::default(), counters: Counters::new(), rng: AtomicU64::new(7) };
        for _ in 0..10 {
            assert_eq!(a.rand_u64(), b.rand_u64());
        }
        let f = a.rand_f64();
        assert!((0.0..1.0).contains(&f));
    }

    #[test]
    fn summary_flattens_blocks_and_system() {
        let body = serde_json::json!({
            "model": "m", "system": [{"type":"text","text":"sys"}],
            "messages": [{"role":"user","content":[{"type":"text","text":"hi"}]}],
            "stop_sequences": ["X"], "max_tokens": 5
        });
        let s = summarize(Api::Anthropic, "/v1/messages", &body, None, 1);
        assert_eq!(s.system.as_deref(), Some("sys"));
        assert_eq!(s.last_user(), "hi");
        assert_eq!(s.stop, vec!["X".to_string()]);
        assert_eq!(s.max_tokens, Some(5));
        let body =
            serde_json::json!({"model":"m","messages":[{"role":"system","content":"S"},{"role":"user","content":"u"}],"stop":"Z","seed":3});
        let s = summarize(Api::OpenAi, "/v1/chat/completions", &body, Some("k".into()), 1);
        assert_eq!(s.system.as_deref(), Some("S"));
        assert_eq!(s.messages.len(), 1);
        assert_eq!(s.stop, vec!["Z".to_string()]);
        assert_eq!(s.seed, Some(3));
        assert!(s.auth_present);
    }

    #[test]
    fn serves_both_apis_over_tcp() {
        use std::io::{Read, Write};
        let srv = FakeLlm::start(FakeConfig::default());
        for (path, body) in [
            ("/v1/chat/completions", r#"{"model":"m","messages":[{"role":"user","content":"ping"}]}"#),
            ("/v1/messages", r#"{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"ping"}]}"#),
        ] {
            let mut s = std::net::TcpStream::connect(srv.addr()).expect("connect");
            let req = format!(
                "POST {path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            s.write_all(req.as_bytes()).expect("write");
            let mut out = String::new();
            s.read_to_string(&mut out).expect("read");
            assert!(out.starts_with("HTTP/1.1 200"), "{out}");
            assert!(out.contains("echo: ping"), "{out}");
        }
        let st = srv.stats();
        assert_eq!(st.hits, 2);
        assert_eq!(st.count(200), 2);
    }
}
