//! Flow control: adaptive (AIMD) concurrency, token buckets, circuit breaker,
//! backoff with full jitter and `Retry-After` parsing.

use dasynth_core::rng;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

// ---------------------------------------------------------------- AIMD

struct AimdState {
    /// Fractional limit in `[1, max]`.
    limit: f64,
    /// Permits currently in circulation (= floor(limit) once debts are paid).
    issued: usize,
    /// Permits to retire when they are released.
    debt: usize,
    /// Incremented on every decrease; one decrease per generation.
    generation: u64,
}

/// Adaptive concurrency limit: additive increase (+1/limit per success, so
/// roughly +1 per window of successful requests), multiplicative decrease
/// (halve, at most once per window) on overload responses.
pub struct Aimd {
    sem: Arc<Semaphore>,
    max: usize,
    state: Mutex<AimdState>,
    in_flight: AtomicU64,
    max_in_flight: AtomicU64,
}

/// A concurrency slot; released on drop.
pub struct AimdPermit {
    aimd: Arc<Aimd>,
    permit: Option<OwnedSemaphorePermit>,
    generation: u64,
}

impl Aimd {
    pub fn new(max: usize) -> Arc<Self> {
        let max = max.max(1);
        Arc::new(Aimd {
            sem: Arc::new(Semaphore::new(max)),
            max,
            state: Mutex::new(AimdState { limit: max as f64, issued: max, debt: 0, generation: 0 }),
            in_flight: AtomicU64::new(0),
            max_in_flight: AtomicU64::new(0),
        })
    }

    pub async fn acquire(self: &Arc<Self>) -> AimdPermit {
        // The semaphore is never closed; on error run unthrottled rather than panic.
        let permit = self.sem.clone().acquire_owned().await.ok();
        let generation = lock(&self.state).generation;
        let n = self.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
        self.max_in_flight.fetch_max(n, Ordering::Relaxed);
        AimdPermit { aimd: self.clone(), permit, generation }
    }

    /// Current (integer) limit.
    pub fn limit(&self) -> usize {
        lock(&self.state).limit as usize
    }
    pub fn in_flight(&self) -> u64 {
        self.in_flight.load(Ordering::Relaxed)
    }
    pub fn max_in_flight(&self) -> u64 {
        self.max_in_flight.load(Ordering::Relaxed)
    }

    fn on_success(&self) {
        let mut st = lock(&self.state);
        if st.limit >= self.max as f64 {
            return;
        }
        st.limit = (st.limit + 1.0 / st.limit).min(self.max as f64);
        let target = st.limit as usize;
        while st.issued < target {
            st.issued += 1;
            if st.debt > 0 {
                st.debt -= 1;
            } else {
                self.sem.add_permits(1);
            }
        }
    }

    fn on_overload(&self, generation: u64) {
        let mut st = lock(&self.state);
        if generation != st.generation {
            return; // already reacted to this window
        }
        st.generation += 1;
        st.limit = (st.limit / 2.0).max(1.0);
        let target = st.limit as usize;
        if st.issued > target {
            let excess = st.issued - target;
            st.issued = target;
            let forgotten = self.sem.forget_permits(excess);
            st.debt += excess - forgotten;
        }
        tracing::debug!(limit = target, "concurrency limit decreased");
    }
}

impl AimdPermit {
    pub fn success(&self) {
        self.aimd.on_success();
    }
    pub fn overload(&self) {
        self.aimd.on_overload(self.generation);
    }
}

impl Drop for AimdPermit {
    fn drop(&mut self) {
        self.aimd.in_flight.fetch_sub(1, Ordering::Relaxed);
        if let Some(p) = self.permit.take() {
            let mut st = lock(&self.aimd.state);
            if st.debt > 0 {
                st.debt -= 1;
                p.forget();
            }
        }
    }
}

// ---------------------------------------------------------------- token bucket

/// A token bucket that reserves up front (FIFO, may go negative) and tells
/// the caller how long to wait; later refunds correct over-reservations.
pub struct TokenBucket {
    rate_per_sec: f64,
    capacity: f64,
    state: Mutex<(f64, Instant)>,
}

impl TokenBucket {
    /// `per_minute` tokens per minute with a burst of 1/10 of that (6 s worth),
    /// at least 1.
    pub fn per_minute(per_minute: f64) -> Self {
        let capacity = (per_minute / 10.0).max(1.0);
        TokenBucket { rate_per_sec: per_minute / 60.0, capacity, state: Mutex::new((capacity, Instant::now())) }
    }

    fn refill(&self, st: &mut (f64, Instant)) {
        let now = Instant::now();
        let dt = now.duration_since(st.1).as_secs_f64();
        st.0 = (st.0 + dt * self.rate_per_sec).min(self.capacity);
        st.1 = now;
    }

    /// Reserve `n` tokens; returns how long to wait before using them.
    pub fn reserve(&self, n: f64) -> Duration {
        let mut st = lock(&self.state);
        self.refill(&mut st);
        // A single request larger than the burst waits for a full bucket only.
        let n = n.min(self.capacity);
        st.0 -= n;
        if st.0 >= 0.0 || self.rate_per_sec <= 0.0 { Duration::ZERO } else { Duration::from_secs_f64(-st.0 / self.rate_per_sec) }
    }

    /// Return (positive) or charge extra (negative) tokens.
    pub fn adjust(&self, n: f64) {
        let mut st = lock(&self.state);
        self.refill(&mut st);
        st.0 = (st.0 + n).min(self.capacity);
    }
}

// ---------------------------------------------------------------- circuit breaker

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    Closed,
    Open,
    HalfOpen,
}

struct BreakerInner {
    failures: u32,
    open_until: Option<Instant>,
    probing: bool,
}

/// Opens after `threshold` consecutive failures; while open every call fails
/// fast; after `cooldown` one probe is let through (half-open) and its outcome
/// closes or re-opens the breaker.
pub struct CircuitBreaker {
    threshold: u32,
    cooldown: Duration,
    inner: Mutex<BreakerInner>,
}

/// Whether an admitted call is the half-open probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admit {
    Normal,
    Probe,
}

impl CircuitBreaker {
    pub fn new(threshold: u32, cooldown: Duration) -> Self {
        CircuitBreaker {
            threshold: threshold.max(1),
            cooldown,
            inner: Mutex::new(BreakerInner { failures: 0, open_until: None, probing: false }),
        }
    }

    /// `Err(remaining)` when the call must fail fast.
    pub fn admit(&self) -> Result<Admit, Duration> {
        let mut st = lock(&self.inner);
        match st.open_until {
            None => Ok(Admit::Normal),
            Some(until) => {
                let now = Instant::now();
                if now < until {
                    Err(until - now)
                } else if st.probing {
                    Err(Duration::ZERO)
                } else {
                    st.probing = true;
                    Ok(Admit::Probe)
                }
            }
        }
    }

    pub fn record_success(&self) {
        let mut st = lock(&self.inner);
        st.failures = 0;
        st.open_until = None;
        st.probing = false;
    }

    /// Returns true if this failure opened (or re-opened) the breaker.
    pub fn record_failure(&self, admit: Admit) -> bool {
        let mut st = lock(&self.inner);
        st.failures = st.failures.saturating_add(1);
        if admit == Admit::Probe || (st.open_until.is_none() && st.failures >= self.threshold) {
            st.open_until = Some(Instant::now() + self.cooldown);
            st.probing = false;
            return true;
        }
        false
    }

    /// Release a probe slot without a verdict (e.g. a non-transport error).
    pub fn record_neutral(&self, admit: Admit) {
        if admit == Admit::Probe {
            self.record_success();
        }
    }

    pub fn state(&self) -> BreakerState {
        let st = lock(&self.inner);
        match st.open_until {
            None => BreakerState::Closed,
            Some(u) if Instant::now() < u => BreakerState::Open,
            Some(_) => BreakerState::HalfOpen,
        }
    }
}

// ---------------------------------------------------------------- backoff / jitter

static RNG: AtomicU64 = AtomicU64::new(0);

/// Uniform f64 in [0,1) from a splitmix64 stream seeded by the clock.
pub fn rand_unit() -> f64 {
    if RNG.load(Ordering::Relaxed) == 0 {
        let seed = SystemTime::now().duration_since(UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64) | 1;
        let _ = RNG.compare_exchange(0, seed, Ordering::Relaxed, Ordering::Relaxed);
    }
    let state = RNG.fetch_add(rng::GAMMA, Ordering::Relaxed).wrapping_add(rng::GAMMA);
    rng::unit(rng::mix(state))
}

/// Exponential backoff with full jitter: uniform in `[0, min(cap, base·2^retry)]`.
pub fn backoff(retry: u32, base: Duration, cap: Duration) -> Duration {
    let exp = base.as_secs_f64() * 2f64.powi(retry.min(30) as i32);
    Duration::from_secs_f64(exp.min(cap.as_secs_f64()) * rand_unit())
}

/// Parse a `Retry-After` value: delta-seconds (possibly fractional) or an
/// IMF-fixdate HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`).
pub fn parse_retry_after(v: &str, now: SystemTime) -> Option<Duration> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs));
    }
    let when = httpdate::parse_http_date(v).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = UNIX_EPOCH + Duration::from_secs(784_111_777); // Sun, 06 Nov 1994 08:49:37 GMT
        assert_eq!(parse_retry_after("3", now), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after("0.5", now), Some(Duration::from_millis(500)));
        assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:49:47 GMT", now), Some(Duration::from_secs(10)));
        assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-1", now), None);
        let epoch = UNIX_EPOCH - Duration::from_secs(1);
        assert_eq!(parse_retry_after("Tue, 29 Feb 2000 12:00:00 GMT", epoch), Some(Duration::from_secs(951_825_601)));
    }

    #[test]
    fn backoff_is_bounded() {
        for r in 0..40 {
            let d = backoff(r, Duration::from_millis(100), Duration::from_secs(5));
            assert!(d <= Duration::from_secs(5));
        }
        assert!(backoff(0, Duration::from_millis(100), Duration::from_secs(5)) <= Duration::from_millis(100));
    }

    #[test]
    fn breaker_opens_probes_and_closes() {
        let b = CircuitBreaker::new(3, Duration::from_millis(30));
        for _ in 0..2 {
            assert!(!b.record_failure(Admit::Normal));
        }
        assert!(b.record_failure(Admit::Normal));
        assert_eq!(b.state(), BreakerState::Open);
        assert!(b.admit().is_err());
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(b.admit(), Ok(Admit::Probe));
        assert!(b.admit().is_err(), "only one probe");
        assert!(b.record_failure(Admit::Probe));
        assert!(b.admit().is_err());
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(b.admit(), Ok(Admit::Probe));
        b.record_success();
        assert_eq!(b.state(), BreakerState::Closed);
        assert_eq!(b.admit(), Ok(Admit::Normal));
    }

    #[test]
    fn token_bucket_waits_when_empty() {
        let tb = TokenBucket::per_minute(600.0); // 10/s, burst 60
        for _ in 0..60 {
            assert_eq!(tb.reserve(1.0), Duration::ZERO);
        }
        let w = tb.reserve(1.0);
        assert!(w > Duration::from_millis(50) && w <= Duration::from_millis(110), "{w:?}");
        tb.adjust(5.0);
        assert_eq!(tb.reserve(1.0), Duration::ZERO);
    }

    #[tokio::test]
    async fn aimd_halves_once_per_window_and_recovers() {
        let a = Aimd::new(16);
        let permits: Vec<_> = futures_lite_join(&a, 16).await;
        assert_eq!(a.in_flight(), 16);
        for p in &permits {
            p.overload(); // same generation: only one halving
        }
        assert_eq!(a.limit(), 8);
        drop(permits);
        assert_eq!(a.in_flight(), 0);
        assert_eq!(a.sem.available_permits(), 8);
        let p = a.acquire().await;
        p.overload();
        assert_eq!(a.limit(), 4);
        drop(p);
        assert_eq!(a.sem.available_permits(), 4);
        for _ in 0..200 {
            let p = a.acquire().await;
            p.success();
        }
        assert_eq!(a.limit(), 16);
        assert_eq!(a.sem.available_permits(), 16);
        let p = a.acquire().await;
        for _ in 0..10 {
            p.overload();
        }
        drop(p);
        // Floor of one.
        let a1 = Aimd::new(1);
        let p = a1.acquire().await;
        p.overload();
        assert_eq!(a1.limit(), 1);
    }

    async fn futures_lite_join(a: &Arc<Aimd>, n: usize) -> Vec<AimdPermit> {
        let mut v = Vec::new();
        for _ in 0..n {
            v.push(a.acquire().await);
        }
        v
    }
}
