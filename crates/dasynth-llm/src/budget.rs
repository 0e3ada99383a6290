//! Shared spending caps.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::LlmError;

/// Caps on dollars and tokens (input + output), shared by every client that
/// holds a clone. Spend is recorded from the usage of completed responses
/// (cache hits cost nothing). Once a cap is reached, new requests fail with
/// [`LlmError::BudgetExhausted`]; requests already in flight still complete,
/// so final spend can exceed a cap by at most the in-flight requests' cost.
#[derive(Clone, Debug)]
pub struct Budget {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    max_usd: Option<f64>,
    max_tokens: Option<u64>,
    /// Spend in nano-dollars.
    spent_nusd: AtomicU64,
    tokens: AtomicU64,
    requests: AtomicU64,
}

/// Spend so far.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BudgetSnapshot {
    pub spent_usd: f64,
    pub tokens: u64,
    pub requests: u64,
    pub max_usd: Option<f64>,
    pub max_tokens: Option<u64>,
}

impl Budget {
    pub fn new(max_usd: Option<f64>, max_tokens: Option<u64>) -> Self {
        Budget {
            inner: Arc::new(Inner {
                max_usd,
                max_tokens,
                spent_nusd: AtomicU64::new(0),
                tokens: AtomicU64::new(0),
                requests: AtomicU64::new(0),
            }),
        }
    }

    pub fn unlimited() -> Self {
        Self::new(None, None)
    }

    /// Fails once a cap has been reached.
    pub fn check(&self) -> Result<(), LlmError> {
        let s = self.snapshot();
        let over_usd = s.max_usd.is_some_and(|m| s.spent_usd >= m);
        let over_tok = s.max_tokens.is_some_and(|m| s.tokens >= m);
        if over_usd || over_tok { Err(LlmError::BudgetExhausted { spent_usd: s.spent_usd, tokens: s.tokens }) } else { Ok(()) }
    }

    /// Record one completed request.
    pub fn record(&self, cost_usd: f64, tokens: u64) {
        let n = (cost_usd.max(0.0) * 1e9).round() as u64;
        self.inner.spent_nusd.fetch_add(n, Ordering::Relaxed);
        self.inner.tokens.fetch_add(tokens, Ordering::Relaxed);
        self.inner.requests.fetch_add(1, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> BudgetSnapshot {
        BudgetSnapshot {
            spent_usd: self.inner.spent_nusd.load(Ordering::Relaxed) as f64 / 1e9,
            tokens: self.inner.tokens.load(Ordering::Relaxed),
            requests: self.inner.requests.load(Ordering::Relaxed),
            max_usd: self.inner.max_usd,
            max_tokens: self.inner.max_tokens,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_on_usd_and_tokens() {
        let b = Budget::new(Some(1.0), None);
        assert!(b.check().is_ok());
        b.record(0.6, 10);
        assert!(b.check().is_ok());
        b.record(0.4, 10);
        let e = b.check().expect_err("over");
        assert!(matches!(e, LlmError::BudgetExhausted { tokens: 20, .. }));
        assert!(e.is_fatal_for_run());
        let s = b.snapshot();
        assert!((s.spent_usd - 1.0).abs() < 1e-9 && s.requests == 2);

        let t = Budget::new(None, Some(100));
        t.record(0.0, 99);
        assert!(t.check().is_ok());
        t.record(0.0, 1);
        assert!(t.check().is_err());
        assert!(Budget::unlimited().check().is_ok());
    }
}
