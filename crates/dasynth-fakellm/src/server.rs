//! The fake teacher server: routes a request to its API, applies latency and faults, answers
//! from the scripted responder, and counts what it served.

use crate::*;

pub(crate) struct Counters {
    pub(crate) hits: AtomicU64,
    pub(crate) in_flight: AtomicU64,
    pub(crate) max_in_flight: AtomicU64,
    pub(crate) status: Vec<AtomicU64>,
}

impl Counters {
    pub(crate) fn new() -> Self {
        Counters {
            hits: AtomicU64::new(0),
            in_flight: AtomicU64::new(0),
            max_in_flight: AtomicU64::new(0),
            status: (0..600).map(|_| AtomicU64::new(0)).collect(),
        }
    }
    pub(crate) fn status(&self, s: u16) {
        if let Some(c) = self.status.get(s as usize) {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }
}

pub(crate) struct Shared {
    pub(crate) cfg: FakeConfig,
    pub(crate) counters: Counters,
    pub(crate) rng: AtomicU64,
}

impl Shared {
    /// splitmix64 on an atomic counter: deterministic sequence for a given seed.
    pub(crate) fn rand_u64(&self) -> u64 {
        use dasynth_core::rng::{GAMMA, mix};
        mix(self.rng.fetch_add(GAMMA, Ordering::Relaxed).wrapping_add(GAMMA))
    }
    pub(crate) fn rand_f64(&self) -> f64 {
        dasynth_core::rng::unit(self.rand_u64())
    }
}

/// A running fake server; stops when dropped.
pub struct FakeLlm {
    server: Loopback,
    shared: Arc<Shared>,
}

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
        let shared = Arc::new(Shared { rng: AtomicU64::new(cfg.seed), cfg, counters: Counters::new() });
        let sh = shared.clone();
        let server = Loopback::start(bind, shared.cfg.worker_threads, "fake-llm", move |req| handle(req, sh.clone()))?;
        Ok(FakeLlm { server, shared })
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }
    /// OpenAI-style base URL, `http://127.0.0.1:PORT/v1`.
    pub fn url(&self) -> String {
        format!("http://{}/v1", self.addr())
    }
    /// Anthropic-style base URL (no `/v1`), `http://127.0.0.1:PORT`.
    pub fn anthropic_url(&self) -> String {
        format!("http://{}", self.addr())
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

pub(crate) struct InFlight<'a>(&'a Counters);
impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

pub(crate) async fn handle(req: Request<Incoming>, sh: Arc<Shared>) -> Response<FakeBody> {
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
        Some(r) => r,
        None => std::future::pending().await,
    }
}

pub(crate) async fn respond(req: Request<Incoming>, sh: &Shared, hit: u64) -> Option<Response<FakeBody>> {
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
