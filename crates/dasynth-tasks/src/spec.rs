//! The front matter of a template: what it asks of the tables, how it samples parameters, what
//! kind of answer it expects and how that answer is checked.

use dasynth_core::profile::SemanticType;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// DeepAnalyze's eight task families.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Family {
    DataQuestionAnswering,
    DataPreparation,
    DataCleaning,
    DataAnalysis,
    DataInsight,
    DataModeling,
    Visualization,
    OpenEndedResearch,
}

impl Family {
    pub const ALL: [Family; 8] = [
        Family::DataQuestionAnswering,
        Family::DataPreparation,
        Family::DataCleaning,
        Family::DataAnalysis,
        Family::DataInsight,
        Family::DataModeling,
        Family::Visualization,
        Family::OpenEndedResearch,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Family::DataQuestionAnswering => "data-question-answering",
            Family::DataPreparation => "data-preparation",
            Family::DataCleaning => "data-cleaning",
            Family::DataAnalysis => "data-analysis",
            Family::DataInsight => "data-insight",
            Family::DataModeling => "data-modeling",
            Family::Visualization => "visualization",
            Family::OpenEndedResearch => "open-ended-research",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Difficulty {
    Easy,
    Medium,
    Hard,
}

impl Difficulty {
    pub fn as_str(self) -> &'static str {
        match self {
            Difficulty::Easy => "easy",
            Difficulty::Medium => "medium",
            Difficulty::Hard => "hard",
        }
    }
}

/// The shape of the answer a task expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum AnswerType {
    /// A number, checked with a tolerance.
    Number,
    /// A whole number, checked exactly.
    Integer,
    /// A value such as a category name, checked after normalisation.
    String,
    /// Several values in any order.
    Set,
    /// Several values in a given order.
    List,
    /// Rows of values (a cleaned or reshaped table).
    Table,
    /// A named file (a chart) plus the data it shows.
    File,
    /// A written report that must state the facts of a checklist.
    Report,
    /// A model's score on a held-out split that must reach a threshold.
    Metric,
}

impl AnswerType {
    pub fn as_str(self) -> &'static str {
        match self {
            AnswerType::Number => "number",
            AnswerType::Integer => "integer",
            AnswerType::String => "string",
            AnswerType::Set => "set",
            AnswerType::List => "list",
            AnswerType::Table => "table",
            AnswerType::File => "file",
            AnswerType::Report => "report",
            AnswerType::Metric => "metric",
        }
    }
}

/// The front matter of one template file.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TemplateSpec {
    pub family: Family,
    /// Curriculum stage: 1 single ability, 2 multi-ability agentic, 3 RL prompt.
    pub stage: u8,
    pub difficulty: Difficulty,
    /// Bumped when the template's meaning changes.
    #[serde(default = "one")]
    pub version: u32,
    /// One line on what the task exercises.
    #[serde(default)]
    pub description: String,
    pub answer: AnswerType,
    #[serde(default)]
    pub checker: CheckerOptions,
    /// Table roles, by the name the prompt, SQL and solution use for them.
    pub tables: BTreeMap<String, TableRole>,
    /// Column roles.
    #[serde(default)]
    pub columns: BTreeMap<String, ColumnRole>,
    /// Links between two table roles through a candidate foreign key.
    #[serde(default)]
    pub links: BTreeMap<String, LinkRole>,
    /// Parameters sampled for each task.
    #[serde(default)]
    pub params: BTreeMap<String, ParamSpec>,
}

fn one() -> u32 {
    1
}

/// How answers are compared with the ground truth.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct CheckerOptions {
    /// Relative tolerance for numbers (default 1e-6; 1e-2 for reports and tables).
    pub tolerance: Option<f64>,
    /// Absolute tolerance for numbers near zero.
    pub abs_tolerance: Option<f64>,
    /// Digits the answer is expected to be rounded to (widens the tolerance accordingly).
    pub decimals: Option<u32>,
    /// The file a visualization task must write.
    pub file: Option<String>,
    /// For metrics: whether higher scores are better (accuracy) or lower (error).
    pub higher_is_better: Option<bool>,
    /// For metrics: the name of the score.
    pub metric: Option<String>,
    /// For lists and sets: how many leading rows of the truth query are the answer, as a number
    /// or the name of a parameter. The query should return one row more, so a tie at the cut
    /// can be seen and the task dropped.
    pub top_k: Option<String>,
    /// For tables and chart data: rows must come in the truth query's order.
    pub ordered_rows: Option<bool>,
    /// For tables and chart data: columns are taken by position only.
    pub ordered_columns: Option<bool>,
}

/// A table the template needs.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TableRole {
    /// Fewest rows the table must have.
    #[serde(default)]
    pub min_rows: u64,
    /// Most rows (keeps modelling and charting tasks small enough for the sandbox).
    pub max_rows: Option<u64>,
    /// Require duplicate rows (for de-duplication tasks).
    #[serde(default)]
    pub needs_duplicates: bool,
}

/// Physical classes a column may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum DtypeClass {
    Integer,
    Float,
    Text,
    Boolean,
    Temporal,
}

/// A column the template needs.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ColumnRole {
    /// The table role it belongs to (may be left out when there is one table role).
    pub table: Option<String>,
    /// Semantic types allowed (any when empty).
    #[serde(default)]
    pub semantic: Vec<SemanticType>,
    /// Physical classes allowed (any when empty).
    #[serde(default)]
    pub dtype: Vec<DtypeClass>,
    /// Inclusive bounds on distinct non-null values.
    pub distinct: Option<[u64; 2]>,
    /// Largest share of nulls allowed (default 0.5).
    pub max_null_fraction: Option<f64>,
    /// Fewest nulls required (for imputation tasks).
    #[serde(default)]
    pub min_nulls: u64,
    /// Quality flags the column must carry (e.g. `stray_whitespace`).
    #[serde(default)]
    pub flags: Vec<String>,
    /// Fewest days a temporal column must span.
    pub min_span_days: Option<f64>,
    /// Require a positive minimum (for ratios and logs).
    #[serde(default)]
    pub positive: bool,
    /// Require that the column takes part in one of the table's strong correlations.
    #[serde(default)]
    pub correlated: bool,
    /// Require that the most frequent value is not tied with the next one.
    #[serde(default)]
    pub unique_mode: bool,
}

/// Two table roles linked by a candidate foreign key of the profiles.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LinkRole {
    /// The table role holding the foreign key.
    pub child: String,
    /// The table role whose key it references.
    pub parent: String,
}

/// How a parameter is drawn.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", tag = "from")]
pub enum ParamSpec {
    /// One of a column's most frequent values (`rank` bounds, 1 = the mode).
    TopValue {
        column: String,
        #[serde(default = "default_rank")]
        rank: [u32; 2],
    },
    /// One of a column's quantiles (`p25`, `p50`, ...), rounded to three significant digits.
    Quantile { column: String, q: Vec<String> },
    /// A calendar year inside a temporal column's range.
    Year { column: String },
    /// A whole number in an inclusive range.
    Int { range: [i64; 2] },
    /// One of a fixed list of values.
    Choice { values: Vec<serde_json::Value> },
}

fn default_rank() -> [u32; 2] {
    [1, 3]
}
