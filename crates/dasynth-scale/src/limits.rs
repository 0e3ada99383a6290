//! Teacher rate limits and the run's budget, shared by the shards of a run.
//!
//! An endpoint's `requests-per-minute` and `tokens-per-minute` are budgets of the endpoint, not
//! of one process: N shards that each used the whole budget would send N times too much. So a
//! shard runs with every teacher's limits divided by N, and with `budget-usd` and
//! `budget-tokens` divided by N as well, which keeps the whole run within what the
//! configuration allows however the shards are placed in time.
//!
//! A *shared limiter* is the alternative: every shard's teacher `base-url` points at one
//! rate-limiting gateway (a LiteLLM proxy, an API gateway, a vLLM router with limits) that
//! enforces the endpoint's budget for all of them together. Then dividing would only waste it,
//! and `--shared-limiter` keeps the configured limits as they are in every shard; the shards
//! still back off on the gateway's 429 answers as any client does.

use dasynth_core::config::Settings;
use dasynth_core::shard::Shard;

/// How the shards of a run share their teachers' limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitSharing {
    /// Each shard gets 1/N of every limit and budget.
    Divide,
    /// One limiter in front of the endpoints serves every shard: limits stay as configured.
    Shared,
}

/// The settings one shard runs with.
pub fn for_shard(mut s: Settings, shard: Shard, sharing: LimitSharing) -> Settings {
    if shard.is_all() || sharing == LimitSharing::Shared {
        return s;
    }
    let n = f64::from(shard.count);
    for t in &mut s.teachers {
        t.requests_per_minute = t.requests_per_minute.map(|r| r / n);
        t.tokens_per_minute = t.tokens_per_minute.map(|r| r / n);
    }
    s.trajectories.budget_usd = s.trajectories.budget_usd.map(|b| b / n);
    // Rounded up so a small budget never becomes zero (no cap).
    s.trajectories.budget_tokens = s.trajectories.budget_tokens.map(|b| b.div_ceil(u64::from(shard.count)));
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use dasynth_core::config::TeacherConfig;

    fn settings() -> Settings {
        let mut s = Settings::default();
        let mut t = TeacherConfig::reference();
        t.requests_per_minute = Some(600.0);
        t.tokens_per_minute = Some(1_000_000.0);
        s.teachers = vec![t];
        s.trajectories.budget_usd = Some(40.0);
        s.trajectories.budget_tokens = Some(10);
        s
    }

    #[test]
    fn limits_and_budgets_are_divided_by_the_number_of_shards() {
        let s = for_shard(settings(), Shard::new(2, 4).unwrap(), LimitSharing::Divide);
        assert_eq!(s.teachers[0].requests_per_minute, Some(150.0));
        assert_eq!(s.teachers[0].tokens_per_minute, Some(250_000.0));
        assert_eq!(s.trajectories.budget_usd, Some(10.0));
        assert_eq!(s.trajectories.budget_tokens, Some(3));
    }

    #[test]
    fn a_shared_limiter_or_an_unsharded_run_keeps_the_configured_limits() {
        assert_eq!(for_shard(settings(), Shard::new(1, 4).unwrap(), LimitSharing::Shared), settings());
        assert_eq!(for_shard(settings(), Shard::ALL, LimitSharing::Divide), settings());
    }
}
