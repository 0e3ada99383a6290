//! Binding a template's roles to real tables and columns whose profiles fit them, and sampling
//! its parameters from those profiles.

use crate::spec::{ColumnRole, DtypeClass, ParamSpec, TableRole, TemplateSpec};
use dasynth_core::profile::{ColumnProfile, TableProfile};
use dasynth_core::rng::Rng;
use serde::Serialize;
use std::collections::BTreeMap;

/// A table the binder may use.
#[derive(Debug, Clone)]
pub struct TableInfo {
    pub table_id: String,
    pub source: String,
    pub profile: TableProfile,
    /// Whether the table is a spreadsheet sheet (cells carry their own types).
    pub spreadsheet: bool,
}

/// Roles bound to one table set.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Binding {
    /// Table role → table id.
    pub tables: BTreeMap<String, String>,
    /// Column role → column name.
    pub columns: BTreeMap<String, String>,
    /// Link role → (child column, parent column).
    pub links: BTreeMap<String, (String, String)>,
}

/// Why a template cannot bind at all (a problem of the template, found by the linter too).
pub fn shape_error(spec: &TemplateSpec) -> Option<String> {
    let n = spec.tables.len();
    if n == 0 {
        return Some("declares no [tables.*] role".into());
    }
    if n > 2 {
        return Some(format!("declares {n} table roles; at most two are supported"));
    }
    if n == 2 && spec.links.is_empty() {
        return Some("two table roles need a [links.*] role that joins them".into());
    }
    for (name, l) in &spec.links {
        for t in [&l.child, &l.parent] {
            if !spec.tables.contains_key(t) {
                return Some(format!("link `{name}` names unknown table role `{t}`"));
            }
        }
        if l.child == l.parent {
            return Some(format!("link `{name}` joins table role `{}` to itself", l.child));
        }
    }
    for (name, c) in &spec.columns {
        match &c.table {
            Some(t) if !spec.tables.contains_key(t) => return Some(format!("column role `{name}` names unknown table role `{t}`")),
            None if n > 1 => return Some(format!("column role `{name}` must say which table role it belongs to (`table = ...`)")),
            _ => {}
        }
    }
    for (name, p) in &spec.params {
        let col = match p {
            ParamSpec::TopValue { column, .. } | ParamSpec::Quantile { column, .. } | ParamSpec::Year { column } => Some(column),
            _ => None,
        };
        if let Some(col) = col
            && !spec.columns.contains_key(col)
        {
            return Some(format!("parameter `{name}` draws from unknown column role `{col}`"));
        }
        if let ParamSpec::Quantile { q, .. } = p
            && let Some(bad) = q.iter().find(|q| quantile(None, q).is_none())
        {
            return Some(format!("parameter `{name}`: unknown quantile `{bad}` (use p01, p05, p25, p50, p75, p95, p99)"));
        }
    }
    None
}

fn column_role_table<'a>(spec: &'a TemplateSpec, role: &'a ColumnRole) -> &'a str {
    role.table.as_deref().or_else(|| spec.tables.keys().next().map(String::as_str)).unwrap_or("")
}

/// Physical class of a profiled column, as the task stage reads it: text that the profile parsed
/// as dates is read as dates (see `dates.rs`), so it is temporal.
pub fn dtype_class(c: &ColumnProfile) -> DtypeClass {
    let d = c.dtype.as_str();
    if crate::dates::text_date_format(c).is_some() {
        return DtypeClass::Temporal;
    }
    if d.starts_with('i') || d.starts_with('u') {
        DtypeClass::Integer
    } else if d.starts_with('f') || d.starts_with("decimal") {
        DtypeClass::Float
    } else if d == "bool" {
        DtypeClass::Boolean
    } else if d.starts_with("date") || d.starts_with("time") {
        DtypeClass::Temporal
    } else {
        DtypeClass::Text
    }
}

/// A spreadsheet column read as text although some cells are numbers, dates or booleans: pandas
/// keeps each cell's own type there, so no single answer holds for both readers.
fn mixed_spreadsheet_column(c: &ColumnProfile) -> bool {
    c.dtype == "str" && (c.quality.numeric_text > 0 || c.top_values.iter().any(|v| v.value == "true" || v.value == "false"))
}

fn column_fits(c: &ColumnProfile, role: &ColumnRole, p: &TableProfile, spreadsheet: bool) -> bool {
    let n_rows = p.n_rows;
    if spreadsheet && mixed_spreadsheet_column(c) {
        return false;
    }
    if role.correlated && !p.correlations.iter().any(|k| k.a == c.name || k.b == c.name) {
        return false;
    }
    if c.distinct_count == 0 || n_rows == 0 {
        return false;
    }
    // Columns whose cells mix types (spreadsheets) read differently in every tool, and
    // time-zone-aware instants do not survive the trip through CSV for the sandbox's pandas:
    // a task over them would have no single right answer.
    if c.quality.flags.iter().any(|f| f == "mixed_types") && !role.flags.iter().any(|f| f == "mixed_types") {
        return false;
    }
    if c.dtype.starts_with("datetime") && c.dtype.contains(',') {
        return false;
    }
    if !role.semantic.is_empty() && !role.semantic.contains(&c.semantic_type) {
        return false;
    }
    if !role.dtype.is_empty() {
        let class = dtype_class(c);
        // Dates stored as text count as temporal only when the profile parsed them.
        let ok = role.dtype.contains(&class);
        if !ok {
            return false;
        }
    }
    if let Some([lo, hi]) = role.distinct
        && (c.distinct_count < lo || c.distinct_count > hi)
    {
        return false;
    }
    let null_fraction = c.null_count as f64 / n_rows as f64;
    if null_fraction > role.max_null_fraction.unwrap_or(0.5) || c.null_count < role.min_nulls {
        return false;
    }
    if !role.flags.iter().all(|f| c.quality.flags.iter().any(|g| g == f)) {
        return false;
    }
    if let Some(days) = role.min_span_days
        && c.temporal.as_ref().is_none_or(|t| t.span_days < days)
    {
        return false;
    }
    if role.positive && c.numeric.as_ref().is_none_or(|n| n.min <= 0.0) {
        return false;
    }
    if role.unique_mode {
        match c.top_values.as_slice() {
            [a, b, ..] if a.count > b.count => {}
            [_] => {}
            _ => return false,
        }
    }
    true
}

fn table_fits(p: &TableProfile, role: &TableRole) -> bool {
    p.n_rows >= role.min_rows.max(1) && role.max_rows.is_none_or(|m| p.n_rows <= m) && (!role.needs_duplicates || p.duplicate_rows > 0)
}

/// Table roles → indexes into the tables, and link roles → (child column, parent column).
pub type TableSet = (BTreeMap<String, usize>, BTreeMap<String, (String, String)>);

/// Table assignments for a template: each maps table roles to indexes into `tables`.
/// Single-table templates get every fitting table; linked pairs follow the profiles' foreign keys.
pub fn table_sets(spec: &TemplateSpec, tables: &[TableInfo]) -> Vec<TableSet> {
    let mut out = Vec::new();
    let mut roles = spec.tables.iter();
    if let (Some((role_name, role)), None) = (roles.next(), roles.next()) {
        for (i, t) in tables.iter().enumerate() {
            if table_fits(&t.profile, role) {
                out.push((BTreeMap::from([(role_name.clone(), i)]), BTreeMap::new()));
            }
        }
        return out;
    }
    let Some((link_name, link)) = spec.links.iter().next() else { return out };
    let (Some(child_role), Some(parent_role)) = (spec.tables.get(&link.child), spec.tables.get(&link.parent)) else { return out };
    for (ci, child) in tables.iter().enumerate() {
        if !table_fits(&child.profile, child_role) {
            continue;
        }
        for fk in &child.profile.candidate_foreign_keys {
            if fk.inclusion < 1.0 {
                continue;
            }
            let Some(pi) = tables.iter().position(|t| t.table_id == fk.ref_table_id && t.source == child.source) else { continue };
            if pi == ci || !table_fits(&tables[pi].profile, parent_role) {
                continue;
            }
            out.push((
                BTreeMap::from([(link.child.clone(), ci), (link.parent.clone(), pi)]),
                BTreeMap::from([(link_name.clone(), (fk.column.clone(), fk.ref_column.clone()))]),
            ));
        }
    }
    out
}

/// Up to `cap` column assignments for one table set, in an order shuffled by `rng`.
pub fn column_sets(
    spec: &TemplateSpec,
    tables: &[TableInfo],
    set: &BTreeMap<String, usize>,
    rng: &mut Rng,
    cap: usize,
) -> Vec<BTreeMap<String, String>> {
    let roles: Vec<(&String, &ColumnRole)> = spec.columns.iter().collect();
    let mut candidates: Vec<Vec<String>> = Vec::with_capacity(roles.len());
    for (_, role) in &roles {
        let Some(&ti) = set.get(column_role_table(spec, role)) else { return Vec::new() };
        let p = &tables[ti].profile;
        let mut names: Vec<String> =
            p.columns.iter().filter(|c| column_fits(c, role, p, tables[ti].spreadsheet)).map(|c| c.name.clone()).collect();
        if names.is_empty() {
            return Vec::new();
        }
        rng.shuffle(&mut names);
        candidates.push(names);
    }
    let mut out = Vec::new();
    let mut current: Vec<(String, String)> = Vec::new();
    fn dfs(
        spec: &TemplateSpec,
        roles: &[(&String, &ColumnRole)],
        candidates: &[Vec<String>],
        k: usize,
        current: &mut Vec<(String, String)>,
        out: &mut Vec<BTreeMap<String, String>>,
        cap: usize,
    ) {
        if out.len() >= cap {
            return;
        }
        if k == roles.len() {
            out.push(current.iter().map(|(r, c)| (r.clone(), c.clone())).collect());
            return;
        }
        let table = column_role_table(spec, roles[k].1);
        for name in &candidates[k] {
            // Two roles of one table never take the same column.
            let taken = current.iter().enumerate().any(|(j, (_, c))| c == name && column_role_table(spec, roles[j].1) == table);
            if taken {
                continue;
            }
            current.push((roles[k].0.clone(), name.clone()));
            dfs(spec, roles, candidates, k + 1, current, out, cap);
            current.pop();
            if out.len() >= cap {
                return;
            }
        }
    }
    dfs(spec, &roles, &candidates, 0, &mut current, &mut out, cap);
    out
}

/// A profile quantile by name (`p25`); with no column, only checks the name.
pub fn quantile(c: Option<&ColumnProfile>, name: &str) -> Option<f64> {
    let known = ["p01", "p05", "p25", "p50", "p75", "p95", "p99"];
    if !known.contains(&name) {
        return None;
    }
    let Some(c) = c else { return Some(0.0) };
    let q = &c.numeric.as_ref()?.quantiles;
    Some(match name {
        "p01" => q.p01,
        "p05" => q.p05,
        "p25" => q.p25,
        "p50" => q.p50,
        "p75" => q.p75,
        "p95" => q.p95,
        _ => q.p99,
    })
}

/// Rounds to three significant digits (whole numbers for integral columns).
pub fn nice(x: f64, integral: bool) -> f64 {
    if integral || x == 0.0 {
        return x.round();
    }
    let mag = x.abs().log10().floor() as i32;
    let scale = 10f64.powi(2 - mag);
    let r = (x * scale).round() / scale;
    // Strip binary noise from the decimal rounding.
    format!("{r:.10}").parse().unwrap_or(r)
}

/// Draws every parameter of a template for one bound table set. `None` means the profile had
/// nothing to draw from (the binding is skipped with that reason).
pub fn sample_params(
    spec: &TemplateSpec,
    binding: &Binding,
    profiles: &BTreeMap<String, &TableProfile>,
    rng: &mut Rng,
) -> Result<BTreeMap<String, serde_json::Value>, String> {
    let column = |role: &str| -> Option<&ColumnProfile> {
        let r = spec.columns.get(role)?;
        let table_id = binding.tables.get(column_role_table(spec, r))?;
        let name = binding.columns.get(role)?;
        profiles.get(table_id)?.columns.iter().find(|c| &c.name == name)
    };
    let mut out = BTreeMap::new();
    for (name, p) in &spec.params {
        let v = match p {
            ParamSpec::TopValue { column: role, rank } => {
                let c = column(role).ok_or_else(|| format!("no column for `{role}`"))?;
                let lo = rank[0].max(1) as usize;
                let hi = (rank[1] as usize).min(c.top_values.len());
                if hi < lo {
                    return Err("no_top_values".into());
                }
                let pick = &c.top_values[lo - 1 + rng.below((hi - lo + 1) as u64) as usize];
                typed_value(c, &pick.value)
            }
            ParamSpec::Quantile { column: role, q } => {
                let c = column(role).ok_or_else(|| format!("no column for `{role}`"))?;
                let qname = &q[rng.below(q.len() as u64) as usize];
                let x = quantile(Some(c), qname).ok_or("no_numeric_stats")?;
                let integral = c.numeric.as_ref().is_some_and(|n| n.integral);
                json_number(nice(x, integral))
            }
            ParamSpec::Year { column: role } => {
                let c = column(role).ok_or_else(|| format!("no column for `{role}`"))?;
                let t = c.temporal.as_ref().ok_or("no_temporal_stats")?;
                let (a, b) = (year_of(&t.min).ok_or("no_temporal_stats")?, year_of(&t.max).ok_or("no_temporal_stats")?);
                serde_json::Value::from(a + rng.below((b - a + 1).max(1) as u64) as i64)
            }
            ParamSpec::Int { range } => serde_json::Value::from(range[0] + rng.below((range[1] - range[0] + 1).max(1) as u64) as i64),
            ParamSpec::Choice { values } => {
                if values.is_empty() {
                    return Err(format!("parameter `{name}` has no values"));
                }
                values[rng.below(values.len() as u64) as usize].clone()
            }
        };
        out.insert(name.clone(), v);
    }
    Ok(out)
}

fn year_of(iso: &str) -> Option<i64> {
    iso.get(..4)?.parse().ok()
}

fn json_number(x: f64) -> serde_json::Value {
    if x.fract() == 0.0 && x.abs() < 9e15 { serde_json::Value::from(x as i64) } else { serde_json::Value::from(x) }
}

/// A top value as the column's type: numbers for numeric columns, text otherwise.
fn typed_value(c: &ColumnProfile, text: &str) -> serde_json::Value {
    match dtype_class(c) {
        DtypeClass::Integer => text.parse::<i64>().map(serde_json::Value::from).unwrap_or_else(|_| text.into()),
        DtypeClass::Float => text.parse::<f64>().map(json_number).unwrap_or_else(|_| text.into()),
        DtypeClass::Boolean => match text {
            "true" => serde_json::Value::Bool(true),
            "false" => serde_json::Value::Bool(false),
            other => other.into(),
        },
        _ => serde_json::Value::from(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_keeps_three_significant_digits() {
        assert_eq!(nice(1234.5678, false), 1230.0);
        assert_eq!(nice(0.012345, false), 0.0123);
        assert_eq!(nice(41.7, true), 42.0);
        assert_eq!(nice(-5.678, false), -5.68);
    }
}
