//! The scripting API: what a test says the server should answer (replies, faults, a function
//! of the request, a replay map) and what the server saw.

use crate::*;

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
    pub(crate) key: Option<String>,
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

pub(crate) type ReplyFn = dyn Fn(&RequestSummary) -> Reply + Send + Sync;

/// How the server chooses its answer.
#[derive(Clone, Default)]
pub enum Responder {
    /// `"echo: <last user message>"` (truncated to 200 chars).
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
    pub(crate) fn reply(&self, s: &RequestSummary) -> Reply {
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

pub(crate) fn echo(s: &RequestSummary) -> Reply {
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
