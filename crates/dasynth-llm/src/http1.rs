//! A lean HTTP/1.1 client for plain `http://` endpoints (local vLLM, SGLang,
//! Ollama, a gateway on the LAN): keep-alive connections in a pool, one
//! request per connection at a time, the request written with one syscall
//! from a header block built once, the response parsed in place with
//! `httparse`. No connection task, no channels, no per-request header map.
//!
//! `https://` endpoints and proxied requests go through reqwest instead
//! (see `client.rs`); this path exists because at hundreds of requests in
//! flight the general-purpose stack's per-request bookkeeping costs more CPU
//! than the request itself.

use std::io;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes, BytesMut};
use tokio::net::TcpStream;

/// Largest response accepted (head + body).
const MAX_RESPONSE: usize = 64 << 20;
/// Largest response head accepted.
const MAX_HEAD: usize = 64 << 10;
/// Idle connections older than this are not reused (servers commonly close
/// idle keep-alive connections after 60–120 s).
const MAX_IDLE: Duration = Duration::from_secs(50);

/// What went wrong on the wire.
#[derive(Debug)]
pub(crate) enum WireError {
    /// Could not connect (or the connection died before any response byte).
    Connect(String),
    /// The response started but its body did not arrive in full.
    Body(String),
    /// The response is not valid HTTP/1.x.
    Malformed(String),
}

/// A complete response.
#[derive(Debug)]
pub(crate) struct WireResponse {
    pub status: u16,
    pub retry_after: Option<String>,
    pub body: Bytes,
}

struct Conn {
    stream: TcpStream,
    buf: BytesMut,
    idle_since: Instant,
}

/// One endpoint's connection pool and pre-built request head.
pub(crate) struct Http1 {
    /// `host:port` to connect to.
    authority: String,
    /// `POST <path> HTTP/1.1\r\nHost: ..\r\n<fixed headers>content-length: `
    head: Vec<u8>,
    connect_timeout: Duration,
    idle: Mutex<Vec<Conn>>,
}

impl std::fmt::Debug for Http1 {
    // The head holds the API key: never print it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Http1").field("authority", &self.authority).finish_non_exhaustive()
    }
}

impl Http1 {
    /// `url` must be `http://`; `headers` are sent with every request
    /// (values already validated as HTTP header values).
    pub(crate) fn new(url: &reqwest::Url, headers: &reqwest::header::HeaderMap, connect_timeout: Duration) -> Option<Http1> {
        if url.scheme() != "http" {
            return None;
        }
        let host = url.host_str()?;
        let port = url.port_or_known_default()?;
        // `host_str` keeps an IPv6 address in brackets, as both uses need it.
        let authority = format!("{host}:{port}");
        let host_header = match url.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.to_string(),
        };
        let mut target = url.path().to_string();
        if let Some(q) = url.query() {
            target.push('?');
            target.push_str(q);
        }
        let mut head = Vec::with_capacity(256);
        head.extend_from_slice(b"POST ");
        head.extend_from_slice(target.as_bytes());
        head.extend_from_slice(b" HTTP/1.1\r\nhost: ");
        head.extend_from_slice(host_header.as_bytes());
        head.extend_from_slice(b"\r\nuser-agent: dasynth/");
        head.extend_from_slice(env!("CARGO_PKG_VERSION").as_bytes());
        head.extend_from_slice(b"\r\naccept: application/json\r\n");
        for (k, v) in headers {
            head.extend_from_slice(k.as_str().as_bytes());
            head.extend_from_slice(b": ");
            head.extend_from_slice(v.as_bytes());
            head.extend_from_slice(b"\r\n");
        }
        head.extend_from_slice(b"content-length: ");
        Some(Http1 { authority, head, connect_timeout, idle: Mutex::new(Vec::new()) })
    }

    /// Number of idle pooled connections.
    #[cfg(test)]
    pub(crate) fn idle_connections(&self) -> usize {
        self.idle.lock().map(|v| v.len()).unwrap_or(0)
    }

    fn checkout(&self) -> Option<Conn> {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        while let Some(c) = idle.pop() {
            if c.idle_since.elapsed() < MAX_IDLE {
                return Some(c);
            }
        }
        None
    }

    fn checkin(&self, mut conn: Conn) {
        conn.idle_since = Instant::now();
        conn.buf.clear();
        self.idle.lock().unwrap_or_else(|p| p.into_inner()).push(conn);
    }

    async fn connect(&self) -> Result<Conn, WireError> {
        let stream = match tokio::time::timeout(self.connect_timeout, TcpStream::connect(&self.authority)).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => return Err(WireError::Connect(format!("connect to {}: {e}", self.authority))),
            Err(_) => {
                return Err(WireError::Connect(format!("connect to {} timed out after {:?}", self.authority, self.connect_timeout)));
            }
        };
        let _ = stream.set_nodelay(true);
        Ok(Conn { stream, buf: BytesMut::with_capacity(8 << 10), idle_since: Instant::now() })
    }

    /// POST `body`. A pooled connection that turns out to be closed by the
    /// server before answering is replaced by a new one once.
    pub(crate) async fn post(&self, body: &[u8]) -> Result<WireResponse, WireError> {
        let mut msg = Vec::with_capacity(self.head.len() + 24 + body.len());
        msg.extend_from_slice(&self.head);
        msg.extend_from_slice(body.len().to_string().as_bytes());
        msg.extend_from_slice(b"\r\n\r\n");
        msg.extend_from_slice(body);

        let mut pooled = self.checkout();
        loop {
            let reused = pooled.is_some();
            let mut conn = match pooled.take() {
                Some(c) => c,
                None => self.connect().await?,
            };
            match exchange(&mut conn, &msg).await {
                Ok((resp, keep)) => {
                    if keep {
                        self.checkin(conn);
                    }
                    return Ok(resp);
                }
                // A stale keep-alive connection: nothing came back. Try a fresh one.
                Err(Exchange::NothingBack(_)) if reused => {}
                Err(Exchange::NothingBack(e)) => return Err(WireError::Connect(format!("{}: {e}", self.authority))),
                Err(Exchange::Failed(e)) => return Err(e),
            }
        }
    }
}

enum Exchange {
    /// The connection closed or failed before any response byte arrived.
    NothingBack(String),
    Failed(WireError),
}

async fn write_all(stream: &TcpStream, mut data: &[u8]) -> io::Result<()> {
    while !data.is_empty() {
        match stream.try_write(data) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => data = &data[n..],
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => stream.writable().await?,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Read more bytes into `buf`; Ok(0) at end of stream.
async fn read_more(conn: &mut Conn) -> io::Result<usize> {
    loop {
        match try_fill(conn) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => conn.stream.readable().await?,
            r => return r,
        }
    }
}

/// One non-blocking read appended to `conn.buf` (a plain function so the
/// stack buffer is not kept in every pending request's future).
fn try_fill(conn: &mut Conn) -> io::Result<usize> {
    let mut chunk = [0u8; 16 << 10];
    let n = conn.stream.try_read(&mut chunk)?;
    conn.buf.extend_from_slice(&chunk[..n]);
    Ok(n)
}

struct Head {
    status: u16,
    len: usize,
    content_length: Option<usize>,
    chunked: bool,
    keep_alive: bool,
    retry_after: Option<String>,
}

fn parse_head(buf: &[u8]) -> Result<Option<Head>, WireError> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut resp = httparse::Response::new(&mut headers);
    let len = match resp.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(WireError::Malformed(format!("invalid HTTP response head: {e}"))),
    };
    let status = resp.code.unwrap_or(0);
    let mut head = Head { status, len, content_length: None, chunked: false, keep_alive: resp.version == Some(1), retry_after: None };
    for h in resp.headers.iter() {
        let v = std::str::from_utf8(h.value).unwrap_or("").trim();
        if h.name.eq_ignore_ascii_case("content-length") {
            let n = v.parse::<usize>().map_err(|_| WireError::Malformed(format!("invalid content-length {v:?}")))?;
            if head.content_length.is_some_and(|m| m != n) {
                return Err(WireError::Malformed("conflicting content-length headers".into()));
            }
            head.content_length = Some(n);
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            head.chunked = v.rsplit(',').next().is_some_and(|last| last.trim().eq_ignore_ascii_case("chunked"));
        } else if h.name.eq_ignore_ascii_case("connection") {
            for t in v.split(',') {
                let t = t.trim();
                if t.eq_ignore_ascii_case("close") {
                    head.keep_alive = false;
                } else if t.eq_ignore_ascii_case("keep-alive") {
                    head.keep_alive = true;
                }
            }
        } else if h.name.eq_ignore_ascii_case("retry-after") {
            head.retry_after = Some(v.to_string());
        }
    }
    Ok(Some(head))
}

/// Write one request and read its response. Returns the response and whether
/// the connection can be reused.
async fn exchange(conn: &mut Conn, msg: &[u8]) -> Result<(WireResponse, bool), Exchange> {
    conn.buf.clear();
    if let Err(e) = write_all(&conn.stream, msg).await {
        return Err(Exchange::NothingBack(format!("send request: {e}")));
    }
    // Head (skipping any 1xx interim responses).
    let head = loop {
        if let Some(h) = parse_head(&conn.buf).map_err(Exchange::Failed)? {
            if (100..200).contains(&h.status) {
                conn.buf.advance(h.len);
                continue;
            }
            break h;
        }
        if conn.buf.len() > MAX_HEAD {
            return Err(Exchange::Failed(WireError::Malformed(format!("response head larger than {MAX_HEAD} bytes"))));
        }
        let got_any = !conn.buf.is_empty();
        match read_more(conn).await {
            Ok(0) if !got_any => return Err(Exchange::NothingBack("connection closed before a response".into())),
            Ok(0) => return Err(Exchange::Failed(WireError::Malformed("connection closed inside the response head".into()))),
            Ok(_) => {}
            Err(e) if !got_any => return Err(Exchange::NothingBack(format!("read response: {e}"))),
            Err(e) => return Err(Exchange::Failed(WireError::Body(format!("read response head: {e}")))),
        }
    };
    conn.buf.advance(head.len);
    let body_err = |what: String| Exchange::Failed(WireError::Body(what));
    let no_body = head.status == 204 || head.status == 304;
    let (body, keep) = if no_body {
        (Bytes::new(), head.keep_alive)
    } else if head.chunked {
        let body = read_chunked(conn).await.map_err(Exchange::Failed)?;
        (body, head.keep_alive)
    } else if let Some(n) = head.content_length {
        if n > MAX_RESPONSE {
            return Err(Exchange::Failed(WireError::Body(format!("response body of {n} bytes is over the {MAX_RESPONSE}-byte limit"))));
        }
        while conn.buf.len() < n {
            match read_more(conn).await {
                Ok(0) => return Err(body_err(format!("connection closed after {} of {n} body bytes", conn.buf.len()))),
                Ok(_) => {}
                Err(e) => return Err(body_err(format!("after {} of {n} body bytes: {e}", conn.buf.len()))),
            }
        }
        let body = conn.buf.split_to(n).freeze();
        // Bytes beyond the body mean the stream is out of step: do not reuse.
        (body, head.keep_alive && conn.buf.is_empty())
    } else {
        // Delimited by the end of the connection.
        loop {
            match read_more(conn).await {
                Ok(0) => break,
                Ok(_) if conn.buf.len() > MAX_RESPONSE => {
                    return Err(body_err(format!("response body over the {MAX_RESPONSE}-byte limit")));
                }
                Ok(_) => {}
                Err(e) => return Err(body_err(format!("read body: {e}"))),
            }
        }
        (conn.buf.split().freeze(), false)
    };
    Ok((WireResponse { status: head.status, retry_after: head.retry_after, body }, keep))
}

/// Decode a chunked body from `conn.buf` (positioned after the head).
async fn read_chunked(conn: &mut Conn) -> Result<Bytes, WireError> {
    let mut out = BytesMut::new();
    loop {
        // Chunk size line.
        let (skip, size) = loop {
            match httparse::parse_chunk_size(&conn.buf) {
                Ok(httparse::Status::Complete((skip, size))) => break (skip, size),
                Ok(httparse::Status::Partial) => {}
                Err(_) => return Err(WireError::Malformed("invalid chunk size line".into())),
            }
            fill(conn, "chunk size").await?;
        };
        let size = usize::try_from(size).unwrap_or(usize::MAX);
        if size > MAX_RESPONSE || out.len() + size > MAX_RESPONSE {
            return Err(WireError::Body(format!("response body over the {MAX_RESPONSE}-byte limit")));
        }
        conn.buf.advance(skip);
        if size == 0 {
            // Trailers, ended by an empty line.
            loop {
                if let Some(i) = conn.buf.windows(2).position(|w| w == b"\r\n") {
                    conn.buf.advance(i + 2);
                    if i == 0 {
                        return Ok(out.freeze());
                    }
                } else {
                    fill(conn, "chunk trailer").await?;
                }
            }
        }
        while conn.buf.len() < size + 2 {
            fill(conn, "chunk data").await?;
        }
        out.extend_from_slice(&conn.buf[..size]);
        if &conn.buf[size..size + 2] != b"\r\n" {
            return Err(WireError::Malformed("chunk not followed by CRLF".into()));
        }
        conn.buf.advance(size + 2);
    }
}

async fn fill(conn: &mut Conn, what: &str) -> Result<(), WireError> {
    match read_more(conn).await {
        Ok(0) => Err(WireError::Body(format!("connection closed inside the {what} of a chunked body"))),
        Ok(_) => Ok(()),
        Err(e) => Err(WireError::Body(format!("read {what}: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddr;
    use tokio::net::TcpListener;

    /// A one-shot raw server: for each accepted connection, read one request
    /// then write the canned bytes (possibly in pieces) and maybe close.
    async fn raw_server(replies: Vec<(Vec<&'static [u8]>, bool)>) -> SocketAddr {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(async move {
            let (s, _) = l.accept().await.unwrap();
            for (pieces, close) in replies {
                let mut got = Vec::new();
                let mut b = [0u8; 4096];
                loop {
                    s.readable().await.unwrap();
                    match s.try_read(&mut b) {
                        Ok(0) => return,
                        Ok(n) => got.extend_from_slice(&b[..n]),
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                        Err(_) => return,
                    }
                    if let Some(i) = got.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = std::str::from_utf8(&got[..i]).unwrap().to_ascii_lowercase();
                        let cl: usize = head.split("content-length: ").nth(1).unwrap().split("\r\n").next().unwrap().parse().unwrap();
                        if got.len() >= i + 4 + cl {
                            break;
                        }
                    }
                }
                for p in pieces {
                    write_all(&s, p).await.unwrap();
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                if close {
                    return;
                }
            }
        });
        addr
    }

    fn client(addr: SocketAddr) -> Http1 {
        let url = reqwest::Url::parse(&format!("http://{addr}/v1/chat/completions")).unwrap();
        Http1::new(&url, &reqwest::header::HeaderMap::new(), Duration::from_secs(2)).unwrap()
    }

    #[tokio::test]
    async fn content_length_keep_alive_and_reuse() {
        let r: &'static [u8] = b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello";
        let addr = raw_server(vec![(vec![r], false), (vec![&r[..20], &r[20..]], false)]).await;
        let c = client(addr);
        let a = c.post(b"{}").await.unwrap();
        assert_eq!((a.status, &a.body[..]), (200, &b"hello"[..]));
        assert_eq!(c.idle_connections(), 1);
        let b = c.post(b"{}").await.unwrap();
        assert_eq!(&b.body[..], b"hello");
        assert_eq!(c.idle_connections(), 1);
    }

    #[tokio::test]
    async fn chunked_body_with_trailer_split_anywhere() {
        let r: &'static [u8] = b"HTTP/1.1 429 Too Many\r\nRetry-After: 3\r\ntransfer-encoding: chunked\r\n\r\n4;x=y\r\nwiki\r\n5\r\npedia\r\n0\r\nx-t: 1\r\n\r\n";
        let addr = raw_server(vec![(vec![&r[..60], &r[60..75], &r[75..]], false)]).await;
        let c = client(addr);
        let a = c.post(b"{}").await.unwrap();
        assert_eq!(a.status, 429);
        assert_eq!(a.retry_after.as_deref(), Some("3"));
        assert_eq!(&a.body[..], b"wikipedia");
        assert_eq!(c.idle_connections(), 1);
    }

    #[tokio::test]
    async fn truncated_body_is_a_body_error_naming_the_counts() {
        let r: &'static [u8] = b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nhalf";
        let addr = raw_server(vec![(vec![r], true)]).await;
        let c = client(addr);
        match c.post(b"{}").await {
            Err(WireError::Body(m)) => assert!(m.contains("4 of 10"), "{m}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(c.idle_connections(), 0);
    }

    #[tokio::test]
    async fn close_delimited_and_connection_close_are_not_reused() {
        let r: &'static [u8] = b"HTTP/1.0 200 OK\r\n\r\nuntil the end";
        let addr = raw_server(vec![(vec![r], true)]).await;
        let c = client(addr);
        let a = c.post(b"{}").await.unwrap();
        assert_eq!(&a.body[..], b"until the end");
        assert_eq!(c.idle_connections(), 0);
    }

    #[tokio::test]
    async fn garbage_is_malformed_and_dead_port_is_connect() {
        let addr = raw_server(vec![(vec![b"SMTP ready\r\n\r\n"], true)]).await;
        assert!(matches!(client(addr).post(b"{}").await, Err(WireError::Malformed(_))));
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let dead = l.local_addr().unwrap();
        drop(l);
        assert!(matches!(client(dead).post(b"{}").await, Err(WireError::Connect(_))));
    }

    #[tokio::test]
    async fn stale_pooled_connection_is_replaced() {
        // The server answers once and closes without saying so; the second
        // request finds the pooled connection dead and opens a new one.
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(async move {
            for _ in 0..2 {
                let (s, _) = l.accept().await.unwrap();
                let mut b = [0u8; 4096];
                loop {
                    s.readable().await.unwrap();
                    match s.try_read(&mut b) {
                        Ok(n) if n > 0 => break,
                        _ => continue,
                    }
                }
                write_all(&s, b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok").await.unwrap();
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        });
        let c = client(addr);
        assert_eq!(&c.post(b"{}").await.unwrap().body[..], b"ok");
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert_eq!(&c.post(b"{}").await.unwrap().body[..], b"ok");
    }

    #[test]
    fn head_keeps_path_query_and_headers_but_debug_hides_them() {
        let url = reqwest::Url::parse("http://example.test:8000/v1/chat/completions?api-version=2").unwrap();
        let mut h = reqwest::header::HeaderMap::new();
        h.insert("authorization", "Bearer sk-secret".parse().unwrap());
        let c = Http1::new(&url, &h, Duration::from_secs(1)).unwrap();
        let head = String::from_utf8(c.head.clone()).unwrap();
        assert!(head.starts_with("POST /v1/chat/completions?api-version=2 HTTP/1.1\r\nhost: example.test:8000\r\n"), "{head}");
        assert!(head.contains("authorization: Bearer sk-secret\r\n"));
        assert!(head.ends_with("content-length: "));
        assert!(!format!("{c:?}").contains("sk-secret"));
        assert!(Http1::new(&reqwest::Url::parse("https://api.test/v1").unwrap(), &h, Duration::from_secs(1)).is_none());
    }
}
