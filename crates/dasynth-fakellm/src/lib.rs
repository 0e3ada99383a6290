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

/// Which API shape a request used (decided by the request path).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// `POST .../chat/completions`
    OpenAi,
    /// `POST .../messages`
    Anthropic,
}

/// One chat message as seen by the server (content flattened to text).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SummaryMessage {
    pub role: String,
    pub content: String,
}

/// What a responder gets to see about a request.
#[derive(Debug, Clone)]
pub struct RequestSummary {
    pub api: Api,
    pub path: String,
    pub model: String,
    pub system: Option<String>,
    pub messages: Vec<SummaryMessage>,
    pub stop: Vec<String>,
    pub seed: Option<u64>,
    pub max_tokens: Option<u64>,
    pub temperature: Option<f64>,
    /// Whether an `Authorization: Bearer` or `x-api-key` header was present.
    pub auth_present: bool,
    /// The presented key (kept private to the server; only compared, never logged).
    key: Option<String>,
    /// 1-based arrival number of this request.
    pub hit: u64,
}

impl RequestSummary {
    /// Stable hash of (model, system, messages), used by [`Responder::Replay`].
    pub fn hash(&self) -> String {
        request_hash(&self.model, self.system.as_deref(), &self.messages)
    }

    /// Text of the last user message ("" if none).
    pub fn last_user(&self) -> &str {
        self.messages.iter().rev().find(|m| m.role == "user").map(|m| m.content.as_str()).unwrap_or("")
    }
}

/// Hash used by replay maps: sha256 of canonical JSON of (model, system, messages).
pub fn request_hash(model: &str, system: Option<&str>, messages: &[SummaryMessage]) -> String {
    let v = serde_json::json!({ "model": model, "system": system, "messages": messages });
    hex::encode(Sha256::digest(v.to_string().as_bytes()))
}

/// A fault the server can inject instead of (or while) answering.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// 429 with an optional `Retry-After` header value (e.g. "1" or an HTTP date).
    RateLimited { retry_after: Option<String> },
    /// 500 Internal Server Error.
    ServerError,
    /// Overloaded: 529 for the Anthropic API, 503 for the OpenAI API.
    Overloaded,
    /// Never answer (the connection stays open until the client gives up).
    Hang,
    /// Send headers announcing the full length, then only half the body and close.
    Truncated,
    /// 200 with a body that is not JSON.
    InvalidJson,
    /// Send the (valid) body in `chunks` pieces with `delay` between them.
    SlowStream { chunks: usize, delay: Duration },
    /// 200 with empty content.
    EmptyContent,
    /// Any status with a raw body.
    Status { status: u16, body: String },
}

/// What the server answers to one request.
#[derive(Debug, Clone, Default)]
pub struct Reply {
    pub content: String,
    pub reasoning: Option<String>,
    /// (input, output) tokens; computed from text lengths when `None`.
    pub usage: Option<(u64, u64)>,
    /// Overrides the default finish reason ("stop" / "end_turn").
    pub finish_reason: Option<String>,
    pub fault: Option<Fault>,
    /// Extra latency for this reply on top of the configured latency.
    pub delay: Option<Duration>,
}

impl Reply {
    pub fn text(content: impl Into<String>) -> Self {
        Reply { content: content.into(), ..Default::default() }
    }
    pub fn fault(f: Fault) -> Self {
        Reply { fault: Some(f), ..Default::default() }
    }
    pub fn with_reasoning(mut self, r: impl Into<String>) -> Self {
        self.reasoning = Some(r.into());
        self
    }
    pub fn with_usage(mut self, input: u64, output: u64) -> Self {
        self.usage = Some((input, output));
        self
    }
    pub fn with_finish_reason(mut self, r: impl Into<String>) -> Self {
        self.finish_reason = Some(r.into());
        self
    }
    pub fn with_delay(mut self, d: Duration) -> Self {
        self.delay = Some(d);
        self
    }
}

type ReplyFn = dyn Fn(&RequestSummary) -> Reply + Send + Sync;

/// How the server chooses its answer.
#[derive(Clone, Default)]
pub enum Responder {
    /// "echo: <last user message>" (truncated to 200 chars).
    #[default]
    Echo,
    /// Pop replies in order; once empty, fall back to echo.
    Script(Arc<Mutex<VecDeque<Reply>>>),
    /// Compute the reply from the request.
    Func(Arc<ReplyFn>),
    /// Look up content by [`RequestSummary::hash`]; unknown requests get echo.
    Replay(Arc<HashMap<String, String>>),
}

impl Responder {
    pub fn script(replies: impl IntoIterator<Item = Reply>) -> Self {
        Responder::Script(Arc::new(Mutex::new(replies.into_iter().collect())))
    }
    pub fn func(f: impl Fn(&RequestSummary) -> Reply + Send + Sync + 'static) -> Self {
        Responder::Func(Arc::new(f))
    }
    pub fn replay(map: HashMap<String, String>) -> Self {
        Responder::Replay(Arc::new(map))
    }
    fn reply(&self, s: &RequestSummary) -> Reply {
        match self {
            Responder::Echo => echo(s),
            Responder::Script(q) => {
                let next = q.lock().map(|mut q| q.pop_front()).unwrap_or(None);
                next.unwrap_or_else(|| echo(s))
            }
            Responder::Func(f) => f(s),
            Responder::Replay(m) => m.get(&s.hash()).map(Reply::text).unwrap_or_else(|| echo(s)),
        }
    }
}

impl std::fmt::Debug for Responder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Responder::Echo => "Echo",
            Responder::Script(_) => "Script",
            Responder::Func(_) => "Func",
            Responder::Replay(_) => "Replay",
        })
    }
}

fn echo(s: &RequestSummary) -> Reply {
    let last: String = s.last_user().chars().take(200).collect();
    Reply::text(format!("echo: {last}"))
}

/// Server configuration. `Default` gives an instant, fault-free echo server.
#[derive(Debug, Clone)]
pub struct FakeConfig {
    pub responder: Responder,
    /// Fixed latency added to every request.
    pub latency: Duration,
    /// Uniform random extra latency in `[0, jitter]`.
    pub jitter: Duration,
    /// Probability in `[0,1]` that a request gets a random fault from `faults`.
    pub fault_rate: f64,
    /// Faults to draw from when `fault_rate` fires.
    pub faults: Vec<Fault>,
    /// Seed of the RNG used for jitter and fault injection.
    pub seed: u64,
    /// If set, requests whose key is not in this list get 401.
    pub valid_keys: Option<Vec<String>>,
    /// Models that answer 404 "model not found".
    pub unknown_models: Vec<String>,
    /// If set, requests whose total message characters exceed this get a
    /// 400 "maximum context length" error.
    pub context_limit_chars: Option<usize>,
    /// Tokio worker threads of the server runtime.
    pub worker_threads: usize,
}

impl Default for FakeConfig {
    fn default() -> Self {
        FakeConfig {
            responder: Responder::Echo,
            latency: Duration::ZERO,
            jitter: Duration::ZERO,
            fault_rate: 0.0,
            faults: Vec::new(),
            seed: 0x5eed,
            valid_keys: None,
            unknown_models: Vec::new(),
            context_limit_chars: None,
            worker_threads: 2,
        }
    }
}

/// Counters reported by [`FakeLlm::stats`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FakeStats {
    /// Requests received (including ones answered with faults).
    pub hits: u64,
    /// Requests currently being handled.
    pub in_flight: u64,
    /// Highest number of simultaneously handled requests seen.
    pub max_in_flight: u64,
    /// Number of responses per HTTP status (hangs are not counted).
    pub status_counts: HashMap<u16, u64>,
}

impl FakeStats {
    pub fn count(&self, status: u16) -> u64 {
        self.status_counts.get(&status).copied().unwrap_or(0)
    }
}

struct Counters {
    hits: AtomicU64,
    in_flight: AtomicU64,
    max_in_flight: AtomicU64,
    status: Vec<AtomicU64>,
}

impl Counters {
    fn new() -> Self {
        Counters {
            hits: AtomicU64::new(0),
            in_flight: AtomicU64::new(0),
            max_in_flight: AtomicU64::new(0),
            status: (0..600).map(|_| AtomicU64::new(0)).collect(),
        }
    }
    fn status(&self, s: u16) {
        if let Some(c) = self.status.get(s as usize) {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }
}

struct Shared {
    cfg: FakeConfig,
    counters: Counters,
    rng: AtomicU64,
}

impl Shared {
    /// splitmix64 on an atomic counter: deterministic sequence for a given seed.
    fn rand_u64(&self) -> u64 {
        let mut z = self.rng.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed).wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn rand_f64(&self) -> f64 {
        (self.rand_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A running fake server; stops when dropped.
pub struct FakeLlm {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Error starting the server.
#[derive(Debug)]
pub struct StartError(pub String);

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "fake LLM server failed to start: {}", self.0)
    }
}
impl std::error::Error for StartError {}

impl FakeLlm {
    /// Start on `127.0.0.1:0`. Panics if the server cannot start (test helper).
    pub fn start(cfg: FakeConfig) -> FakeLlm {
        match Self::try_start(cfg, "127.0.0.1:0") {
            Ok(s) => s,
            Err(e) => panic!("{e}"),
        }
    }

    /// Start on the given address (e.g. `127.0.0.1:8080`).
    pub fn try_start(cfg: FakeConfig, bind: &str) -> Result<FakeLlm, StartError> {
        let bind_err = |e: std::io::Error| StartError(format!("bind {bind}: {e}"));
        let want: SocketAddr = std::net::ToSocketAddrs::to_socket_addrs(bind)
            .map_err(bind_err)?
            .next()
            .ok_or_else(|| StartError(format!("bind {bind}: no address")))?;
        let socket = if want.is_ipv4() { tokio::net::TcpSocket::new_v4() } else { tokio::net::TcpSocket::new_v6() }.map_err(bind_err)?;
        socket.set_reuseaddr(true).map_err(bind_err)?;
        socket.bind(want).map_err(bind_err)?;
        let addr = socket.local_addr().map_err(bind_err)?;
        let shared = Arc::new(Shared { rng: AtomicU64::new(cfg.seed), cfg, counters: Counters::new() });
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(shared.cfg.worker_threads.max(1))
            .thread_name("fake-llm")
            .enable_all()
            .build()
            .map_err(|e| StartError(e.to_string()))?;
        // A deep accept queue (the kernel caps it at somaxconn): with std's
        // default of 128, a burst of 1,000 connects loses SYNs and those
        // clients wait a full second to retry. Listening here, inside the
        // runtime's context, means connects succeed as soon as this returns.
        let listener = {
            let _ctx = rt.enter();
            socket.listen(4096).map_err(bind_err)?
        };
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let sh = shared.clone();
        let thread = std::thread::Builder::new()
            .name("fake-llm-main".into())
            .spawn(move || {
                rt.block_on(async move {
                    tokio::select! {
                        _ = accept_loop(listener, sh) => {}
                        _ = rx => {}
                    }
                });
                rt.shutdown_timeout(Duration::from_millis(100));
            })
            .map_err(|e| StartError(e.to_string()))?;
        Ok(FakeLlm { addr, shared, shutdown: Some(tx), thread: Some(thread) })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
    /// OpenAI-style base URL, `http://127.0.0.1:PORT/v1`.
    pub fn url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }
    /// Anthropic-style base URL (no `/v1`), `http://127.0.0.1:PORT`.
    pub fn anthropic_url(&self) -> String {
        format!("http://{}", self.addr)
    }
    pub fn stats(&self) -> FakeStats {
        let c = &self.shared.counters;
        let mut status_counts = HashMap::new();
        for (i, n) in c.status.iter().enumerate() {
            let n = n.load(Ordering::Relaxed);
            if n > 0 {
                status_counts.insert(i as u16, n);
            }
        }
        FakeStats {
            hits: c.hits.load(Ordering::Relaxed),
            in_flight: c.in_flight.load(Ordering::Relaxed),
            max_in_flight: c.max_in_flight.load(Ordering::Relaxed),
            status_counts,
        }
    }
    /// Reset `max_in_flight` to the current in-flight count.
    pub fn reset_max_in_flight(&self) {
        let c = &self.shared.counters;
        c.max_in_flight.store(c.in_flight.load(Ordering::Relaxed), Ordering::Relaxed);
    }
}

impl Drop for FakeLlm {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn accept_loop(listener: tokio::net::TcpListener, shared: Arc<Shared>) {
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                // EMFILE and friends: back off briefly instead of spinning.
                tracing::warn!("fake llm accept: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let sh = shared.clone();
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req| handle(req, sh.clone()));
            let io = hyper_util::rt::TokioIo::new(stream);
            let _ = hyper::server::conn::http1::Builder::new().keep_alive(true).serve_connection(io, svc).await;
        });
    }
}

/// Response body: either a full buffer or chunks from a channel.
pub enum FakeBody {
    Full(Option<Bytes>),
    Chan(mpsc::Receiver<Bytes>),
}

impl Body for FakeBody {
    type Data = Bytes;
    type Error = Infallible;
    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.get_mut() {
            FakeBody::Full(b) => Poll::Ready(b.take().map(|b| Ok(Frame::data(b)))),
            FakeBody::Chan(rx) => rx.poll_recv(cx).map(|o| o.map(|b| Ok(Frame::data(b)))),
        }
    }
    fn is_end_stream(&self) -> bool {
        matches!(self, FakeBody::Full(None))
    }
    fn size_hint(&self) -> SizeHint {
        match self {
            FakeBody::Full(Some(b)) => SizeHint::with_exact(b.len() as u64),
            FakeBody::Full(None) => SizeHint::with_exact(0),
            FakeBody::Chan(_) => SizeHint::default(),
        }
    }
}

struct InFlight<'a>(&'a Counters);
impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

fn json_response(status: u16, body: Bytes) -> Response<FakeBody> {
    let mut r = Response::new(FakeBody::Full(Some(body)));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

fn error_body(api: Api, kind: &str, message: &str) -> Bytes {
    let v = match api {
        Api::OpenAi => serde_json::json!({"error": {"message": message, "type": kind, "code": kind}}),
        Api::Anthropic => serde_json::json!({"type": "error", "error": {"type": kind, "message": message}}),
    };
    Bytes::from(v.to_string())
}

async fn handle(req: Request<Incoming>, sh: Arc<Shared>) -> Result<Response<FakeBody>, Infallible> {
    let c = &sh.counters;
    let hit = c.hits.fetch_add(1, Ordering::Relaxed) + 1;
    let now = c.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
    c.max_in_flight.fetch_max(now, Ordering::Relaxed);
    let _guard = InFlight(c);
    let resp = respond(req, &sh, hit).await;
    if let Some(status) = resp.as_ref().map(|r| r.status().as_u16()) {
        c.status(status);
    }
    // `None` means "hang": never answer.
    match resp {
        Some(r) => Ok(r),
        None => std::future::pending().await,
    }
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts.iter().filter_map(|p| p.get("text").and_then(Value::as_str)).collect::<Vec<_>>().join(""),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn summarize(api: Api, path: &str, body: &Value, key: Option<String>, hit: u64) -> RequestSummary {
    let mut system = match api {
        Api::Anthropic => body.get("system").map(text_of),
        Api::OpenAi => None,
    };
    let mut messages = Vec::new();
    if let Some(arr) = body.get("messages").and_then(Value::as_array) {
        for m in arr {
            let role = m.get("role").and_then(Value::as_str).unwrap_or("").to_string();
            let content = m.get("content").map(text_of).unwrap_or_default();
            if api == Api::OpenAi && role == "system" && system.is_none() && messages.is_empty() {
                system = Some(content);
                continue;
            }
            messages.push(SummaryMessage { role, content });
        }
    }
    let stop_v = body.get("stop").or_else(|| body.get("stop_sequences"));
    let stop = match stop_v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect(),
        _ => Vec::new(),
    };
    RequestSummary {
        api,
        path: path.to_string(),
        model: body.get("model").and_then(Value::as_str).unwrap_or("").to_string(),
        system,
        messages,
        stop,
        seed: body.get("seed").and_then(Value::as_u64),
        max_tokens: body.get("max_tokens").or_else(|| body.get("max_completion_tokens")).and_then(Value::as_u64),
        temperature: body.get("temperature").and_then(Value::as_f64),
        auth_present: key.is_some(),
        key,
        hit,
    }
}

#[derive(Serialize)]
struct OaiMsg<'a> {
    role: &'static str,
    content: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reasoning_content: Option<&'a str>,
}
#[derive(Serialize)]
struct OaiChoice<'a> {
    index: u32,
    message: OaiMsg<'a>,
    finish_reason: &'a str,
}
#[derive(Serialize)]
struct OaiUsage {
    prompt_tokens: u64,
    completion_tokens: u64,
    total_tokens: u64,
}
#[derive(Serialize)]
struct OaiResp<'a> {
    id: String,
    object: &'static str,
    created: u64,
    model: &'a str,
    choices: [OaiChoice<'a>; 1],
    usage: OaiUsage,
}
#[derive(Serialize)]
struct AnthBlock<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    thinking: Option<&'a str>,
}
#[derive(Serialize)]
struct AnthUsage {
    input_tokens: u64,
    output_tokens: u64,
}
#[derive(Serialize)]
struct AnthResp<'a> {
    id: String,
    #[serde(rename = "type")]
    kind: &'static str,
    role: &'static str,
    model: &'a str,
    content: Vec<AnthBlock<'a>>,
    stop_reason: &'a str,
    usage: AnthUsage,
}

fn success_body(api: Api, s: &RequestSummary, r: &Reply) -> Bytes {
    let (inp, out) = r.usage.unwrap_or_else(|| {
        let chars: usize = s.messages.iter().map(|m| m.content.len()).sum::<usize>() + s.system.as_ref().map_or(0, |x| x.len());
        (chars as u64 / 4 + 1, r.content.len() as u64 / 4 + 1)
    });
    let id = format!("fake-{}", s.hit);
    let bytes = match api {
        Api::OpenAi => serde_json::to_vec(&OaiResp {
            id,
            object: "chat.completion",
            created: 0,
            model: &s.model,
            choices: [OaiChoice {
                index: 0,
                message: OaiMsg { role: "assistant", content: &r.content, reasoning_content: r.reasoning.as_deref() },
                finish_reason: r.finish_reason.as_deref().unwrap_or("stop"),
            }],
            usage: OaiUsage { prompt_tokens: inp, completion_tokens: out, total_tokens: inp + out },
        }),
        Api::Anthropic => {
            let mut content = Vec::new();
            if let Some(t) = r.reasoning.as_deref() {
                content.push(AnthBlock { kind: "thinking", text: None, thinking: Some(t) });
            }
            if !r.content.is_empty() {
                content.push(AnthBlock { kind: "text", text: Some(&r.content), thinking: None });
            }
            serde_json::to_vec(&AnthResp {
                id,
                kind: "message",
                role: "assistant",
                model: &s.model,
                content,
                stop_reason: r.finish_reason.as_deref().unwrap_or("end_turn"),
                usage: AnthUsage { input_tokens: inp, output_tokens: out },
            })
        }
    };
    Bytes::from(bytes.unwrap_or_default())
}

async fn respond(req: Request<Incoming>, sh: &Shared, hit: u64) -> Option<Response<FakeBody>> {
    let path = req.uri().path().to_string();
    let api = if path.ends_with("/chat/completions") {
        Api::OpenAi
    } else if path.ends_with("/messages") {
        Api::Anthropic
    } else {
        return Some(json_response(404, error_body(Api::OpenAi, "not_found", &format!("no route {path}"))));
    };
    let headers = req.headers();
    let key =
        headers.get("x-api-key").and_then(|v| v.to_str().ok()).map(str::to_string).or_else(|| {
            headers.get("authorization").and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer ")).map(str::to_string)
        });
    let body = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return Some(json_response(400, error_body(api, "invalid_request_error", "body read failed"))),
    };
    let parsed: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return Some(json_response(400, error_body(api, "invalid_request_error", &format!("invalid JSON: {e}")))),
    };
    let s = summarize(api, &path, &parsed, key, hit);
    let cfg = &sh.cfg;

    // Latency.
    let mut delay = cfg.latency;
    if !cfg.jitter.is_zero() {
        delay += cfg.jitter.mul_f64(sh.rand_f64());
    }

    // Forced statuses.
    if let Some(valid) = &cfg.valid_keys {
        let ok = s.key.as_ref().is_some_and(|k| valid.iter().any(|v| v == k));
        if !ok {
            let kind = if api == Api::Anthropic { "authentication_error" } else { "invalid_api_key" };
            return Some(json_response(401, error_body(api, kind, "Incorrect API key provided")));
        }
    }
    if cfg.unknown_models.contains(&s.model) {
        let msg = format!("The model `{}` does not exist or you do not have access to it. model not found", s.model);
        return Some(json_response(404, error_body(api, "model_not_found", &msg)));
    }
    if let Some(limit) = cfg.context_limit_chars {
        let chars: usize = s.messages.iter().map(|m| m.content.len()).sum();
        if chars > limit {
            let msg = format!("This model's maximum context length is {limit} tokens. However, your messages resulted in {chars} tokens.");
            let kind = if api == Api::Anthropic { "invalid_request_error" } else { "context_length_exceeded" };
            return Some(json_response(400, error_body(api, kind, &msg)));
        }
    }

    let mut reply = cfg.responder.reply(&s);
    if reply.fault.is_none() && cfg.fault_rate > 0.0 && !cfg.faults.is_empty() && sh.rand_f64() < cfg.fault_rate {
        let i = (sh.rand_u64() % cfg.faults.len() as u64) as usize;
        reply.fault = cfg.faults.get(i).cloned();
    }
    if let Some(d) = reply.delay {
        delay += d;
    }
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }

    match reply.fault.take() {
        None => Some(json_response(200, success_body(api, &s, &reply))),
        Some(Fault::RateLimited { retry_after }) => {
            let mut r = json_response(429, error_body(api, "rate_limit_error", "Rate limit reached"));
            if let Some(ra) = retry_after.and_then(|v| HeaderValue::from_str(&v).ok()) {
                r.headers_mut().insert("retry-after", ra);
            }
            Some(r)
        }
        Some(Fault::ServerError) => Some(json_response(500, error_body(api, "api_error", "Internal server error"))),
        Some(Fault::Overloaded) => {
            let status = if api == Api::Anthropic { 529 } else { 503 };
            Some(json_response(status, error_body(api, "overloaded_error", "Overloaded")))
        }
        Some(Fault::Hang) => None,
        Some(Fault::Truncated) => {
            let full = success_body(api, &s, &reply);
            let (tx, rx) = mpsc::channel(1);
            let half = full.slice(..full.len() / 2);
            tokio::spawn(async move {
                let _ = tx.send(half).await;
                // Dropping tx ends the body short of Content-Length.
            });
            let mut r = Response::new(FakeBody::Chan(rx));
            r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            r.headers_mut().insert(CONTENT_LENGTH, HeaderValue::from(full.len() as u64));
            Some(r)
        }
        Some(Fault::InvalidJson) => Some(json_response(200, Bytes::from_static(b"{\"choices\": [ this is not json"))),
        Some(Fault::SlowStream { chunks, delay }) => {
            let full = success_body(api, &s, &reply);
            let n = chunks.max(1);
            let (tx, rx) = mpsc::channel(1);
            let len = full.len();
            tokio::spawn(async move {
                let step = len.div_ceil(n).max(1);
                let mut off = 0;
                while off < len {
                    let end = (off + step).min(len);
                    if tx.send(full.slice(off..end)).await.is_err() {
                        return;
                    }
                    off = end;
                    if off < len {
                        tokio::time::sleep(delay).await;
                    }
                }
            });
            let mut r = Response::new(FakeBody::Chan(rx));
            r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            r.headers_mut().insert(CONTENT_LENGTH, HeaderValue::from(len as u64));
            Some(r)
        }
        Some(Fault::EmptyContent) => {
            reply.content.clear();
            reply.reasoning = None;
            Some(json_response(200, success_body(api, &s, &reply)))
        }
        Some(Fault::Status { status, body }) => Some(json_response(status, Bytes::from(body))),
    }
}

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
