//! Answer checkers. A task carries a [`CheckerSpec`]; an answer is checked against the task's
//! ground truth either as a structured value (what a Python solution left in `answer`) or as
//! the free text of an `<Answer>` block.

use crate::spec::{AnswerType, CheckerOptions};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How a task's answers are compared with its ground truth.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckerSpec {
    pub answer_type: AnswerType,
    /// Relative tolerance for numbers.
    pub tolerance: f64,
    /// Absolute tolerance for numbers near zero.
    pub abs_tolerance: f64,
    /// The file a visualization task must write (in the outputs folder).
    pub file: Option<String>,
    /// For metrics: whether higher scores are better.
    pub higher_is_better: Option<bool>,
    /// For metrics: the score's name.
    pub metric: Option<String>,
}

impl CheckerSpec {
    pub fn new(answer_type: AnswerType, o: &CheckerOptions) -> Self {
        let default_tol = match answer_type {
            AnswerType::Report | AnswerType::Table | AnswerType::File => 1e-2,
            _ => 1e-6,
        };
        let mut tolerance = o.tolerance.unwrap_or(default_tol);
        let mut abs_tolerance = o.abs_tolerance.unwrap_or(1e-9);
        if let Some(d) = o.decimals {
            abs_tolerance = abs_tolerance.max(0.5 * 10f64.powi(-(d as i32)) + 1e-12);
            tolerance = tolerance.max(1e-9);
        }
        Self { answer_type, tolerance, abs_tolerance, file: o.file.clone(), higher_is_better: o.higher_is_better, metric: o.metric.clone() }
    }
}

/// The outcome of one check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub passed: bool,
    /// Why it failed (empty when it passed).
    pub reason: String,
}

impl Verdict {
    fn pass() -> Self {
        Self { passed: true, reason: String::new() }
    }
    fn fail(reason: impl Into<String>) -> Self {
        Self { passed: false, reason: reason.into() }
    }
}

fn close(spec: &CheckerSpec, a: f64, t: f64) -> bool {
    (a - t).abs() <= spec.abs_tolerance.max(spec.tolerance * t.abs())
}

/// Text for comparing values: trimmed, case-folded, dates without a midnight time.
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

fn value_eq(spec: &CheckerSpec, a: &Value, t: &Value) -> bool {
    match (a, t) {
        (Value::Null, Value::Null) => true,
        (_, Value::Number(tn)) => match (a.as_f64(), tn.as_f64()) {
            (Some(x), Some(y)) => close(spec, x, y),
            _ => a.as_str().and_then(|s| s.trim().parse::<f64>().ok()).zip(tn.as_f64()).is_some_and(|(x, y)| close(spec, x, y)),
        },
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Number(_), Value::String(ts)) => ts.trim().parse::<f64>().ok().zip(a.as_f64()).is_some_and(|(y, x)| close(spec, x, y)),
        (_, Value::String(ts)) => norm_text(&scalar_text(a)) == norm_text(ts),
        (Value::Bool(x), _) => norm_text(&scalar_text(t)) == x.to_string(),
        _ => false,
    }
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Checks a structured answer (a JSON value made from the solution's `answer` variable).
/// `files` are the names written to the outputs folder.
pub fn check_value(spec: &CheckerSpec, truth: &Value, answer: &Value, files: &[String]) -> Verdict {
    match spec.answer_type {
        AnswerType::Number | AnswerType::Integer | AnswerType::String => {
            let a = match answer {
                Value::Array(items) if items.len() == 1 => &items[0],
                other => other,
            };
            if spec.answer_type == AnswerType::Integer && a.as_f64().is_some_and(|x| x.fract() != 0.0) {
                return Verdict::fail(format!("expected a whole number, got {a}"));
            }
            if value_eq(spec, a, truth) { Verdict::pass() } else { Verdict::fail(format!("expected {truth}, got {a}")) }
        }
        AnswerType::Set | AnswerType::List => {
            let (Value::Array(a), Value::Array(t)) = (answer, truth) else {
                return Verdict::fail(format!("expected a list of values, got {answer}"));
            };
            if a.len() != t.len() {
                return Verdict::fail(format!("expected {} values, got {}", t.len(), a.len()));
            }
            if spec.answer_type == AnswerType::List {
                return match a.iter().zip(t).position(|(x, y)| !value_eq(spec, x, y)) {
                    None => Verdict::pass(),
                    Some(i) => Verdict::fail(format!("value {} differs: expected {}, got {}", i + 1, t[i], a[i])),
                };
            }
            let mut unmatched: Vec<&Value> = t.iter().collect();
            for x in a {
                match unmatched.iter().position(|y| value_eq(spec, x, y)) {
                    Some(p) => {
                        unmatched.swap_remove(p);
                    }
                    None => return Verdict::fail(format!("{x} is not among the expected values")),
                }
            }
            Verdict::pass()
        }
        AnswerType::Table => check_table(spec, truth, answer),
        AnswerType::File => {
            let want = spec.file.as_deref().unwrap_or_default();
            if !files.iter().any(|f| f == want || f.ends_with(&format!("/{want}"))) {
                return Verdict::fail(format!("the file {want:?} was not written (found: {})", files.join(", ")));
            }
            check_table(spec, truth, answer)
        }
        AnswerType::Report => {
            let text = scalar_text(answer);
            check_facts(spec, truth, &text)
        }
        AnswerType::Metric => {
            let Some(score) = answer.as_f64().or_else(|| answer.as_str().and_then(first_number)) else {
                return Verdict::fail(format!("expected a score, got {answer}"));
            };
            check_metric(spec, truth, score)
        }
    }
}

fn check_metric(spec: &CheckerSpec, truth: &Value, score: f64) -> Verdict {
    let Some(baseline) = truth.get("baseline").and_then(Value::as_f64) else {
        return Verdict::fail("the ground truth has no baseline");
    };
    let higher = spec.higher_is_better.unwrap_or(true);
    let name = spec.metric.as_deref().unwrap_or("score");
    if !score.is_finite() {
        return Verdict::fail(format!("{name} is not a finite number"));
    }
    let ok = if higher { score >= baseline - 1e-9 } else { score <= baseline + 1e-9 };
    if ok { Verdict::pass() } else { Verdict::fail(format!("{name} {score} does not beat the baseline {baseline}")) }
}

fn rows_of(v: &Value) -> Option<&Vec<Value>> {
    match v {
        Value::Object(m) => m.get("rows")?.as_array(),
        Value::Array(rows) => Some(rows),
        _ => None,
    }
}

fn row_key(row: &Value) -> String {
    match row {
        Value::Array(cells) => cells
            .iter()
            .map(|c| match c.as_f64() {
                Some(x) => format!("{x:.6e}"),
                None => norm_text(&scalar_text(c)),
            })
            .collect::<Vec<_>>()
            .join("\u{1f}"),
        other => norm_text(&scalar_text(other)),
    }
}

fn check_table(spec: &CheckerSpec, truth: &Value, answer: &Value) -> Verdict {
    let (Some(t), Some(a)) = (rows_of(truth), rows_of(answer)) else {
        return Verdict::fail("expected a table (columns and rows)");
    };
    if a.len() != t.len() {
        return Verdict::fail(format!("expected {} rows, got {}", t.len(), a.len()));
    }
    let mut ts: Vec<&Value> = t.iter().collect();
    let mut as_: Vec<&Value> = a.iter().collect();
    ts.sort_by_cached_key(|r| row_key(r));
    as_.sort_by_cached_key(|r| row_key(r));
    for (i, (x, y)) in as_.iter().zip(&ts).enumerate() {
        let (Some(xc), Some(yc)) = (x.as_array(), y.as_array()) else { return Verdict::fail("rows must be lists of cells") };
        if xc.len() != yc.len() {
            return Verdict::fail(format!("expected {} columns, got {}", yc.len(), xc.len()));
        }
        if let Some(j) = xc.iter().zip(yc).position(|(p, q)| !value_eq(spec, p, q)) {
            return Verdict::fail(format!("row {} column {} differs: expected {}, got {}", i + 1, j + 1, yc[j], xc[j]));
        }
    }
    Verdict::pass()
}

/// Numbers written in a text, with the decimals each was written with.
pub fn numbers_in(text: &str) -> Vec<(f64, u32)> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let neg = b[i] == b'-' && i + 1 < b.len() && b[i + 1].is_ascii_digit() && (i == 0 || !b[i - 1].is_ascii_alphanumeric());
        if b[i].is_ascii_digit() || neg {
            if !neg && i > 0 && (b[i - 1].is_ascii_alphabetic() || b[i - 1] == b'_') {
                // Part of a name such as `p95` or `col_2`.
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                    i += 1;
                }
                continue;
            }
            let start = i;
            if neg {
                i += 1;
            }
            let mut s = String::new();
            if neg {
                s.push('-');
            }
            let mut decimals = 0u32;
            let mut seen_dot = false;
            while i < b.len() {
                let c = b[i];
                if c.is_ascii_digit() {
                    s.push(c as char);
                    if seen_dot {
                        decimals += 1;
                    }
                } else if c == b',' && !seen_dot && i + 3 < b.len() + 1 && b[i + 1..].iter().take(3).all(u8::is_ascii_digit) {
                    // A thousands separator.
                } else if c == b'.' && !seen_dot && i + 1 < b.len() && b[i + 1].is_ascii_digit() {
                    seen_dot = true;
                    s.push('.');
                } else {
                    break;
                }
                i += 1;
            }
            let mut exp_part = String::new();
            if i + 1 < b.len() && (b[i] == b'e' || b[i] == b'E') && (b[i + 1].is_ascii_digit() || b[i + 1] == b'-') {
                let mut j = i + 1;
                exp_part.push('e');
                if b[j] == b'-' {
                    exp_part.push('-');
                    j += 1;
                }
                let digits_start = j;
                while j < b.len() && b[j].is_ascii_digit() {
                    exp_part.push(b[j] as char);
                    j += 1;
                }
                if j > digits_start {
                    i = j;
                    s.push_str(&exp_part);
                    decimals = 12;
                }
            }
            if let Ok(x) = s.parse::<f64>() {
                out.push((x, decimals));
            }
            if i == start {
                i += 1;
            }
        } else {
            i += 1;
        }
    }
    out
}

fn first_number(s: &str) -> Option<f64> {
    numbers_in(s).first().map(|p| p.0)
}

/// Whether a number written with `decimals` decimals in a text states `fact`.
fn states(spec: &CheckerSpec, written: f64, decimals: u32, fact: f64) -> bool {
    let rounding = (0.5 * 10f64.powi(-(decimals as i32))).min(0.05 * fact.abs().max(1e-12)) + 1e-12;
    let pct = written / 100.0; // "42.1%" for a share of 0.421
    (written - fact).abs() <= spec.abs_tolerance.max(spec.tolerance * fact.abs()).max(rounding)
        || (fact.abs() <= 1.0 && (pct - fact).abs() <= spec.tolerance.max(rounding / 100.0).max(spec.abs_tolerance))
}

fn check_facts(spec: &CheckerSpec, truth: &Value, text: &str) -> Verdict {
    let Some(facts) = truth.as_object() else { return Verdict::fail("the ground truth has no facts") };
    let numbers = numbers_in(text);
    let lower = norm_text(text);
    let mut missing = Vec::new();
    for (name, fact) in facts {
        let ok = match fact.as_f64() {
            Some(f) => numbers.iter().any(|&(x, d)| states(spec, x, d, f)),
            None => lower.contains(&norm_text(&scalar_text(fact))),
        };
        if !ok {
            missing.push(format!("{name} = {fact}"));
        }
    }
    if missing.is_empty() { Verdict::pass() } else { Verdict::fail(format!("the report does not state: {}", missing.join("; "))) }
}

/// Checks the free text of an `<Answer>` block. Numbers: one of the first five numbers written
/// matches. Strings: the value appears as a phrase. Sets and lists: every value appears (lists
/// in order). Reports: every fact is stated. Metrics: the first number reaches the baseline.
/// Tables and files cannot be read from text and need a structured answer.
pub fn check_text(spec: &CheckerSpec, truth: &Value, text: &str, files: &[String]) -> Verdict {
    match spec.answer_type {
        AnswerType::Number | AnswerType::Integer => {
            let Some(t) = truth.as_f64() else { return Verdict::fail("the ground truth is not a number") };
            let nums = numbers_in(text);
            if nums
                .iter()
                .take(5)
                .any(|&(x, d)| close(spec, x, t) || (spec.answer_type == AnswerType::Number && states(spec, x, d, t) && d >= 2))
            {
                Verdict::pass()
            } else {
                Verdict::fail(format!("expected {t}, the answer states {:?}", nums.iter().take(5).map(|p| p.0).collect::<Vec<_>>()))
            }
        }
        AnswerType::String => {
            let t = norm_text(&scalar_text(truth));
            if phrase_in(&norm_text(text), &t) { Verdict::pass() } else { Verdict::fail(format!("the answer does not name {truth}")) }
        }
        AnswerType::Set | AnswerType::List => {
            let Value::Array(items) = truth else { return Verdict::fail("the ground truth is not a list") };
            let hay = norm_text(text);
            // Lists are matched in order, each value after the previous one; sets anywhere.
            let mut from = 0usize;
            for item in items {
                let needle = match item.as_f64() {
                    Some(x) if x.fract() == 0.0 && x.abs() < 1e15 => format!("{}", x as i64),
                    Some(x) => format!("{x}"),
                    None => norm_text(&scalar_text(item)),
                };
                let start = if spec.answer_type == AnswerType::List { from } else { 0 };
                match find_phrase(&hay[start..], &needle) {
                    Some(p) => from = start + p + needle.len(),
                    None if spec.answer_type == AnswerType::List && find_phrase(&hay, &needle).is_some() => {
                        return Verdict::fail(format!("{item} is out of order"));
                    }
                    None => return Verdict::fail(format!("the answer does not name {item}")),
                }
            }
            Verdict::pass()
        }
        AnswerType::Report => check_facts(spec, truth, text),
        AnswerType::Metric => match first_number(text) {
            Some(x) => check_metric(spec, truth, x),
            None => Verdict::fail("the answer states no score"),
        },
        AnswerType::File => {
            let want = spec.file.as_deref().unwrap_or_default();
            if files.iter().any(|f| f == want || f.ends_with(&format!("/{want}"))) {
                Verdict::pass()
            } else {
                Verdict::fail(format!("the file {want:?} was not written"))
            }
        }
        AnswerType::Table => Verdict::fail("a table answer needs a structured value, not text"),
    }
}

fn find_phrase(hay: &str, needle: &str) -> Option<usize> {
    if needle.is_empty() {
        return None;
    }
    let hb = hay.as_bytes();
    let mut from = 0;
    while let Some(p) = hay[from..].find(needle) {
        let s = from + p;
        let e = s + needle.len();
        let before = s == 0 || !hb[s - 1].is_ascii_alphanumeric();
        let after = e >= hb.len() || !hb[e].is_ascii_alphanumeric();
        if before && after {
            return Some(s);
        }
        from = s + 1;
        while !hay.is_char_boundary(from) {
            from += 1;
        }
    }
    None
}

fn phrase_in(hay: &str, needle: &str) -> bool {
    find_phrase(hay, needle).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(t: AnswerType) -> CheckerSpec {
        CheckerSpec::new(t, &CheckerOptions::default())
    }

    #[test]
    fn numbers_strings_and_sets() {
        let n = spec(AnswerType::Number);
        assert!(check_value(&n, &json!(2.5), &json!(2.5000000001), &[]).passed);
        assert!(!check_value(&n, &json!(2.5), &json!(2.6), &[]).passed);
        let s = spec(AnswerType::String);
        assert!(check_value(&s, &json!("Adelie"), &json!(" adelie"), &[]).passed);
        assert!(check_value(&s, &json!("4"), &json!(4), &[]).passed);
        let set = spec(AnswerType::Set);
        assert!(check_value(&set, &json!(["a", "b"]), &json!(["B", "a"]), &[]).passed);
        assert!(!check_value(&set, &json!(["a", "b"]), &json!(["a", "a"]), &[]).passed);
        let list = spec(AnswerType::List);
        assert!(!check_value(&list, &json!(["a", "b"]), &json!(["b", "a"]), &[]).passed);
    }

    #[test]
    fn dates_compare_across_pandas_and_polars_spellings() {
        let s = spec(AnswerType::String);
        assert!(check_value(&s, &json!("2013-01-01 00:00:00"), &json!("2013-01-01T00:00:00"), &[]).passed);
        assert!(check_value(&s, &json!("2013-01-01"), &json!("2013-01-01T00:00:00"), &[]).passed);
    }

    #[test]
    fn tables_ignore_row_order() {
        let t = spec(AnswerType::Table);
        let truth = json!({"columns": ["k", "v"], "rows": [["a", 1.0], ["b", 2.0]]});
        let ans = json!({"columns": ["k", "v"], "rows": [["b", 2.0], ["a", 1.0]]});
        assert!(check_value(&t, &truth, &ans, &[]).passed);
        let wrong = json!({"columns": ["k", "v"], "rows": [["b", 2.5], ["a", 1.0]]});
        assert!(!check_value(&t, &truth, &wrong, &[]).passed);
    }

    #[test]
    fn reports_must_state_each_fact_to_their_rounding() {
        let r = spec(AnswerType::Report);
        let truth = json!({"rows": 344, "mean_mass": 4201.754385964912, "share": 0.4215});
        let good = "The table has 344 rows; mean body mass is 4,201.75 g and 42.2% are Adelie.";
        assert!(check_text(&r, &truth, good, &[]).passed, "{:?}", check_text(&r, &truth, good, &[]));
        let bad = "The table has 344 rows; mean body mass is 4,100 g and 42.2% are Adelie.";
        assert!(!check_text(&r, &truth, bad, &[]).passed);
    }

    #[test]
    fn text_answers() {
        let n = spec(AnswerType::Number);
        assert!(check_text(&n, &json!(1.23456), "The mean is 1.23456.", &[]).passed);
        assert!(!check_text(&n, &json!(1.23456), "The mean is 2.7.", &[]).passed);
        let l = spec(AnswerType::List);
        assert!(check_text(&l, &json!([100.0, 100.0, 99.5]), "100, 100, 99.5", &[]).passed);
        assert!(!check_text(&l, &json!([100.0, 100.0, 99.5]), "100, 99.5", &[]).passed);
        assert!(!check_text(&l, &json!(["b", "a"]), "a, b", &[]).passed);
        let s = spec(AnswerType::String);
        assert!(check_text(&s, &json!("Biscoe"), "Biscoe island has the most.", &[]).passed);
        assert!(!check_text(&s, &json!("Bis"), "Biscoe island has the most.", &[]).passed);
        assert_eq!(numbers_in("p95 is -1,234.5 and 2e3"), vec![(-1234.5, 1), (2000.0, 12)]);
    }

    #[test]
    fn metrics_must_reach_the_baseline() {
        let m = CheckerSpec::new(AnswerType::Metric, &CheckerOptions { higher_is_better: Some(true), ..Default::default() });
        assert!(check_value(&m, &json!({"baseline": 0.6}), &json!(0.8), &[]).passed);
        assert!(!check_value(&m, &json!({"baseline": 0.6}), &json!(0.5), &[]).passed);
    }
}
