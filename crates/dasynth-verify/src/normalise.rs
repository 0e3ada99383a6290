//! Comparing a recorded `<Execute>` block with a replayed one.
//!
//! Both texts are normalised the same way before they are compared: the `<Execute>` wrapper
//! goes, memory addresses (`0x7f3a…`) become `0x…`, timing lines (`Wall time: 1.2 s`,
//! `12.3 ms ± 0.4 ms per loop`, `took 0.52s`) and warning lines (`FutureWarning: …` and the
//! source line Python prints under them) are dropped, every run of blanks becomes one space and
//! blank lines go. The texts then match when they split into the same words and numbers, the
//! numbers equal within a relative tolerance (so `0.30000000000000004` matches `0.3`, and
//! `1e-05` matches `0.00001`). When the record was cut by the agent loop (head, a
//! `[… N bytes cut …]` marker, tail), its head must begin the replayed text and its tail end it.

use regex::Regex;
use std::sync::LazyLock;

static ADDRESS: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"0x[0-9a-fA-F]{4,}").expect("address pattern"));
static TIMING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^(cpu times|wall time|elapsed|time elapsed|time taken|took|runtime|execution time)\b.*\d|\d\s*(ns|µs|us|ms|s) ± [\d.]+\s*(ns|µs|us|ms|s)\b|\b(took|in) [\d.]+ ?(ns|µs|us|ms|s|sec|secs|seconds)\b",
    )
    .expect("timing pattern")
});
static WARNING: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^(\S*:\d+: )?[A-Za-z]*Warning: ").expect("warning pattern"));
static CUT: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\n\[… \d+ bytes cut …\]\n").expect("cut pattern"));

/// The body of an `<Execute>` message (the message itself when it has no wrapper).
pub fn execute_body(message: &str) -> &str {
    let t = message.strip_prefix("<Execute>").unwrap_or(message);
    let t = t.strip_suffix("</Execute>").unwrap_or(t);
    let t = t.strip_prefix('\n').unwrap_or(t);
    t.strip_suffix('\n').unwrap_or(t)
}

/// A text as it is compared: addresses masked, timing and warning lines dropped, blanks
/// collapsed, blank lines removed.
pub fn normalise(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut after_warning = false;
    for line in text.lines() {
        let line = line.trim_end();
        if after_warning && line.starts_with(' ') {
            // The source line Python's warnings module prints under the warning.
            after_warning = false;
            continue;
        }
        after_warning = false;
        if WARNING.is_match(line.trim_start()) {
            after_warning = true;
            continue;
        }
        if TIMING.is_match(line.trim_start()) {
            continue;
        }
        let line = ADDRESS.replace_all(line, "0x…");
        let mut words = line.split_whitespace().peekable();
        if words.peek().is_none() {
            continue;
        }
        if !out.is_empty() {
            out.push('\n');
        }
        for (i, w) in words.enumerate() {
            if i > 0 {
                out.push(' ');
            }
            out.push_str(w);
        }
    }
    out
}

/// A piece of a normalised text: a number or the text between numbers.
#[derive(Debug, Clone, PartialEq)]
enum Token<'a> {
    Num(f64),
    Text(&'a str),
}

/// Splits a text into numbers and the text between them. A number is an optional minus sign
/// (not after a letter or digit), digits, an optional fraction and an optional exponent, or
/// `nan`/`inf` spelled as Python prints them.
fn tokens(s: &str) -> Vec<Token<'_>> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut text_start = 0;
    let mut i = 0;
    while i < b.len() {
        let starts_number = b[i].is_ascii_digit()
            || (b[i] == b'-' && i + 1 < b.len() && b[i + 1].is_ascii_digit() && (i == 0 || !b[i - 1].is_ascii_alphanumeric()))
            || (b[i] == b'.' && i + 1 < b.len() && b[i + 1].is_ascii_digit() && (i == 0 || !b[i - 1].is_ascii_alphanumeric()));
        // Digits inside a name (`col2`, `x_1`) are text.
        if !starts_number || (i > 0 && (b[i - 1].is_ascii_alphabetic() || b[i - 1] == b'_')) {
            i += 1;
            continue;
        }
        let start = i;
        if b[i] == b'-' {
            i += 1;
        }
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i + 1 < b.len() && b[i] == b'.' && b[i + 1].is_ascii_digit() {
            i += 1;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
        } else if i < b.len() && b[i] == b'.' && (i + 1 == b.len() || !b[i + 1].is_ascii_alphanumeric()) {
            // `1.` as numpy prints a whole float.
            i += 1;
        }
        if i + 1 < b.len() && (b[i] == b'e' || b[i] == b'E') {
            let mut j = i + 1;
            if j < b.len() && (b[j] == b'-' || b[j] == b'+') {
                j += 1;
            }
            if j < b.len() && b[j].is_ascii_digit() {
                while j < b.len() && b[j].is_ascii_digit() {
                    j += 1;
                }
                i = j;
            }
        }
        match s[start..i].parse::<f64>() {
            Ok(x) => {
                if text_start < start {
                    out.push(Token::Text(&s[text_start..start]));
                }
                out.push(Token::Num(x));
                text_start = i;
            }
            Err(_) => i = start + 1,
        }
    }
    if text_start < s.len() {
        out.push(Token::Text(&s[text_start..]));
    }
    out
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    a == b || (a - b).abs() <= tol * a.abs().max(b.abs()) || (a.is_nan() && b.is_nan())
}

fn token_eq(a: &Token<'_>, b: &Token<'_>, tol: f64) -> bool {
    match (a, b) {
        (Token::Num(x), Token::Num(y)) => close(*x, *y, tol),
        (Token::Text(x), Token::Text(y)) => x == y,
        _ => false,
    }
}

fn seq_eq(a: &[Token<'_>], b: &[Token<'_>], tol: f64) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| token_eq(x, y, tol))
}

/// Whether two normalised texts say the same, numbers within the relative tolerance `tol`.
pub fn same_text(a: &str, b: &str, tol: f64) -> bool {
    a == b || seq_eq(&tokens(a), &tokens(b), tol)
}

/// Whether a recorded `<Execute>` body (possibly cut by the agent loop) is what the replayed,
/// uncut body gives.
pub fn matches(recorded: &str, replayed: &str, tol: f64) -> bool {
    let Some(cut) = CUT.find(recorded) else {
        return same_text(&normalise(recorded), &normalise(replayed), tol);
    };
    // The cut may split a line (or a number): leave out the partial line on each side.
    let head = &recorded[..cut.start()];
    let tail = &recorded[cut.end()..];
    let head = head.rfind('\n').map_or("", |p| &head[..p]);
    let tail = tail.find('\n').map_or("", |p| &tail[p + 1..]);
    let (h, t, r) = (normalise(head), normalise(tail), normalise(replayed));
    let (ht, tt, rt) = (tokens(&h), tokens(&t), tokens(&r));
    let prefix = ht.len() <= rt.len() && starts_like(&rt, &ht, tol);
    let suffix = tt.len() <= rt.len() && ends_like(&rt, &tt, tol);
    prefix && suffix
}

/// `a` begins with `b`; the last text token of `b` may be a prefix of `a`'s.
fn starts_like(a: &[Token<'_>], b: &[Token<'_>], tol: f64) -> bool {
    let Some((last, rest)) = b.split_last() else { return true };
    seq_eq(&a[..rest.len()], rest, tol)
        && match (last, &a[rest.len()]) {
            (Token::Text(x), Token::Text(y)) => y.starts_with(x),
            (x, y) => token_eq(x, y, tol),
        }
}

/// `a` ends with `b`; the first text token of `b` may be a suffix of `a`'s.
fn ends_like(a: &[Token<'_>], b: &[Token<'_>], tol: f64) -> bool {
    let Some((first, rest)) = b.split_first() else { return true };
    let off = a.len() - b.len();
    seq_eq(&a[off + 1..], rest, tol)
        && match (first, &a[off]) {
            (Token::Text(x), Token::Text(y)) => y.ends_with(x),
            (x, y) => token_eq(x, y, tol),
        }
}

/// A short unified diff of two normalised texts, at most `max_bytes` long.
pub fn diff(recorded: &str, replayed: &str, max_bytes: usize) -> String {
    let d = similar::TextDiff::from_lines(recorded, replayed);
    let text = d.unified_diff().context_radius(1).header("recorded", "replayed").to_string();
    cut(&text, max_bytes)
}

/// A text cut to at most `max_bytes` (on a character boundary), marked when cut.
pub fn cut(s: &str, max_bytes: usize) -> String {
    if s.len() <= max_bytes {
        return s.to_string();
    }
    let mut end = max_bytes;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}\n[… cut]", &s[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noise_is_normalised_away() {
        let a = "<Execute>\n   a    b\n\n<Foo object at 0x7f3a2b1c9d00>\nWall time: 1.2 s\n</Execute>";
        let b = "<Execute>\na b\n<Foo object at 0x55aa00ff1234>\n</Execute>";
        assert_eq!(normalise(execute_body(a)), normalise(execute_body(b)));
        let w = "x\n/lib/pandas/core.py:12: FutureWarning: soon\n  df.append(x)\ny";
        assert_eq!(normalise(w), "x\ny");
        assert_eq!(normalise("12.3 ms ± 0.4 ms per loop (mean ± std. dev.)\nz"), "z");
    }

    #[test]
    fn numbers_compare_within_the_tolerance() {
        assert!(same_text("mean 0.30000000000000004", "mean 0.3", 1e-6));
        assert!(same_text("x 1e-05 y", "x 0.00001 y", 1e-6));
        assert!(!same_text("count 42", "count 43", 1e-6));
        assert!(!same_text("count 42", "count 42 extra", 1e-6));
        assert!(same_text("col_2 7", "col_2 7.0", 1e-6));
        assert!(!same_text("col_2 7", "col_3 7", 1e-6));
    }

    #[test]
    fn a_cut_record_matches_the_whole_replay() {
        let full: String = (0..200).map(|i| format!("row {i} value {}\n", i * 3)).collect();
        let cut = dasynth_agent::format::execute_message(&full, None, 400);
        assert!(cut.contains("bytes cut"));
        assert!(matches(execute_body(&cut), &full, 1e-6));
        let edited = full.replace("row 199 value 597", "row 199 value 598");
        assert!(!matches(execute_body(&cut), &edited, 1e-6));
        let edited_head = full.replace("row 1 value 3", "row 1 value 4");
        assert!(!matches(execute_body(&cut), &edited_head, 1e-6));
    }

    #[test]
    fn diffs_are_short_and_unified() {
        let d = diff("a\nb\nc\n", "a\nx\nc\n", 1000);
        assert!(d.contains("-b") && d.contains("+x") && d.contains("--- recorded"), "{d}");
        assert!(diff(&"a\n".repeat(1000), &"b\n".repeat(1000), 200).len() < 220);
    }
}
