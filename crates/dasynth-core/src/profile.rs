//! `profiles/<table-id>.json`: what a table holds, column by column. Task templates bind to
//! these documents, so every number here is exact (computed over all rows, not a sample).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Version of the profile document; bump when a field changes meaning.
pub const PROFILE_VERSION: u32 = 1;

/// What a column means, beyond its physical type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SemanticType {
    Identifier,
    Categorical,
    Numeric,
    Currency,
    Percentage,
    Boolean,
    Datetime,
    Date,
    FreeText,
    Geographic,
    /// Every value is null.
    Empty,
}

/// Profile of one table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TableProfile {
    /// Version of this document's layout.
    pub profile_version: u32,
    /// The table's catalog id.
    pub table_id: String,
    /// The table's catalog name.
    pub table_name: String,
    /// The source the table was first crawled from.
    pub source: String,
    /// sha256 of the stored bytes the profile was computed from.
    pub sha256: String,
    pub n_rows: u64,
    pub n_columns: u64,
    /// Rows that repeat an earlier row exactly.
    pub duplicate_rows: u64,
    /// Approximate in-memory size of the table in bytes.
    pub estimated_bytes: u64,
    pub columns: Vec<ColumnProfile>,
    /// Single columns or column pairs whose values are unique and never null.
    pub candidate_primary_keys: Vec<Vec<String>>,
    /// Columns whose values are all contained in a key column of another table of the same source.
    pub candidate_foreign_keys: Vec<ForeignKey>,
    /// Numeric column pairs with |Pearson r| ≥ 0.7.
    pub correlations: Vec<Correlation>,
    /// Table-level quality flags (e.g. `duplicate_rows`).
    pub quality_flags: Vec<String>,
    /// Seconds spent profiling.
    pub seconds: f64,
}

/// Profile of one column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ColumnProfile {
    pub name: String,
    /// Physical dtype as polars reads it (`i64`, `f64`, `str`, `date`, `datetime[μs]`, ...).
    pub dtype: String,
    pub semantic_type: SemanticType,
    pub null_count: u64,
    /// Distinct non-null values.
    pub distinct_count: u64,
    /// `distinct_count / non-null count` (0 when the column is all null).
    pub distinct_ratio: f64,
    /// Numbers (also for numbers stored as text, computed from the parsed values).
    pub numeric: Option<NumericStats>,
    /// Dates and datetimes (ISO 8601 strings).
    pub temporal: Option<TemporalStats>,
    /// Text columns.
    pub text: Option<TextStats>,
    /// Most frequent values (as text), most frequent first, ties broken by value.
    pub top_values: Vec<ValueCount>,
    /// A few distinct non-null values in order of first appearance.
    pub examples: Vec<String>,
    pub quality: ColumnQuality,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NumericStats {
    pub min: f64,
    pub max: f64,
    pub mean: f64,
    /// Sample standard deviation (ddof = 1); null with fewer than two values.
    pub std: Option<f64>,
    pub sum: f64,
    /// Linear-interpolated quantiles p01, p05, p25, p50, p75, p95, p99.
    pub quantiles: Quantiles,
    pub zeros: u64,
    pub negatives: u64,
    /// Whether every value is a whole number.
    pub integral: bool,
    /// Values outside [p25 − 3·IQR, p75 + 3·IQR].
    pub outliers: u64,
    /// Up to five outlying values, most extreme first.
    pub outlier_examples: Vec<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Quantiles {
    pub p01: f64,
    pub p05: f64,
    pub p25: f64,
    pub p50: f64,
    pub p75: f64,
    pub p95: f64,
    pub p99: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TemporalStats {
    pub min: String,
    pub max: String,
    /// Median instant.
    pub median: String,
    /// Days between min and max.
    pub span_days: f64,
    /// Distinct calendar years present.
    pub distinct_years: u64,
    /// Whether the values were parsed from text.
    pub parsed_from_text: bool,
    /// The format they were parsed with, when parsed from text.
    pub format: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TextStats {
    /// Length in characters.
    pub min_length: u64,
    pub max_length: u64,
    pub mean_length: f64,
    /// Mean number of whitespace-separated words.
    pub mean_words: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ValueCount {
    pub value: String,
    pub count: u64,
}

/// Data-quality findings for one column. Counts are over non-null values.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ColumnQuality {
    /// Short names of the problems found (`all_null`, `constant`, `mixed_types`,
    /// `stray_whitespace`, `inconsistent_casing`, `numbers_as_text`, `sentinel_values`).
    pub flags: Vec<String>,
    /// Text values with leading or trailing whitespace.
    pub stray_whitespace: u64,
    /// Distinct values that collide with another value when lower-cased and trimmed.
    pub inconsistent_casing: u64,
    /// Text values that parse as numbers.
    pub numeric_text: u64,
    /// Text values that do not parse as numbers (in a column that is mostly numbers).
    pub non_numeric_text: u64,
    /// Placeholder values (-999, 9999, "N/A", "?", ...) with their counts.
    pub sentinels: Vec<ValueCount>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ForeignKey {
    pub column: String,
    pub ref_table_id: String,
    pub ref_table_name: String,
    pub ref_column: String,
    /// Distinct non-null values of `column` found in `ref_column` (1.0 = all).
    pub inclusion: f64,
    /// Distinct non-null values of `column`.
    pub distinct_values: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Correlation {
    pub a: String,
    pub b: String,
    /// Pearson r over rows where both are non-null.
    pub pearson: f64,
}
