//! Cutting long text to a budget, keeping its head and tail, on character boundaries.

use std::borrow::Cow;

/// `text` cut to at most about `max` bytes: the head and the tail, joined by a marker that says
/// how much was cut.
pub(crate) fn cut_middle(text: &str, max: usize) -> Cow<'_, str> {
    match split_middle(text, max) {
        None => Cow::Borrowed(text),
        Some((head, tail, cut)) => Cow::Owned(format!("{head}\n[… {cut} bytes cut …]\n{tail}")),
    }
}

/// The head and tail of `text` that fit `max` bytes together, and the bytes between them; none
/// when the whole text fits.
pub(crate) fn split_middle(text: &str, max: usize) -> Option<(&str, &str, usize)> {
    if text.len() <= max {
        return None;
    }
    let head_end = floor_boundary(text, max - max / 3);
    let tail_start = ceil_boundary(text, text.len() - max / 3).max(head_end);
    Some((&text[..head_end], &text[tail_start..], tail_start - head_end))
}

fn floor_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ceil_boundary(s: &str, mut i: usize) -> usize {
    while i < s.len() && !s.is_char_boundary(i) {
        i += 1;
    }
    i
}

/// An error and its causes on one line (`a: b: c`).
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string().lines().next().unwrap_or_default().to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_keep_head_and_tail_on_char_boundaries() {
        assert_eq!(cut_middle("short", 10), "short");
        let text = "é".repeat(100);
        let (head, tail, cut) = split_middle(&text, 31).unwrap();
        assert!(head.len() + tail.len() <= 31, "{} {}", head.len(), tail.len());
        assert_eq!(head.len() + tail.len() + cut, text.len());
        assert!(cut_middle(&text, 31).contains("bytes cut"));
        assert_eq!(split_middle("abc", 0).map(|(h, t, c)| (h.len(), t.len(), c)), Some((0, 0, 3)));
    }
}
