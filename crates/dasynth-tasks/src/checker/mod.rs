//! Answer checkers: is an answer right, wrong, or not readable at all?
//!
//! A task carries a [`CheckerSpec`] (its answer type, tolerances, and per-type options); an
//! answer is checked against the task's ground truth either as a structured value (what a
//! reference solution left in `answer`: [`check_value`]) or as the free text of a final
//! `<Answer>` block ([`check_answer`]). A text check has three outcomes ([`Outcome`]): `Pass`,
//! `Wrong` (a value of the expected type was read and does not match), and `Unextractable` (no
//! value of the expected type can be read), with a reason a person can act on and the text that
//! was read.
//!
//! # Reading the answer
//!
//! Each answer type looks for its value in the most explicit place first and takes the first
//! it finds:
//!
//! | type | order |
//! |---|---|
//! | number, integer | `@name[value]` (last) · a JSON or Python literal: the whole answer, a data fence, or an object in the prose with an `answer`/`value`/`result` key · `\boxed{}` (last) · a bold span holding a number (last, outside parentheses first) · an `Answer:` line · the last number of the prose outside parentheses (years after "in", "since", ... left out) · for integers without digits, a number word |
//! | metric | as numbers, plus the metric's name as a key; numbers in a clause about the baseline are left out; `%` and, for scores in [0, 1], values in (1, 100] are percentages |
//! | string | `@name[value]` · a literal · `\boxed{}` · the first bold span · an `Answer:` line · the whole prose; the value must be named (as a whole phrase) before any comparison ("followed by", "than", ...) |
//! | set, list | `@name[a, b]` · a list literal · `\boxed{}` · the markdown-table column naming the most expected values · markdown list items · bold spans · an `Answer:` line · the sentence naming the most expected values, split at commas and "and" |
//! | table | a literal (records, columns, `{columns, rows}`, key → value) · the largest markdown table · a CSV or printed pandas frame in a fence · `key: value` lines · a data file under `outputs/` the answer names |
//! | file | the file must be written (and be an image, when `outputs_dir` is given); its data as a table, else a CSV/JSON beside the chart |
//! | report | every fact (`{name: value}`) stated anywhere in the text; a `checklist` is left to the inspector |
//!
//! Numbers are read with thousands separators, signs, exponents, scale words and percentages,
//! and match when within tolerance or correctly rounded to at least about three significant
//! digits ([`numbers`]). Strings are compared after [`text::plain`] (case, markup, spaces,
//! midnight times). `python/reward.py` implements the same reading and comparison in plain
//! Python for RL trainers; a test runs both over the labelled corpus in `tests/checker/`.

mod cases;
mod collection;
mod extract;
mod facts;
mod files;
mod literal;
pub mod numbers;
mod scalar;
mod spec;
mod table;
pub mod text;
mod value;

#[cfg(test)]
mod corpus_tests;

pub use cases::{Case, CaseError, CaseVerdict, check_case, check_lines};
pub use spec::{CheckerSpec, answer_type_named};
pub use text::norm_text;
pub use value::check_value;

use crate::spec::AnswerType;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::Path;

/// The text of `python/reward.py`: verl's `compute_score` scoring a completion exactly as
/// [`check_answer`] does, in the Python standard library only.
pub const REWARD_PY: &str = include_str!("../../python/reward.py");

/// How an answer compares with the ground truth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// A value of the expected type was read and matches.
    Pass,
    /// A value was read and does not match.
    Wrong,
    /// No value of the expected type could be read.
    Unextractable,
}

impl Outcome {
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Wrong => "wrong",
            Outcome::Unextractable => "unextractable",
        }
    }
}

/// The verdict on one answer text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnswerCheck {
    pub outcome: Outcome,
    /// Why it passed or failed, naming what was read and where.
    pub reason: String,
    /// The value as read from the answer (none when nothing could be read).
    pub extracted: Option<String>,
}

impl AnswerCheck {
    pub fn passed(&self) -> bool {
        self.outcome == Outcome::Pass
    }
    pub(crate) fn pass(reason: impl Into<String>, extracted: Option<String>) -> Self {
        Self { outcome: Outcome::Pass, reason: reason.into(), extracted }
    }
    pub(crate) fn wrong(reason: impl Into<String>, extracted: Option<String>) -> Self {
        Self { outcome: Outcome::Wrong, reason: reason.into(), extracted }
    }
    pub(crate) fn unextractable(reason: impl Into<String>) -> Self {
        Self { outcome: Outcome::Unextractable, reason: reason.into(), extracted: None }
    }
}

/// Checks the free text of a final `<Answer>` block. `files` are the trajectory's files under
/// outputs/ (relative names); `outputs_dir` where they are on disk, for chart-data checks.
pub fn check_answer(spec: &CheckerSpec, truth: &Value, answer_text: &str, files: &[String], outputs_dir: Option<&Path>) -> AnswerCheck {
    let answer = extract::Answer::new(answer_text);
    match spec.answer_type {
        AnswerType::Number | AnswerType::Integer => scalar::check_number(spec, truth, &answer),
        AnswerType::Metric => scalar::check_metric(spec, truth, &answer),
        AnswerType::String => scalar::check_string(truth, &answer),
        AnswerType::Set | AnswerType::List => collection::check_collection(spec, truth, &answer),
        AnswerType::Table => table::check_table(spec, truth, &answer, files, outputs_dir),
        AnswerType::File => files::check_file(spec, truth, &answer, files, outputs_dir),
        AnswerType::Report => facts::check_facts(spec, truth, answer_text),
    }
}

/// The outcome of a check as pass or fail (for callers that need no more).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub passed: bool,
    /// Why it failed (empty when it passed).
    pub reason: String,
}

impl Verdict {
    pub(crate) fn pass() -> Self {
        Self { passed: true, reason: String::new() }
    }
    pub(crate) fn fail(reason: impl Into<String>) -> Self {
        Self { passed: false, reason: reason.into() }
    }
}

impl From<AnswerCheck> for Verdict {
    fn from(c: AnswerCheck) -> Self {
        if c.passed() { Verdict::pass() } else { Verdict::fail(c.reason) }
    }
}

/// [`check_answer`] as pass or fail, with no files on disk to look at.
pub fn check_text(spec: &CheckerSpec, truth: &Value, text: &str, files: &[String]) -> Verdict {
    check_answer(spec, truth, text, files, None).into()
}

/// What a ground truth must look like for an answer type, or why it does not.
pub fn validate_truth(answer_type: AnswerType, truth: &Value) -> Result<(), String> {
    let ok = match answer_type {
        AnswerType::Number => truth.is_number() || truth.as_str().is_some_and(|s| s.trim().parse::<f64>().is_ok()),
        AnswerType::Integer => truth.as_f64().is_some_and(|x| x.fract() == 0.0),
        AnswerType::String => !truth.is_array() && !truth.is_object() && !truth.is_null(),
        AnswerType::Set | AnswerType::List => truth.is_array(),
        AnswerType::Table | AnswerType::File => table::truth_table(truth).is_some(),
        AnswerType::Report => truth.is_object(),
        AnswerType::Metric => truth.get("baseline").is_some_and(Value::is_number),
    };
    if ok {
        return Ok(());
    }
    let want = match answer_type {
        AnswerType::Number => "a number",
        AnswerType::Integer => "a whole number",
        AnswerType::String => "a string, number or boolean",
        AnswerType::Set | AnswerType::List => "a JSON array",
        AnswerType::Table | AnswerType::File => "an object {\"columns\": [...], \"rows\": [[...], ...]}",
        AnswerType::Report => "an object of facts {\"name\": value, ...} (optionally with a \"checklist\")",
        AnswerType::Metric => "an object with a numeric \"baseline\"",
    };
    Err(format!("a {} answer needs {want} as its ground truth, not {truth}", answer_type.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::CheckerOptions;
    use serde_json::json;

    fn spec(t: AnswerType) -> CheckerSpec {
        CheckerSpec::new(t, &CheckerOptions::default())
    }

    fn outcome(t: AnswerType, truth: Value, text: &str) -> Outcome {
        check_answer(&spec(t), &truth, text, &[], None).outcome
    }

    #[test]
    fn numbers_come_from_the_most_explicit_place() {
        use Outcome::*;
        let n = AnswerType::Number;
        let t = json!(4201.754385964912);
        assert_eq!(outcome(n, t.clone(), "The mean body mass is **4,201.75 g**."), Pass);
        assert_eq!(outcome(n, t.clone(), "Over 342 rows, the mean is approximately 4201.75 g."), Pass);
        assert_eq!(outcome(n, t.clone(), "The mean is 4201.75 g (computed over 342 rows)."), Pass);
        assert_eq!(outcome(n, t.clone(), "```json\n{\"mean_body_mass_g\": 4201.754}\n```"), Pass);
        assert_eq!(outcome(n, t.clone(), "@mean_mass[4201.754386]"), Pass);
        assert_eq!(outcome(n, t.clone(), "The mean is 4,100.2 g."), Wrong);
        assert_eq!(outcome(n, t.clone(), "I could not compute it."), Unextractable);
        assert_eq!(outcome(AnswerType::Integer, json!(336776), "There are 336,776 flights in 2013."), Pass);
        assert_eq!(outcome(AnswerType::Integer, json!(3), "There are three species."), Pass);
        assert_eq!(outcome(AnswerType::Integer, json!(3), "There are 3.5 species."), Wrong);
        assert_eq!(outcome(n, json!(0.4215), "About 42.2% of the penguins are Adelie."), Pass);
        assert_eq!(outcome(n, json!(-0.35), "The correlation is 0.35."), Wrong);
    }

    #[test]
    fn strings_must_be_the_value_named_first() {
        use Outcome::*;
        let s = AnswerType::String;
        assert_eq!(outcome(s, json!("Biscoe"), "Biscoe has the most penguins (168), ahead of Dream."), Pass);
        assert_eq!(outcome(s, json!("Biscoe"), "Dream has the most, followed by Biscoe."), Wrong);
        assert_eq!(outcome(s, json!("Biscoe"), "**Biscoe**"), Pass);
        assert_eq!(outcome(s, json!("Biscoe"), "  "), Unextractable);
        assert_eq!(outcome(s, json!("Biscoe"), "Dream leads; Biscoe comes second."), Wrong);
        assert_eq!(outcome(s, json!("Biscoe"), "Biscoe or Dream"), Wrong);
        assert_eq!(outcome(s, json!("Biscoe"), "Biscoe, with 168 penguins, has the most."), Pass);
        assert_eq!(outcome(s, json!(">50K"), "<=50K"), Wrong);
    }

    #[test]
    fn sets_and_lists_name_every_value_once() {
        use Outcome::*;
        let truth = json!(["Biscoe", "Dream", "Torgersen"]);
        let l = AnswerType::List;
        assert_eq!(outcome(l, truth.clone(), "The three most common islands are Biscoe, Dream and Torgersen."), Pass);
        assert_eq!(outcome(l, truth.clone(), "1. **Biscoe** (168)\n2. **Dream** (124)\n3. **Torgersen** (52)"), Pass);
        assert_eq!(outcome(l, truth.clone(), "Biscoe, Torgersen, Dream"), Wrong);
        assert_eq!(outcome(l, truth.clone(), "['Biscoe', 'Dream', 'Torgersen']"), Pass);
        assert_eq!(outcome(AnswerType::Set, truth.clone(), "Torgersen, Biscoe and Dream"), Pass);
        assert_eq!(outcome(AnswerType::Set, truth.clone(), "Torgersen, Biscoe, Dream and Anvers"), Wrong);
        assert_eq!(outcome(AnswerType::Set, truth.clone(), "Torgersen and Biscoe"), Wrong);
        assert_eq!(outcome(l, json!(["a", ["b", "c"], "d"]), "a, c, b, d"), Pass);
        assert_eq!(outcome(l, json!([231, 230, 230]), "231 mm, 230 mm and 230 mm"), Pass);
    }

    #[test]
    fn reports_must_state_each_fact_to_their_rounding() {
        let r = spec(AnswerType::Report);
        let truth = json!({"rows": 344, "mean_mass": 4201.754385964912, "share": 0.4215});
        let good = "The table has 344 rows; mean body mass is 4,201.75 g and 42.2% are Adelie.";
        assert!(check_text(&r, &truth, good, &[]).passed, "{:?}", check_answer(&r, &truth, good, &[], None));
        let bad = "The table has 344 rows; mean body mass is 4,100 g and 42.2% are Adelie.";
        assert!(!check_text(&r, &truth, bad, &[]).passed);
        let open = json!({"checklist": ["mentions the missing values"]});
        assert!(check_text(&r, &open, "A report.", &[]).passed);
    }

    #[test]
    fn metrics_read_percentages_and_skip_the_baseline() {
        let m = CheckerSpec::new(
            AnswerType::Metric,
            &CheckerOptions { metric: Some("accuracy".into()), higher_is_better: Some(true), ..Default::default() },
        );
        let t = json!({"baseline": 0.6});
        assert!(check_answer(&m, &t, "Test accuracy: 91.2% (baseline 60%).", &[], None).passed());
        assert!(check_answer(&m, &t, "The model reaches an accuracy of 0.912, while the baseline reaches 0.6.", &[], None).passed());
        assert!(!check_answer(&m, &t, "Accuracy 0.55", &[], None).passed());
        assert_eq!(check_answer(&m, &t, "Accuracy 1.7e3", &[], None).outcome, Outcome::Wrong);
    }

    #[test]
    fn files_need_the_chart_and_its_data() {
        let f = CheckerSpec::new(AnswerType::File, &CheckerOptions { file: Some("counts.png".into()), ..Default::default() });
        let truth = json!({"columns": ["island", "n"], "rows": [["Biscoe", 168], ["Dream", 124]]});
        let text = "Saved `outputs/counts.png`.\n\n| island | count |\n|---|---|\n| Dream | 124 |\n| Biscoe | 168 |";
        assert!(check_answer(&f, &truth, text, &["counts.png".into()], None).passed());
        assert_eq!(check_answer(&f, &truth, text, &[], None).outcome, Outcome::Wrong);
        assert_eq!(check_answer(&f, &truth, "Saved the chart.", &["counts.png".into()], None).outcome, Outcome::Unextractable);
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("counts.png"), b"not a png").unwrap();
        assert_eq!(check_answer(&f, &truth, text, &["counts.png".into()], Some(dir.path())).outcome, Outcome::Wrong);
        std::fs::write(dir.path().join("counts.png"), b"\x89PNG\r\n\x1a\nrest").unwrap();
        std::fs::write(dir.path().join("counts.csv"), "island,n\nBiscoe,168\nDream,124\n").unwrap();
        let files = ["counts.png".to_string(), "counts.csv".to_string()];
        assert!(check_answer(&f, &truth, "Saved the chart.", &files, Some(dir.path())).passed());
    }

    #[test]
    fn the_reward_function_ships_with_the_crate() {
        assert!(REWARD_PY.contains("def compute_score(data_source, solution_str, ground_truth, extra_info=None)"));
    }
}
