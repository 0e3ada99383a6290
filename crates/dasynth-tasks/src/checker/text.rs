//! Text normalisation and phrase search: how a value written in an answer is compared with a
//! value of the ground truth.
//!
//! Everything here works on `char`s (not bytes) and uses only ASCII classes, so that
//! `python/reward.py` can do exactly the same with Python strings.

/// Text for comparing two values: trimmed, case-folded, dates without a midnight time.
pub fn norm_text(s: &str) -> String {
    let mut t = s.trim().to_lowercase();
    // "2013-01-01T00:00:00" and "2013-01-01 00:00:00" both mean the date.
    if t.len() >= 19 && t.as_bytes().get(10).is_some_and(|&b| b == b't' || b == b' ') && t[..4].bytes().all(|b| b.is_ascii_digit()) {
        t.replace_range(10..11, " ");
        for suffix in [".000000", ".000"] {
            if t.ends_with(suffix) {
                t.truncate(t.len() - suffix.len());
            }
        }
        if t.ends_with(" 00:00:00") {
            t.truncate(10);
        }
    }
    t
}

/// Whether a character is part of a word (ASCII letters, digits and `_`).
pub(crate) fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Characters that may come right before a phrase: it is not the tail of a longer value.
const OPENERS: &str = "([{\"',;:|`*/\u{2014}\u{2013}";
/// Characters that may come right after a phrase (a `.` only when it ends a sentence).
const CLOSERS: &str = ")]}\"',;:!?|`*/\u{2014}\u{2013}";

/// Answer text made comparable: markdown emphasis and code marks removed, typographic quotes
/// straightened, whitespace runs made one space, lower case, and midnight times dropped from
/// dates.
pub fn plain(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for c in s.chars() {
        let c = match c {
            '*' | '`' => continue,
            '\u{2018}' | '\u{2019}' => '\'',
            '\u{201c}' | '\u{201d}' => '"',
            c if c.is_whitespace() => ' ',
            c => c,
        };
        if c == ' ' {
            space = true;
            continue;
        }
        if space && !out.is_empty() {
            out.push(' ');
        }
        space = false;
        out.extend(c.to_lowercase());
    }
    drop_midnight(&out)
}

/// `2013-01-01t00:00:00`, `2013-01-01 00:00:00.000` → `2013-01-01` (on lower-cased text).
fn drop_midnight(s: &str) -> String {
    let c: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < c.len() {
        if is_date_at(&c, i) && i + 10 < c.len() && (c[i + 10] == 't' || c[i + 10] == ' ') && matches_at(&c, i + 11, "00:00:00") {
            out.extend(&c[i..i + 10]);
            i += 19;
            while i + 1 < c.len() && c[i] == '.' && c[i + 1] == '0' {
                i += 1;
                while i < c.len() && c[i] == '0' {
                    i += 1;
                }
            }
            continue;
        }
        out.push(c[i]);
        i += 1;
    }
    out
}

fn is_date_at(c: &[char], i: usize) -> bool {
    let pattern = "dddd-dd-dd";
    i + pattern.len() <= c.len()
        && (i == 0 || !c[i - 1].is_ascii_digit())
        && pattern.chars().zip(&c[i..]).all(|(p, &x)| if p == 'd' { x.is_ascii_digit() } else { x == p })
}

/// Whether `word` is written at char `i` of `c`.
pub(crate) fn matches_at(c: &[char], i: usize, word: &str) -> bool {
    let mut chars = c.get(i..).unwrap_or_default().iter();
    word.chars().all(|w| chars.next() == Some(&w))
}

/// Every start (in chars) where `needle` occurs in `hay` as a whole phrase: at the start or
/// after a space or an opening mark, and at the end or before a space or a closing mark, so
/// `male` is not found in `female` nor `>50k` in `<=50k`. Both are expected to be [`plain`]
/// already.
pub fn phrase_positions(hay: &[char], needle: &[char]) -> Vec<usize> {
    let mut out = Vec::new();
    if needle.is_empty() || needle.len() > hay.len() {
        return out;
    }
    for s in 0..=hay.len() - needle.len() {
        if hay[s..s + needle.len()] != *needle {
            continue;
        }
        let e = s + needle.len();
        let before = s == 0 || hay[s - 1].is_whitespace() || OPENERS.contains(hay[s - 1]);
        let after = e == hay.len()
            || hay[e].is_whitespace()
            || CLOSERS.contains(hay[e])
            || (hay[e] == '.' && (e + 1 == hay.len() || hay[e + 1].is_whitespace()));
        if before && after {
            out.push(s);
        }
    }
    out
}

/// Whether `needle` occurs in `hay` as a whole phrase, both [`plain`]ed here.
pub fn contains_phrase(hay: &str, needle: &str) -> bool {
    let h: Vec<char> = plain(hay).chars().collect();
    let n: Vec<char> = plain(needle).chars().collect();
    !phrase_positions(&h, &n).is_empty()
}

/// Words that start the part of an answer where other values are compared with the answer
/// ("Biscoe, followed by Dream"): a value named after one of these is not the answer.
pub const COMPARISON_CUES: [&str; 12] = [
    "followed by",
    "ahead of",
    "more than",
    "less than",
    "rather than",
    "than",
    "compared",
    "versus",
    "vs",
    "whereas",
    "while",
    "instead of",
];

/// Words that, later in the same clause, make a named value a runner-up ("Dream comes second").
pub const RUNNER_UP_CUES: [&str; 7] = ["second", "next", "follows", "trails", "runner-up", "runner up", "behind"];

/// The start of the first comparison cue in a [`plain`] text (its length when none).
pub fn comparison_start(hay: &[char]) -> usize {
    COMPARISON_CUES
        .iter()
        .filter_map(|cue| {
            let cue: Vec<char> = cue.chars().collect();
            phrase_positions(hay, &cue).first().copied()
        })
        .min()
        .unwrap_or(hay.len())
}

/// Whether the rest of the clause after `end` (up to `,`, `;`, `.`, `!`, `?` or `(`) names the
/// value before it a runner-up.
pub fn runner_up_after(hay: &[char], end: usize) -> bool {
    let stop = (end..hay.len()).find(|&k| matches!(hay[k], ',' | ';' | '.' | '!' | '?' | '(')).unwrap_or(hay.len());
    let clause = &hay[end..stop];
    RUNNER_UP_CUES.iter().any(|cue| {
        let cue: Vec<char> = cue.chars().collect();
        !phrase_positions(clause, &cue).is_empty()
    })
}

/// Text of a value as it would be written (strings bare, numbers in their JSON form).
pub fn scalar_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_drops_markup_and_midnight() {
        assert_eq!(plain("  **Biscoe**  Island\n`x` "), "biscoe island x");
        assert_eq!(plain("On 2013-01-01T00:00:00.000 it rained"), "on 2013-01-01 it rained");
        assert_eq!(plain("It\u{2019}s"), "it's");
    }

    #[test]
    fn phrases_match_whole_words_only() {
        assert!(contains_phrase("The largest group is Biscoe.", "biscoe"));
        assert!(!contains_phrase("Biscoe island", "Bis"));
        assert!(!contains_phrase("female", "male"));
        assert!(contains_phrase("(male)", "male"));
        assert!(contains_phrase("groups: a, b", "a"));
        assert!(!contains_phrase("<=50K", ">50K"));
        assert!(!contains_phrase("4.5", "4"));
        assert!(contains_phrase("It is 4.", "4"));
    }

    #[test]
    fn comparison_cues_end_the_answer_part() {
        let h: Vec<char> = plain("Dream has the most, followed by Biscoe").chars().collect();
        assert_eq!(comparison_start(&h), 20);
        let h: Vec<char> = plain("Dream leads; Biscoe comes second.").chars().collect();
        assert!(runner_up_after(&h, 19));
        assert!(!runner_up_after(&h, 5));
    }
}
