//! A capped in-memory output pipe: keeps the first `cap` bytes of a cell's output and drops
//! the rest, remembering that it did. Never returns an error to the guest, so a flood of output
//! cannot trap the session.

use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use bytes::Bytes;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

#[derive(Debug, Default)]
struct Buf {
    data: Vec<u8>,
    cap: usize,
    dropped: u64,
}

/// A cloneable handle on one output stream's buffer.
#[derive(Debug, Clone, Default)]
pub(crate) struct CappedPipe(Arc<Mutex<Buf>>);

impl CappedPipe {
    pub(crate) fn new(cap: usize) -> Self {
        CappedPipe(Arc::new(Mutex::new(Buf { data: Vec::new(), cap, dropped: 0 })))
    }

    fn with<R>(&self, f: impl FnOnce(&mut Buf) -> R) -> R {
        let mut guard = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut guard)
    }

    fn push(&self, bytes: &[u8]) {
        self.with(|b| {
            let room = b.cap.saturating_sub(b.data.len());
            let take = room.min(bytes.len());
            b.data.extend_from_slice(&bytes[..take]);
            b.dropped += (bytes.len() - take) as u64;
        });
    }

    /// Sets the cap for the next cell and empties the buffer.
    pub(crate) fn reset(&self, cap: usize) {
        self.with(|b| {
            b.data.clear();
            b.cap = cap;
            b.dropped = 0;
        });
    }

    /// Takes what was written since the last reset: (bytes kept, whether any were dropped).
    pub(crate) fn take(&self) -> (Vec<u8>, bool) {
        self.with(|b| (std::mem::take(&mut b.data), std::mem::take(&mut b.dropped) > 0))
    }
}

impl IsTerminal for CappedPipe {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for CappedPipe {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

/// Large enough that the guest writes in big chunks, small enough to be a sane permit.
const PERMIT: usize = 1 << 20;

impl OutputStream for CappedPipe {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.push(&bytes);
        Ok(())
    }
    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }
    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(PERMIT)
    }
}

#[async_trait::async_trait]
impl Pollable for CappedPipe {
    async fn ready(&mut self) {}
}

impl tokio::io::AsyncWrite for CappedPipe {
    fn poll_write(self: Pin<&mut Self>, _cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        self.push(buf);
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overflow_is_dropped_and_marked() {
        let p = CappedPipe::new(4);
        p.push(b"abc");
        p.push(b"defg");
        assert_eq!(p.take(), (b"abcd".to_vec(), true));
        p.reset(10);
        p.push(b"xy");
        assert_eq!(p.take(), (b"xy".to_vec(), false));
    }
}
