//! An OpenAI-compatible `/v1/chat/completions` (and `/v1/models`) over the engine, on hyper.
//!
//! Messages are rendered with the ChatML format and tokenized; `n` samples share one prefill;
//! `max_tokens` (or `max_completion_tokens`), `temperature`, `top_p`, `top_k`, `seed` and `stop`
//! (a string or a list) are honoured; a stop string is cut from the returned content as OpenAI
//! does. Streaming is not offered. A prompt past the context is a 400 whose message names the
//! limit ("maximum context length"), which OpenAI clients recognise.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use serde::Deserialize;
use serde_json::json;

use crate::engine::Engine;
use crate::error::{Result, StudentError};
use crate::params::{FinishReason, SamplingParams};
use crate::tokenizer::{ChatMessage, Tokenizer};

/// Largest request body accepted.
const MAX_BODY: usize = 32 << 20;
/// `max_tokens` when a request names none.
const DEFAULT_MAX_TOKENS: usize = 1024;

#[derive(Deserialize)]
struct ChatBody {
    #[serde(default)]
    messages: Vec<BodyMessage>,
    #[serde(default)]
    max_tokens: Option<usize>,
    #[serde(default)]
    max_completion_tokens: Option<usize>,
    #[serde(default)]
    temperature: Option<f32>,
    #[serde(default)]
    top_p: Option<f32>,
    #[serde(default)]
    top_k: Option<usize>,
    #[serde(default)]
    seed: Option<u64>,
    #[serde(default)]
    stop: Option<Stop>,
    #[serde(default)]
    n: Option<usize>,
    #[serde(default)]
    stream: Option<bool>,
}

#[derive(Deserialize)]
struct BodyMessage {
    role: String,
    #[serde(default)]
    content: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Stop {
    One(String),
    Many(Vec<String>),
}

/// A running server; stops when dropped.
pub struct StudentServer {
    addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl StudentServer {
    /// Serves `engine` on `bind` (e.g. `127.0.0.1:8000`) from a runtime thread of its own,
    /// naming the model `model_name` in responses.
    pub fn start(engine: Arc<Engine>, bind: &str, model_name: &str) -> Result<StudentServer> {
        if engine.tokenizer().is_none() {
            return Err(StudentError::NoTokenizer { what: "the chat completions server" });
        }
        let err = |e: std::io::Error| StudentError::Server(format!("bind {bind}: {e}"));
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("student-server")
            .enable_all()
            .build()
            .map_err(err)?;
        let listener = {
            let _ctx = rt.enter();
            let std_listener = std::net::TcpListener::bind(bind).map_err(err)?;
            std_listener.set_nonblocking(true).map_err(err)?;
            tokio::net::TcpListener::from_std(std_listener).map_err(err)?
        };
        let addr = listener.local_addr().map_err(err)?;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let model = Arc::new(model_name.to_string());
        let thread = std::thread::Builder::new()
            .name("student-server-main".into())
            .spawn(move || {
                rt.block_on(async move {
                    tokio::select! {
                        _ = accept_loop(listener, engine, model) => {}
                        _ = rx => {}
                    }
                });
                rt.shutdown_timeout(Duration::from_millis(200));
            })
            .map_err(err)?;
        Ok(StudentServer { addr, shutdown: Some(tx), thread: Some(thread) })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// OpenAI-style base URL, `http://ADDR/v1`.
    pub fn url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Blocks until the server thread ends (it runs until the process is stopped).
    pub fn wait(mut self) {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for StudentServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn accept_loop(listener: tokio::net::TcpListener, engine: Arc<Engine>, model: Arc<String>) {
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!("student server accept: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let (engine, model) = (engine.clone(), model.clone());
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req| {
                let (engine, model) = (engine.clone(), model.clone());
                async move { Ok::<_, Infallible>(handle(req, &engine, &model).await) }
            });
            let io = hyper_util::rt::TokioIo::new(stream);
            let _ = hyper::server::conn::http1::Builder::new().keep_alive(true).serve_connection(io, svc).await;
        });
    }
}

fn reply(status: StatusCode, body: serde_json::Value) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body.to_string())));
    *r.status_mut() = status;
    r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

fn error(status: StatusCode, kind: &str, message: String) -> Response<Full<Bytes>> {
    reply(status, json!({"error": {"message": message, "type": kind}}))
}

async fn handle(req: Request<Incoming>, engine: &Engine, model: &str) -> Response<Full<Bytes>> {
    let path = req.uri().path().trim_end_matches('/').to_string();
    match (req.method(), path.as_str()) {
        (&Method::GET, "/v1/models") => {
            reply(StatusCode::OK, json!({"object": "list", "data": [{"id": model, "object": "model", "owned_by": "dasynth"}]}))
        }
        (&Method::POST, "/v1/chat/completions") => {
            let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
                Ok(b) => b.to_bytes(),
                Err(e) => return error(StatusCode::BAD_REQUEST, "invalid_request_error", format!("unreadable body: {e}")),
            };
            match chat(&body, engine, model).await {
                Ok(v) => reply(StatusCode::OK, v),
                Err(e @ (StudentError::PromptTooLong { .. } | StudentError::InvalidRequest(_))) => {
                    error(StatusCode::BAD_REQUEST, "invalid_request_error", e.to_string())
                }
                Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, "server_error", e.to_string()),
            }
        }
        _ => error(StatusCode::NOT_FOUND, "not_found", format!("no route for {} {path}", req.method())),
    }
}

fn params_of(body: &ChatBody, engine: &Engine) -> SamplingParams {
    let max_tokens = body.max_completion_tokens.or(body.max_tokens).unwrap_or(DEFAULT_MAX_TOKENS);
    let d = engine.default_params(max_tokens);
    SamplingParams {
        temperature: body.temperature.unwrap_or(d.temperature),
        top_p: body.top_p.unwrap_or(d.top_p),
        top_k: body.top_k.unwrap_or(d.top_k),
        seed: body.seed.unwrap_or_else(|| SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0)),
        stop: match &body.stop {
            None => Vec::new(),
            Some(Stop::One(s)) => vec![s.clone()],
            Some(Stop::Many(v)) => v.clone(),
        },
        ..d
    }
}

async fn chat(body: &[u8], engine: &Engine, model: &str) -> Result<serde_json::Value> {
    let body: ChatBody = serde_json::from_slice(body).map_err(|e| StudentError::InvalidRequest(format!("request body: {e}")))?;
    if body.stream == Some(true) {
        return Err(StudentError::InvalidRequest("streaming responses are not supported; send \"stream\": false".into()));
    }
    if body.messages.is_empty() {
        return Err(StudentError::InvalidRequest("messages is empty".into()));
    }
    let tok = engine.tokenizer().ok_or(StudentError::NoTokenizer { what: "the chat completions server" })?;
    let messages: Vec<ChatMessage> =
        body.messages.iter().map(|m| ChatMessage { role: m.role.clone(), content: m.content.clone().unwrap_or_default() }).collect();
    let prompt = tok.encode(&Tokenizer::chat_prompt(&messages))?;
    let prompt_tokens = prompt.len();
    let params = params_of(&body, engine);
    let n = body.n.unwrap_or(1).max(1);
    let gens = engine.generate_n(prompt, params, n).map_err(|e| match e {
        StudentError::PromptTooLong { tokens, limit } => StudentError::InvalidRequest(format!(
            "This model's maximum context length is {limit} tokens; the messages take {tokens} tokens"
        )),
        e => e,
    })?;
    let mut choices = Vec::with_capacity(n);
    let mut completion_tokens = 0;
    for (index, mut g) in gens.into_iter().enumerate() {
        let turn = g.turn().await?;
        completion_tokens += turn.finish.generated;
        let content = match &turn.finish.reason {
            FinishReason::StopString { text_end, .. } => turn.text[..*text_end].to_string(),
            _ => turn.text,
        };
        choices.push(json!({
            "index": index,
            "message": {"role": "assistant", "content": content},
            "finish_reason": turn.finish.reason.openai(),
        }));
    }
    let created = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    Ok(json!({
        "id": format!("chatcmpl-{created}-{}", engine.stats().steps),
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": choices,
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens, "total_tokens": prompt_tokens + completion_tokens},
    }))
}
