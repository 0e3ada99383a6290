//! Structured answers: the JSON value a reference solution left in its `answer` variable
//! (pandas frames as `{columns, rows}`, series and arrays as lists), checked against the ground
//! truth without any reading of text.

use super::extract::Answer;
use super::numbers::close;
use super::spec::CheckerSpec;
use super::table::{self, Grid};
use super::text::{norm_text, scalar_text};
use super::{Verdict, facts, files, scalar};
use crate::spec::AnswerType;
use serde_json::Value;

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

/// A `{columns, rows}` value (or a bare list of rows) as a grid of written cells.
fn grid_of(v: &Value) -> Option<Grid> {
    let (header, rows) = match v {
        Value::Object(m) => (
            m.get("columns").and_then(Value::as_array).map(|c| c.iter().map(scalar_text).collect()).unwrap_or_default(),
            m.get("rows")?.as_array()?,
        ),
        Value::Array(rows) => (Vec::new(), rows),
        _ => return None,
    };
    let rows: Option<Vec<Vec<String>>> = rows.iter().map(|r| r.as_array().map(|cells| cells.iter().map(scalar_text).collect())).collect();
    Some(Grid { header, rows: rows?, source: "value" })
}

fn check_table(spec: &CheckerSpec, truth: &Value, answer: &Value) -> Verdict {
    match grid_of(answer) {
        Some(g) => table::compare(spec, &g, truth).into(),
        None => Verdict::fail("expected a table (columns and rows)"),
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
            if files::written(files, want).is_none() {
                return Verdict::fail(format!("the file {want:?} was not written (found: {})", files.join(", ")));
            }
            check_table(spec, truth, answer)
        }
        AnswerType::Report => facts::check_facts(spec, truth, &scalar_text(answer)).into(),
        AnswerType::Metric => scalar::check_metric(spec, truth, &Answer::new(&scalar_text(answer))).into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::CheckerOptions;
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
        let with_null = json!({"columns": ["k", "v"], "rows": [["a", null]]});
        assert!(check_value(&t, &with_null, &with_null, &[]).passed);
    }

    #[test]
    fn metrics_must_reach_the_baseline() {
        let m = CheckerSpec::new(AnswerType::Metric, &CheckerOptions { higher_is_better: Some(true), ..Default::default() });
        assert!(check_value(&m, &json!({"baseline": 0.6}), &json!(0.8), &[]).passed);
        assert!(!check_value(&m, &json!({"baseline": 0.6}), &json!(0.5), &[]).passed);
    }
}
