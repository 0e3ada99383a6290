//! Grounded reports: every figure a report states must come from the data.
//!
//! The numeric claims of an answer are the numbers it writes, except list markers (`1.` at the
//! start of a line) and small whole numbers up to 10, which are counts of sections and steps
//! far more often than findings. A claim is grounded when some number of the replayed cell
//! outputs (or of the task's prompt and checklist) equals it as written or rounded to the
//! decimals the claim shows, also as a percentage of a share and without its sign. The share
//! of grounded claims is recorded with the ungrounded ones, each with a few words around it.
//!
//! Checklist coverage is the share of the task's checklist facts the answer states, for
//! template reports whose ground truth is a set of named facts; an open task's free-text
//! checklist needs the judge.

use dasynth_tasks::checker::norm_text;
use dasynth_tasks::checker::numbers::{Written, scan};
use serde_json::Value;

/// What the grounding check found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Grounding {
    pub claims: u32,
    /// None when the answer makes no numeric claim.
    pub grounded_share: Option<f64>,
    pub ungrounded: Vec<String>,
    pub checklist_coverage: Option<f64>,
}

/// Numbers available as evidence, sorted, for range look-ups.
#[derive(Debug, Clone, Default)]
pub struct Evidence {
    values: Vec<f64>,
}

impl Evidence {
    /// The numbers of the given texts.
    pub fn from_texts<'a>(texts: impl IntoIterator<Item = &'a str>) -> Self {
        let mut values: Vec<f64> = texts.into_iter().flat_map(|t| scan(t).into_iter().map(|w| w.value)).filter(|x| x.is_finite()).collect();
        values.sort_by(f64::total_cmp);
        values.dedup();
        Evidence { values }
    }

    /// Adds the numbers of a JSON value (a ground truth or a checklist).
    pub fn add_json(&mut self, v: &Value) {
        let mut stack = vec![v];
        while let Some(v) = stack.pop() {
            match v {
                Value::Number(n) => self.values.extend(n.as_f64()),
                Value::String(s) => self.values.extend(scan(s).into_iter().map(|w| w.value)),
                Value::Array(a) => stack.extend(a),
                Value::Object(o) => stack.extend(o.values()),
                _ => {}
            }
        }
        self.values.retain(|x| x.is_finite());
        self.values.sort_by(f64::total_cmp);
        self.values.dedup();
    }

    fn any_in(&self, lo: f64, hi: f64) -> bool {
        let i = self.values.partition_point(|&x| x < lo);
        self.values.get(i).is_some_and(|&x| x <= hi)
    }

    /// Whether a written number is one of the evidence numbers, rounded (or cut) to the digits
    /// written, as a percentage, or without its sign.
    pub fn grounds(&self, w: &Written) -> bool {
        let written = w.value;
        let slack = (2.0 * w.half_unit).max(written.abs() * 1e-9) + 1e-12;
        [written, -written, written / 100.0, -written / 100.0].iter().enumerate().any(|(i, &w)| {
            let s = if i >= 2 { slack / 100.0 } else { slack };
            self.any_in(w - s, w + s)
        })
    }
}

/// Whether a number is a claim rather than a list marker or a small count.
fn is_claim(w: &Written) -> bool {
    !(w.whole && !w.percent && (0.0..=10.0).contains(&w.value))
}

/// Numbers of a text that are claims, as written, with a few words around each.
pub fn claims(text: &str) -> Vec<(Written, String)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim_start().trim_start_matches(['-', '*', '#', '>', '|', ' ']);
        // A numbered list item: `1. text` or `2) text`.
        let body = match trimmed.find(['.', ')']) {
            Some(p) if p > 0 && p <= 3 && trimmed[..p].bytes().all(|b| b.is_ascii_digit()) && trimmed[p + 1..].starts_with(' ') => {
                &trimmed[p + 1..]
            }
            _ => trimmed,
        };
        for w in scan(body) {
            if is_claim(&w) {
                let ctx = context(body, w.value);
                out.push((w, ctx));
            }
        }
    }
    out
}

/// The words around the first place a number is written in a line.
fn context(line: &str, x: f64) -> String {
    let words: Vec<&str> = line.split_whitespace().collect();
    let at = words.iter().position(|w| scan(w).iter().any(|y| y.value == x)).unwrap_or(0);
    let from = at.saturating_sub(4);
    let to = (at + 5).min(words.len());
    words[from..to].join(" ").chars().take(160).collect()
}

/// Checks the claims of an answer against the evidence.
pub fn ground(answer: &str, evidence: &Evidence) -> Grounding {
    let claims = claims(answer);
    let mut ungrounded = Vec::new();
    let mut grounded = 0u32;
    for (w, ctx) in &claims {
        if evidence.grounds(w) {
            grounded += 1;
        } else if !ungrounded.contains(ctx) {
            ungrounded.push(ctx.clone());
        }
    }
    let n = claims.len() as u32;
    Grounding { claims: n, grounded_share: (n > 0).then(|| grounded as f64 / n as f64), ungrounded, checklist_coverage: None }
}

/// The share of a report's facts (`{name: value}`) the answer states: numbers to the rounding
/// the answer shows, texts as written.
pub fn fact_coverage(answer: &str, facts: &Value) -> Option<f64> {
    let facts = facts.as_object().filter(|f| !f.is_empty())?;
    let written = scan(answer);
    let lower = norm_text(answer);
    let stated = facts
        .values()
        .filter(|fact| match fact.as_f64() {
            Some(f) => written.iter().any(|w| Evidence { values: vec![f] }.grounds(w)),
            None => match fact {
                Value::String(s) => lower.contains(&norm_text(s)),
                other => lower.contains(&norm_text(&other.to_string())),
            },
        })
        .count();
    Some(stated as f64 / facts.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounded_and_percent_claims_are_grounded_invented_ones_are_not() {
        let ev = Evidence::from_texts(["mean    4201.754385964912\nshare 0.4215\ncount 344"]);
        let g = ground("Mean mass is 4,201.75 g, 42.2% are Adelie, over 344 birds; the median is 4050.", &ev);
        assert_eq!(g.claims, 4);
        assert_eq!(g.grounded_share, Some(0.75));
        assert_eq!(g.ungrounded.len(), 1);
        assert!(g.ungrounded[0].contains("4050"), "{:?}", g.ungrounded);
    }

    #[test]
    fn list_markers_and_small_counts_are_not_claims() {
        let c = claims("1. The top 3 groups\n2) second\n- 12.5 percent");
        assert_eq!(c.iter().map(|c| c.0.value).collect::<Vec<_>>(), vec![12.5]);
        assert_eq!(ground("No numbers here.", &Evidence::default()).grounded_share, None);
    }

    #[test]
    fn facts_are_covered_to_their_rounding() {
        let facts = serde_json::json!({"rows": 344, "mean": 4201.754385964912, "top": "Adelie"});
        assert_eq!(fact_coverage("344 rows, mean 4201.75, mostly adelie", &facts), Some(1.0));
        assert_eq!(fact_coverage("344 rows, mean 4100", &facts), Some(1.0 / 3.0));
    }
}
