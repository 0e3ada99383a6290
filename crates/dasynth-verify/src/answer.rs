//! The answer check: the `<Answer>` text against the task's ground truth, as one of three
//! outcomes. This is the one place the stage calls the checker of `dasynth-tasks`, so a better
//! checker (answer extraction, a labelled corpus) drops in here.
//!
//! Text answers go through `checker::check_text`. Table and file answers cannot be read from
//! prose, so the first Markdown table of the answer is read as the table; a table the answer
//! shortened (`(N more rows)`, as the reference teacher writes past 50 rows) must show rows of
//! the truth and the right count.

use dasynth_tasks::checker::{self, CheckerSpec};
use dasynth_tasks::spec::AnswerType;
use serde_json::Value;

/// How an answer compares with the ground truth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    Wrong,
    /// No value of the expected type could be read from the answer.
    Unextractable,
}

/// The answer check's result.
#[derive(Debug, Clone, PartialEq)]
pub struct AnswerCheck {
    pub outcome: Outcome,
    /// Why it failed, or how it was read.
    pub reason: String,
    /// The value read from the answer, as compared.
    pub extracted: Option<String>,
}

/// Checks an `<Answer>` text against the truth. `files` are the names written under `outputs/`.
pub fn check_answer(spec: &CheckerSpec, truth: &Value, answer_text: &str, files: &[String]) -> AnswerCheck {
    match spec.answer_type {
        AnswerType::Table | AnswerType::File => check_table_text(spec, truth, answer_text, files),
        AnswerType::Number | AnswerType::Integer | AnswerType::Metric => {
            let numbers = checker::numbers_in(answer_text);
            if numbers.is_empty() {
                return AnswerCheck { outcome: Outcome::Unextractable, reason: "the answer states no number".into(), extracted: None };
            }
            let extracted = Some(numbers.iter().take(5).map(|(x, _)| x.to_string()).collect::<Vec<_>>().join(", "));
            from_verdict(checker::check_text(spec, truth, answer_text, files), extracted)
        }
        _ => {
            let text = answer_text.trim();
            if text.is_empty() {
                return AnswerCheck { outcome: Outcome::Unextractable, reason: "the answer is empty".into(), extracted: None };
            }
            from_verdict(checker::check_text(spec, truth, text, files), Some(first_chars(text, 200)))
        }
    }
}

fn from_verdict(v: checker::Verdict, extracted: Option<String>) -> AnswerCheck {
    AnswerCheck { outcome: if v.passed { Outcome::Pass } else { Outcome::Wrong }, reason: v.reason, extracted }
}

fn first_chars(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

/// A Markdown table read from a text: header cells, rows, and the rows it says it left out.
#[derive(Debug, Clone, PartialEq)]
pub struct MarkdownTable {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
    pub more_rows: usize,
}

/// The first Markdown table of a text (`| a | b |`, a `|---|` rule, rows).
pub fn markdown_table(text: &str) -> Option<MarkdownTable> {
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    let cells = |l: &str| -> Vec<String> { l.trim_matches('|').split('|').map(|c| c.trim().trim_matches('`').to_string()).collect() };
    let is_rule = |l: &str| l.starts_with('|') && l.contains("---") && l.chars().all(|c| matches!(c, '|' | '-' | ':' | ' '));
    let start = lines.windows(2).position(|w| w[0].starts_with('|') && is_rule(w[1]))?;
    let columns = cells(lines[start]);
    let mut rows = Vec::new();
    let mut i = start + 2;
    while i < lines.len() && lines[i].starts_with('|') {
        rows.push(cells(lines[i]));
        i += 1;
    }
    let more_rows = lines[i..]
        .iter()
        .take(3)
        .find_map(|l| l.strip_prefix('(').and_then(|r| r.strip_suffix(" more rows)")).and_then(|n| n.trim().parse().ok()))
        .unwrap_or(0);
    Some(MarkdownTable { columns, rows, more_rows })
}

fn cell_value(c: &str) -> Value {
    match c {
        "" | "missing" | "None" | "NaN" | "nan" | "NaT" | "null" => Value::Null,
        _ => Value::String(c.to_string()),
    }
}

fn check_table_text(spec: &CheckerSpec, truth: &Value, text: &str, files: &[String]) -> AnswerCheck {
    let Some(table) = markdown_table(text) else {
        return AnswerCheck { outcome: Outcome::Unextractable, reason: "the answer holds no Markdown table".into(), extracted: None };
    };
    let extracted = Some(format!("{} column(s), {} row(s) shown, {} more", table.columns.len(), table.rows.len(), table.more_rows));
    let rows: Vec<Value> = table.rows.iter().map(|r| Value::Array(r.iter().map(|c| cell_value(c)).collect())).collect();
    let answer = serde_json::json!({ "columns": table.columns, "rows": rows });
    if table.more_rows == 0 {
        return from_verdict(checker::check_value(spec, truth, &answer, files), extracted);
    }
    // A shortened table: the count must be right and every shown row a row of the truth.
    let truth_rows = truth.get("rows").and_then(Value::as_array).cloned().unwrap_or_default();
    if rows.len() + table.more_rows != truth_rows.len() {
        let reason = format!("expected {} rows, the answer has {} and {} more", truth_rows.len(), rows.len(), table.more_rows);
        return AnswerCheck { outcome: Outcome::Wrong, reason, extracted };
    }
    if spec.answer_type == AnswerType::File {
        let want = spec.file.as_deref().unwrap_or_default();
        if !files.iter().any(|f| f == want || f.ends_with(&format!("/{want}"))) {
            return AnswerCheck { outcome: Outcome::Wrong, reason: format!("the file {want:?} was not written"), extracted };
        }
    }
    let rows_spec = CheckerSpec { answer_type: AnswerType::Table, ..spec.clone() };
    let one = |r: &Value| serde_json::json!({ "columns": table.columns, "rows": [r] });
    for (i, r) in rows.iter().enumerate() {
        if !truth_rows.iter().any(|t| checker::check_value(&rows_spec, &one(t), &one(r), &[]).passed) {
            return AnswerCheck {
                outcome: Outcome::Wrong,
                reason: format!("row {} of the answer is not a row of the truth", i + 1),
                extracted,
            };
        }
    }
    AnswerCheck { outcome: Outcome::Pass, reason: String::new(), extracted }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dasynth_tasks::spec::CheckerOptions;
    use serde_json::json;

    fn spec(t: AnswerType) -> CheckerSpec {
        CheckerSpec::new(t, &CheckerOptions::default())
    }

    #[test]
    fn numbers_pass_fail_or_cannot_be_read() {
        let n = spec(AnswerType::Number);
        assert_eq!(check_answer(&n, &json!(2.5), "The mean is 2.5.", &[]).outcome, Outcome::Pass);
        assert_eq!(check_answer(&n, &json!(2.5), "The mean is 3.5.", &[]).outcome, Outcome::Wrong);
        assert_eq!(check_answer(&n, &json!(2.5), "It is large.", &[]).outcome, Outcome::Unextractable);
    }

    #[test]
    fn tables_are_read_from_markdown_even_when_shortened() {
        let t = spec(AnswerType::Table);
        let truth = json!({"columns": ["k", "v"], "rows": [["a", 1.0], ["b", 2.0], ["c", null]]});
        let full = "Here:\n\n| k | v |\n|---|---|\n| b | 2 |\n| a | 1 |\n| c | missing |\n";
        assert_eq!(check_answer(&t, &truth, full, &[]).outcome, Outcome::Pass, "{:?}", check_answer(&t, &truth, full, &[]));
        let short = "| k | v |\n|---|---|\n| b | 2 |\n\n(2 more rows)\n";
        assert_eq!(check_answer(&t, &truth, short, &[]).outcome, Outcome::Pass);
        let wrong = "| k | v |\n|---|---|\n| b | 3 |\n\n(2 more rows)\n";
        assert_eq!(check_answer(&t, &truth, wrong, &[]).outcome, Outcome::Wrong);
        assert_eq!(check_answer(&t, &truth, "no table", &[]).outcome, Outcome::Unextractable);
    }
}
