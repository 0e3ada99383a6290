//! The async client: cache → budget → circuit breaker → rate limits →
//! adaptive concurrency → HTTP attempt, with retries around the last four.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};

use crate::budget::Budget;
use crate::cache::{CacheKeyParts, ResponseCache};
use crate::config::ApiKey;
use crate::error::LlmError;
use crate::http1::{Http1, WireError};
use crate::limit::{Aimd, BreakerState, CircuitBreaker, TokenBucket, backoff, parse_retry_after};
use crate::types::{ChatRequest, ChatResponse, Usage};
use crate::wire::{self, Params};
use dasynth_core::config::{TeacherConfig, TeacherKind};

/// Longest `Retry-After` that is honoured; longer values are capped.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(120);

/// Counters of one client (all clones share them).
#[derive(Debug, Clone, PartialEq)]
pub struct ClientStats {
    /// HTTP attempts sent.
    pub attempts: u64,
    /// Calls that returned a response from the network.
    pub successes: u64,
    /// Calls that ended in an error.
    pub failures: u64,
    /// Attempts that were retried.
    pub retries: u64,
    pub cache_hits: u64,
    /// Current adaptive concurrency limit.
    pub concurrency_limit: usize,
    pub in_flight: u64,
    /// Highest number of simultaneous HTTP attempts.
    pub max_in_flight: u64,
    pub breaker: BreakerState,
}

/// Builder for [`Client`].
pub struct ClientBuilder {
    cfg: TeacherConfig,
    api_key: Option<ApiKey>,
    cache: Option<ResponseCache>,
    budget: Option<Budget>,
    backoff_base: Duration,
    backoff_cap: Duration,
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder").field("endpoint", &self.cfg.display_name()).field("api_key", &self.api_key).finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// Use this key instead of reading `api-key-env`.
    pub fn api_key(mut self, key: ApiKey) -> Self {
        self.api_key = Some(key);
        self
    }
    pub fn cache(mut self, cache: ResponseCache) -> Self {
        self.cache = Some(cache);
        self
    }
    pub fn budget(mut self, budget: Budget) -> Self {
        self.budget = Some(budget);
        self
    }
    /// Backoff base (first retry waits up to `base`) and cap; defaults 500 ms / 30 s.
    pub fn backoff(mut self, base: Duration, cap: Duration) -> Self {
        self.backoff_base = base;
        self.backoff_cap = cap;
        self
    }

    pub fn build(self) -> Result<Client, LlmError> {
        let cfg = self.cfg;
        let name = cfg.display_name();
        let invalid = |reason: String| LlmError::InvalidConfig { endpoint: name.clone(), reason };
        let path = match cfg.kind {
            TeacherKind::OpenAi => "/chat/completions",
            TeacherKind::Anthropic => "/v1/messages",
            TeacherKind::Reference => {
                return Err(LlmError::UnsupportedKind { endpoint: name, kind: cfg.kind.to_string() });
            }
        };
        if cfg.model.trim().is_empty() {
            return Err(invalid("model is empty".into()));
        }
        if !(cfg.timeout_secs.is_finite() && cfg.timeout_secs > 0.0) {
            return Err(invalid(format!("timeout-secs must be > 0, got {}", cfg.timeout_secs)));
        }
        if cfg.max_concurrency == 0 {
            return Err(invalid("max-concurrency must be >= 1".into()));
        }
        if !(cfg.weight.is_finite() && cfg.weight >= 0.0) {
            return Err(invalid(format!("weight must be finite and >= 0, got {}", cfg.weight)));
        }
        for (what, v) in [("requests-per-minute", cfg.requests_per_minute), ("tokens-per-minute", cfg.tokens_per_minute)] {
            if let Some(v) = v.filter(|v| !(v.is_finite() && *v > 0.0)) {
                return Err(invalid(format!("{what} must be > 0, got {v}")));
            }
        }
        if !(cfg.breaker_cooldown_secs.is_finite() && cfg.breaker_cooldown_secs >= 0.0) {
            return Err(invalid("breaker-cooldown-secs must be >= 0".into()));
        }
        let base_url = cfg.effective_base_url();
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(invalid(format!("base-url must start with http:// or https://, got {base_url:?}")));
        }
        let url = format!("{base_url}{path}");
        let parsed_url = reqwest::Url::parse(&url).map_err(|e| invalid(format!("base-url {base_url:?}: {e}")))?;

        let key = match self.api_key {
            Some(k) => Some(k),
            None => match &cfg.api_key_env {
                None => None,
                Some(var) => match std::env::var(var) {
                    Ok(v) if !v.trim().is_empty() => Some(ApiKey::new(v.trim())),
                    _ => return Err(LlmError::MissingApiKey { endpoint: name, var: var.clone() }),
                },
            },
        };

        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        for (k, v) in &cfg.extra_headers {
            let hn = HeaderName::from_bytes(k.as_bytes()).map_err(|e| invalid(format!("extra header {k:?}: {e}")))?;
            let hv = HeaderValue::from_str(v).map_err(|e| invalid(format!("extra header {k:?}: {e}")))?;
            headers.insert(hn, hv);
        }
        if cfg.kind == TeacherKind::Anthropic && !headers.contains_key("anthropic-version") {
            headers.insert("anthropic-version", HeaderValue::from_static("2023-06-01"));
        }
        if let Some(k) = &key {
            let (hn, v) = match cfg.kind {
                TeacherKind::Anthropic => ("x-api-key", k.expose().to_string()),
                _ => ("authorization", format!("Bearer {}", k.expose())),
            };
            let mut hv =
                HeaderValue::from_str(&v).map_err(|_| invalid("API key contains characters not allowed in an HTTP header".into()))?;
            hv.set_sensitive(true);
            headers.insert(hn, hv);
        }

        let timeout = Duration::from_secs_f64(cfg.timeout_secs);
        let connect_timeout = timeout.min(Duration::from_secs(10));
        // Plain-HTTP endpoints without a proxy take the lean HTTP/1.1 path;
        // everything else goes through reqwest.
        let direct = if cfg.proxy.is_some() || proxy_configured() { None } else { Http1::new(&parsed_url, &headers, connect_timeout) };
        let transport = match direct {
            Some(h) => Transport::Http1(h),
            None => {
                // TLS through rustls with ring; installing it is idempotent.
                let _ = rustls::crypto::ring::default_provider().install_default();
                let mut http = reqwest::Client::builder();
                if let Some(p) = &cfg.proxy {
                    let proxy = reqwest::Proxy::all(p).map_err(|e| invalid(format!("proxy {p:?}: {}", error_chain(&e))))?;
                    http = http.proxy(proxy);
                }
                let client = http
                    .default_headers(headers)
                    .connect_timeout(connect_timeout)
                    .pool_idle_timeout(Duration::from_secs(90))
                    .tcp_nodelay(true)
                    .build()
                    .map_err(|e| invalid(format!("HTTP client: {}", error_chain(&e))))?;
                Transport::Reqwest { client, url: parsed_url }
            }
        };

        let rpm = cfg.requests_per_minute.map(TokenBucket::per_minute);
        let tpm = cfg.tokens_per_minute.map(TokenBucket::per_minute);
        Ok(Client {
            inner: Arc::new(Inner {
                aimd: Aimd::new(cfg.max_concurrency),
                breaker: CircuitBreaker::new(cfg.breaker_threshold, Duration::from_secs_f64(cfg.breaker_cooldown_secs)),
                name,
                url,
                base_url,
                key,
                transport,
                rpm,
                tpm,
                cache: self.cache,
                budget: self.budget,
                timeout,
                backoff_base: self.backoff_base,
                backoff_cap: self.backoff_cap,
                counters: Counters::default(),
                cfg,
            }),
        })
    }
}

#[derive(Default)]
struct Counters {
    attempts: AtomicU64,
    successes: AtomicU64,
    failures: AtomicU64,
    retries: AtomicU64,
    cache_hits: AtomicU64,
}

struct Inner {
    cfg: TeacherConfig,
    name: String,
    url: String,
    base_url: String,
    key: Option<ApiKey>,
    transport: Transport,
    aimd: Arc<Aimd>,
    rpm: Option<TokenBucket>,
    tpm: Option<TokenBucket>,
    breaker: CircuitBreaker,
    cache: Option<ResponseCache>,
    budget: Option<Budget>,
    timeout: Duration,
    backoff_base: Duration,
    backoff_cap: Duration,
    counters: Counters,
}

/// How requests reach the endpoint.
enum Transport {
    /// The built-in HTTP/1.1 client (plain `http://`, no proxy).
    Http1(Http1),
    /// reqwest with rustls, for `https://` and proxied endpoints.
    Reqwest { client: reqwest::Client, url: reqwest::Url },
}

/// A teacher endpoint client. Cheap to clone; clones share limits, breaker,
/// cache, budget and connection pool.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("endpoint", &self.inner.name)
            .field("url", &self.inner.url)
            .field("model", &self.inner.cfg.model)
            .field("api_key", &self.inner.key)
            .finish()
    }
}

/// Whether the environment names an HTTP proxy (reqwest honours it, and
/// `NO_PROXY` exceptions, so such endpoints stay on reqwest).
fn proxy_configured() -> bool {
    ["http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"].iter().any(|v| std::env::var_os(v).is_some_and(|x| !x.is_empty()))
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(c) = src {
        s.push_str(": ");
        s.push_str(&c.to_string());
        src = c.source();
    }
    s
}

impl Client {
    /// Build a client with defaults (reads the API key from `api-key-env`).
    pub fn new(cfg: TeacherConfig) -> Result<Client, LlmError> {
        Self::builder(cfg).build()
    }

    pub fn builder(cfg: TeacherConfig) -> ClientBuilder {
        ClientBuilder {
            cfg,
            api_key: None,
            cache: None,
            budget: None,
            backoff_base: Duration::from_millis(500),
            backoff_cap: Duration::from_secs(30),
        }
    }

    /// Endpoint label used in logs and errors.
    pub fn name(&self) -> &str {
        &self.inner.name
    }
    pub fn config(&self) -> &TeacherConfig {
        &self.inner.cfg
    }
    /// Full request URL (`…/chat/completions` or `…/v1/messages`).
    pub fn url(&self) -> &str {
        &self.inner.url
    }
    pub fn budget(&self) -> Option<&Budget> {
        self.inner.budget.as_ref()
    }

    pub fn stats(&self) -> ClientStats {
        let c = &self.inner.counters;
        ClientStats {
            attempts: c.attempts.load(Ordering::Relaxed),
            successes: c.successes.load(Ordering::Relaxed),
            failures: c.failures.load(Ordering::Relaxed),
            retries: c.retries.load(Ordering::Relaxed),
            cache_hits: c.cache_hits.load(Ordering::Relaxed),
            concurrency_limit: self.inner.aimd.limit(),
            in_flight: self.inner.aimd.in_flight(),
            max_in_flight: self.inner.aimd.max_in_flight(),
            breaker: self.inner.breaker.state(),
        }
    }

    /// The cache key of a request on this endpoint (sha256 hex; never
    /// includes the API key).
    pub fn cache_key(&self, req: &ChatRequest) -> String {
        let (temperature, max_tokens) = self.effective(req);
        CacheKeyParts {
            kind: self.inner.cfg.kind,
            base_url: &self.inner.base_url,
            model: &self.inner.cfg.model,
            system: req.system.as_deref(),
            messages: &req.messages,
            temperature,
            top_p: req.top_p,
            max_tokens,
            stop: &req.stop,
            seed: req.seed,
            sample_index: req.sample_index,
        }
        .key()
    }

    fn effective(&self, req: &ChatRequest) -> (Option<f64>, Option<u32>) {
        let cfg = &self.inner.cfg;
        let temperature = req.temperature.or(cfg.temperature);
        let mut max_tokens = req.max_tokens.or(cfg.max_tokens);
        if cfg.kind == TeacherKind::Anthropic && max_tokens.is_none() {
            max_tokens = Some(wire::ANTHROPIC_DEFAULT_MAX_TOKENS);
        }
        (temperature, max_tokens)
    }

    /// Send a chat request (or answer it from the cache).
    pub async fn chat(&self, req: &ChatRequest) -> Result<ChatResponse, LlmError> {
        let start = Instant::now();
        let inner = &*self.inner;
        let cache_key = inner.cache.as_ref().map(|_| self.cache_key(req));
        if let (Some(cache), Some(key)) = (&inner.cache, &cache_key) {
            match cache.get(key).await {
                Ok(Some(mut hit)) => {
                    inner.counters.cache_hits.fetch_add(1, Ordering::Relaxed);
                    hit.latency_ms = start.elapsed().as_millis() as u64;
                    tracing::debug!(endpoint = %inner.name, model = %inner.cfg.model, cached = true,
                        input_tokens = hit.usage.input_tokens, output_tokens = hit.usage.output_tokens, "llm request (cache hit)");
                    return Ok(hit);
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(endpoint = %inner.name, error = %e, "response cache read failed; sending request"),
            }
        }
        let result = self.send_with_retries(req, start).await;
        match &result {
            Ok(resp) => {
                inner.counters.successes.fetch_add(1, Ordering::Relaxed);
                if let (Some(cache), Some(key)) = (&inner.cache, &cache_key)
                    && let Err(e) = cache.put(key, &inner.name, resp).await
                {
                    tracing::warn!(endpoint = %inner.name, error = %e, "response cache write failed");
                }
            }
            Err(e) => {
                inner.counters.failures.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(endpoint = %inner.name, model = %inner.cfg.model, error = %e,
                    latency_ms = start.elapsed().as_millis() as u64, "llm request failed");
            }
        }
        result
    }

    async fn send_with_retries(&self, req: &ChatRequest, start: Instant) -> Result<ChatResponse, LlmError> {
        let inner = &*self.inner;
        if let Some(b) = &inner.budget {
            b.check()?;
        }
        let (temperature, max_tokens) = self.effective(req);
        let params = Params {
            model: &inner.cfg.model,
            system: req.system.as_deref(),
            messages: &req.messages,
            max_tokens,
            temperature,
            top_p: req.top_p,
            seed: req.seed,
            stop: &req.stop,
        };
        let body = match inner.cfg.kind {
            TeacherKind::Anthropic => wire::anthropic_body(&params),
            _ => wire::openai_body(&params),
        }
        .map_err(|e| LlmError::InvalidConfig { endpoint: inner.name.clone(), reason: format!("encode request: {e}") })?;
        let body = bytes::Bytes::from(body);
        let est_tokens = (req.estimated_input_tokens() + u64::from(max_tokens.unwrap_or(1024))) as f64;

        let mut attempts: u32 = 0;
        loop {
            attempts += 1;
            let admit = inner.breaker.admit().map_err(|retry_in| LlmError::CircuitOpen { endpoint: inner.name.clone(), retry_in })?;
            if let Some(rpm) = &inner.rpm {
                let w = rpm.reserve(1.0);
                if !w.is_zero() {
                    tokio::time::sleep(w).await;
                }
            }
            if let Some(tpm) = &inner.tpm {
                let w = tpm.reserve(est_tokens);
                if !w.is_zero() {
                    tokio::time::sleep(w).await;
                }
            }
            let permit = inner.aimd.acquire().await;
            inner.counters.attempts.fetch_add(1, Ordering::Relaxed);
            let t0 = Instant::now();
            let res = self.attempt(body.clone()).await;
            match res {
                Ok(parsed) => {
                    permit.success();
                    drop(permit);
                    inner.breaker.record_success();
                    let usage = parsed.usage;
                    if let Some(tpm) = &inner.tpm {
                        tpm.adjust(est_tokens - usage.total() as f64);
                    }
                    let cost = inner.cfg.cost(usage.input_tokens, usage.output_tokens);
                    if let Some(b) = &inner.budget {
                        b.record(cost, usage.total());
                    }
                    let latency_ms = start.elapsed().as_millis() as u64;
                    tracing::debug!(endpoint = %inner.name, model = %inner.cfg.model, status = 200u16, attempts,
                        latency_ms, input_tokens = usage.input_tokens, output_tokens = usage.output_tokens,
                        cost_usd = cost, "llm request");
                    if parsed.content.is_empty() {
                        return Err(LlmError::EmptyResponse { endpoint: inner.name.clone(), model: inner.cfg.model.clone() });
                    }
                    return Ok(ChatResponse {
                        content: parsed.content,
                        reasoning: parsed.reasoning,
                        finish_reason: parsed.finish_reason,
                        usage: Usage { input_tokens: usage.input_tokens, output_tokens: usage.output_tokens },
                        model: parsed.model.unwrap_or_else(|| inner.cfg.model.clone()),
                        cached: false,
                        latency_ms,
                        cost_usd: cost,
                        attempts,
                    });
                }
                Err(e) => {
                    if e.is_overload() {
                        permit.overload();
                    }
                    drop(permit);
                    if let Some(tpm) = &inner.tpm {
                        tpm.adjust(est_tokens);
                    }
                    let status = match &e {
                        LlmError::Http { status, .. } => *status,
                        _ => 0,
                    };
                    // Server errors, timeouts and transport failures count
                    // towards the breaker; 429 and 4xx prove the endpoint is alive.
                    let transport_failure = e.is_retryable() && status != 429;
                    if transport_failure {
                        if inner.breaker.record_failure(admit) {
                            tracing::warn!(endpoint = %inner.name, url = %inner.url, "circuit breaker opened");
                        }
                    } else {
                        inner.breaker.record_success();
                    }
                    if !e.is_retryable() {
                        tracing::debug!(endpoint = %inner.name, model = %inner.cfg.model, status, attempts,
                            latency_ms = t0.elapsed().as_millis() as u64, error = %e, "llm request rejected");
                        return Err(e);
                    }
                    if attempts > inner.cfg.max_retries {
                        return Err(LlmError::RetriesExhausted { endpoint: inner.name.clone(), attempts, last: Box::new(e) });
                    }
                    let wait = match e.retry_after() {
                        Some(ra) => ra.min(MAX_RETRY_AFTER),
                        None => backoff(attempts - 1, inner.backoff_base, inner.backoff_cap),
                    };
                    inner.counters.retries.fetch_add(1, Ordering::Relaxed);
                    tracing::info!(endpoint = %inner.name, model = %inner.cfg.model, status, attempts,
                        wait_ms = wait.as_millis() as u64, error = %e, "llm request will be retried");
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    async fn attempt(&self, body: bytes::Bytes) -> Result<wire::Parsed, LlmError> {
        let inner = &*self.inner;
        let fut = async {
            let (client, url) = match &inner.transport {
                Transport::Http1(h) => {
                    let r = h.post(&body).await.map_err(|e| self.wire_error(e))?;
                    let retry_after = r.retry_after.as_deref().and_then(|v| parse_retry_after(v, SystemTime::now()));
                    return Ok((r.status, retry_after, r.body));
                }
                Transport::Reqwest { client, url } => (client, url),
            };
            let resp = client.post(url.clone()).body(body).send().await.map_err(|e| self.transport_error(&e))?;
            let status = resp.status().as_u16();
            let retry_after = resp
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| parse_retry_after(v, SystemTime::now()));
            let bytes = resp.bytes().await.map_err(|e| LlmError::InvalidBody {
                endpoint: inner.name.clone(),
                url: inner.url.clone(),
                message: format!("truncated or unreadable body: {}", self.redact(&error_chain(&e))),
            })?;
            Ok::<_, LlmError>((status, retry_after, bytes))
        };
        let (status, retry_after, bytes) = match tokio::time::timeout(inner.timeout, fut).await {
            Ok(r) => r?,
            Err(_) => {
                return Err(LlmError::Timeout { endpoint: inner.name.clone(), url: inner.url.clone(), timeout: inner.timeout });
            }
        };
        if (200..300).contains(&status) {
            let parsed = match inner.cfg.kind {
                TeacherKind::Anthropic => wire::parse_anthropic(&bytes),
                _ => wire::parse_openai(&bytes),
            };
            return parsed.map_err(|e| LlmError::InvalidBody {
                endpoint: inner.name.clone(),
                url: inner.url.clone(),
                message: format!("invalid JSON ({} bytes): {e}", bytes.len()),
            });
        }
        Err(self.classify(status, retry_after, &bytes))
    }

    fn redact(&self, s: &str) -> String {
        match &self.inner.key {
            Some(k) => k.redact(s),
            None => s.to_string(),
        }
    }

    fn wire_error(&self, e: WireError) -> LlmError {
        let inner = &*self.inner;
        let (endpoint, url) = (inner.name.clone(), inner.url.clone());
        match e {
            WireError::Connect(m) => LlmError::Connect { endpoint, url, message: self.redact(&m) },
            WireError::Body(m) => {
                LlmError::InvalidBody { endpoint, url, message: format!("truncated or unreadable body: {}", self.redact(&m)) }
            }
            WireError::Malformed(m) => LlmError::InvalidBody { endpoint, url, message: self.redact(&m) },
        }
    }

    fn transport_error(&self, e: &reqwest::Error) -> LlmError {
        let inner = &*self.inner;
        let message = self.redact(&error_chain(e));
        if e.is_timeout() {
            LlmError::Timeout { endpoint: inner.name.clone(), url: inner.url.clone(), timeout: inner.timeout }
        } else if e.is_body() || e.is_decode() {
            LlmError::InvalidBody { endpoint: inner.name.clone(), url: inner.url.clone(), message }
        } else {
            LlmError::Connect { endpoint: inner.name.clone(), url: inner.url.clone(), message }
        }
    }

    fn classify(&self, status: u16, retry_after: Option<Duration>, body: &[u8]) -> LlmError {
        let inner = &*self.inner;
        let message = self.redact(&wire::error_message(body));
        let endpoint = inner.name.clone();
        let url = inner.url.clone();
        match status {
            401 | 403 => LlmError::Auth { endpoint, url, status, message },
            404 => LlmError::UnknownModel { endpoint, url, model: inner.cfg.model.clone(), message },
            400 | 413 | 422 if wire::mentions_context_length(&message) => {
                LlmError::ContextLength { endpoint, model: inner.cfg.model.clone(), message }
            }
            400 | 422 if wire::mentions_unknown_model(&message) => {
                LlmError::UnknownModel { endpoint, url, model: inner.cfg.model.clone(), message }
            }
            s if crate::error::is_retryable_status(s) => LlmError::Http { endpoint, url, status, message, retry_after },
            _ => LlmError::BadRequest { endpoint, url, status, message },
        }
    }
}
