//! Numbers as people and models write them, and whether one states a value of the ground truth.
//!
//! [`scan`] finds every number in a text with how precisely it was written: thousands
//! separators (`1,234,567`, a no-break or thin space), a leading minus (`-`, `−`, `–`),
//! decimals, exponents (`1.2e-5`, `1.2 × 10^-5`), scale words (`4.2k`, `1.3M`, `2 billion`) and
//! percentages (`42.1%`, `42.1 percent`). It skips digits that are part of a name (`p95`,
//! `col_2`), dates and times (`2013-01-05`, `12:30`), ordinals (`2nd`) and the numbers of
//! markdown list items (`1. `). [`matches()`] then accepts a written number when it is within the
//! spec's tolerance of the truth, or when it is the truth correctly rounded to the digits written
//! and those digits keep the rounding within 1% of the value (so `0.87` states 0.8712 but `4,200`
//! does not state 4,201.75), or, for a percentage, when the percent value divided by 100 does
//! (`42.2%` states 0.4215).

use super::spec::CheckerSpec;
use super::text::is_word;

/// Rounding is accepted when half a unit of the last written digit is at most this share of the
/// value.
pub const ROUNDING_SHARE: f64 = 0.01;

/// One number found in a text.
#[derive(Debug, Clone, PartialEq)]
pub struct Written {
    /// The value, times its scale word; a percentage keeps its percent value (42.1 for `42.1%`).
    pub value: f64,
    /// Half a unit of the last written digit, in the units of `value`.
    pub half_unit: f64,
    /// Written as a percentage.
    pub percent: bool,
    /// Whole number written without decimals or exponent.
    pub whole: bool,
    /// Start and end, in chars.
    pub start: usize,
    pub end: usize,
    /// Inside parentheses.
    pub in_parens: bool,
}

/// 10 to a whole power, by repeated multiplication (exact for |k| ≤ 22; `reward.py` computes it
/// the same way).
pub fn pow10(k: i32) -> f64 {
    let mut r = 1.0f64;
    for _ in 0..k.unsigned_abs() {
        r *= 10.0;
    }
    if k < 0 { 1.0 / r } else { r }
}

fn is_digit(c: char) -> bool {
    c.is_ascii_digit()
}

fn is_minus(c: char) -> bool {
    matches!(c, '-' | '\u{2212}' | '\u{2013}')
}

const GROUP_SEPARATORS: [char; 4] = [',', '\u{a0}', '\u{202f}', '\u{2009}'];

fn word_at(c: &[char], i: usize, word: &str) -> bool {
    let w: Vec<char> = word.chars().collect();
    i + w.len() <= c.len()
        && c[i..i + w.len()].iter().zip(&w).all(|(a, b)| a.to_ascii_lowercase() == *b)
        && (i + w.len() == c.len() || !c[i + w.len()].is_ascii_alphabetic())
}

fn at_line_start(c: &[char], i: usize) -> bool {
    let mut k = i;
    while k > 0 && (c[k - 1] == ' ' || c[k - 1] == '\t') {
        k -= 1;
    }
    k == 0 || c[k - 1] == '\n'
}

/// Every number written in `text`, in order.
pub fn scan(text: &str) -> Vec<Written> {
    let c: Vec<char> = text.chars().collect();
    let n = c.len();
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut i = 0;
    while i < n {
        let ch = c[i];
        if ch == '(' {
            depth += 1;
            i += 1;
            continue;
        }
        if ch == ')' {
            depth = (depth - 1).max(0);
            i += 1;
            continue;
        }
        let neg = is_minus(ch) && i + 1 < n && is_digit(c[i + 1]) && (i == 0 || !is_word(c[i - 1]));
        if !neg && !is_digit(ch) {
            i += 1;
            continue;
        }
        if !neg && i > 0 && (c[i - 1].is_ascii_alphabetic() || c[i - 1] == '_') {
            // Digits of a name such as `p95` or `col_2`.
            while i < n && is_word(c[i]) {
                i += 1;
            }
            continue;
        }
        let start = i;
        let mut j = if neg { i + 1 } else { i };
        let int_start = j;
        while j < n && is_digit(c[j]) {
            j += 1;
        }
        let int_digits = j - int_start;
        // A markdown list item's number: `1. ` or `2) ` at the start of a line.
        if !neg && at_line_start(&c, start) && j + 1 < n && (c[j] == '.' || c[j] == ')') && (c[j + 1] == ' ' || c[j + 1] == '\t') {
            i = j + 1;
            continue;
        }
        let mut digits: String = c[int_start..j].iter().collect();
        let mut grouped = false;
        if int_digits <= 3 {
            while j + 3 < n
                && GROUP_SEPARATORS.contains(&c[j])
                && c[j + 1..j + 4].iter().all(|&d| is_digit(d))
                && (j + 4 == n || !is_digit(c[j + 4]))
            {
                digits.extend(&c[j + 1..j + 4]);
                j += 4;
                grouped = true;
            }
        }
        let mut decimals = 0i32;
        if j + 1 < n && c[j] == '.' && is_digit(c[j + 1]) {
            digits.push('.');
            j += 1;
            while j < n && is_digit(c[j]) {
                digits.push(c[j]);
                decimals += 1;
                j += 1;
            }
        }
        // Dates, times, fractions and ordinals are not numbers of the answer.
        let plain_int = !grouped && decimals == 0;
        if plain_int && !neg {
            let date = int_digits == 4 && j + 1 < n && (c[j] == '-' || c[j] == '/') && is_digit(c[j + 1]);
            let time = int_digits <= 2 && j + 1 < n && (c[j] == ':' || c[j] == '/') && is_digit(c[j + 1]);
            if date || time {
                while j < n && (is_digit(c[j]) || matches!(c[j], '-' | '/' | ':' | '.' | 'T')) {
                    j += 1;
                }
                i = j;
                continue;
            }
        }
        if j + 1 < n
            && ["st", "nd", "rd", "th"].iter().any(|s| word_at(&c, j, s))
            && plain_int
            && (j + 2 == n || !c[j + 2].is_ascii_alphabetic())
        {
            i = j + 2;
            continue;
        }
        let mut exponent = 0i32;
        let mut has_exponent = false;
        if j + 1 < n
            && (c[j] == 'e' || c[j] == 'E')
            && let Some((e, k)) = signed_exponent(&c, j + 1)
            && (k == n || !c[k].is_ascii_alphabetic())
        {
            exponent = e;
            has_exponent = true;
            j = k;
        }
        if !has_exponent && let Some((e, k)) = times_ten_power(&c, j) {
            exponent = e;
            has_exponent = true;
            j = k;
        }
        let mut text_value = String::new();
        if neg {
            text_value.push('-');
        }
        text_value.push_str(&digits);
        let Ok(mantissa) = text_value.parse::<f64>() else {
            i = j.max(i + 1);
            continue;
        };
        let mut scale = 1.0;
        let mut k = j;
        if k < n && (k + 1 == n || !c[k + 1].is_ascii_alphabetic()) && matches!(c[k], 'k' | 'K' | 'M' | 'B') {
            scale = match c[k] {
                'M' => 1e6,
                'B' => 1e9,
                _ => 1e3,
            };
            k += 1;
        } else if k + 1 < n && c[k] == 'b' && c[k + 1] == 'n' && (k + 2 == n || !c[k + 2].is_ascii_alphabetic()) {
            scale = 1e9;
            k += 2;
        } else {
            let w = if k < n && c[k] == ' ' { k + 1 } else { k };
            for (word, s) in [("thousand", 1e3), ("million", 1e6), ("billion", 1e9), ("trillion", 1e12)] {
                if word_at(&c, w, word) {
                    scale = s;
                    k = w + word.len();
                    break;
                }
            }
        }
        let mut percent = false;
        let p = if k < n && c[k] == ' ' { k + 1 } else { k };
        if p < n && c[p] == '%' {
            percent = true;
            k = p + 1;
        } else {
            for word in ["percent", "per cent", "pct"] {
                if word_at(&c, p, word) {
                    percent = true;
                    k = p + word.chars().count();
                    break;
                }
            }
        }
        let value = mantissa * pow10(exponent) * scale;
        let half_unit = 0.5 * pow10(exponent - decimals) * scale;
        out.push(Written {
            value,
            half_unit,
            percent,
            whole: decimals == 0 && !has_exponent && scale == 1.0,
            start,
            end: k,
            in_parens: depth > 0,
        });
        i = k;
    }
    out
}

/// `× 10^5`, `x 10^{-5}`, `\times 10^5`, `* 10^5` after a mantissa ending at `j`: (exponent, end).
fn times_ten_power(c: &[char], j: usize) -> Option<(i32, usize)> {
    let n = c.len();
    let mut k = j;
    while k < n && c[k] == ' ' {
        k += 1;
    }
    if k < n && matches!(c[k], '\u{d7}' | 'x' | '*') {
        k += 1;
    } else if super::text::matches_at(c, k, "\\times") {
        k += 6;
    } else {
        return None;
    }
    while k < n && c[k] == ' ' {
        k += 1;
    }
    if !(k + 1 < n && c[k] == '1' && c[k + 1] == '0') {
        return None;
    }
    k += 2;
    while k < n && c[k] == ' ' {
        k += 1;
    }
    if k >= n || c[k] != '^' {
        return None;
    }
    k += 1;
    let brace = k < n && c[k] == '{';
    if brace {
        k += 1;
    }
    let (e, mut k) = signed_exponent(c, k)?;
    if brace {
        if k < n && c[k] == '}' {
            k += 1;
        } else {
            return None;
        }
    }
    Some((e, k))
}

/// An exponent at char `k`: an optional sign (`+`, `-`, `−`) and one to three digits; (value, end).
fn signed_exponent(c: &[char], mut k: usize) -> Option<(i32, usize)> {
    let mut sign = 1;
    if k < c.len() && (c[k] == '+' || is_minus(c[k])) {
        if is_minus(c[k]) {
            sign = -1;
        }
        k += 1;
    }
    let ds = k;
    while k < c.len() && is_digit(c[k]) {
        k += 1;
    }
    if k == ds || k - ds > 3 {
        return None;
    }
    let e: i32 = c[ds..k].iter().collect::<String>().parse().ok()?;
    Some((sign * e, k))
}

/// The values a written number may stand for: itself, and for a percentage also its fraction.
fn readings(w: &Written) -> Vec<(f64, f64)> {
    let mut r = vec![(w.value, w.half_unit)];
    if w.percent {
        r.push((w.value / 100.0, w.half_unit / 100.0));
    }
    r
}

/// Whether `x` is `truth` within the spec's tolerances.
pub fn close(spec: &CheckerSpec, x: f64, truth: f64) -> bool {
    (x - truth).abs() <= spec.abs_tolerance.max(spec.tolerance * truth.abs())
}

/// Whether a written number states `truth`: within tolerance, or correctly rounded to the digits
/// written (see the module docs), or as a percentage of it.
pub fn matches(spec: &CheckerSpec, w: &Written, truth: f64) -> bool {
    readings(w)
        .into_iter()
        .any(|(x, half)| close(spec, x, truth) || (half <= ROUNDING_SHARE * truth.abs() && (x - truth).abs() <= half * (1.0 + 1e-6)))
}

/// Whether a written number states the whole number `truth` exactly.
pub fn matches_whole(spec: &CheckerSpec, w: &Written, truth: f64) -> bool {
    w.value.fract() == 0.0 && close(spec, w.value, truth)
}

/// Number words for small counts, read only when an answer has no digits at all.
pub const NUMBER_WORDS: [&str; 21] = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
    "twenty",
];

/// The last number word of a text (whole words, any case), as a written number.
pub fn last_number_word(text: &str) -> Option<Written> {
    let c: Vec<char> = text.chars().collect();
    let mut found = None;
    let mut i = 0;
    while i < c.len() {
        if c[i].is_ascii_alphabetic() && (i == 0 || !c[i - 1].is_ascii_alphabetic()) {
            let mut e = i;
            while e < c.len() && c[e].is_ascii_alphabetic() {
                e += 1;
            }
            let word: String = c[i..e].iter().collect::<String>().to_ascii_lowercase();
            if let Some(v) = NUMBER_WORDS.iter().position(|w| *w == word) {
                found = Some(Written { value: v as f64, half_unit: 0.5, percent: false, whole: true, start: i, end: e, in_parens: false });
            }
            i = e;
        } else {
            i += 1;
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{AnswerType, CheckerOptions};

    fn values(text: &str) -> Vec<f64> {
        scan(text).into_iter().map(|w| w.value).collect()
    }

    #[test]
    fn numbers_are_read_the_way_they_are_written() {
        assert_eq!(values("p95 is -1,234.5 and 2e3"), vec![-1234.5, 2000.0]);
        assert_eq!(values("on 2013-01-05 at 12:30, the 2nd run: 4.2k and 1.5 million"), vec![4200.0, 1_500_000.0]);
        assert_eq!(values("1. Biscoe (168)\n2. Dream"), vec![168.0]);
        assert_eq!(values("1.2 × 10^-3 and 3\u{a0}456 and \u{2212}0.35"), vec![0.0012, 3456.0, -0.35]);
        assert_eq!(values("ranges 5-10"), vec![5.0, 10.0]);
        let w = &scan("42.1 percent")[0];
        assert!(w.percent && (w.half_unit - 0.05).abs() < 1e-12);
        assert!(scan("(n = 342)")[0].in_parens);
        assert!(!scan("4,201.75 g")[0].in_parens);
    }

    #[test]
    fn rounding_is_accepted_to_three_significant_digits() {
        let spec = CheckerSpec::new(AnswerType::Number, &CheckerOptions::default());
        let ok = |text: &str, truth: f64| matches(&spec, &scan(text)[0], truth);
        assert!(ok("4,201.75", 4201.754385964912));
        assert!(ok("4202", 4201.754385964912));
        assert!(!ok("4,200", 4201.754385964912));
        assert!(!ok("4201.7", 4201.754385964912));
        assert!(ok("0.87", 0.8712));
        assert!(!ok("0.9", 0.8712));
        assert!(ok("42.2%", 0.4215));
        assert!(ok("42.15%", 42.15));
        assert!(!ok("-0.87", 0.8712));
        assert!(ok("0", 0.0));
    }
}
