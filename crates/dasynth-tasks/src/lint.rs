//! `dasynth templates check`: every template is checked without any data — front matter against
//! its schema, role shapes, minijinja syntax, names used but never declared, each block rendered
//! strictly with placeholder values, and the truth SQL run by polars over empty tables with the
//! declared columns — and every problem points at the file and line.

use crate::bind;
use crate::spec::{AnswerType, DtypeClass, ParamSpec, TemplateSpec};
use crate::template::{self, BLOCKS, GLOBALS, Template, TemplateError};
use crate::truth;
use dasynth_core::profile::SemanticType;
use minijinja::Environment;
use polars::prelude::*;
use std::collections::BTreeMap;
use std::path::Path;

/// Loads a folder and keeps only the templates that pass every check.
pub fn load_checked(dir: &Path) -> (Vec<Template>, Vec<TemplateError>) {
    let (templates, mut errors) = template::load_dir(dir);
    let mut ok = Vec::new();
    for t in templates {
        let problems = check(&t);
        if problems.is_empty() {
            ok.push(t);
        } else {
            errors.extend(problems);
        }
    }
    (ok, errors)
}

/// An environment holding the given templates (those minijinja rejects are reported and left out).
pub fn environment_with(templates: &[Template], errors: &mut Vec<TemplateError>) -> Environment<'static> {
    let mut env = template::environment();
    for t in templates {
        if let Err(e) = env.add_template_owned(t.name.clone(), t.source.clone()) {
            errors.push(TemplateError::new(&t.path, e.line().unwrap_or(1), e.to_string()));
        }
    }
    env
}

/// Every problem of one template.
pub fn check(t: &Template) -> Vec<TemplateError> {
    let mut errors = Vec::new();
    let err = |line: usize, msg: String| TemplateError::new(&t.path, line, msg);
    let spec = &t.spec;
    if !(1..=3).contains(&spec.stage) {
        errors.push(err(t.name_line("stage").max(2), format!("stage {} is not 1, 2 or 3", spec.stage)));
    }
    let folder = t.name.split('/').next().unwrap_or_default();
    if folder != spec.family.as_str() {
        errors.push(err(2, format!("the template sits in folder `{folder}` but declares family `{}`", spec.family.as_str())));
    }
    if let Some(msg) = bind::shape_error(spec) {
        errors.push(err(2, msg));
        return errors;
    }
    match spec.answer {
        AnswerType::File if spec.checker.file.is_none() => {
            errors.push(err(2, "a `file` answer needs `[checker] file = \"name.png\"`".into()))
        }
        AnswerType::Metric if spec.checker.higher_is_better.is_none() || spec.checker.metric.is_none() => {
            errors.push(err(2, "a `metric` answer needs `[checker] metric` and `higher-is-better`".into()))
        }
        _ => {}
    }
    if let Some(k) = &spec.checker.top_k
        && k.parse::<usize>().is_err()
        && !spec.params.contains_key(k)
    {
        errors.push(err(2, format!("`top-k = {k:?}` is neither a number nor a parameter")));
    }
    let mut env = template::environment();
    if let Err(e) = env.add_template_owned(t.name.clone(), t.source.clone()) {
        errors.push(err(e.line().unwrap_or(1), format!("template syntax: {}", e.detail().unwrap_or(&e.to_string()))));
        return errors;
    }
    let Ok(tmpl) = env.get_template(&t.name) else { return errors };
    let declared: Vec<&str> = spec
        .tables
        .keys()
        .chain(spec.columns.keys())
        .chain(spec.links.keys())
        .chain(spec.params.keys())
        .map(String::as_str)
        .chain(GLOBALS)
        .collect();
    let mut undeclared: Vec<String> = tmpl.undeclared_variables(false).into_iter().filter(|v| !declared.contains(&v.as_str())).collect();
    undeclared.sort();
    for v in &undeclared {
        errors.push(err(t.name_line(v), format!("`{v}` is not a declared table, column, link or parameter role")));
    }
    if !undeclared.is_empty() {
        return errors;
    }
    let ctx = placeholder_context(spec);
    for block in BLOCKS {
        let line = t.block_line(block);
        if !t.source.contains(&format!("block {block}")) {
            errors.push(err(1, format!("missing `{{% block {block} %}}`")));
            continue;
        }
        for variant in 0..3u32 {
            let mut c = ctx.clone();
            c.insert("variant".into(), serde_json::Value::from(variant));
            let rendered = tmpl.render_captured(serde_json::Value::Object(c)).and_then(|mut r| r.with_state_mut(|s| s.render_block(block)));
            match rendered {
                Err(e) => {
                    errors.push(err(e.line().unwrap_or(line), format!("block `{block}`: {}", e.detail().unwrap_or(&e.to_string()))));
                    break;
                }
                Ok(text) if block == "truth" && variant == 0 => {
                    if let Err(e) = truth::run_sql(&placeholder_frames(spec), &text) {
                        errors.push(err(line, format!("truth query fails on the declared columns: {e}")));
                    }
                    for alias in grouped_aliases(&text) {
                        errors.push(err(
                            line,
                            format!("the truth query groups by `{alias}`, which a table column of that name would take over: name it `__{alias}`"),
                        ));
                    }
                }
                Ok(text) if block == "prompt" && variant == 0 && crate::split_paraphrases(&text).is_empty() => {
                    errors.push(err(line, "the prompt block is empty".into()));
                }
                Ok(text) if block == "solution" && variant == 0 && !text.contains("answer") => {
                    errors.push(err(line, "the solution never sets `answer`".into()));
                }
                Ok(_) => {}
            }
        }
    }
    errors
}

/// Output names (`AS name`, not starting with `__`) that a `GROUP BY` uses. A table with a
/// column of the same name (`month`, `year`, `day` are common) makes the query group by that
/// column instead.
fn grouped_aliases(sql: &str) -> Vec<String> {
    let words: Vec<&str> = sql.split(|c: char| !(c.is_alphanumeric() || c == '_')).filter(|w| !w.is_empty()).collect();
    let is = |w: &str, k: &str| w.eq_ignore_ascii_case(k);
    let aliases: Vec<&str> = words.windows(2).filter(|w| is(w[0], "AS") && !w[1].starts_with("__")).map(|w| w[1]).collect();
    let mut out: Vec<String> = Vec::new();
    for (i, w) in words.windows(2).enumerate() {
        if !(is(w[0], "GROUP") && is(w[1], "BY")) {
            continue;
        }
        let ends = ["ORDER", "HAVING", "LIMIT", "SELECT", "FROM", "WHERE", "UNION", "WINDOW"];
        for item in words[i + 2..].iter().take_while(|x| !ends.iter().any(|e| is(x, e))) {
            if aliases.contains(item) && !out.iter().any(|o| o == item) {
                out.push((*item).to_string());
            }
        }
    }
    out
}

fn placeholder_context(spec: &TemplateSpec) -> serde_json::Map<String, serde_json::Value> {
    let mut ctx = serde_json::Map::new();
    for role in spec.tables.keys() {
        ctx.insert(
            role.clone(),
            serde_json::json!({"file": format!("{role}.csv"), "ref": format!("`{role}.csv`"), "name": role, "rows": 100, "columns": 5,
                "load": format!("{role} = pd.read_csv(\"{role}.csv\")\n"),
                "sql_columns": "\"x\"", "numeric_columns": ["x", "y"]}),
        );
    }
    for role in spec.columns.keys() {
        ctx.insert(role.clone(), serde_json::Value::from(role.as_str()));
    }
    for role in spec.links.keys() {
        ctx.insert(role.clone(), serde_json::json!({"child": format!("{role}_child"), "parent": format!("{role}_parent")}));
    }
    for (name, p) in &spec.params {
        let v = match p {
            ParamSpec::TopValue { column, .. } => match spec.columns.get(column).map(role_dtype) {
                Some(DataType::Float64) => serde_json::Value::from(1),
                _ => serde_json::Value::from("value"),
            },
            ParamSpec::Quantile { .. } => serde_json::Value::from(1.5),
            ParamSpec::Year { .. } => serde_json::Value::from(2000),
            ParamSpec::Int { range } => serde_json::Value::from(range[0]),
            ParamSpec::Choice { values } => values.first().cloned().unwrap_or(serde_json::Value::Null),
        };
        ctx.insert(name.clone(), v);
    }
    ctx.insert("seed".into(), serde_json::Value::from("0:0"));
    ctx
}

fn role_dtype(role: &crate::spec::ColumnRole) -> DataType {
    let numeric_sem = [SemanticType::Numeric, SemanticType::Currency, SemanticType::Percentage];
    let temporal_sem = [SemanticType::Date, SemanticType::Datetime];
    if role.dtype.contains(&DtypeClass::Temporal) || (!role.semantic.is_empty() && role.semantic.iter().all(|s| temporal_sem.contains(s))) {
        DataType::Datetime(TimeUnit::Microseconds, None)
    } else if role.dtype.iter().any(|d| matches!(d, DtypeClass::Integer | DtypeClass::Float))
        || (!role.semantic.is_empty() && role.semantic.iter().all(|s| numeric_sem.contains(s)))
    {
        DataType::Float64
    } else if role.dtype == [DtypeClass::Boolean] {
        DataType::Boolean
    } else {
        DataType::String
    }
}

/// Empty tables with the declared columns (named after their roles), for checking the SQL.
fn placeholder_frames(spec: &TemplateSpec) -> BTreeMap<String, DataFrame> {
    let mut frames = BTreeMap::new();
    let only = spec.tables.keys().next().cloned().unwrap_or_default();
    for table in spec.tables.keys() {
        let mut cols: Vec<Column> = Vec::new();
        for (name, role) in &spec.columns {
            if role.table.as_deref().unwrap_or(&only) == table {
                cols.push(Column::new_empty(name.as_str().into(), &role_dtype(role)));
            }
        }
        for (name, link) in &spec.links {
            if &link.child == table {
                cols.push(Column::new_empty(format!("{name}_child").into(), &DataType::Int64));
            }
            if &link.parent == table {
                cols.push(Column::new_empty(format!("{name}_parent").into(), &DataType::Int64));
            }
        }
        for extra in ["x", "y"] {
            if !spec.columns.contains_key(extra) {
                cols.push(Column::new_empty(extra.into(), &DataType::Float64));
            }
        }
        cols.push(Column::new_empty(truth::ROW_INDEX.into(), &DataType::Int64));
        let df = DataFrame::new_infer_height(cols).unwrap_or_default();
        frames.insert(table.clone(), df);
    }
    frames
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
        let p = dir.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        p
    }

    const HEAD: &str = "{#---\nfamily = \"data-question-answering\"\nstage = 1\ndifficulty = \"easy\"\nanswer = \"number\"\n[tables.df]\n[columns.num]\nsemantic = [\"numeric\"]\n---#}\n";

    #[test]
    fn a_good_template_passes() {
        let dir = tempfile::tempdir().unwrap();
        let body = "{% block prompt %}Mean of {{ num }}?\n---\nAverage {{ num }}?{% endblock %}\n{% block truth %}SELECT AVG({{ num|ident }}) FROM df{% endblock %}\n{% block solution %}{{ df.load }}answer = df[{{ num|py }}].mean(){% endblock %}\n";
        write(dir.path(), "data-question-answering/mean.j2", &format!("{HEAD}{body}"));
        let (ok, errors) = load_checked(dir.path());
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(ok.len(), 1);
    }

    #[test]
    fn problems_name_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let undefined = "{% block prompt %}Mean\nof {{ nmu }}?{% endblock %}\n{% block truth %}SELECT 1{% endblock %}\n{% block solution %}answer = 1{% endblock %}\n";
        write(dir.path(), "data-question-answering/undefined.j2", &format!("{HEAD}{undefined}"));
        let syntax = "{% block prompt %}Mean of {{ num }{% endblock %}\n";
        write(dir.path(), "data-question-answering/syntax.j2", &format!("{HEAD}{syntax}"));
        let missing_column = "{% block prompt %}x{% endblock %}\n{% block truth %}\nSELECT AVG(price) FROM df{% endblock %}\n{% block solution %}answer = 1{% endblock %}\n";
        write(dir.path(), "data-question-answering/missing.j2", &format!("{HEAD}{missing_column}"));
        let wrong_role = HEAD.replace("[columns.num]", "[columns.num]\ntable = \"other\"");
        write(dir.path(), "data-question-answering/role.j2", &format!("{wrong_role}{{% block prompt %}}x{{% endblock %}}"));
        let (ok, errors) = load_checked(dir.path());
        assert!(ok.is_empty());
        let text: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        let find = |needle: &str| text.iter().find(|t| t.contains(needle)).cloned().unwrap_or_else(|| panic!("no {needle} in {text:?}"));
        assert!(find("undefined.j2").contains(":11:"), "{text:?}");
        assert!(find("undefined.j2").contains("nmu"));
        assert!(find("syntax.j2").contains(":10:"), "{text:?}");
        assert!(find("missing.j2").contains("price"), "{text:?}");
        assert!(find("role.j2").contains("unknown table role `other`"), "{text:?}");
    }

    #[test]
    fn grouping_by_an_output_name_a_column_could_take_is_flagged() {
        assert_eq!(grouped_aliases("SELECT EXTRACT(YEAR FROM w) AS year, AVG(x) AS m FROM df GROUP BY year ORDER BY m"), vec!["year"]);
        assert!(grouped_aliases("SELECT EXTRACT(YEAR FROM w) AS __year, AVG(x) AS m FROM df GROUP BY __year ORDER BY m").is_empty());
        assert!(grouped_aliases("SELECT cat AS g, COUNT(*) AS n FROM df GROUP BY cat ORDER BY n DESC").is_empty());
        assert_eq!(grouped_aliases("SELECT a AS k, b AS j, COUNT(*) FROM df GROUP BY k, j HAVING COUNT(*) > 1"), vec!["k", "j"]);
    }
}
