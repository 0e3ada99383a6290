//! The OpenAI-compatible server answering the project's own teacher client, on a random
//! two-layer model with Qwen3's vocabulary and the real Qwen tokenizer.

mod common;

use std::io::{Read, Write};
use std::path::Path;
use std::sync::Arc;

use common::*;
use dasynth_llm::{ChatRequest, Client, LlmError, Message, TeacherConfig, TeacherKind};
use dasynth_student::{Engine, EngineOptions, RandomSpec, StudentServer, write_random_checkpoint};

fn start(tmp: &Path, max_len: usize) -> Option<StudentServer> {
    let tok = qwen_tokenizer()?;
    let dir = tmp.join("random-qwen3");
    write_random_checkpoint(&dir, &RandomSpec::tiny_qwen_vocab()).expect("random checkpoint");
    std::fs::copy(tok, dir.join("tokenizer.json")).expect("tokenizer");
    let engine = Engine::load(&dir, &EngineOptions { max_seqs: 8, max_len: Some(max_len), ..Default::default() }).expect("engine");
    Some(StudentServer::start(Arc::new(engine), "127.0.0.1:0", "student-test").expect("server"))
}

fn client(srv: &StudentServer) -> Client {
    let mut c = TeacherConfig::new(TeacherKind::OpenAi, "student-test");
    c.base_url = Some(srv.url());
    c.timeout_secs = 60.0;
    c.max_retries = 0;
    Client::builder(c).build().expect("client")
}

fn request(content: &str, seed: u64, max_tokens: u32) -> ChatRequest {
    ChatRequest {
        messages: vec![Message::user(content)],
        system: Some("You are a data analyst.".into()),
        seed: Some(seed),
        temperature: Some(0.8),
        top_p: Some(0.95),
        max_tokens: Some(max_tokens),
        ..Default::default()
    }
}

/// A raw HTTP/1.1 exchange, for what the teacher client does not send (`n`, GET).
fn raw(srv: &StudentServer, method: &str, path: &str, body: &str) -> serde_json::Value {
    let mut s = std::net::TcpStream::connect(srv.addr()).expect("connect");
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("write");
    let mut out = String::new();
    s.read_to_string(&mut out).expect("read");
    let body = out.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or_default();
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {out}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn teacher_client_gets_seeded_answers_lengths_and_stops() {
    let tmp = tempfile::tempdir().expect("tmp");
    let Some(srv) = start(tmp.path(), 512) else { return };
    let cl = client(&srv);
    let a = cl.chat(&request("Which column has the most nulls?", 3, 16)).await.expect("chat");
    assert_eq!(a.finish_reason.as_deref(), Some("length"));
    assert_eq!(a.usage.output_tokens, 16);
    assert!(a.usage.input_tokens > 10, "{:?}", a.usage);
    assert_eq!(a.model, "student-test");
    // Same seed, same answer; another seed, another answer.
    let b = cl.chat(&request("Which column has the most nulls?", 3, 16)).await.expect("chat");
    assert_eq!(a.content, b.content);
    let c = cl.chat(&request("Which column has the most nulls?", 4, 16)).await.expect("chat");
    assert_ne!(a.content, c.content);
    // A stop string taken from the seeded answer cuts it there.
    let chars: Vec<char> = a.content.chars().collect();
    assert!(chars.len() >= 6, "{:?}", a.content);
    let stop: String = chars[3..6].iter().collect();
    let cut = a.content.find(&stop).expect("present");
    let mut req = request("Which column has the most nulls?", 3, 16);
    req.stop = vec![stop.clone()];
    match cl.chat(&req).await {
        Ok(s) => {
            assert_eq!(s.content, a.content[..cut], "stop {stop:?}");
            assert_eq!(s.finish_reason.as_deref(), Some("stop"));
        }
        // A stop at the very start leaves nothing, which the client reports as empty.
        Err(LlmError::EmptyResponse { .. }) => assert_eq!(cut, 0),
        Err(e) => panic!("{e}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn prompt_past_the_context_is_a_context_length_error() {
    let tmp = tempfile::tempdir().expect("tmp");
    let Some(srv) = start(tmp.path(), 64) else { return };
    let long = "the quick brown fox jumps over the lazy dog ".repeat(20);
    let e = client(&srv).chat(&request(&long, 1, 8)).await.expect_err("too long");
    assert!(matches!(e.root(), LlmError::ContextLength { .. }), "{e}");
}

#[test]
fn n_samples_and_models_route() {
    let tmp = tempfile::tempdir().expect("tmp");
    let Some(srv) = start(tmp.path(), 256) else { return };
    let body = r#"{"model":"x","messages":[{"role":"user","content":"hi"}],"n":3,"seed":5,"max_tokens":6,"temperature":1.0}"#;
    let v = raw(&srv, "POST", "/v1/chat/completions", body);
    let choices = v["choices"].as_array().expect("choices");
    assert_eq!(choices.len(), 3);
    assert_eq!(v["usage"]["completion_tokens"], 18);
    let texts: Vec<&str> = choices.iter().map(|c| c["message"]["content"].as_str().expect("content")).collect();
    assert!(texts.iter().any(|t| *t != texts[0]), "{texts:?}");
    let m = raw(&srv, "GET", "/v1/models", "");
    assert_eq!(m["data"][0]["id"], "student-test");
    let bad = raw(&srv, "POST", "/v1/chat/completions", r#"{"messages":[{"role":"user","content":"hi"}],"stream":true}"#);
    assert!(bad["error"]["message"].as_str().expect("message").contains("stream"), "{bad}");
}
