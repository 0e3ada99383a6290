//! Checking answers one at a time, outside any run folder (`dasynth check`): a case is an
//! answer type, a ground truth, an optional checker and an answer text, given as flags or as
//! one JSON object per line.

use super::spec::{CheckerSpec, answer_type_named};
use super::{AnswerCheck, Outcome, check_answer, validate_truth};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::io::BufRead;
use std::path::PathBuf;

/// One case: a line of `dasynth check`'s JSON Lines input (the corpus in `tests/checker/` has
/// this form).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// Echoed in the verdict.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `number`, `integer`, `string`, `set`, `list`, `table`, `file`, `report` or `metric`.
    pub answer_type: String,
    pub truth: Value,
    /// A checker spec as `tasks.parquet` stores it, or a template's `[checker]` options.
    #[serde(default)]
    pub checker: Value,
    /// The text of the final `<Answer>` block.
    pub answer: String,
    /// Files written under `outputs/` (relative names).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<String>,
    /// Where those files are on disk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outputs_dir: Option<PathBuf>,
    /// For labelled cases: the outcome the case should have (`pass`, `wrong`, `unextractable`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<Outcome>,
    /// For labelled cases: which variation of an answer this is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variation: Option<String>,
}

/// The verdict on one case, as `dasynth check` prints it for JSON Lines input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseVerdict {
    /// 1-based input line.
    pub line: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(flatten)]
    pub check: AnswerCheck,
    /// Whether the outcome is the labelled one (only for labelled cases).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub as_expected: Option<bool>,
}

/// A case that cannot be checked.
#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    #[error("{}cannot read the input", at(*line))]
    Read {
        line: usize,
        #[source]
        source: std::io::Error,
    },
    #[error("{}not a case: {source}\nhint: one JSON object per line with answer_type, truth, answer and optionally checker, files, id", at(*line))]
    Json {
        line: usize,
        #[source]
        source: serde_json::Error,
    },
    #[error("{}{what} is not JSON: {source}\nhint: quote JSON strings, e.g. --truth '\"Biscoe\"'", at(*line))]
    FlagJson {
        line: usize,
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error("{}unknown answer type {name:?}\nhint: the answer types are number, integer, string, set, list, table, file, report, metric", at(*line))]
    AnswerType { line: usize, name: String },
    #[error("{}{message}", at(*line))]
    Invalid { line: usize, message: String },
}

fn at(line: usize) -> String {
    if line == 0 { String::new() } else { format!("line {line}: ") }
}

impl CaseError {
    /// The input line the error is about (0 for a case given as flags).
    pub fn line(&self) -> usize {
        match self {
            CaseError::Read { line, .. }
            | CaseError::Json { line, .. }
            | CaseError::FlagJson { line, .. }
            | CaseError::AnswerType { line, .. }
            | CaseError::Invalid { line, .. } => *line,
        }
    }
}

impl Case {
    /// A case from command-line flags: the ground truth and the checker as JSON text.
    pub fn from_flags(answer_type: &str, truth: &str, checker: Option<&str>, answer: &str) -> Result<Self, CaseError> {
        let truth = serde_json::from_str(truth).map_err(|source| CaseError::FlagJson { line: 0, what: "--truth", source })?;
        let checker = match checker {
            Some(c) => serde_json::from_str(c).map_err(|source| CaseError::FlagJson { line: 0, what: "--checker", source })?,
            None => Value::Null,
        };
        Ok(Case {
            id: None,
            answer_type: answer_type.to_string(),
            truth,
            checker,
            answer: answer.to_string(),
            files: Vec::new(),
            outputs_dir: None,
            expected: None,
            variation: None,
        })
    }

    /// The checker spec of this case.
    pub fn spec(&self, line: usize) -> Result<CheckerSpec, CaseError> {
        let answer_type =
            answer_type_named(&self.answer_type).ok_or_else(|| CaseError::AnswerType { line, name: self.answer_type.clone() })?;
        let spec = CheckerSpec::from_json(answer_type, &self.checker).map_err(|message| CaseError::Invalid { line, message })?;
        validate_truth(answer_type, &self.truth).map_err(|message| CaseError::Invalid { line, message })?;
        if answer_type == crate::spec::AnswerType::File && spec.file.is_none() {
            return Err(CaseError::Invalid {
                line,
                message: "a file answer needs the file's name in the checker\nhint: --checker '{\"file\": \"chart.png\"}'".into(),
            });
        }
        Ok(spec)
    }
}

/// Checks one case; `line` is its input line (0 for flags).
pub fn check_case(case: &Case, line: usize) -> Result<AnswerCheck, CaseError> {
    let spec = case.spec(line)?;
    Ok(check_answer(&spec, &case.truth, &case.answer, &case.files, case.outputs_dir.as_deref()))
}

/// Checks every case of a JSON Lines input (blank lines skipped), one verdict per case, in order.
pub fn check_lines<R: BufRead>(input: R) -> impl Iterator<Item = Result<CaseVerdict, CaseError>> {
    input.lines().enumerate().filter_map(|(i, line)| {
        let n = i + 1;
        let line = match line {
            Ok(l) => l,
            Err(source) => return Some(Err(CaseError::Read { line: n, source })),
        };
        if line.trim().is_empty() {
            return None;
        }
        let case: Case = match serde_json::from_str(&line) {
            Ok(c) => c,
            Err(source) => return Some(Err(CaseError::Json { line: n, source })),
        };
        Some(check_case(&case, n).map(|check| CaseVerdict {
            line: n,
            id: case.id.clone(),
            as_expected: case.expected.map(|e| e == check.outcome),
            check,
        }))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cases_from_flags_and_lines() {
        let c = Case::from_flags("number", "4201.75", Some(r#"{"decimals": 2}"#), "**4,201.75 g**").unwrap();
        assert!(check_case(&c, 0).unwrap().passed());
        assert!(matches!(Case::from_flags("number", "Biscoe", None, "x"), Err(CaseError::FlagJson { .. })));
        let input = concat!(
            r#"{"id": "a", "answer_type": "string", "truth": "Biscoe", "answer": "Dream", "expected": "wrong"}"#,
            "\n\n",
            r#"{"answer_type": "colour", "truth": 1, "answer": "x"}"#,
            "\n",
            r#"{"answer_type": "set", "truth": 1, "answer": "x"}"#,
            "\n"
        );
        let out: Vec<_> = check_lines(input.as_bytes()).collect();
        let first = out[0].as_ref().unwrap();
        assert_eq!((first.line, first.check.outcome, first.as_expected), (1, Outcome::Wrong, Some(true)));
        assert!(matches!(&out[1], Err(CaseError::AnswerType { line: 3, .. })));
        let e = out[2].as_ref().unwrap_err();
        assert_eq!(e.line(), 4);
        assert!(e.to_string().starts_with("line 4: a set answer needs a JSON array"), "{e}");
    }
}
