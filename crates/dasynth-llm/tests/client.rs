//! Integration tests of `dasynth_llm::Client` against the fake server.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dasynth_fakellm::{FakeConfig, FakeLlm, Fault, Reply, RequestSummary, Responder};
use dasynth_llm::{ApiKey, BreakerState, Budget, ChatRequest, Client, LlmError, Message, ResponseCache, TeacherConfig, TeacherKind};

fn cfg(kind: TeacherKind, srv: &FakeLlm) -> TeacherConfig {
    let mut c = TeacherConfig::new(kind, "test-model");
    c.base_url = Some(match kind {
        TeacherKind::Anthropic => srv.anthropic_url(),
        _ => srv.url(),
    });
    c.timeout_secs = 5.0;
    c.max_retries = 3;
    c
}

fn client(c: TeacherConfig) -> Client {
    Client::builder(c).backoff(Duration::from_millis(5), Duration::from_millis(20)).build().expect("client")
}

fn script(replies: Vec<Reply>) -> FakeConfig {
    FakeConfig { responder: Responder::script(replies), ..Default::default() }
}

#[tokio::test]
async fn happy_path_openai() {
    let seen: Arc<Mutex<Option<RequestSummary>>> = Arc::default();
    let s2 = seen.clone();
    let srv = FakeLlm::start(FakeConfig {
        responder: Responder::func(move |s| {
            *s2.lock().expect("lock") = Some(s.clone());
            Reply::text(format!("answer to {}", s.last_user())).with_reasoning("thought").with_usage(100, 20)
        }),
        ..Default::default()
    });
    let mut c = cfg(TeacherKind::OpenAi, &srv);
    c.price_input_per_mtok = 1.0;
    c.price_output_per_mtok = 10.0;
    let cl = client(c);
    let req = ChatRequest {
        messages: vec![Message::user("q1")],
        system: Some("be brief".into()),
        seed: Some(42),
        stop: vec!["###".into()],
        temperature: Some(0.2),
        ..Default::default()
    };
    let r = cl.chat(&req).await.expect("chat");
    assert_eq!(r.content, "answer to q1");
    assert_eq!(r.reasoning.as_deref(), Some("thought"));
    assert_eq!(r.finish_reason.as_deref(), Some("stop"));
    assert_eq!((r.usage.input_tokens, r.usage.output_tokens), (100, 20));
    assert_eq!(r.attempts, 1);
    assert!(!r.cached);
    assert!((r.cost_usd - 0.0003).abs() < 1e-12);
    assert_eq!(r.model, "test-model");
    let s = seen.lock().expect("lock").clone().expect("seen");
    assert_eq!(s.system.as_deref(), Some("be brief"));
    assert_eq!(s.stop, vec!["###".to_string()]);
    assert_eq!(s.seed, Some(42));
    assert_eq!(s.temperature, Some(0.2));
    assert!(s.path.ends_with("/v1/chat/completions"));
    assert!(!s.auth_present);
}

#[tokio::test]
async fn happy_path_anthropic_with_key() {
    let seen: Arc<Mutex<Option<RequestSummary>>> = Arc::default();
    let s2 = seen.clone();
    let srv = FakeLlm::start(FakeConfig {
        valid_keys: Some(vec!["sk-ant-good".into()]),
        responder: Responder::func(move |s| {
            *s2.lock().expect("lock") = Some(s.clone());
            Reply::text("hello").with_reasoning("hmm").with_finish_reason("stop_sequence")
        }),
        ..Default::default()
    });
    let cl = Client::builder(cfg(TeacherKind::Anthropic, &srv)).api_key(ApiKey::new("sk-ant-good")).build().expect("client");
    let req = ChatRequest {
        messages: vec![Message::user("hi"), Message::assistant("yo"), Message::user("again")],
        system: Some("sys".into()),
        stop: vec!["STOP".into()],
        ..Default::default()
    };
    let r = cl.chat(&req).await.expect("chat");
    assert_eq!(r.content, "hello");
    assert_eq!(r.reasoning.as_deref(), Some("hmm"));
    assert_eq!(r.finish_reason.as_deref(), Some("stop_sequence"));
    let s = seen.lock().expect("lock").clone().expect("seen");
    assert!(s.path.ends_with("/v1/messages"));
    assert_eq!(s.system.as_deref(), Some("sys"));
    assert_eq!(s.messages.len(), 3);
    assert_eq!(s.stop, vec!["STOP".to_string()]);
    assert_eq!(s.max_tokens, Some(4096));
    assert!(s.auth_present);
}

#[tokio::test]
async fn honours_retry_after() {
    let srv = FakeLlm::start(script(vec![Reply::fault(Fault::RateLimited { retry_after: Some("1".into()) }), Reply::text("ok")]));
    let cl = client(cfg(TeacherKind::OpenAi, &srv));
    let t = Instant::now();
    let r = cl.chat(&ChatRequest::user("x")).await.expect("chat");
    let el = t.elapsed();
    assert_eq!(r.content, "ok");
    assert_eq!(r.attempts, 2);
    assert!(el >= Duration::from_millis(950), "waited only {el:?}");
    assert!(el < Duration::from_secs(3), "{el:?}");
    assert_eq!(srv.stats().count(429), 1);
}

#[tokio::test]
async fn server_error_then_success_and_overload_529() {
    let srv = FakeLlm::start(script(vec![Reply::fault(Fault::ServerError), Reply::text("ok")]));
    let r = client(cfg(TeacherKind::OpenAi, &srv)).chat(&ChatRequest::user("x")).await.expect("chat");
    assert_eq!((r.content.as_str(), r.attempts), ("ok", 2));

    let srv = FakeLlm::start(script(vec![Reply::fault(Fault::Overloaded), Reply::text("ok")]));
    let r = client(cfg(TeacherKind::Anthropic, &srv)).chat(&ChatRequest::user("x")).await.expect("chat");
    assert_eq!((r.content.as_str(), r.attempts), ("ok", 2));
    assert_eq!(srv.stats().count(529), 1);
}

#[tokio::test]
async fn timeout_then_success() {
    let srv = FakeLlm::start(script(vec![Reply::text("late").with_delay(Duration::from_secs(3)), Reply::text("ok")]));
    let mut c = cfg(TeacherKind::OpenAi, &srv);
    c.timeout_secs = 0.3;
    let t = Instant::now();
    let r = client(c).chat(&ChatRequest::user("x")).await.expect("chat");
    assert_eq!((r.content.as_str(), r.attempts), ("ok", 2));
    assert!(t.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn truncated_and_invalid_bodies_are_retried() {
    let srv = FakeLlm::start(script(vec![Reply::fault(Fault::Truncated), Reply::fault(Fault::InvalidJson), Reply::text("ok")]));
    let r = client(cfg(TeacherKind::OpenAi, &srv)).chat(&ChatRequest::user("x")).await.expect("chat");
    assert_eq!((r.content.as_str(), r.attempts), ("ok", 3));

    let srv = FakeLlm::start(FakeConfig { fault_rate: 1.0, faults: vec![Fault::InvalidJson], ..Default::default() });
    let mut c = cfg(TeacherKind::Anthropic, &srv);
    c.max_retries = 2;
    let e = client(c).chat(&ChatRequest::user("x")).await.expect_err("must fail");
    assert!(matches!(e, LlmError::RetriesExhausted { attempts: 3, .. }), "{e}");
    assert!(matches!(e.root(), LlmError::InvalidBody { .. }), "{e}");
    assert!(e.to_string().contains(&srv.anthropic_url()), "{e}");
    assert!(!e.is_fatal_for_run());
}

/// Plain-HTTP endpoints use the built-in HTTP/1.1 client; an endpoint with a
/// `proxy` goes through reqwest. Here the fake server is also the proxy (it
/// answers absolute-form request targets), so both paths meet the same faults.
#[tokio::test]
async fn both_transports_survive_the_same_faults() {
    for proxied in [false, true] {
        let srv = FakeLlm::start(script(vec![
            Reply::fault(Fault::Truncated),
            Reply::fault(Fault::ServerError),
            Reply::fault(Fault::InvalidJson),
            Reply::text("ok"),
            Reply::fault(Fault::SlowStream { chunks: 3, delay: Duration::from_millis(20) }),
        ]));
        let mut c = cfg(TeacherKind::OpenAi, &srv);
        if proxied {
            c.proxy = Some(format!("http://{}", srv.addr()));
            c.base_url = Some("http://teacher.invalid:9/v1".into());
        }
        let cl = client(c);
        let r = cl.chat(&ChatRequest::user("x")).await.unwrap_or_else(|e| panic!("proxied={proxied}: {e}"));
        assert_eq!((r.content.as_str(), r.attempts), ("ok", 4), "proxied={proxied}");
        // A slowly dribbled body of an empty reply is read in full and reported as empty.
        let e = cl.chat(&ChatRequest::user("y")).await.expect_err("empty content");
        assert!(matches!(e, LlmError::EmptyResponse { .. }), "proxied={proxied}: {e}");
        assert_eq!(srv.stats().hits, 5, "proxied={proxied}");
    }
}

#[tokio::test]
async fn slow_stream_within_and_beyond_timeout() {
    let slow = |ms| Fault::SlowStream { chunks: 4, delay: Duration::from_millis(ms) };
    let srv = FakeLlm::start(FakeConfig { fault_rate: 1.0, faults: vec![slow(100)], ..Default::default() });
    let mut c = cfg(TeacherKind::OpenAi, &srv);
    c.timeout_secs = 2.0;
    let t = Instant::now();
    let r = client(c).chat(&ChatRequest::user("x")).await.expect("within timeout");
    assert_eq!(r.attempts, 1);
    assert!(t.elapsed() >= Duration::from_millis(290), "body was not dribbled");

    let srv = FakeLlm::start(FakeConfig { fault_rate: 1.0, faults: vec![slow(400)], ..Default::default() });
    let mut c = cfg(TeacherKind::OpenAi, &srv);
    c.timeout_secs = 0.5;
    c.max_retries = 1;
    let e = client(c).chat(&ChatRequest::user("x")).await.expect_err("beyond timeout");
    assert!(matches!(e.root(), LlmError::Timeout { .. }), "{e}");
    assert_eq!(srv.stats().hits, 2);
}

#[tokio::test]
async fn missing_key_env_is_a_build_error() {
    let mut c = TeacherConfig::new(TeacherKind::OpenAi, "m");
    c.api_key_env = Some("DASYNTH_TEST_DEFINITELY_UNSET_KEY".into());
    let e = Client::new(c).expect_err("must fail");
    assert!(matches!(e, LlmError::MissingApiKey { .. }));
    assert!(e.to_string().contains("DASYNTH_TEST_DEFINITELY_UNSET_KEY"), "{e}");
    assert!(e.is_fatal_for_run());

    let r = Client::new(TeacherConfig::new(TeacherKind::Reference, "gold")).expect_err("reference");
    assert!(matches!(r, LlmError::UnsupportedKind { .. }), "{r}");
}

#[tokio::test]
async fn wrong_key_is_auth_error_without_leaking_key() {
    let srv = FakeLlm::start(FakeConfig { valid_keys: Some(vec!["right".into()]), ..Default::default() });
    let secret = "sk-wrong-very-secret-123";
    let cl = Client::builder(cfg(TeacherKind::OpenAi, &srv)).api_key(ApiKey::new(secret)).build().expect("client");
    let e = cl.chat(&ChatRequest::user("x")).await.expect_err("401");
    assert!(matches!(e, LlmError::Auth { status: 401, .. }), "{e}");
    assert!(e.is_fatal_for_run());
    assert_eq!(srv.stats().hits, 1, "auth errors are not retried");
    assert!(!e.to_string().contains(secret));
    assert!(!format!("{e:?}").contains(secret));
    assert!(!format!("{cl:?}").contains(secret));
    assert!(!cl.cache_key(&ChatRequest::user("x")).contains(secret));
}

#[tokio::test]
async fn unknown_model_context_length_and_empty_are_not_retried() {
    let srv = FakeLlm::start(FakeConfig { unknown_models: vec!["ghost".into()], context_limit_chars: Some(100), ..Default::default() });
    let mut c = cfg(TeacherKind::OpenAi, &srv);
    c.model = "ghost".into();
    let e = client(c).chat(&ChatRequest::user("x")).await.expect_err("404");
    assert!(matches!(e, LlmError::UnknownModel { .. }), "{e}");
    assert!(e.to_string().contains("ghost"), "{e}");
    assert!(e.is_fatal_for_run());
    assert_eq!(srv.stats().hits, 1);

    let e = client(cfg(TeacherKind::Anthropic, &srv)).chat(&ChatRequest::user("y".repeat(500))).await.expect_err("400");
    assert!(matches!(e, LlmError::ContextLength { .. }), "{e}");
    assert!(!e.is_fatal_for_run());
    assert_eq!(srv.stats().hits, 2);

    let srv = FakeLlm::start(script(vec![Reply::fault(Fault::EmptyContent)]));
    let e = client(cfg(TeacherKind::OpenAi, &srv)).chat(&ChatRequest::user("x")).await.expect_err("empty");
    assert!(matches!(e, LlmError::EmptyResponse { .. }), "{e}");
    assert_eq!(srv.stats().hits, 1);
}

#[tokio::test]
async fn circuit_breaker_on_refused_connections() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let mut c = TeacherConfig::new(TeacherKind::OpenAi, "m");
    c.base_url = Some(format!("http://127.0.0.1:{port}/v1"));
    c.max_retries = 50;
    c.breaker_threshold = 3;
    c.breaker_cooldown_secs = 60.0;
    let cl = client(c);
    let t = Instant::now();
    let e = cl.chat(&ChatRequest::user("x")).await.expect_err("dead");
    assert!(matches!(e, LlmError::CircuitOpen { .. }), "{e}");
    assert_eq!(cl.stats().attempts, 3);
    assert!(t.elapsed() < Duration::from_secs(2));
    let t = Instant::now();
    let e = cl.chat(&ChatRequest::user("x")).await.expect_err("fails fast");
    assert!(matches!(e, LlmError::CircuitOpen { .. }), "{e}");
    assert!(t.elapsed() < Duration::from_millis(50));
    assert_eq!(cl.stats().attempts, 3);
    assert_eq!(cl.stats().breaker, BreakerState::Open);
}

#[tokio::test]
async fn circuit_breaker_on_server_that_never_answers() {
    let srv = FakeLlm::start(FakeConfig { fault_rate: 1.0, faults: vec![Fault::Hang], ..Default::default() });
    let mut c = cfg(TeacherKind::OpenAi, &srv);
    c.timeout_secs = 0.2;
    c.max_retries = 20;
    c.breaker_threshold = 2;
    let cl = client(c);
    let t = Instant::now();
    let mut hs = Vec::new();
    for i in 0..8 {
        let cl = cl.clone();
        hs.push(tokio::spawn(async move { cl.chat(&ChatRequest::user(format!("{i}"))).await }));
    }
    for h in hs {
        let e = h.await.expect("join").expect_err("hang");
        assert!(matches!(e, LlmError::CircuitOpen { .. }), "{e}");
    }
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    let t = Instant::now();
    assert!(cl.chat(&ChatRequest::user("again")).await.is_err());
    assert!(t.elapsed() < Duration::from_millis(50));
}

#[tokio::test]
async fn circuit_breaker_half_open_probe_recovers() {
    let srv = FakeLlm::start(script(vec![Reply::fault(Fault::ServerError), Reply::fault(Fault::ServerError)]));
    let mut c = cfg(TeacherKind::OpenAi, &srv);
    c.breaker_threshold = 2;
    c.breaker_cooldown_secs = 0.2;
    let cl = client(c);
    assert!(matches!(cl.chat(&ChatRequest::user("x")).await, Err(LlmError::CircuitOpen { .. })));
    tokio::time::sleep(Duration::from_millis(250)).await;
    let r = cl.chat(&ChatRequest::user("x")).await.expect("probe succeeds");
    assert_eq!(r.content, "echo: x");
    assert_eq!(cl.stats().breaker, BreakerState::Closed);
}

#[tokio::test]
async fn cache_hit_avoids_second_request() {
    let srv = FakeLlm::start(FakeConfig {
        responder: Responder::func(|s| Reply::text(format!("n{}", s.hit)).with_usage(10, 10)),
        ..Default::default()
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = ResponseCache::open(dir.path().join("c.sqlite")).expect("cache");
    let budget = Budget::new(Some(100.0), None);
    let mut c = cfg(TeacherKind::OpenAi, &srv);
    c.price_input_per_mtok = 1000.0;
    let cl = Client::builder(c).cache(cache.clone()).budget(budget.clone()).build().expect("client");
    let req = ChatRequest::user("same");
    let a = cl.chat(&req).await.expect("first");
    let b = cl.chat(&req).await.expect("second");
    assert_eq!(srv.stats().hits, 1);
    assert!(!a.cached && b.cached);
    assert_eq!(a.content, b.content);
    assert_eq!(b.cost_usd, 0.0);
    assert_eq!(budget.snapshot().requests, 1, "cache hits are not charged");
    let other = ChatRequest { sample_index: 1, ..req.clone() };
    let c2 = cl.chat(&other).await.expect("other sample");
    assert_ne!(c2.content, a.content);
    assert_eq!(srv.stats().hits, 2);
    assert_eq!(cache.len().await.expect("len"), 2);
    // Persisted: a new client on the same file needs no request.
    drop(cl);
    let cache2 = ResponseCache::open(dir.path().join("c.sqlite")).expect("reopen");
    let cl2 = Client::builder(cfg(TeacherKind::OpenAi, &srv)).cache(cache2).build().expect("client");
    assert!(cl2.chat(&req).await.expect("hit").cached);
    assert_eq!(srv.stats().hits, 2);
}

#[tokio::test]
async fn budget_stops_at_cap() {
    let srv = FakeLlm::start(FakeConfig { responder: Responder::func(|_| Reply::text("x").with_usage(1000, 1000)), ..Default::default() });
    let mut c = cfg(TeacherKind::OpenAi, &srv);
    c.price_input_per_mtok = 5.0;
    c.price_output_per_mtok = 5.0; // $0.01 per request
    let budget = Budget::new(Some(0.03), None);
    let cl = Client::builder(c).budget(budget.clone()).build().expect("client");
    for _ in 0..3 {
        cl.chat(&ChatRequest::user("x")).await.expect("within budget");
    }
    let e = cl.chat(&ChatRequest::user("x")).await.expect_err("over budget");
    match e {
        LlmError::BudgetExhausted { spent_usd, tokens } => {
            assert!((spent_usd - 0.03).abs() < 1e-9);
            assert_eq!(tokens, 6000);
        }
        other => panic!("unexpected {other}"),
    }
    assert_eq!(srv.stats().hits, 3);
    let s = budget.snapshot();
    assert_eq!((s.requests, s.tokens), (3, 6000));

    let tb = Budget::new(None, Some(4000));
    let cl = Client::builder(cfg(TeacherKind::OpenAi, &srv)).budget(tb).build().expect("client");
    cl.chat(&ChatRequest::user("x")).await.expect("1");
    cl.chat(&ChatRequest::user("x")).await.expect("2");
    assert!(matches!(cl.chat(&ChatRequest::user("x")).await, Err(LlmError::BudgetExhausted { .. })));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_reaches_max_in_flight() {
    let srv = FakeLlm::start(FakeConfig { latency: Duration::from_millis(200), ..Default::default() });
    let mut c = cfg(TeacherKind::OpenAi, &srv);
    c.max_concurrency = 48;
    let cl = client(c);
    let t = Instant::now();
    let mut hs = Vec::new();
    for i in 0..144 {
        let cl = cl.clone();
        hs.push(tokio::spawn(async move { cl.chat(&ChatRequest::user(format!("{i}"))).await }));
    }
    for h in hs {
        h.await.expect("join").expect("chat");
    }
    let el = t.elapsed();
    assert_eq!(srv.stats().max_in_flight, 48);
    assert_eq!(cl.stats().max_in_flight, 48);
    // 3 waves of 200 ms.
    assert!(el >= Duration::from_millis(590) && el < Duration::from_millis(1500), "{el:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aimd_backs_off_under_429_storm() {
    // The first 300 requests get 429 (Retry-After: 0), then everything succeeds.
    let srv = FakeLlm::start(FakeConfig {
        latency: Duration::from_millis(5),
        responder: Responder::func(|s| {
            if s.hit <= 300 { Reply::fault(Fault::RateLimited { retry_after: Some("0".into()) }) } else { Reply::text("ok") }
        }),
        ..Default::default()
    });
    let mut c = cfg(TeacherKind::OpenAi, &srv);
    c.max_concurrency = 64;
    c.max_retries = 100;
    let cl = client(c);
    let mut hs = Vec::new();
    for i in 0..64 {
        let cl = cl.clone();
        hs.push(tokio::spawn(async move { cl.chat(&ChatRequest::user(format!("{i}"))).await }));
    }
    for h in hs {
        h.await.expect("join").expect("eventually succeeds");
    }
    let st = cl.stats();
    assert!(st.retries >= 300, "{st:?}");
    assert!(st.concurrency_limit < 32, "limit did not back off: {st:?}");
    assert_eq!(srv.stats().count(429), 300);
}

#[tokio::test]
async fn requests_per_minute_limits_rate() {
    let srv = FakeLlm::start(FakeConfig::default());
    let mut c = cfg(TeacherKind::OpenAi, &srv);
    c.requests_per_minute = Some(600.0); // 10/s, burst 60
    let cl = client(c);
    let t = Instant::now();
    for _ in 0..65 {
        cl.chat(&ChatRequest::user("x")).await.expect("chat");
    }
    assert!(t.elapsed() >= Duration::from_millis(450), "{:?}", t.elapsed());
}
