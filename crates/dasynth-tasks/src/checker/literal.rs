//! Values written as JSON or as Python literals inside an answer (`{"mean": 4201.75}`,
//! `['Biscoe', 'Dream']`, `{'a', 'b'}`, `(3, 4)`, `np.float64(0.87)`, `None`, `nan`).
//!
//! serde_json reads only the first of these, and models print Python reprs as often as JSON, so
//! this small reader takes both. Numbers keep the text they were written with, so their
//! rounding can be judged like any number in prose. `python/reward.py` has the same reader.

/// A value read from an answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Null,
    Bool(bool),
    /// A number with the text it was written with.
    Number(f64, String),
    Str(String),
    List(Vec<Literal>),
    /// Keys and values in the order written.
    Map(Vec<(String, Literal)>),
}

/// Reads one value starting at char `i` (after spaces); returns it and the char position after it.
pub fn parse_at(c: &[char], i: usize) -> Option<(Literal, usize)> {
    let mut p = Parser { c, depth: 0 };
    p.value(i)
}

/// Reads a whole text as one value (spaces around it allowed).
pub fn parse_all(text: &str) -> Option<Literal> {
    let c: Vec<char> = text.chars().collect();
    let (v, end) = parse_at(&c, 0)?;
    let mut p = Parser { c: &c, depth: 0 };
    let end = p.spaces(end);
    (end == c.len()).then_some(v)
}

struct Parser<'a> {
    c: &'a [char],
    depth: u32,
}

impl Parser<'_> {
    fn spaces(&mut self, mut i: usize) -> usize {
        while i < self.c.len() && self.c[i].is_whitespace() {
            i += 1;
        }
        i
    }

    fn word(&self, i: usize, w: &str) -> bool {
        let w: Vec<char> = w.chars().collect();
        i + w.len() <= self.c.len()
            && self.c[i..i + w.len()] == *w
            && (i + w.len() == self.c.len() || !(self.c[i + w.len()].is_ascii_alphanumeric() || self.c[i + w.len()] == '_'))
    }

    fn value(&mut self, i: usize) -> Option<(Literal, usize)> {
        if self.depth > 32 {
            return None;
        }
        let i = self.spaces(i);
        let ch = *self.c.get(i)?;
        match ch {
            '{' => self.map(i + 1),
            '[' => self.list(i + 1, ']'),
            '(' => self.list(i + 1, ')'),
            '"' | '\'' => self.string(i + 1, ch).map(|(s, e)| (Literal::Str(s), e)),
            _ => {
                for (w, v) in [
                    ("True", Literal::Bool(true)),
                    ("true", Literal::Bool(true)),
                    ("False", Literal::Bool(false)),
                    ("false", Literal::Bool(false)),
                    ("None", Literal::Null),
                    ("null", Literal::Null),
                    ("nan", Literal::Null),
                    ("NaN", Literal::Null),
                ] {
                    if self.word(i, w) {
                        return Some((v, i + w.chars().count()));
                    }
                }
                if let Some(r) = self.wrapped(i) {
                    return Some(r);
                }
                self.number(i)
            }
        }
    }

    /// numpy's scalar repr: `np.float64(0.87)`, `np.int64(3)`, `np.str_('a')`.
    fn wrapped(&mut self, i: usize) -> Option<(Literal, usize)> {
        let c = self.c;
        let mut k = i;
        for w in ["np.", "numpy."] {
            if c.len() >= k + w.len() && c[k..k + w.len()].iter().copied().eq(w.chars()) {
                k += w.len();
                let s = k;
                while k < c.len() && (c[k].is_ascii_alphanumeric() || c[k] == '_') {
                    k += 1;
                }
                if k == s || k >= c.len() || c[k] != '(' {
                    return None;
                }
                self.depth += 1;
                let (v, e) = self.value(k + 1)?;
                self.depth -= 1;
                let e = self.spaces(e);
                return (e < c.len() && c[e] == ')').then_some((v, e + 1));
            }
        }
        None
    }

    fn number(&mut self, i: usize) -> Option<(Literal, usize)> {
        let c = self.c;
        let mut k = i;
        if k < c.len() && (c[k] == '-' || c[k] == '+') {
            k += 1;
        }
        let ds = k;
        while k < c.len() && c[k].is_ascii_digit() {
            k += 1;
        }
        if k == ds {
            return None;
        }
        if k + 1 < c.len() && c[k] == '.' && c[k + 1].is_ascii_digit() {
            k += 1;
            while k < c.len() && c[k].is_ascii_digit() {
                k += 1;
            }
        } else if k < c.len() && c[k] == '.' {
            // `3.` as Python may print it.
            k += 1;
        }
        if k < c.len() && (c[k] == 'e' || c[k] == 'E') {
            let mut e = k + 1;
            if e < c.len() && (c[e] == '-' || c[e] == '+') {
                e += 1;
            }
            let es = e;
            while e < c.len() && c[e].is_ascii_digit() {
                e += 1;
            }
            if e > es {
                k = e;
            }
        }
        if k < c.len() && (c[k].is_ascii_alphanumeric() || c[k] == '_') {
            return None;
        }
        let text: String = c[i..k].iter().collect();
        let digits = text.trim_start_matches('+').trim_end_matches('.');
        let x: f64 = digits.parse().ok()?;
        x.is_finite().then(|| (Literal::Number(x, text.trim_start_matches('+').to_string()), k))
    }

    fn string(&mut self, mut i: usize, quote: char) -> Option<(String, usize)> {
        let c = self.c;
        let mut s = String::new();
        while i < c.len() {
            let ch = c[i];
            if ch == quote {
                return Some((s, i + 1));
            }
            if ch == '\n' {
                return None;
            }
            if ch == '\\' {
                let e = *c.get(i + 1)?;
                i += 2;
                match e {
                    'n' => s.push('\n'),
                    't' => s.push('\t'),
                    'r' => s.push('\r'),
                    'u' => {
                        let hex = c.get(i..i + 4)?;
                        if !hex.iter().all(char::is_ascii_hexdigit) {
                            return None;
                        }
                        let code = u32::from_str_radix(&hex.iter().collect::<String>(), 16).ok()?;
                        s.push(char::from_u32(code).unwrap_or('\u{fffd}'));
                        i += 4;
                    }
                    other => s.push(other),
                }
                continue;
            }
            s.push(ch);
            i += 1;
        }
        None
    }

    fn list(&mut self, i: usize, close: char) -> Option<(Literal, usize)> {
        self.depth += 1;
        let mut items = Vec::new();
        let mut k = self.spaces(i);
        if k < self.c.len() && self.c[k] == close {
            self.depth -= 1;
            return Some((Literal::List(items), k + 1));
        }
        loop {
            let (v, e) = self.value(k)?;
            items.push(v);
            k = self.spaces(e);
            match self.c.get(k) {
                Some(',') => {
                    k = self.spaces(k + 1);
                    if self.c.get(k) == Some(&close) {
                        self.depth -= 1;
                        return Some((Literal::List(items), k + 1));
                    }
                }
                Some(&ch) if ch == close => {
                    self.depth -= 1;
                    return Some((Literal::List(items), k + 1));
                }
                _ => return None,
            }
        }
    }

    fn map(&mut self, i: usize) -> Option<(Literal, usize)> {
        self.depth += 1;
        let mut entries = Vec::new();
        let mut k = self.spaces(i);
        if self.c.get(k) == Some(&'}') {
            self.depth -= 1;
            return Some((Literal::Map(entries), k + 1));
        }
        loop {
            let (key, e) = self.value(k)?;
            let key = match key {
                Literal::Str(s) => s,
                Literal::Number(_, t) => t,
                _ => return None,
            };
            k = self.spaces(e);
            if entries.is_empty() && matches!(self.c.get(k), Some(',' | '}')) {
                // A Python set: {'a', 'b'}.
                self.depth -= 1;
                return self.list(i, '}');
            }
            if self.c.get(k) != Some(&':') {
                return None;
            }
            let (v, e) = self.value(k + 1)?;
            entries.push((key, v));
            k = self.spaces(e);
            match self.c.get(k) {
                Some(',') => {
                    k = self.spaces(k + 1);
                    if self.c.get(k) == Some(&'}') {
                        self.depth -= 1;
                        return Some((Literal::Map(entries), k + 1));
                    }
                }
                Some('}') => {
                    self.depth -= 1;
                    return Some((Literal::Map(entries), k + 1));
                }
                _ => return None,
            }
        }
    }
}

impl Literal {
    /// The value as text: strings bare, numbers as written, null empty.
    pub fn text(&self) -> String {
        match self {
            Literal::Null => String::new(),
            Literal::Bool(b) => if *b { "true" } else { "false" }.to_string(),
            Literal::Number(_, t) => t.clone(),
            Literal::Str(s) => s.clone(),
            Literal::List(items) => items.iter().map(Literal::text).collect::<Vec<_>>().join(", "),
            Literal::Map(entries) => entries.iter().map(|(k, v)| format!("{k}: {}", v.text())).collect::<Vec<_>>().join(", "),
        }
    }

    pub fn is_scalar(&self) -> bool {
        !matches!(self, Literal::List(_) | Literal::Map(_))
    }

    /// The value of a map's key, compared after [`super::text::plain`] with `_`, `-` and spaces
    /// made equal.
    pub fn get(&self, key: &str) -> Option<&Literal> {
        let Literal::Map(entries) = self else { return None };
        let want = key_form(key);
        entries.iter().find(|(k, _)| key_form(k) == want).map(|(_, v)| v)
    }
}

/// A key as compared: plain, with `_`, `-` and spaces removed.
pub fn key_form(k: &str) -> String {
    super::text::plain(k).chars().filter(|c| !matches!(c, '_' | '-' | ' ')).collect()
}

/// Every container (`{…}`, `[…]`, `(…)` only when asked) that parses, scanning the text left to
/// right; a parsed container is skipped over whole. Returns (start, end, value).
pub fn containers(text: &str, with_parens: bool) -> Vec<(usize, usize, Literal)> {
    let c: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < c.len() {
        if (c[i] == '{' || c[i] == '[' || (with_parens && c[i] == '('))
            && let Some((v, e)) = parse_at(&c, i)
        {
            out.push((i, e, v));
            i = e;
            continue;
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_and_python_literals_read_alike() {
        assert_eq!(
            parse_all(r#"{"mean": 4201.75, "n": 342}"#),
            Some(Literal::Map(vec![
                ("mean".into(), Literal::Number(4201.75, "4201.75".into())),
                ("n".into(), Literal::Number(342.0, "342".into()))
            ]))
        );
        assert_eq!(
            parse_all("['Biscoe', \"Dream\", None, nan]"),
            Some(Literal::List(vec![Literal::Str("Biscoe".into()), Literal::Str("Dream".into()), Literal::Null, Literal::Null]))
        );
        assert_eq!(parse_all("[np.float64(0.5), np.str_('a')]").map(|l| l.text()), Some("0.5, a".into()));
        assert_eq!(parse_all("(1, 2,)").map(|l| l.text()), Some("1, 2".into()));
        assert_eq!(parse_all("{'a', 'b'}").map(|l| l.text()), Some("a, b".into()));
        assert!(parse_all("[Biscoe](http://x)").is_none());
        assert!(parse_all("{'a': 1").is_none());
        let found = containers("see [1] and {'mean': 3}", false);
        assert_eq!(found.len(), 2);
        assert_eq!(found[1].2.get("MEAN").map(Literal::text), Some("3".into()));
    }
}
