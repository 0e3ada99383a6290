//! Weighted, deterministic teacher selection.

use sha2::{Digest, Sha256};

use crate::client::Client;
use crate::error::LlmError;

/// A pool of teacher clients with weights (from each endpoint's `weight`).
///
/// [`Teachers::pick`] uses weighted rendezvous hashing over
/// (endpoint name, task id, sample index): the choice is deterministic (a
/// resumed run picks the same teacher), independent of the order clients
/// were added, and adding or removing a teacher only moves the work that
/// teacher gains or loses.
#[derive(Clone, Debug)]
pub struct Teachers {
    clients: Vec<Client>,
}

impl Teachers {
    /// Fails on an empty pool, duplicate endpoint names, or no positive weight.
    pub fn new(clients: Vec<Client>) -> Result<Self, LlmError> {
        let invalid = |reason: String| LlmError::InvalidConfig { endpoint: "teachers".into(), reason };
        if clients.is_empty() {
            return Err(invalid("teacher pool is empty".into()));
        }
        let mut names: Vec<&str> = clients.iter().map(Client::name).collect();
        names.sort_unstable();
        if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
            return Err(invalid(format!("duplicate endpoint name {:?}; set distinct `name`s", w[0])));
        }
        if !clients.iter().any(|c| c.config().weight > 0.0) {
            return Err(invalid("every teacher has weight 0".into()));
        }
        Ok(Teachers { clients })
    }

    pub fn clients(&self) -> &[Client] {
        &self.clients
    }

    pub fn len(&self) -> usize {
        self.clients.len()
    }

    pub fn is_empty(&self) -> bool {
        self.clients.is_empty()
    }

    /// The teacher for this task and sample.
    pub fn pick(&self, task_id: &str, sample_index: u32) -> &Client {
        let mut best = &self.clients[0];
        let mut best_score = f64::NEG_INFINITY;
        for c in &self.clients {
            let w = c.config().weight;
            if w <= 0.0 {
                continue;
            }
            let score = w / -unit_hash(c.name(), task_id, sample_index).ln();
            if score > best_score {
                best_score = score;
                best = c;
            }
        }
        best
    }
}

/// Uniform value in (0, 1) from sha256(name, task, sample).
fn unit_hash(name: &str, task_id: &str, sample_index: u32) -> f64 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([0]);
    h.update(task_id.as_bytes());
    h.update([0]);
    h.update(sample_index.to_le_bytes());
    let d = h.finalize();
    let mut b = [0u8; 8];
    b.copy_from_slice(&d[..8]);
    ((u64::from_le_bytes(b) >> 11) as f64 + 0.5) / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use dasynth_core::config::{TeacherConfig, TeacherKind};

    fn client(name: &str, weight: f64) -> Client {
        let mut c = TeacherConfig::new(TeacherKind::OpenAi, "m");
        c.name = Some(name.into());
        c.base_url = Some("http://127.0.0.1:9".into());
        c.weight = weight;
        Client::new(c).expect("client")
    }

    #[test]
    fn deterministic_weighted_and_order_independent() {
        let a = Teachers::new(vec![client("a", 3.0), client("b", 1.0), client("z", 0.0)]).expect("pool");
        let b = Teachers::new(vec![client("b", 1.0), client("z", 0.0), client("a", 3.0)]).expect("pool");
        let mut counts = std::collections::HashMap::new();
        for i in 0..4000 {
            let t = format!("task-{i}");
            let pa = a.pick(&t, i % 3).name().to_string();
            assert_eq!(pa, b.pick(&t, i % 3).name());
            *counts.entry(pa).or_insert(0u32) += 1;
        }
        assert!(!counts.contains_key("z"));
        let share_a = f64::from(counts["a"]) / 4000.0;
        assert!((share_a - 0.75).abs() < 0.04, "{share_a}");
    }

    #[test]
    fn rejects_bad_pools() {
        assert!(Teachers::new(vec![]).is_err());
        assert!(Teachers::new(vec![client("a", 1.0), client("a", 1.0)]).is_err());
        assert!(Teachers::new(vec![client("a", 0.0)]).is_err());
    }
}
