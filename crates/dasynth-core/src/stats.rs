//! Per-stage counters written to `stats/<stage>.json`: what was kept, what was dropped and why.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Counters of one stage run.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StageStats {
    /// Stage name (`crawl`, `profile`, ...).
    pub stage: String,
    /// Items that came out of the stage.
    pub kept: u64,
    /// Items that failed or were dropped.
    pub dropped: u64,
    /// Items reused from an earlier run without repeating work.
    pub reused: u64,
    /// Dropped items by reason (`dropped_{reason}`).
    pub dropped_by_reason: BTreeMap<String, u64>,
    /// Wall-clock seconds the stage took.
    pub seconds: f64,
}

impl StageStats {
    pub fn new(stage: &str) -> Self {
        Self { stage: stage.to_string(), ..Default::default() }
    }
    pub fn drop_for(&mut self, reason: &str) {
        self.dropped += 1;
        *self.dropped_by_reason.entry(reason.to_string()).or_default() += 1;
    }
}
