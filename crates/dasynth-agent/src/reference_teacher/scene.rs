//! What the reference teacher knows about a task before it runs anything: the tables the
//! solution loads (their variables and columns), the columns the task is about, and the lines of
//! the load cell that parse dates stored as text.

use dasynth_core::layout::RunDir;
use dasynth_core::profile::TableProfile;
use dasynth_core::task::Task;
use dasynth_tasks::bind::dtype_class;
use dasynth_tasks::spec::DtypeClass;
use dasynth_tasks::template::py_str;
use serde_json::Value;

/// Most columns shown when a table is first opened.
const MAX_SHOWN: usize = 6;

/// One table the solution loads into a variable.
#[derive(Debug, Clone)]
pub(super) struct TableVar {
    /// The variable (the template's table role).
    pub var: String,
    /// Its columns as the task stage reads them: name and type class.
    pub columns: Vec<(String, DtypeClass)>,
    /// The columns the task is about, in the order the template binds them (at most a few).
    pub involved: Vec<String>,
}

impl TableVar {
    fn class(&self, column: &str) -> Option<DtypeClass> {
        self.columns.iter().find(|(n, _)| n == column).map(|(_, c)| *c)
    }

    pub fn is_text(&self, column: &str) -> bool {
        self.class(column) == Some(DtypeClass::Text)
    }

    pub fn is_numeric(&self, column: &str) -> bool {
        matches!(self.class(column), Some(DtypeClass::Integer | DtypeClass::Float))
    }

    /// A column name with other letter case than the real one, which no column has.
    pub fn miscased(&self, column: &str) -> Option<String> {
        let lower = column.to_lowercase();
        let wrong = if lower != column {
            lower
        } else {
            let mut chars = column.chars();
            let first = chars.next()?;
            first.to_uppercase().chain(chars).collect()
        };
        (wrong != column && !self.columns.iter().any(|(n, _)| *n == wrong)).then_some(wrong)
    }
}

/// A load-cell line that parses a text column as dates.
#[derive(Debug, Clone)]
pub(super) struct DateLine {
    pub line: String,
    pub var: String,
    pub column: String,
}

/// The task as the teacher sees it.
#[derive(Debug, Clone)]
pub(super) struct Scene {
    pub tables: Vec<TableVar>,
    pub files: Vec<String>,
    /// The solution's first cell (imports and loads in templates that load first).
    pub load_cell: String,
    /// The solution's other cells.
    pub steps: Vec<String>,
    pub date_lines: Vec<DateLine>,
}

impl Scene {
    pub fn new(run: &RunDir, task: &Task) -> Self {
        let bindings: Value = serde_json::from_str(&task.bindings).unwrap_or(Value::Null);
        let mut wanted: Vec<String> = Vec::new();
        if let Some(cols) = bindings.get("columns").and_then(Value::as_object) {
            wanted.extend(cols.values().filter_map(Value::as_str).map(str::to_string));
        }
        if let Some(links) = bindings.get("links").and_then(Value::as_object) {
            for pair in links.values().filter_map(Value::as_array) {
                wanted.extend(pair.iter().filter_map(Value::as_str).map(str::to_string));
            }
        }
        let mut tables = Vec::new();
        if let Some(roles) = bindings.get("tables").and_then(Value::as_object) {
            for (role, id) in roles {
                let profile: Option<TableProfile> =
                    id.as_str().and_then(|id| std::fs::read(run.profile(id)).ok()).and_then(|bytes| serde_json::from_slice(&bytes).ok());
                let columns: Vec<(String, DtypeClass)> =
                    profile.map(|p| p.columns.iter().map(|c| (c.name.clone(), dtype_class(c))).collect()).unwrap_or_default();
                let mut involved: Vec<String> = Vec::new();
                for w in &wanted {
                    if columns.iter().any(|(n, _)| n == w) && !involved.contains(w) {
                        involved.push(w.clone());
                    }
                }
                if involved.is_empty() {
                    involved = columns.iter().take(MAX_SHOWN).map(|(n, _)| n.clone()).collect();
                }
                involved.truncate(MAX_SHOWN);
                tables.push(TableVar { var: role.clone(), columns, involved });
            }
        }
        let mut cells = task.solution_cells();
        let load_cell = if cells.is_empty() { String::new() } else { cells.remove(0) };
        // Only the tables the first cell loads can be looked at in it.
        tables.retain(|t: &TableVar| load_cell.lines().any(|l| l.starts_with(&format!("{} = ", t.var))));
        let date_lines = load_cell
            .lines()
            .filter_map(|line| {
                let (target, rest) = line.split_once(" = pd.to_datetime(")?;
                let (var, column) = target.split_once('[')?;
                let column: String = serde_json::from_str(column.strip_suffix(']')?).ok()?;
                (!rest.is_empty() && tables.iter().any(|t| t.var == var)).then(|| DateLine {
                    line: line.to_string(),
                    var: var.to_string(),
                    column,
                })
            })
            .collect();
        let files = task.files().into_iter().map(|f| f.name).collect();
        Self { tables, files, load_cell, steps: cells, date_lines }
    }

    /// The load cell without its date-parsing lines.
    pub fn load_cell_without_dates(&self) -> String {
        self.load_cell.lines().filter(|l| !self.date_lines.iter().any(|d| d.line == *l)).map(|l| format!("{l}\n")).collect()
    }

    /// The files as prose: `a.csv` and `b.csv`.
    pub fn files_text(&self) -> String {
        let names: Vec<String> = self.files.iter().map(|f| format!("`{f}`")).collect();
        match names.len() {
            0 => "the data".to_string(),
            1 => names[0].clone(),
            n => format!("{} and {}", names[..n - 1].join(", "), names[n - 1]),
        }
    }

    /// The involved columns of every table, as prose.
    pub fn columns_text(&self) -> String {
        let mut names: Vec<String> = Vec::new();
        for t in &self.tables {
            for c in &t.involved {
                let n = format!("`{c}`");
                if !names.contains(&n) {
                    names.push(n);
                }
            }
        }
        match names.len() {
            0 => "the columns".to_string(),
            1 => names[0].clone(),
            n => format!("{} and {}", names[..n - 1].join(", "), names[n - 1]),
        }
    }
}

/// `["a", "b"]`.
pub(super) fn py_list(items: &[String]) -> String {
    format!("[{}]", items.iter().map(|s| py_str(s)).collect::<Vec<_>>().join(", "))
}
