//! Near-duplicate trajectories by MinHash.
//!
//! A trajectory's text (its assistant turns and `<Execute>` outputs, not the shared system
//! prompt or the task prompt) is cut into lower-cased word 5-grams; each shingle is hashed with
//! xxh3, and a signature keeps, for each of [`PERMUTATIONS`] hash functions, the smallest value
//! over the shingles. The share of equal entries of two signatures estimates the Jaccard
//! similarity of their shingle sets. An [`Index`] finds candidates by locality-sensitive hashing
//! (bands of rows of the signature) and keeps only those whose estimate reaches the threshold,
//! so comparing a trajectory with thousands of earlier ones costs a few hash look-ups.

use std::collections::HashMap;
use xxhash_rust::xxh3::{xxh3_64, xxh3_64_with_seed};

/// Hash functions per signature.
pub const PERMUTATIONS: usize = 128;
/// Rows per band of the LSH index (16 bands of 8).
const ROWS: usize = 8;
/// Words per shingle.
const SHINGLE: usize = 5;

/// A MinHash signature.
pub type Signature = Vec<u64>;

/// The shingle hashes of a text: lower-cased word 5-grams (the whole text when it is shorter).
fn shingles(text: &str) -> Vec<u64> {
    let words: Vec<String> =
        text.split(|c: char| !c.is_alphanumeric() && c != '.' && c != '_').filter(|w| !w.is_empty()).map(str::to_lowercase).collect();
    if words.is_empty() {
        return Vec::new();
    }
    let n = SHINGLE.min(words.len());
    let mut out: Vec<u64> = words.windows(n).map(|w| xxh3_64(w.join(" ").as_bytes())).collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// The signature of a text (empty for a text without words, which resembles nothing).
pub fn signature(text: &str) -> Signature {
    let sh = shingles(text);
    if sh.is_empty() {
        return Vec::new();
    }
    (0..PERMUTATIONS as u64).map(|seed| sh.iter().map(|s| xxh3_64_with_seed(&s.to_le_bytes(), seed)).min().unwrap_or(u64::MAX)).collect()
}

/// The estimated Jaccard similarity of two signatures.
pub fn similarity(a: &Signature, b: &Signature) -> f64 {
    if a.is_empty() || a.len() != b.len() {
        return 0.0;
    }
    a.iter().zip(b).filter(|(x, y)| x == y).count() as f64 / a.len() as f64
}

/// The text of a trajectory that near duplicates share: its assistant turns and outputs.
pub fn trajectory_text(t: &dasynth_core::trajectory::Trajectory) -> String {
    let mut s = String::new();
    for m in t.messages.iter().filter(|m| m.role == "assistant" || m.role == "execute") {
        s.push_str(&m.content);
        s.push('\n');
    }
    s
}

/// Signatures of accepted trajectories, by LSH band.
#[derive(Debug, Default)]
pub struct Index {
    bands: Vec<HashMap<u64, Vec<usize>>>,
    items: Vec<(String, Signature)>,
}

impl Index {
    /// The most similar indexed item whose similarity reaches `threshold`: its name and the
    /// similarity.
    pub fn find(&self, sig: &Signature, threshold: f64) -> Option<(&str, f64)> {
        let mut best: Option<(usize, f64)> = None;
        for (b, band) in sig.chunks(ROWS).enumerate() {
            let Some(ids) = self.bands.get(b).and_then(|m| m.get(&band_key(band))) else { continue };
            for &i in ids {
                let s = similarity(sig, &self.items[i].1);
                if s >= threshold && best.is_none_or(|(_, bs)| s > bs) {
                    best = Some((i, s));
                }
            }
        }
        best.map(|(i, s)| (self.items[i].0.as_str(), s))
    }

    pub fn insert(&mut self, name: String, sig: Signature) {
        let i = self.items.len();
        for (b, band) in sig.chunks(ROWS).enumerate() {
            if self.bands.len() <= b {
                self.bands.push(HashMap::new());
            }
            self.bands[b].entry(band_key(band)).or_default().push(i);
        }
        self.items.push((name, sig));
    }
}

fn band_key(band: &[u64]) -> u64 {
    let bytes: Vec<u8> = band.iter().flat_map(|x| x.to_le_bytes()).collect();
    xxh3_64(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_are_found_and_different_texts_are_not() {
        let a: String = (0..300).map(|i| format!("word{} ", i % 97)).collect::<String>() + "the mean is 4.5";
        let b = a.replace("the mean is 4.5", "the mean is 4.6");
        let c: String = (0..300).map(|i| format!("other{} ", i * 7 % 101)).collect();
        let (sa, sb, sc) = (signature(&a), signature(&b), signature(&c));
        assert!(similarity(&sa, &sb) > 0.9, "{}", similarity(&sa, &sb));
        assert!(similarity(&sa, &sc) < 0.1);
        let mut idx = Index::default();
        idx.insert("a".into(), sa.clone());
        assert_eq!(idx.find(&sa, 0.9).map(|f| f.0), Some("a"));
        assert!(idx.find(&sc, 0.9).is_none());
        assert_eq!(signature(&a), sa, "signatures are deterministic");
    }
}
