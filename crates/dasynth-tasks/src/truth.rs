//! Ground truth: the template's SQL run with polars over the bound tables, turned into the
//! answer its type expects, or a reason the task is dropped (empty, null, ambiguous).

use crate::spec::AnswerType;
use polars::prelude::*;
use polars::sql::SQLContext;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// The hidden column every registered table carries: the row's 0-based position, for
/// train/test splits that pandas reproduces with `df.index % n`.
pub const ROW_INDEX: &str = "__row";

/// Why a bound task has no usable ground truth. The `reason` is a short counter name.
#[derive(Debug, Clone, PartialEq)]
pub struct Degenerate {
    pub reason: &'static str,
    pub detail: String,
}

fn degenerate(reason: &'static str, detail: impl Into<String>) -> Degenerate {
    Degenerate { reason, detail: detail.into() }
}

/// Makes polars' group-by add up every group in row order, so a ground truth is the same to the
/// last bit on every run (and in every shard). On a table of 1,000 rows or more with few
/// groups polars otherwise aggregates slices of rows on its threads and adds their partial sums
/// in the order the threads finish: a group mean of the held-out corpus differed in its 15th
/// digit between two runs of `dasynth tasks` on the same folder, for 3 to 9 tasks in 1,331.
/// The variable is polars' own switch (`POLARS_NO_PARTITION`), read at every group-by.
///
/// # Safety
///
/// Sets an environment variable: call it before the process starts any other thread (first
/// thing in `main`).
pub unsafe fn deterministic_group_by() {
    // SAFETY: the caller guarantees no other thread exists yet.
    unsafe { std::env::set_var("POLARS_NO_PARTITION", "1") };
}

/// Adds [`ROW_INDEX`] so the SQL can split rows the same way the Python solution does.
pub fn prepare(df: &DataFrame) -> PolarsResult<DataFrame> {
    let mut df = df.with_row_index(ROW_INDEX.into(), None)?;
    let idx = df.column(ROW_INDEX)?.cast(&DataType::Int64)?;
    df.with_column(idx)?;
    Ok(df)
}

/// Runs `sql` over the frames registered under their role names.
pub fn run_sql(frames: &BTreeMap<String, DataFrame>, sql: &str) -> PolarsResult<DataFrame> {
    let mut ctx = SQLContext::new();
    for (name, df) in frames {
        ctx.register(name, df.clone().lazy());
    }
    ctx.execute(sql)?.collect()
}

/// Turns a query result into the ground truth of an answer type. `top_k` cuts lists and sets.
pub fn extract(result: &DataFrame, answer: AnswerType, top_k: Option<usize>) -> Result<Value, Degenerate> {
    let rows = rows_of(result).map_err(|e| degenerate("truth_error", e.to_string()))?;
    if rows.is_empty() {
        return Err(degenerate("empty_result", "the truth query returned no rows"));
    }
    let width = result.width();
    match answer {
        AnswerType::Number | AnswerType::Integer | AnswerType::String => {
            let v = rows[0][0].clone();
            if v.is_null() {
                return Err(degenerate("null_answer", "the answer is null"));
            }
            if rows.len() > 1 {
                if width < 2 {
                    return Err(degenerate("ambiguous", format!("{} rows for a single answer", rows.len())));
                }
                if same(&rows[0][1], &rows[1][1]) {
                    return Err(degenerate("tie", format!("{} and {} tie at {}", rows[0][0], rows[1][0], rows[0][1])));
                }
            }
            if answer == AnswerType::Integer {
                match v.as_f64() {
                    Some(x) if x.fract() == 0.0 => return Ok(Value::from(x as i64)),
                    _ => return Err(degenerate("truth_error", format!("{v} is not a whole number"))),
                }
            }
            if answer == AnswerType::Number && v.as_f64().is_none() {
                return Err(degenerate("truth_error", format!("{v} is not a number")));
            }
            Ok(v)
        }
        AnswerType::Set | AnswerType::List => {
            let mut rows = rows;
            if let Some(k) = top_k {
                if rows.len() < k {
                    return Err(degenerate("too_few_rows", format!("{} rows, {k} asked for", rows.len())));
                }
                if rows.len() > k && width >= 2 && same(&rows[k][1], &rows[k - 1][1]) {
                    return Err(degenerate("tie", format!("a tie at the cut after {k} rows")));
                }
                rows.truncate(k);
            }
            if answer == AnswerType::List && width >= 2 && rows.windows(2).any(|w| same(&w[0][1], &w[1][1])) {
                return Err(degenerate("tie", "two neighbours in the ordered list tie"));
            }
            if rows.iter().any(|r| r[0].is_null()) {
                return Err(degenerate("null_answer", "a null among the values"));
            }
            let mut values: Vec<Value> = rows.into_iter().map(|mut r| r.swap_remove(0)).collect();
            if answer == AnswerType::Set {
                // SQL grouping returns groups in no fixed order; the file must not change between runs.
                values.sort_by_cached_key(|v| v.to_string());
            }
            Ok(Value::Array(values))
        }
        AnswerType::Table | AnswerType::File => {
            let mut rows = rows;
            rows.sort_by_cached_key(|r| serde_json::to_string(r).unwrap_or_default());
            Ok(table_json(result, rows))
        }
        AnswerType::Report | AnswerType::Metric => {
            if rows.len() != 1 {
                return Err(degenerate("ambiguous", format!("{} rows; a checklist needs exactly one", rows.len())));
            }
            let mut facts = Map::new();
            for (name, v) in result.get_column_names().iter().zip(&rows[0]) {
                if v.is_null() {
                    return Err(degenerate("null_answer", format!("fact `{name}` is null")));
                }
                facts.insert(name.to_string(), v.clone());
            }
            Ok(Value::Object(facts))
        }
    }
}

fn table_json(df: &DataFrame, rows: Vec<Vec<Value>>) -> Value {
    let columns: Vec<String> = df.get_column_names().iter().map(|s| s.to_string()).collect();
    json!({ "columns": columns, "rows": rows })
}

fn same(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1.0),
        _ => a == b,
    }
}

/// The result's rows as JSON values: numbers, text, booleans, null; dates and times as ISO text.
pub fn rows_of(df: &DataFrame) -> PolarsResult<Vec<Vec<Value>>> {
    let mut cols = Vec::with_capacity(df.width());
    for c in df.columns() {
        let c = match c.dtype() {
            DataType::Date
            | DataType::Datetime(_, _)
            | DataType::Time
            | DataType::Duration(_)
            | DataType::Categorical(_, _)
            | DataType::Enum(_, _) => c.cast(&DataType::String)?,
            DataType::Decimal(_, _) => c.cast(&DataType::Float64)?,
            _ => c.clone(),
        };
        cols.push(c);
    }
    let mut rows = Vec::with_capacity(df.height());
    for i in 0..df.height() {
        let mut row = Vec::with_capacity(cols.len());
        for c in &cols {
            row.push(any_to_json(c.get(i)?));
        }
        rows.push(row);
    }
    Ok(rows)
}

fn any_to_json(v: AnyValue<'_>) -> Value {
    match v {
        AnyValue::Null => Value::Null,
        AnyValue::Boolean(b) => Value::from(b),
        AnyValue::String(s) => Value::from(s),
        AnyValue::StringOwned(s) => Value::from(s.as_str()),
        AnyValue::Int8(x) => Value::from(x),
        AnyValue::Int16(x) => Value::from(x),
        AnyValue::Int32(x) => Value::from(x),
        AnyValue::Int64(x) => Value::from(x),
        AnyValue::UInt8(x) => Value::from(x),
        AnyValue::UInt16(x) => Value::from(x),
        AnyValue::UInt32(x) => Value::from(x),
        AnyValue::UInt64(x) => Value::from(x),
        AnyValue::Float32(x) => float(x as f64),
        AnyValue::Float64(x) => float(x),
        other => Value::from(other.to_string()),
    }
}

fn float(x: f64) -> Value {
    if x.is_finite() { Value::from(x) } else { Value::Null }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames() -> BTreeMap<String, DataFrame> {
        let df = df!("species" => ["a", "b", "b", "c", "c", "c"], "mass" => [1.0, 2.0, 4.0, 3.0, 3.0, 3.0]).unwrap();
        BTreeMap::from([("df".to_string(), prepare(&df).unwrap())])
    }

    #[test]
    fn argmax_with_score_and_tie_detection() {
        let f = frames();
        let r = run_sql(&f, "SELECT species, AVG(mass) AS score FROM df GROUP BY species ORDER BY score DESC LIMIT 2").unwrap();
        // b and c both average 3.0.
        assert_eq!(extract(&r, AnswerType::String, None).unwrap_err().reason, "tie");
        let r = run_sql(&f, "SELECT species, COUNT(*) AS n FROM df GROUP BY species ORDER BY n DESC LIMIT 2").unwrap();
        assert_eq!(extract(&r, AnswerType::String, None).unwrap(), Value::from("c"));
    }

    #[test]
    fn row_index_splits_and_empty_results() {
        let f = frames();
        let r = run_sql(&f, &format!("SELECT COUNT(*) FROM df WHERE {ROW_INDEX} % 5 = 0")).unwrap();
        assert_eq!(extract(&r, AnswerType::Integer, None).unwrap(), Value::from(2));
        let r = run_sql(&f, "SELECT mass FROM df WHERE mass > 100").unwrap();
        assert_eq!(extract(&r, AnswerType::Number, None).unwrap_err().reason, "empty_result");
    }

    #[test]
    fn top_k_cuts_and_sees_ties_at_the_cut() {
        let f = frames();
        let r = run_sql(&f, "SELECT species, COUNT(*) AS n FROM df GROUP BY species ORDER BY n DESC LIMIT 3").unwrap();
        assert_eq!(extract(&r, AnswerType::List, Some(2)).unwrap(), json!(["c", "b"]));
        let r = run_sql(&f, "SELECT mass, mass AS s FROM df ORDER BY mass DESC LIMIT 3").unwrap();
        assert_eq!(extract(&r, AnswerType::List, Some(2)).unwrap_err().reason, "tie");
    }

    #[test]
    fn report_facts_are_named_columns() {
        let f = frames();
        let r = run_sql(&f, "SELECT COUNT(*) AS n_rows, AVG(mass) AS mean_mass FROM df").unwrap();
        assert_eq!(extract(&r, AnswerType::Report, None).unwrap(), json!({"n_rows": 6, "mean_mass": 16.0 / 6.0}));
    }
}
