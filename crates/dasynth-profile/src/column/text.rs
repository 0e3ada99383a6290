//! Text: the shape of values (lengths, blanks, case) and the quality facts they show.

use super::*;

pub(super) struct TextFacts {
    pub(super) stats: TextStats,
    pub(super) numeric_share: f64,
}

/// A text's length in characters, its words, and whether it starts or ends with white space.
/// ASCII text (the common case) is measured byte by byte, with the same answers.
pub(super) fn text_shape(v: &str) -> (usize, usize, bool) {
    if !v.is_ascii() {
        return (v.chars().count(), v.split_whitespace().count(), v.len() != v.trim().len());
    }
    let b = v.as_bytes();
    // The ASCII characters Unicode calls white space: tab, line feed, vertical tab, form feed,
    // carriage return, space.
    let space = |b: u8| matches!(b, b'\t'..=b'\r' | b' ');
    let (mut words, mut after_space) = (0, true);
    for &x in b {
        let here = space(x);
        words += usize::from(after_space && !here);
        after_space = here;
    }
    (b.len(), words, b.first().is_some_and(|&x| space(x)) || b.last().is_some_and(|&x| space(x)))
}

/// Text statistics from distinct values and their counts.
pub(super) fn text_facts(distinct: &StringChunked, counts: &[u64], quality: &mut ColumnQuality) -> TextFacts {
    let mut min_len = u64::MAX;
    let mut max_len = 0u64;
    let mut total_len = 0u64;
    let mut total_words = 0u64;
    let mut n = 0u64;
    let mut numeric = 0u64;
    let mut non_numeric = 0u64;
    for (v, c) in distinct.iter().zip(counts) {
        let (Some(v), c) = (v, *c) else { continue };
        let (l, words, padded) = text_shape(v);
        let l = l as u64;
        min_len = min_len.min(l);
        max_len = max_len.max(l);
        total_len += l * c;
        total_words += words as u64 * c;
        n += c;
        if padded {
            quality.stray_whitespace += c;
        }
        if semantic::is_text_sentinel(v) {
            continue;
        }
        if parse_number(v).is_some() {
            numeric += c;
        } else {
            non_numeric += c;
        }
    }
    quality.numeric_text = numeric;
    quality.non_numeric_text = non_numeric;
    let denom = (numeric + non_numeric).max(1) as f64;
    TextFacts {
        stats: TextStats {
            min_length: if n == 0 { 0 } else { min_len },
            max_length: max_len,
            mean_length: if n == 0 { 0.0 } else { total_len as f64 / n as f64 },
            mean_words: if n == 0 { 0.0 } else { total_words as f64 / n as f64 },
        },
        numeric_share: numeric as f64 / denom,
    }
}
