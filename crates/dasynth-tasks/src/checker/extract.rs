//! The places in an answer's text where a value can be written, each read on its own: code
//! fences, `@name[value]` markers, JSON or Python literals, `\boxed{…}`, bold spans, "Answer:"
//! lines, markdown list items and sentences. The checks of each answer type try them in the
//! order given in the module docs of [`super`].

use super::literal::{self, Literal};
use super::text::{is_word, plain};

/// An answer's text split into prose and code fences.
#[derive(Debug, Clone)]
pub struct Answer {
    pub raw: String,
    /// The text with every fenced block removed.
    pub prose: String,
    /// Fenced blocks: (language, body).
    pub fences: Vec<(String, String)>,
}

impl Answer {
    pub fn new(text: &str) -> Self {
        let c: Vec<char> = text.chars().collect();
        let mut prose = String::new();
        let mut fences = Vec::new();
        let mut i = 0;
        while i < c.len() {
            let Some(open) = find(&c, i, "```") else { break };
            let Some(nl) = (open + 3..c.len()).find(|&k| c[k] == '\n') else { break };
            prose.extend(&c[i..open]);
            let lang: String = c[open + 3..nl].iter().collect::<String>().trim().to_lowercase();
            let (body_end, next) = match find(&c, nl + 1, "```") {
                Some(close) => (close, close + 3),
                None => (c.len(), c.len()),
            };
            fences.push((lang, c[nl + 1..body_end].iter().collect()));
            prose.push('\n');
            i = next;
        }
        if i < c.len() {
            prose.extend(&c[i..]);
        }
        Self { raw: text.to_string(), prose, fences }
    }

    /// The prose without its markdown tables: the answer's sentences, not its supporting data.
    pub fn statement(&self) -> String {
        let lines: Vec<&str> = self.prose.lines().collect();
        let mut drop = vec![false; lines.len()];
        let mut i = 1;
        while i < lines.len() {
            if super::table::is_separator(lines[i]) && lines[i - 1].contains('|') {
                drop[i - 1] = true;
                drop[i] = true;
                let mut k = i + 1;
                while k < lines.len() && lines[k].contains('|') && !super::table::is_separator(lines[k]) {
                    drop[k] = true;
                    k += 1;
                }
                i = k;
                continue;
            }
            i += 1;
        }
        lines.iter().zip(drop).filter(|(_, d)| !d).map(|(l, _)| *l).collect::<Vec<_>>().join("\n")
    }

    /// Fence bodies that hold data rather than code (no language, or a data language).
    pub fn data_fences(&self) -> impl Iterator<Item = &str> {
        self.fences
            .iter()
            .filter(|(lang, _)| {
                matches!(
                    lang.as_str(),
                    "" | "text" | "txt" | "csv" | "tsv" | "json" | "output" | "console" | "plaintext" | "markdown" | "md"
                )
            })
            .map(|(_, body)| body.as_str())
    }
}

fn find(c: &[char], from: usize, pat: &str) -> Option<usize> {
    let p: Vec<char> = pat.chars().collect();
    if c.len() < p.len() {
        return None;
    }
    (from..=c.len() - p.len()).find(|&k| c[k..k + p.len()] == *p)
}

/// `@name[value]` markers (DABench's answer format), in order.
pub fn markers(text: &str) -> Vec<(String, String)> {
    let c: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < c.len() {
        if c[i] == '@' && (i == 0 || !is_word(c[i - 1])) {
            let mut k = i + 1;
            while k < c.len() && is_word(c[k]) {
                k += 1;
            }
            if k > i + 1
                && !c[i + 1].is_ascii_digit()
                && k < c.len()
                && c[k] == '['
                && let Some(close) = (k + 1..c.len()).find(|&e| matches!(c[e], ']' | '[' | '\n')).filter(|&e| c[e] == ']')
            {
                out.push((c[i + 1..k].iter().collect(), c[k + 1..close].iter().collect()));
                i = close + 1;
                continue;
            }
        }
        i += 1;
    }
    out
}

/// Contents of `\boxed{…}`, in order.
pub fn boxed(text: &str) -> Vec<String> {
    let c: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(p) = find(&c, from, "\\boxed{") {
        let mut depth = 1;
        let mut k = p + 7;
        while k < c.len() && depth > 0 {
            match c[k] {
                '{' => depth += 1,
                '}' => depth -= 1,
                _ => {}
            }
            k += 1;
        }
        if depth != 0 {
            break;
        }
        out.push(c[p + 7..k - 1].iter().collect());
        from = k;
    }
    out
}

/// Bold spans that are not labels, with whether each is inside parentheses, in order. A label
/// ends with a colon, is followed by one, or is a word such as "Answer" or "Result".
pub fn bold_spans(text: &str) -> Vec<(String, bool)> {
    let c: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut i = 0;
    let mut open: Option<(usize, i32)> = None;
    while i < c.len() {
        if c[i] == '\n' {
            open = None;
        }
        if i + 1 < c.len() && c[i] == '*' && c[i + 1] == '*' {
            match open {
                None => open = Some((i + 2, depth)),
                Some((s, d)) => {
                    let span: String = c[s..i].iter().collect();
                    let mut k = i + 2;
                    while k < c.len() && c[k] == '*' {
                        k += 1;
                    }
                    let mut after = k;
                    while after < c.len() && c[after] == ' ' {
                        after += 1;
                    }
                    let followed_by_colon = after < c.len() && (c[after] == ':' || c[after] == '\u{ff1a}');
                    let p = plain(&span);
                    let p = p.trim_matches(|ch: char| ch == ' ' || ch == '*');
                    let label = p.is_empty() || p.ends_with(':') || followed_by_colon || LABELS.contains(&p);
                    if !label {
                        out.push((span.trim_matches(|ch: char| ch == '*' || ch.is_whitespace()).to_string(), d > 0));
                    }
                    open = None;
                    i = k;
                    continue;
                }
            }
            i += 2;
            continue;
        }
        match c[i] {
            '(' => depth += 1,
            ')' => depth = (depth - 1).max(0),
            _ => {}
        }
        i += 1;
    }
    out
}

/// Bold words that introduce an answer rather than give one.
pub const LABELS: [&str; 9] =
    ["answer", "final answer", "result", "results", "summary", "conclusion", "note", "answer summary", "final result"];

/// What follows "Answer:", "Final answer:" or "Result:" at the start of a line (or, when
/// nothing follows on that line, the next non-empty line), in order.
pub fn answer_lines(text: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (n, line) in lines.iter().enumerate() {
        let s: String = line.chars().filter(|&c| c != '*').collect();
        let s = s.trim_start_matches(|c: char| c == '#' || c == '>' || c.is_whitespace());
        let lower = s.to_lowercase();
        let Some(word) = ["final answer", "answer", "final result", "results", "result"].into_iter().find(|w| lower.starts_with(w)) else {
            continue;
        };
        let Some(rest) = s.get(word.len()..) else { continue };
        let rest = rest.trim_start();
        let Some(rest) = rest.strip_prefix(':').or_else(|| rest.strip_prefix('=')).or_else(|| rest.strip_prefix('\u{ff1a}')) else {
            continue;
        };
        let rest = rest.trim();
        if !rest.is_empty() {
            out.push(rest.to_string());
        } else if let Some(next) = lines[n + 1..].iter().find(|l| !l.trim().is_empty()) {
            out.push(next.trim().to_string());
        }
    }
    out
}

/// Literal values of an answer, most explicit first: the whole text, then each data fence (last
/// first), then containers embedded in the prose (last first; with `embedded`).
pub fn literals(answer: &Answer, embedded: bool) -> Vec<(Literal, bool)> {
    let mut out = Vec::new();
    if let Some(v) = literal::parse_all(answer.raw.trim()) {
        out.push((v, false));
        return out;
    }
    let fences: Vec<&str> = answer.data_fences().collect();
    for body in fences.iter().rev() {
        if let Some(v) = literal::parse_all(body.trim()) {
            out.push((v, false));
        }
    }
    if embedded {
        for (_, _, v) in literal::containers(&answer.prose, false).into_iter().rev() {
            out.push((v, true));
        }
    }
    out
}

/// A line's text without its markdown list marker (`- `, `* `, `+ `, `• `, `1. `, `2) `), or
/// `None` when the line is not a list item.
pub fn list_item(line: &str) -> Option<String> {
    let t = line.trim_start();
    for m in ["- ", "* ", "+ ", "\u{2022} "] {
        if let Some(rest) = t.strip_prefix(m) {
            return Some(rest.trim().to_string());
        }
    }
    let digits = t.chars().take_while(char::is_ascii_digit).count();
    if digits > 0 && digits <= 3 {
        let rest = &t[digits..];
        if let Some(rest) = rest.strip_prefix(". ").or_else(|| rest.strip_prefix(") ")) {
            return Some(rest.trim().to_string());
        }
    }
    None
}

/// Marks the chars of `c` inside an occurrence (in any case) of one of the `keep` values.
fn guard_mask(c: &[char], keep: &[String]) -> Vec<bool> {
    let lower: Vec<char> = c.iter().map(|ch| ch.to_lowercase().next().unwrap_or(*ch)).collect();
    let mut guarded = vec![false; c.len()];
    for v in keep {
        let v: Vec<char> = v.chars().map(|ch| ch.to_lowercase().next().unwrap_or(ch)).collect();
        if v.is_empty() || v.len() > c.len() {
            continue;
        }
        for s in 0..=c.len() - v.len() {
            if lower[s..s + v.len()] == *v {
                guarded[s..s + v.len()].iter_mut().for_each(|g| *g = true);
            }
        }
    }
    guarded
}

/// Sentences of a text: split at `.`, `!` or `?` followed by a space or the end, and at line
/// breaks, but never inside one of the `keep` values.
pub fn sentences(text: &str, keep: &[String]) -> Vec<String> {
    let c: Vec<char> = text.chars().collect();
    let guarded = guard_mask(&c, keep);
    let mut out = Vec::new();
    let mut cur = String::new();
    for (i, &ch) in c.iter().enumerate() {
        if ch == '\n' && !guarded[i] {
            out.push(std::mem::take(&mut cur));
            continue;
        }
        cur.push(ch);
        if matches!(ch, '.' | '!' | '?') && !guarded[i] && (i + 1 == c.len() || c[i + 1] == ' ' || c[i + 1] == '\n') {
            out.push(std::mem::take(&mut cur));
        }
    }
    out.push(cur);
    out.into_iter().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect()
}

/// Splits an enumeration at `, `, `;`, ` and `, ` or `, ` & `, except inside an occurrence (in
/// any case) of one of the `keep` values ("Hong Kong, China", "Alternative & Punk"); each piece
/// loses a leading "and"/"or" and a closing `.`, `!` or `?` that is not part of such a value.
pub fn split_enumeration(text: &str, keep: &[String]) -> Vec<String> {
    let c: Vec<char> = text.chars().collect();
    let guarded = guard_mask(&c, keep);
    let mut ranges = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < c.len() {
        if !guarded[i] {
            let sep = if (c[i] == ',' && (i + 1 == c.len() || c[i + 1].is_whitespace())) || c[i] == ';' {
                Some(1)
            } else {
                [" and ", " or ", " & "].iter().find(|sep| super::text::matches_at(&c, i, sep)).map(|sep| sep.len())
            };
            if let Some(len) = sep {
                ranges.push((start, i));
                i += len;
                start = i;
                continue;
            }
        }
        i += 1;
    }
    ranges.push((start, c.len()));
    let mut out = Vec::new();
    for (mut s, mut e) in ranges {
        let trim = |s: &mut usize, e: &mut usize| {
            while *s < *e && c[*s].is_whitespace() {
                *s += 1;
            }
            while *e > *s && c[*e - 1].is_whitespace() {
                *e -= 1;
            }
        };
        trim(&mut s, &mut e);
        for lead in ["and ", "or "] {
            if super::text::matches_at(&c[..e], s, lead) {
                s += lead.len();
                break;
            }
        }
        trim(&mut s, &mut e);
        while e > s && matches!(c[e - 1], '.' | '!' | '?') && !guarded[e - 1] {
            e -= 1;
        }
        trim(&mut s, &mut e);
        if e > s {
            out.push(c[s..e].iter().collect());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fences_markers_boxes_and_bold() {
        let a = Answer::new("Result:\n```json\n{\"mean\": 3}\n```\nDone @mean[3.5] and \\boxed{\\frac{1}{2}}");
        assert_eq!(a.fences, vec![("json".to_string(), "{\"mean\": 3}\n".to_string())]);
        assert_eq!(markers(&a.prose), vec![("mean".to_string(), "3.5".to_string())]);
        assert_eq!(boxed(&a.raw), vec!["\\frac{1}{2}".to_string()]);
        let spans = bold_spans("**Answer:** the mean is **4,201.75 g** (**342** rows); **Note**: x");
        assert_eq!(spans, vec![("4,201.75 g".to_string(), false), ("342".to_string(), true)]);
    }

    #[test]
    fn answer_lines_lists_and_sentences() {
        assert_eq!(answer_lines("**Final answer:** 42\nAnswer:\n\n  Biscoe"), vec!["42".to_string(), "Biscoe".to_string()]);
        assert_eq!(list_item("  2) Dream (124)"), Some("Dream (124)".to_string()));
        assert_eq!(list_item("2013 was good"), None);
        assert_eq!(sentences("It is 3.5 g. Next!\nDone", &[]), vec!["It is 3.5 g.", "Next!", "Done"]);
        let keep = ["Adult not sampled. Nest never observed.".to_string(), "Adult not sampled.".to_string()];
        assert_eq!(sentences("A: adult not sampled. Nest never observed., Adult not sampled.", &keep).len(), 1);
        assert_eq!(split_enumeration("NA, Adult not sampled., and x.", &keep), vec!["NA", "Adult not sampled.", "x"]);
        assert_eq!(split_enumeration("Biscoe, Dream, and Torgersen.", &[]), vec!["Biscoe", "Dream", "Torgersen"]);
        assert_eq!(split_enumeration("1,234 and 5", &[]), vec!["1,234", "5"]);
        let keep = ["Hong Kong, China".to_string()];
        assert_eq!(split_enumeration("Japan, hong kong, china and Peru", &keep), vec!["Japan", "hong kong, china", "Peru"]);
    }
}
