//! Table answers (and the data of a chart): reading a table out of an answer, and comparing it
//! with the ground truth's `{columns, rows}`.
//!
//! A table is read from, first found: a literal (`{"columns", "rows"}`, a list of records, an
//! object of columns, an object of key → value, a list of rows); the largest markdown table
//! (the last of equal size); a data fence holding CSV or a printed pandas frame or series; lines
//! of `key: value`, or pairs in one line ("Biscoe 168, Dream 124"), for two-column tables; a CSV
//! or JSON file under `outputs/` that the answer names. Columns are matched by name, else by
//! position, else (up to four columns, unless `ordered_columns`) in another order; a leading
//! index column is ignored, and so is one extra column (not more: a table must not hedge with
//! several candidate columns). Rows are matched in
//! any order (greedily, each truth row taking the first answer row equal to it) unless
//! `ordered_rows`. Cells compare as numbers (tolerance and rounding as in [`super::numbers`]),
//! as text after [`super::text::plain`], and null against `NaN`, `None`, `null`, `-` or empty.

use super::extract::{self, Answer};
use super::literal::{self, Literal, key_form};
use super::numbers;
use super::spec::CheckerSpec;
use super::text::{plain, scalar_text};
use super::{AnswerCheck, Outcome};
use serde_json::Value;
use std::path::Path;

/// A table read from an answer: cells as written.
#[derive(Debug, Clone, PartialEq)]
pub struct Grid {
    /// Column names (empty when the table has none).
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
    pub source: &'static str,
}

impl Grid {
    pub fn width(&self) -> usize {
        self.header.len().max(self.rows.iter().map(Vec::len).max().unwrap_or(0))
    }
}

fn cell_text(s: &str) -> String {
    s.trim().trim_matches(|c: char| c == '*' || c == '`').trim().to_string()
}

/// Every markdown table in a text (a header row, a `|---|` row, then rows with a `|`).
pub fn markdown_tables(text: &str) -> Vec<Grid> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 1;
    while i < lines.len() {
        if is_separator(lines[i]) && lines[i - 1].contains('|') {
            let header = split_row(lines[i - 1]);
            let mut rows = Vec::new();
            let mut k = i + 1;
            while k < lines.len() && lines[k].contains('|') && !is_separator(lines[k]) {
                rows.push(split_row(lines[k]));
                k += 1;
            }
            out.push(Grid { header, rows, source: "markdown table" });
            i = k;
            continue;
        }
        i += 1;
    }
    out
}

/// Whether a markdown row only marks rows left out (`| … |`, `| ... |`).
fn is_ellipsis_row(row: &[String]) -> bool {
    let marks = |c: &str| matches!(c.trim(), "…" | "..." | "⋮");
    row.iter().any(|c| marks(c)) && row.iter().all(|c| c.trim().is_empty() || marks(c))
}

pub(crate) fn is_separator(line: &str) -> bool {
    let t = line.trim();
    t.contains('|') && t.contains('-') && t.chars().all(|c| matches!(c, '|' | '-' | ':' | ' ' | '\t'))
}

fn split_row(line: &str) -> Vec<String> {
    let t = line.trim();
    let t = t.strip_prefix('|').unwrap_or(t);
    let t = t.strip_suffix('|').unwrap_or(t);
    t.split('|').map(cell_text).collect()
}

/// A grid from a literal value of one of the shapes in the module docs.
pub fn literal_grid(v: &Literal) -> Option<Grid> {
    let grid = |header: Vec<String>, rows: Vec<Vec<String>>| Some(Grid { header, rows, source: "literal" });
    match v {
        Literal::Map(entries) => {
            if let (Some(Literal::List(cols)), Some(Literal::List(rows))) = (v.get("columns"), v.get("rows").or_else(|| v.get("data"))) {
                let rows: Option<Vec<Vec<String>>> = rows
                    .iter()
                    .map(|r| if let Literal::List(cells) = r { Some(cells.iter().map(Literal::text).collect()) } else { None })
                    .collect();
                return grid(cols.iter().map(Literal::text).collect(), rows?);
            }
            if entries.is_empty() {
                return None;
            }
            if entries.iter().all(|(_, v)| matches!(v, Literal::List(_))) {
                let cols: Vec<&Vec<Literal>> =
                    entries.iter().filter_map(|(_, v)| if let Literal::List(c) = v { Some(c) } else { None }).collect();
                let n = cols[0].len();
                if cols.iter().any(|c| c.len() != n) {
                    return None;
                }
                let rows = (0..n).map(|r| cols.iter().map(|c| c[r].text()).collect()).collect();
                return grid(entries.iter().map(|(k, _)| k.clone()).collect(), rows);
            }
            if entries.iter().all(|(_, v)| v.is_scalar()) {
                return grid(Vec::new(), entries.iter().map(|(k, v)| vec![k.clone(), v.text()]).collect());
            }
            None
        }
        Literal::List(items) if !items.is_empty() => {
            if let Literal::Map(first) = &items[0] {
                let header: Vec<String> = first.iter().map(|(k, _)| k.clone()).collect();
                let mut rows = Vec::new();
                for it in items {
                    let Literal::Map(_) = it else { return None };
                    rows.push(header.iter().map(|h| it.get(h).map(Literal::text).unwrap_or_default()).collect());
                }
                return grid(header, rows);
            }
            if items.iter().all(|r| matches!(r, Literal::List(_))) {
                let rows = items
                    .iter()
                    .filter_map(|r| if let Literal::List(c) = r { Some(c.iter().map(Literal::text).collect()) } else { None })
                    .collect();
                return grid(Vec::new(), rows);
            }
            None
        }
        _ => None,
    }
}

/// Splits a CSV line at commas outside double quotes.
fn csv_fields(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let c: Vec<char> = line.chars().collect();
    let mut i = 0;
    while i < c.len() {
        let ch = c[i];
        if quoted {
            if ch == '"' && i + 1 < c.len() && c[i + 1] == '"' {
                cur.push('"');
                i += 1;
            } else if ch == '"' {
                quoted = false;
            } else {
                cur.push(ch);
            }
        } else if ch == '"' {
            quoted = true;
        } else if ch == ',' {
            out.push(std::mem::take(&mut cur));
        } else {
            cur.push(ch);
        }
        i += 1;
    }
    out.push(cur);
    out.into_iter().map(|f| f.trim().to_string()).collect()
}

/// CSV text: at least two columns, every line as wide as the first (the header).
pub fn csv_grid(body: &str) -> Option<Grid> {
    let lines: Vec<&str> = body.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.len() < 2 {
        return None;
    }
    let header = csv_fields(lines[0]);
    if header.len() < 2 {
        return None;
    }
    let rows: Vec<Vec<String>> = lines[1..].iter().map(|l| csv_fields(l)).collect();
    rows.iter().all(|r| r.len() == header.len()).then_some(Grid { header, rows, source: "csv" })
}

/// Splits a printed line at runs of two or more spaces (or tabs).
fn aligned_fields(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let c: Vec<char> = line.trim().chars().collect();
    let mut i = 0;
    while i < c.len() {
        if c[i] == '\t' || (c[i] == ' ' && i + 1 < c.len() && c[i + 1] == ' ') {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            while i < c.len() && (c[i] == ' ' || c[i] == '\t') {
                i += 1;
            }
            continue;
        }
        cur.push(c[i]);
        i += 1;
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// A printed pandas frame or series: columns separated by two or more spaces, the row index
/// first (dropped), an index-name line and `Name: …, dtype: …` / `[n rows x m columns]` lines
/// left out.
pub fn printed_grid(body: &str) -> Option<Grid> {
    let lines: Vec<Vec<String>> = body
        .lines()
        .filter(|l| {
            let t = l.trim();
            let summary = t.starts_with("Name:") || t.starts_with("dtype:") || (t.starts_with('[') && t.ends_with("columns]"));
            !t.is_empty() && !summary
        })
        .map(aligned_fields)
        .collect();
    if lines.len() < 2 {
        return None;
    }
    let mut header = lines[0].clone();
    let mut rest = &lines[1..];
    // An index name on its own line: `species` under the column names.
    if rest.len() > 1 && rest[0].len() == 1 && rest[1..].iter().all(|r| r.len() == header.len() + 1) {
        header.insert(0, rest[0][0].clone());
        rest = &rest[1..];
        return Some(Grid { header, rows: rest.to_vec(), source: "printed frame" });
    }
    if rest.iter().all(|r| r.len() == header.len() + 1) {
        return Some(Grid { header, rows: rest.iter().map(|r| r[1..].to_vec()).collect(), source: "printed frame" });
    }
    if rest.iter().all(|r| r.len() == header.len()) && header.len() >= 2 {
        return Some(Grid { header, rows: rest.to_vec(), source: "printed frame" });
    }
    // A series: every line `key  value`.
    if lines.iter().all(|r| r.len() == 2) {
        return Some(Grid { header: Vec::new(), rows: lines, source: "printed series" });
    }
    None
}

/// `key: value` lines (list markers and emphasis dropped) whose value holds a number when
/// `numeric`.
fn key_value_grid(text: &str, numeric: bool) -> Option<Grid> {
    let mut rows = Vec::new();
    for line in text.lines() {
        let item = extract::list_item(line).unwrap_or_else(|| line.trim().to_string());
        let item: String = item.chars().filter(|&c| c != '*' && c != '`').collect();
        for sep in [": ", " \u{2014} ", " \u{2013} ", " - ", " = ", " \u{2192} ", " -> "] {
            if let Some(p) = item.find(sep) {
                let (k, v) = (item[..p].trim(), item[p + sep.len()..].trim());
                if !k.is_empty() && !v.is_empty() && (!numeric || !numbers::scan(v).is_empty()) {
                    rows.push(vec![k.to_string(), v.to_string()]);
                }
                break;
            }
        }
    }
    (!rows.is_empty()).then_some(Grid { header: Vec::new(), rows, source: "key-value lines" })
}

/// Pairs written in a line ("Biscoe 168, Dream 124, Torgersen 52"): of the lines with two or
/// more, the one with the most; each piece of the line's enumeration gives its last number and
/// the text before it (after a colon).
fn inline_pairs_grid(text: &str, keep: &[String]) -> Option<Grid> {
    let mut best: Option<Vec<Vec<String>>> = None;
    for line in text.lines() {
        let mut rows = Vec::new();
        for piece in extract::split_enumeration(line, keep) {
            let Some(w) = numbers::scan(&piece).pop() else { continue };
            let c: Vec<char> = piece.chars().collect();
            let mut key: String = c[..w.start].iter().collect();
            if let Some(p) = key.rfind(':')
                && !key[p + 1..].trim().is_empty()
            {
                key = key[p + 1..].to_string();
            }
            let key =
                key.trim_matches(|ch: char| ch.is_whitespace() || matches!(ch, ':' | '=' | '-' | '\u{2014}' | '\u{2013}' | '*' | '`'));
            if key.chars().any(char::is_alphanumeric) {
                rows.push(vec![key.to_string(), c[w.start..w.end].iter().collect()]);
            }
        }
        if rows.len() >= 2 && best.as_ref().is_none_or(|b| rows.len() > b.len()) {
            best = Some(rows);
        }
    }
    best.map(|rows| Grid { header: Vec::new(), rows, source: "inline pairs" })
}

/// Reads a CSV or JSON data file.
pub fn file_grid(path: &Path) -> Option<Grid> {
    let text = std::fs::read_to_string(path).ok()?;
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or_default().to_ascii_lowercase();
    let mut g = match ext.as_str() {
        "json" => literal::parse_all(text.trim()).as_ref().and_then(literal_grid),
        _ => csv_grid(&text),
    }?;
    g.source = "data file";
    Some(g)
}

/// Data files the answer names (`outputs/summary.csv`) among the written files.
pub fn named_files<'a>(answer: &Answer, files: &'a [String]) -> Vec<&'a String> {
    files
        .iter()
        .filter(|f| {
            let lower = f.to_ascii_lowercase();
            (lower.ends_with(".csv") || lower.ends_with(".json")) && answer.raw.contains(f.as_str())
        })
        .collect()
}

/// The table an answer gives, from the sources in the module docs (files only with
/// `outputs_dir`).
pub fn find_grid(answer: &Answer, truth: &TruthShape, files: &[String], outputs_dir: Option<&Path>) -> Option<Grid> {
    let (truth_width, numeric_second) = (truth.width, truth.numeric_second);
    for (lit, _) in extract::literals(answer, true) {
        if let Some(g) = literal_grid(&lit).filter(|g| !g.rows.is_empty()) {
            return Some(g);
        }
    }
    let tables = markdown_tables(&answer.raw);
    if let Some(g) = tables.iter().filter(|g| !g.rows.is_empty()).max_by_key(|g| g.rows.len()) {
        if !g.rows.iter().any(|r| is_ellipsis_row(r)) {
            return Some(g.clone());
        }
        // A table with a `…` row is a preview: the full table in a file the answer names wins.
        if let Some(full) = outputs_dir.and_then(|dir| named_files(answer, files).into_iter().find_map(|f| file_grid(&dir.join(f)))) {
            return Some(full);
        }
        let rows = g.rows.iter().filter(|r| !is_ellipsis_row(r)).cloned().collect();
        return Some(Grid { header: g.header.clone(), rows, source: "markdown table, shortened" });
    }
    for body in answer.data_fences() {
        if let Some(g) = csv_grid(body).or_else(|| printed_grid(body)) {
            return Some(g);
        }
    }
    if truth_width == 2 {
        if let Some(g) = key_value_grid(&answer.prose, numeric_second).filter(|g| g.rows.len() >= 2) {
            return Some(g);
        }
        if numeric_second && let Some(g) = inline_pairs_grid(&answer.statement(), &truth.keys) {
            return Some(g);
        }
    }
    let dir = outputs_dir?;
    named_files(answer, files).into_iter().find_map(|f| file_grid(&dir.join(f)))
}

const NULL_WORDS: [&str; 12] = ["", "nan", "none", "null", "missing", "n/a", "na", "-", "\u{2014}", "nat", "<na>", "\u{2013}"];

/// Whether a written cell states a value of the ground truth.
pub fn cell_matches(spec: &CheckerSpec, cell: &str, truth: &Value) -> bool {
    let p = plain(cell);
    match truth {
        Value::Null => NULL_WORDS.contains(&p.as_str()),
        Value::Number(n) => {
            let Some(t) = n.as_f64() else { return false };
            numbers::scan(cell).first().is_some_and(|w| numbers::matches(spec, w, t))
        }
        Value::Bool(b) => {
            let yes = ["true", "yes", "1"];
            let no = ["false", "no", "0"];
            if *b { yes.contains(&p.as_str()) } else { no.contains(&p.as_str()) }
        }
        Value::String(s) => {
            if p == plain(s) {
                return true;
            }
            match s.trim().parse::<f64>() {
                Ok(t) if t.is_finite() => numbers::scan(cell).first().is_some_and(|w| numbers::matches(spec, w, t)),
                _ => false,
            }
        }
        other => p == plain(&scalar_text(other)),
    }
}

fn index_like(g: &Grid) -> bool {
    let name = g.header.first().map(|h| key_form(h)).unwrap_or_default();
    if ["", "index", "#", "rank", "no", "no.", "row"].contains(&name.as_str()) && !g.header.is_empty() {
        return true;
    }
    let cells: Vec<Option<f64>> = g.rows.iter().map(|r| r.first().and_then(|c| c.trim().parse::<f64>().ok())).collect();
    let from = |s: f64| cells.iter().enumerate().all(|(i, c)| *c == Some(i as f64 + s));
    !cells.is_empty() && (from(0.0) || from(1.0))
}

/// Lexicographic permutations of `0..n`.
fn permutations(n: usize) -> Vec<Vec<usize>> {
    if n == 0 {
        return vec![Vec::new()];
    }
    let mut out = Vec::new();
    for first in 0..n {
        for rest in permutations(n - 1) {
            let mut p = vec![first];
            p.extend(rest.into_iter().map(|x| if x >= first { x + 1 } else { x }));
            out.push(p);
        }
    }
    out
}

/// An extra answer column is searched for (every injection of the truth's columns) only up to
/// this many rows.
const MAX_SEARCH_ROWS: usize = 200;

/// Every way to pick `n` distinct columns out of `width`, in lexicographic order (increasing
/// ones only with `increasing`).
fn injections(n: usize, width: usize, increasing: bool) -> Vec<Vec<usize>> {
    fn rec(prefix: &mut Vec<usize>, n: usize, width: usize, increasing: bool, out: &mut Vec<Vec<usize>>) {
        if prefix.len() == n {
            out.push(prefix.clone());
            return;
        }
        for x in 0..width {
            if prefix.contains(&x) || (increasing && prefix.last().is_some_and(|&l| x < l)) {
                continue;
            }
            prefix.push(x);
            rec(prefix, n, width, increasing, out);
            prefix.pop();
        }
    }
    let mut out = Vec::new();
    rec(&mut Vec::new(), n, width, increasing, &mut out);
    out
}

/// Ways to map the truth's columns onto the grid's, most likely first: by name; by position;
/// by position after a leading index column; other orders (unless `ordered_columns`); and, when
/// the answer has one extra column, every choice of columns among them.
fn column_maps(spec: &CheckerSpec, g: &Grid, truth_cols: &[String]) -> Vec<Vec<usize>> {
    let n = truth_cols.len();
    let width = g.width();
    let mut maps: Vec<Vec<usize>> = Vec::new();
    if !spec.ordered_columns && !g.header.is_empty() {
        let names: Vec<String> = g.header.iter().map(|h| key_form(h)).collect();
        let by_name: Option<Vec<usize>> = truth_cols.iter().map(|t| names.iter().position(|h| *h == key_form(t))).collect();
        if let Some(m) = by_name {
            maps.push(m);
        }
    }
    if width == n {
        maps.push((0..n).collect());
    }
    if width == n + 1 && index_like(g) {
        maps.push((1..=n).collect());
    }
    if width == n && !spec.ordered_columns && (2..=4).contains(&n) {
        maps.extend(permutations(n).into_iter().skip(1));
    }
    // One extra column at most: more would let a table hedge with several candidate columns.
    if width == n + 1 && n <= 4 && g.rows.len() <= MAX_SEARCH_ROWS {
        maps.extend(injections(n, width, spec.ordered_columns));
    }
    let mut seen = Vec::new();
    maps.retain(|m| {
        let new = !seen.contains(m);
        seen.push(m.clone());
        new
    });
    maps
}

/// Cell comparisons, computed once per (answer row, answer column, truth row, truth column).
type Memo = std::collections::HashMap<(usize, usize, usize, usize), bool>;

/// Compares rows under one column map; `Err` says the first truth row with no equal answer row.
fn rows_match(spec: &CheckerSpec, g: &Grid, truth_rows: &[Vec<Value>], map: &[usize], memo: &mut Memo) -> Result<(), String> {
    let mut row_eq = |r: usize, t: usize| {
        map.iter().enumerate().take(truth_rows[t].len()).all(|(j, &c)| {
            *memo
                .entry((r, c, t, j))
                .or_insert_with(|| cell_matches(spec, g.rows[r].get(c).map(String::as_str).unwrap_or(""), &truth_rows[t][j]))
        })
    };
    if spec.ordered_rows {
        return match (0..g.rows.len().min(truth_rows.len())).find(|&r| !row_eq(r, r)) {
            Some(r) => Err(format!("row {} is [{}], expected {}", r + 1, g.rows[r].join(", "), Value::from(truth_rows[r].clone()))),
            None => Ok(()),
        };
    }
    // First the rows that state a truth row without the tolerance, found through an index of
    // the first mapped column; then the rest within the tolerance, first fit. (First fit alone
    // lets a truth row take a neighbour's row that is within the tolerance: 99 for 100.)
    let strict = CheckerSpec { tolerance: 0.0, abs_tolerance: 0.0, ..spec.clone() };
    let mut strict_memo = Memo::new();
    let mut strict_eq = |r: usize, t: usize| {
        map.iter().enumerate().take(truth_rows[t].len()).all(|(j, &c)| {
            *strict_memo
                .entry((r, c, t, j))
                .or_insert_with(|| cell_matches(&strict, g.rows[r].get(c).map(String::as_str).unwrap_or(""), &truth_rows[t][j]))
        })
    };
    let first_col = map.first().copied();
    let mut index: std::collections::HashMap<String, Vec<usize>> = std::collections::HashMap::new();
    if let Some(c) = first_col {
        for (r, row) in g.rows.iter().enumerate() {
            for k in cell_keys(row.get(c).map(String::as_str).unwrap_or("")) {
                index.entry(k).or_default().push(r);
            }
        }
    }
    let mut used = vec![false; g.rows.len()];
    let mut matched = vec![false; truth_rows.len()];
    for (t, truth_row) in truth_rows.iter().enumerate() {
        let Some(candidates) = truth_row.first().and_then(truth_key).and_then(|k| index.get(&k)) else { continue };
        if let Some(&r) = candidates.iter().find(|&&r| !used[r] && strict_eq(r, t)) {
            used[r] = true;
            matched[t] = true;
        }
    }
    for (t, truth_row) in truth_rows.iter().enumerate().filter(|(t, _)| !matched[*t]) {
        match (0..g.rows.len()).find(|&r| !used[r] && row_eq(r, t)) {
            Some(r) => used[r] = true,
            None => return Err(format!("no row of the answer matches {}", Value::from(truth_row.clone()))),
        }
    }
    Ok(())
}

/// The index keys of an answer cell: its plain text, and the first number it states.
fn cell_keys(cell: &str) -> Vec<String> {
    let mut keys = vec![format!("t:{}", plain(cell))];
    if let Some(w) = numbers::scan(cell).first() {
        keys.push(format!("n:{}", w.value));
    }
    keys
}

/// The index key a truth cell is looked up by (none for cells only the tolerant pass matches).
fn truth_key(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) => n.as_f64().map(|x| format!("n:{x}")),
        Value::String(s) => Some(format!("t:{}", plain(s))),
        _ => None,
    }
}

/// Compares a grid with a `{columns, rows}` ground truth.
pub fn compare(spec: &CheckerSpec, g: &Grid, truth: &Value) -> AnswerCheck {
    let Some((cols, rows)) = truth_table(truth) else {
        return AnswerCheck::wrong("the ground truth is not a table (columns and rows)", None);
    };
    let shown = Some(format!("{} rows \u{d7} {} columns ({})", g.rows.len(), g.width(), g.source));
    let rows_answer: Vec<Vec<String>> = g.rows.iter().filter(|r| r.iter().any(|c| !c.trim().is_empty())).cloned().collect();
    let g = Grid { header: g.header.clone(), rows: rows_answer, source: g.source };
    if g.rows.len() != rows.len() {
        return AnswerCheck::wrong(format!("expected {} rows, the answer's table ({}) has {}", rows.len(), g.source, g.rows.len()), shown);
    }
    let maps = column_maps(spec, &g, &cols);
    if maps.is_empty() {
        return AnswerCheck::wrong(
            format!(
                "expected {} columns ({}), the answer's table ({}) has {} ({})",
                cols.len(),
                cols.join(", "),
                g.source,
                g.width(),
                g.header.join(", ")
            ),
            shown,
        );
    }
    let mut first_err = None;
    let mut memo = Memo::new();
    for m in &maps {
        match rows_match(spec, &g, &rows, m, &mut memo) {
            Ok(()) => return AnswerCheck::pass(format!("every row matches ({})", g.source), shown),
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    AnswerCheck::wrong(first_err.unwrap_or_default(), shown)
}

/// What reading a table needs to know of the ground truth's shape.
pub struct TruthShape {
    pub width: usize,
    /// Every row's second cell is a number.
    pub numeric_second: bool,
    /// The first column's text values (kept whole when splitting enumerations).
    pub keys: Vec<String>,
}

impl TruthShape {
    pub fn of(cols: &[String], rows: &[Vec<Value>]) -> Self {
        Self {
            width: cols.len(),
            numeric_second: rows.iter().all(|r| r.get(1).is_some_and(Value::is_number)),
            keys: rows.iter().filter_map(|r| r.first().and_then(Value::as_str).map(str::to_string)).collect(),
        }
    }
}

/// The column names and rows of a `{columns, rows}` value.
pub fn truth_table(truth: &Value) -> Option<(Vec<String>, Vec<Vec<Value>>)> {
    let cols: Vec<String> = truth.get("columns")?.as_array()?.iter().map(scalar_text).collect();
    let rows: Option<Vec<Vec<Value>>> = truth.get("rows")?.as_array()?.iter().map(|r| r.as_array().cloned()).collect();
    Some((cols, rows?))
}

/// Table answers: a table read from the answer against the ground truth; a one-row truth may
/// also be stated in prose (each cell as a fact).
pub fn check_table(spec: &CheckerSpec, truth: &Value, answer: &Answer, files: &[String], outputs_dir: Option<&Path>) -> AnswerCheck {
    let Some((cols, rows)) = truth_table(truth) else {
        return AnswerCheck::wrong("the ground truth is not a table (columns and rows)", None);
    };
    match find_grid(answer, &TruthShape::of(&cols, &rows), files, outputs_dir) {
        Some(g) => compare(spec, &g, truth),
        None => one_row_facts(spec, &cols, &rows, answer)
            .unwrap_or_else(|| AnswerCheck::unextractable("no table can be read from the answer (markdown, JSON, CSV or a printed frame)")),
    }
}

/// A one-row ground truth stated in prose: every cell as a fact of a report.
pub fn one_row_facts(spec: &CheckerSpec, cols: &[String], rows: &[Vec<Value>], answer: &Answer) -> Option<AnswerCheck> {
    if rows.len() != 1 {
        return None;
    }
    let facts: serde_json::Map<String, Value> = cols.iter().cloned().zip(rows[0].iter().cloned()).collect();
    let check = super::facts::check_facts(spec, &Value::Object(facts), &answer.prose);
    (check.outcome != Outcome::Unextractable).then_some(check)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{AnswerType, CheckerOptions};
    use serde_json::json;

    fn spec() -> CheckerSpec {
        CheckerSpec::new(AnswerType::Table, &CheckerOptions::default())
    }

    #[test]
    fn tables_are_read_from_markdown_literals_csv_and_prints() {
        let md = "Here:\n\n| # | species | mean |\n|---|:---|---:|\n| 1 | **Adelie** | 3,700.66 |\n| 2 | Gentoo | 5076.0 |\n";
        let g = markdown_tables(md).remove(0);
        assert_eq!(g.rows[0], vec!["1", "Adelie", "3,700.66"]);
        let rec = literal::parse_all(r#"[{"species": "Adelie", "mean": 3700.66}]"#).unwrap();
        assert_eq!(literal_grid(&rec).unwrap().header, vec!["species", "mean"]);
        let printed = "     species         mean\n0     Adelie  3700.662252\n1     Gentoo  5076.016260\n";
        assert_eq!(printed_grid(printed).unwrap().rows[1], vec!["Gentoo", "5076.016260"]);
        let series = "species\nAdelie    3700.66\nGentoo    5076.02\nName: body_mass_g, dtype: float64";
        assert_eq!(printed_grid(series).unwrap().rows.len(), 2);
        assert_eq!(csv_grid("a,b\n\"x, y\",2\n").unwrap().rows[0], vec!["x, y", "2"]);
    }

    #[test]
    fn rows_within_the_tolerance_of_each_other_each_find_their_own() {
        // With 1% tolerance, 99 states 100 too: first fit gave row 99 to the truth row 100.
        let rows: Vec<Value> = (90..110).map(|k| json!([k, k % 3])).collect();
        let truth = json!({"columns": ["k", "n"], "rows": rows});
        let mut text = String::from("| k | n |\n|---|---|\n");
        for k in (90..110).rev() {
            text.push_str(&format!("| {k} | {} |\n", k % 3));
        }
        let c = check_table(&spec(), &truth, &Answer::new(&text), &[], None);
        assert!(c.passed(), "{}", c.reason);
    }

    #[test]
    fn a_shortened_table_defers_to_the_file_it_names() {
        let truth = json!({"columns": ["k", "n"], "rows": (0..12).map(|i| json!([i, i * 2])).collect::<Vec<_>>()});
        let mut text = String::from("| k | n |\n|---|---|\n");
        for i in 0..10 {
            text.push_str(&format!("| {i} | {} |\n", i * 2));
        }
        text.push_str("| … |\n\nThe full table has 12 rows, saved as `outputs/answer.csv`.");
        let a = Answer::new(&text);
        let files = vec!["answer.csv".to_string()];
        let short = check_table(&spec(), &truth, &a, &files, None);
        assert_eq!(short.outcome, Outcome::Wrong);
        assert!(short.reason.contains("10"), "{}", short.reason);
        let dir = tempfile::tempdir().unwrap();
        let csv: String = std::iter::once("k,n\n".to_string()).chain((0..12).map(|i| format!("{i},{}\n", i * 2))).collect();
        std::fs::write(dir.path().join("answer.csv"), csv).unwrap();
        assert!(check_table(&spec(), &truth, &a, &files, Some(dir.path())).passed());
    }

    #[test]
    fn columns_match_by_name_position_or_order_and_rows_in_any_order() {
        let truth = json!({"columns": ["species", "mean"], "rows": [["Adelie", 3700.662], ["Gentoo", 5076.016]]});
        let a = Answer::new("| mean | species |\n|--|--|\n| 5076.02 | Gentoo |\n| 3700.66 | Adelie |");
        assert!(check_table(&spec(), &truth, &a, &[], None).passed());
        let a = Answer::new("| group | avg |\n|--|--|\n| Gentoo | 5076.02 |\n| Adelie | 3800 |");
        assert_eq!(check_table(&spec(), &truth, &a, &[], None).outcome, Outcome::Wrong);
        let a = Answer::new("| group | avg |\n|--|--|\n| Gentoo | 5076.02 |");
        assert_eq!(check_table(&spec(), &truth, &a, &[], None).outcome, Outcome::Wrong);
        assert_eq!(check_table(&spec(), &truth, &Answer::new("no table"), &[], None).outcome, Outcome::Unextractable);
        let extra = Answer::new("| group | avg | n |\n|--|--|--|\n| Gentoo | 5076.02 | 3 |\n| Adelie | 3700.66 | 4 |");
        assert!(check_table(&spec(), &truth, &extra, &[], None).passed());
        let hedge = Answer::new("| group | a | b | c |\n|--|--|--|--|\n| Gentoo | 1 | 5076.02 | 3 |\n| Adelie | 3700.66 | 2 | 4 |");
        assert!(!check_table(&spec(), &truth, &hedge, &[], None).passed());
        let ordered = CheckerSpec { ordered_rows: true, ..spec() };
        let a = Answer::new("| species | mean |\n|--|--|\n| Gentoo | 5076.02 |\n| Adelie | 3700.66 |");
        assert!(!check_table(&ordered, &truth, &a, &[], None).passed());
        assert!(check_table(&spec(), &truth, &a, &[], None).passed());
    }
}
