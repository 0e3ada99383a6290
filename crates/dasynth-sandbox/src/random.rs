//! The guest's random streams (`random_get`: `os.urandom`, and the insecure one): bytes derived
//! from the session's seed, so the same cells give the same outputs. A stream's position lives
//! outside the WASI context, so a context rebuilt after a suspension goes on where the old one
//! stopped.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use rand_core::TryRng;

/// One stream: `bytes` repeated without end, read from a shared position.
#[derive(Debug, Clone)]
pub(crate) struct Stream {
    bytes: Arc<[u8]>,
    pos: Arc<AtomicUsize>,
}

impl Stream {
    /// The stream of `seed`: 2 KiB of SHA-256 output, repeated.
    pub(crate) fn new(seed: u64) -> Self {
        use sha2::{Digest, Sha256};
        let mut out = Vec::with_capacity(64 * 32);
        for i in 0u64..64 {
            let mut h = Sha256::new();
            h.update(seed.to_le_bytes());
            h.update(i.to_le_bytes());
            out.extend_from_slice(&h.finalize());
        }
        Stream { bytes: out.into(), pos: Arc::new(AtomicUsize::new(0)) }
    }

    fn next_byte(&self) -> u8 {
        let at = self.pos.fetch_add(1, Ordering::Relaxed);
        self.bytes[at % self.bytes.len()]
    }
}

// The same byte order as wasmtime-wasi's `Deterministic` generator over the same bytes.
impl TryRng for Stream {
    type Error = Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        let b = [self.next_byte(), self.next_byte(), self.next_byte(), self.next_byte()];
        Ok(u32::from_be_bytes(b))
    }
    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        let hi = self.try_next_u32()?;
        let lo = self.try_next_u32()?;
        Ok((u64::from(hi) << 32) + u64::from(lo))
    }
    fn try_fill_bytes(&mut self, buf: &mut [u8]) -> Result<(), Infallible> {
        for b in buf.iter_mut() {
            *b = self.next_byte();
        }
        Ok(())
    }
}

/// A session's two streams (secure and insecure).
#[derive(Debug, Clone)]
pub(crate) struct Streams {
    pub(crate) seed: u64,
    pub(crate) secure: Stream,
    pub(crate) insecure: Stream,
}

impl Streams {
    pub(crate) fn new(seed: u64) -> Self {
        Streams { seed, secure: Stream::new(seed), insecure: Stream::new(seed ^ 0x9e37_79b9_7f4a_7c15) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::Rng;

    #[test]
    fn a_clone_goes_on_where_the_other_stopped() {
        let mut a = Stream::new(3);
        let first = a.next_u64();
        let mut b = a.clone();
        let mut fresh = Stream::new(3);
        assert_eq!(fresh.next_u64(), first);
        assert_eq!(b.next_u32(), fresh.next_u32());
        let mut buf = [0u8; 5000];
        a.fill_bytes(&mut buf);
        assert_eq!(buf[4000..4008], {
            let mut c = Stream::new(3);
            let mut all = [0u8; 5012];
            c.fill_bytes(&mut all);
            let mut w = [0u8; 8];
            w.copy_from_slice(&all[4012..4020]);
            w
        });
    }
}
