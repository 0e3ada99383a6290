//! Test doubles shared by dasynth's tests.
//!
//! [`TestServer`] is a real HTTP/1.1 server on loopback whose routes reply from a script: any
//! status, headers, body, a delay (to provoke timeouts), a truncated body, ETag revalidation,
//! and a sequence of replies (fail twice, then succeed). It counts hits per path, so a test can
//! prove that a rerun downloaded nothing. [`hub::FakeHub`] is a fake Hugging Face Hub (downloads
//! for the crawl, uploads for `dasynth push`, faults on request), for use with `HF_ENDPOINT`.
//! [`fake_llm`] is the fake OpenAI-compatible and Anthropic server (scripted or
//! replayed replies, latency, injected faults) for teacher tests. [`hostile`] generates the
//! inputs that once broke the crawl.

pub use dasynth_fakellm as fake_llm;

pub mod hostile;
pub mod hub;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One scripted reply.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Wait this long before answering.
    pub delay: Duration,
    /// Announce the full length but send only this many body bytes, then close.
    pub truncate: Option<usize>,
}

impl Reply {
    pub fn ok(body: impl Into<Vec<u8>>) -> Self {
        Self { status: 200, headers: Vec::new(), body: body.into(), delay: Duration::ZERO, truncate: None }
    }
    pub fn status(status: u16) -> Self {
        Self { status, headers: Vec::new(), body: format!("status {status}").into_bytes(), delay: Duration::ZERO, truncate: None }
    }
    pub fn header(mut self, k: &str, v: &str) -> Self {
        self.headers.push((k.to_string(), v.to_string()));
        self
    }
    pub fn delay(mut self, d: Duration) -> Self {
        self.delay = d;
        self
    }
    pub fn truncate(mut self, n: usize) -> Self {
        self.truncate = Some(n);
        self
    }
}

#[derive(Default)]
struct State {
    /// Replies per path; the last one repeats.
    routes: HashMap<String, Vec<Reply>>,
    hits: HashMap<String, usize>,
}

/// A scripted HTTP server on 127.0.0.1 that stops when dropped.
pub struct TestServer {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
}

impl Default for TestServer {
    fn default() -> Self {
        Self::start()
    }
}

impl TestServer {
    /// Binds a free port and serves on a background thread (one thread per connection).
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        listener.set_nonblocking(true).expect("nonblocking");
        let state = Arc::new(Mutex::new(State::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (st, sp) = (state.clone(), stop.clone());
        std::thread::spawn(move || {
            while !sp.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let st = st.clone();
                        std::thread::spawn(move || {
                            let _ = handle(stream, &st);
                        });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Self { addr, state, stop }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Scripts the replies for `path` (query strings are ignored when matching).
    pub fn route(&self, path: &str, replies: Vec<Reply>) {
        self.state.lock().expect("state").routes.insert(path.to_string(), replies);
    }

    /// Requests seen for `path` (HEAD and GET).
    pub fn hits(&self, path: &str) -> usize {
        self.state.lock().expect("state").hits.get(path).copied().unwrap_or(0)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn handle(stream: TcpStream, state: &Mutex<State>) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let target = parts.next().unwrap_or("/").to_string();
    let path = target.split('?').next().unwrap_or("/").to_string();
    let mut headers = HashMap::new();
    let mut content_length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" || line == "\n" {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            let k = k.trim().to_ascii_lowercase();
            if k == "content-length" {
                content_length = v.trim().parse().unwrap_or(0);
            }
            headers.insert(k, v.trim().to_string());
        }
    }
    let mut body = vec![0u8; content_length];
    reader.read_exact(&mut body)?;
    let reply = {
        let mut st = state.lock().expect("state");
        *st.hits.entry(path.clone()).or_default() += 1;
        match st.routes.get_mut(&path) {
            Some(replies) if replies.len() > 1 => replies.remove(0),
            Some(replies) => replies[0].clone(),
            None => Reply::status(404),
        }
    };
    std::thread::sleep(reply.delay);
    let etag = reply.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("etag")).map(|(_, v)| v.clone());
    let not_modified = etag.is_some() && headers.get("if-none-match") == etag.as_ref();
    let mut out = stream;
    let status = if not_modified { 304 } else { reply.status };
    let mut head = format!("HTTP/1.1 {status} {}\r\nConnection: close\r\n", reason(status));
    for (k, v) in &reply.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    let send_body = !not_modified && method != "HEAD";
    if !not_modified {
        head.push_str(&format!("Content-Length: {}\r\n", reply.body.len()));
    }
    head.push_str("\r\n");
    out.write_all(head.as_bytes())?;
    if send_body {
        let n = reply.truncate.unwrap_or(reply.body.len()).min(reply.body.len());
        out.write_all(&reply.body[..n])?;
    }
    out.flush()?;
    let _ = out.shutdown(std::net::Shutdown::Both);
    Ok(())
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        304 => "Not Modified",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

/// The repository's `tests/fixtures` folder.
pub fn fixtures() -> PathBuf {
    repo_root().join("tests/fixtures")
}

/// The repository root. Taken from the running test's `CARGO_MANIFEST_DIR` (every crate sits at
/// `crates/<name>`), not from this crate's compile-time path: two clones that share one target
/// folder may reuse this crate's build, which would point the tests at the other clone.
pub fn repo_root() -> PathBuf {
    match std::env::var_os("CARGO_MANIFEST_DIR") {
        Some(dir) => PathBuf::from(dir).join("../.."),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."),
    }
}
