//! The checker spec stored with every task (`tasks.parquet`, column `checker`, as JSON).
//!
//! Fields added after the first release are optional with serde defaults and are left out of
//! the JSON when they hold their default, so older task files read unchanged and unchanged tasks
//! keep their exact JSON text.

use crate::spec::{AnswerType, CheckerOptions};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

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
    /// For tables and chart data: rows must come in the ground truth's order.
    #[serde(default, skip_serializing_if = "is_false")]
    pub ordered_rows: bool,
    /// For tables and chart data: columns are taken by position only (not by name, and not in
    /// another order).
    #[serde(default, skip_serializing_if = "is_false")]
    pub ordered_columns: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
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
        Self {
            answer_type,
            tolerance,
            abs_tolerance,
            file: o.file.clone(),
            higher_is_better: o.higher_is_better,
            metric: o.metric.clone(),
            ordered_rows: o.ordered_rows.unwrap_or(false),
            ordered_columns: o.ordered_columns.unwrap_or(false),
        }
    }

    /// Reads a checker given as JSON: either a whole spec as `tasks.parquet` stores it, or the
    /// options of a template's `[checker]` table (kebab-case, every field optional) for
    /// `answer_type`. A whole spec must agree with `answer_type`.
    pub fn from_json(answer_type: AnswerType, value: &serde_json::Value) -> Result<Self, String> {
        if value.is_null() {
            return Ok(Self::new(answer_type, &CheckerOptions::default()));
        }
        if value.get("answer_type").is_some() {
            let spec: CheckerSpec = serde_json::from_value(value.clone()).map_err(|e| format!("not a checker spec: {e}"))?;
            if spec.answer_type != answer_type {
                return Err(format!("the checker is for answer type {}, not {}", spec.answer_type.as_str(), answer_type.as_str()));
            }
            return Ok(spec);
        }
        let options: CheckerOptions = serde_json::from_value(value.clone()).map_err(|e| {
            format!("not checker options: {e} (the keys are tolerance, abs-tolerance, decimals, file, metric, higher-is-better, top-k, ordered-rows, ordered-columns)")
        })?;
        Ok(Self::new(answer_type, &options))
    }
}

/// The answer type of its kebab-case name (`number`, `set`, ...).
pub fn answer_type_named(name: &str) -> Option<AnswerType> {
    use AnswerType::*;
    [Number, Integer, String, Set, List, Table, File, Report, Metric].into_iter().find(|t| t.as_str() == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn old_specs_read_and_unchanged_specs_keep_their_json() {
        let old = r#"{"answer_type":"table","tolerance":0.01,"abs_tolerance":1e-9,"file":null,"higher_is_better":null,"metric":null}"#;
        let spec: CheckerSpec = serde_json::from_str(old).unwrap();
        assert!(!spec.ordered_rows);
        assert_eq!(serde_json::to_string(&spec).unwrap(), old);
    }

    #[test]
    fn checkers_read_as_specs_or_template_options() {
        let spec = CheckerSpec::from_json(AnswerType::Number, &json!({"decimals": 2})).unwrap();
        assert!((spec.abs_tolerance - 0.005).abs() < 1e-9);
        let whole = serde_json::to_value(&spec).unwrap();
        assert_eq!(CheckerSpec::from_json(AnswerType::Number, &whole).unwrap(), spec);
        assert!(CheckerSpec::from_json(AnswerType::Set, &whole).is_err());
        assert!(CheckerSpec::from_json(AnswerType::Number, &json!({"tolerence": 1})).is_err());
        assert_eq!(answer_type_named("metric"), Some(AnswerType::Metric));
    }
}
