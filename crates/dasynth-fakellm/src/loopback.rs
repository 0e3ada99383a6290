//! A loopback HTTP/1 server on hyper with its own tokio runtime thread, shared by the fake
//! teacher here and the fake Hugging Face Hub in `dasynth-testkit`: bind, listen with a deep
//! accept queue, serve every connection with one handler, stop when dropped.

use crate::*;
use std::future::Future;

/// Error starting a server.
#[derive(Debug)]
pub struct StartError(pub String);

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "loopback server failed to start: {}", self.0)
    }
}
impl std::error::Error for StartError {}

/// A running server; stops (and joins its thread) when dropped.
pub struct Loopback {
    addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Loopback {
    /// Binds `bind` (e.g. `127.0.0.1:0`) and serves every request with `handler` on a runtime
    /// of `workers` threads named `name`.
    pub fn start<H, F>(bind: &str, workers: usize, name: &str, handler: H) -> Result<Loopback, StartError>
    where
        H: Fn(Request<Incoming>) -> F + Send + Sync + 'static,
        F: Future<Output = Response<FakeBody>> + Send + 'static,
    {
        let bind_err = |e: std::io::Error| StartError(format!("bind {bind}: {e}"));
        let want: SocketAddr = std::net::ToSocketAddrs::to_socket_addrs(bind)
            .map_err(bind_err)?
            .next()
            .ok_or_else(|| StartError(format!("bind {bind}: no address")))?;
        let socket = if want.is_ipv4() { tokio::net::TcpSocket::new_v4() } else { tokio::net::TcpSocket::new_v6() }.map_err(bind_err)?;
        socket.set_reuseaddr(true).map_err(bind_err)?;
        socket.bind(want).map_err(bind_err)?;
        let addr = socket.local_addr().map_err(bind_err)?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers.max(1))
            .thread_name(name)
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
        let handler = Arc::new(handler);
        let thread = std::thread::Builder::new()
            .name(format!("{name}-main"))
            .spawn(move || {
                rt.block_on(async move {
                    tokio::select! {
                        _ = accept_loop(listener, handler) => {}
                        _ = rx => {}
                    }
                });
                rt.shutdown_timeout(Duration::from_millis(100));
            })
            .map_err(|e| StartError(e.to_string()))?;
        Ok(Loopback { addr, shutdown: Some(tx), thread: Some(thread) })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for Loopback {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn accept_loop<H, F>(listener: tokio::net::TcpListener, handler: Arc<H>)
where
    H: Fn(Request<Incoming>) -> F + Send + Sync + 'static,
    F: Future<Output = Response<FakeBody>> + Send + 'static,
{
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                // EMFILE and friends: back off briefly instead of spinning.
                tracing::warn!("loopback accept: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let handler = handler.clone();
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req| {
                let response = handler(req);
                async move { Ok::<_, Infallible>(response.await) }
            });
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

pub(crate) fn json_response(status: u16, body: Bytes) -> Response<FakeBody> {
    let mut r = Response::new(FakeBody::Full(Some(body)));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}
