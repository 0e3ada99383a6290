//! Near-duplicate trajectories by MinHash.
//!
//! A trajectory's text (its assistant turns and `<Execute>` outputs, not the shared system
//! prompt or the task prompt) is cut into lower-cased word 5-grams; each shingle is hashed with
//! xxh3, and a signature keeps, for each of [`PERMUTATIONS`] hash functions, the smallest value
//! over the shingles. The share of equal entries of two signatures estimates the Jaccard
//! similarity of their shingle sets. An [`Index`] finds candidates by locality-sensitive hashing
//! (bands of rows of the signature), so comparing a trajectory with thousands of earlier ones
//! costs a few hash look-ups, and then computes the exact Jaccard similarity of each
//! candidate's shingle hashes: templated trajectories of different tasks come within a few
//! hundredths of the threshold, where a 128-entry estimate errs by about ±0.03.

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

/// A text's shingle hashes (sorted, distinct) and their signature.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Fingerprint {
    pub shingles: Vec<u64>,
    pub signature: Signature,
}

/// The fingerprint of a text (empty for a text without words, which resembles nothing).
pub fn fingerprint(text: &str) -> Fingerprint {
    let shingles = shingles(text);
    if shingles.is_empty() {
        return Fingerprint::default();
    }
    let signature = (0..PERMUTATIONS as u64)
        .map(|seed| shingles.iter().map(|s| xxh3_64_with_seed(&s.to_le_bytes(), seed)).min().unwrap_or(u64::MAX))
        .collect();
    Fingerprint { shingles, signature }
}

/// The exact Jaccard similarity of two sorted, distinct hash lists.
pub fn jaccard(a: &[u64], b: &[u64]) -> f64 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let (mut i, mut j, mut common) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                common += 1;
                i += 1;
                j += 1;
            }
        }
    }
    common as f64 / (a.len() + b.len() - common) as f64
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

/// Fingerprints of accepted trajectories, by LSH band.
#[derive(Debug, Default)]
pub struct Index {
    bands: Vec<HashMap<u64, Vec<usize>>>,
    items: Vec<(String, Fingerprint)>,
}

impl Index {
    /// The most similar indexed item whose exact Jaccard similarity reaches `threshold`: its
    /// name and the similarity (the earlier indexed one on a tie).
    pub fn find(&self, f: &Fingerprint, threshold: f64) -> Option<(&str, f64)> {
        let mut best: Option<(usize, f64)> = None;
        let mut seen = std::collections::HashSet::new();
        for (b, band) in f.signature.chunks(ROWS).enumerate() {
            let Some(ids) = self.bands.get(b).and_then(|m| m.get(&band_key(band))) else { continue };
            for &i in ids.iter().filter(|&&i| seen.insert(i)) {
                let s = jaccard(&f.shingles, &self.items[i].1.shingles);
                if s >= threshold && best.is_none_or(|(bi, bs)| s > bs || (s == bs && i < bi)) {
                    best = Some((i, s));
                }
            }
        }
        best.map(|(i, s)| (self.items[i].0.as_str(), s))
    }

    pub fn insert(&mut self, name: String, f: Fingerprint) {
        let i = self.items.len();
        for (b, band) in f.signature.chunks(ROWS).enumerate() {
            if self.bands.len() <= b {
                self.bands.push(HashMap::new());
            }
            self.bands[b].entry(band_key(band)).or_default().push(i);
        }
        self.items.push((name, f));
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
        let (fa, fb, fc) = (fingerprint(&a), fingerprint(&b), fingerprint(&c));
        assert!(similarity(&fa.signature, &fb.signature) > 0.9, "{}", similarity(&fa.signature, &fb.signature));
        assert!(similarity(&fa.signature, &fc.signature) < 0.1);
        assert!(jaccard(&fa.shingles, &fb.shingles) > 0.95, "{}", jaccard(&fa.shingles, &fb.shingles));
        let mut idx = Index::default();
        idx.insert("a".into(), fa.clone());
        assert_eq!(idx.find(&fb, 0.9).map(|f| f.0), Some("a"));
        assert!(idx.find(&fc, 0.9).is_none());
        assert_eq!(fingerprint(&a), fa, "fingerprints are deterministic");
        assert_eq!(jaccard(&[1, 2, 3], &[2, 3, 4]), 0.5);
    }
}
