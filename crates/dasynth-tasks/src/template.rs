//! Template files: a TOML front matter inside a Jinja comment, then three minijinja blocks.
//!
//! ```text
//! {#---
//! family = "data-question-answering"
//! ...
//! ---#}
//! {% block prompt %}paraphrase one
//! ---
//! paraphrase two{% endblock %}
//! {% block truth %}SELECT ... FROM df{% endblock %}
//! {% block solution %}{{ df.load }}
//! answer = ...{% endblock %}
//! ```
//!
//! The front matter stays inside the file minijinja parses, so every error points at the file's
//! own line numbers.

use crate::spec::TemplateSpec;
use minijinja::{Environment, UndefinedBehavior, Value};
use std::path::{Path, PathBuf};

/// Blocks every template defines.
pub const BLOCKS: [&str; 3] = ["prompt", "truth", "solution"];
/// The folder under the templates folder that holds role prompts (questioner, inspector).
pub const ROLES_DIR: &str = "roles";
/// The line that separates paraphrases inside the prompt block.
pub const PARAPHRASE_SEPARATOR: &str = "---";

const OPEN: &str = "{#---";
const CLOSE: &str = "---#}";

/// A template file that could not be used, with the place to look.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}:{line}: {message}", path.display())]
pub struct TemplateError {
    pub path: PathBuf,
    /// 1-based line in the file (1 when unknown).
    pub line: usize,
    pub message: String,
}

impl TemplateError {
    pub fn new(path: &Path, line: usize, message: impl Into<String>) -> Self {
        Self { path: path.to_path_buf(), line: line.max(1), message: message.into() }
    }
}

/// One parsed template.
#[derive(Debug, Clone)]
pub struct Template {
    /// `<family folder>/<file stem>`, unique in a templates folder.
    pub name: String,
    pub path: PathBuf,
    pub spec: TemplateSpec,
    pub source: String,
    /// sha256 of the file's bytes (part of every task id made from it).
    pub sha256: String,
}

impl Template {
    /// The 1-based line where `{% block NAME %}` starts.
    pub fn block_line(&self, block: &str) -> usize {
        let needle = format!("block {block}");
        self.source.lines().position(|l| l.contains(&needle)).map_or(1, |i| i + 1)
    }

    /// The 1-based line of the first use of a name inside `{{ }}` or `{% %}`.
    pub fn name_line(&self, ident: &str) -> usize {
        let body_start = self.source.find(CLOSE).map_or(0, |p| p + CLOSE.len());
        let before = self.source[..body_start].lines().count();
        for (i, l) in self.source[body_start..].lines().enumerate() {
            if contains_ident(l, ident) {
                return before + i;
            }
        }
        1
    }
}

fn contains_ident(line: &str, ident: &str) -> bool {
    let bytes = line.as_bytes();
    let mut from = 0;
    while let Some(p) = line[from..].find(ident) {
        let s = from + p;
        let e = s + ident.len();
        let ok_before = s == 0 || !(bytes[s - 1].is_ascii_alphanumeric() || bytes[s - 1] == b'_');
        let ok_after = e >= bytes.len() || !(bytes[e].is_ascii_alphanumeric() || bytes[e] == b'_');
        if ok_before && ok_after {
            return true;
        }
        from = e;
    }
    false
}

/// Parses the front matter of a template file.
pub fn parse(path: &Path, name: &str, source: String) -> Result<Template, TemplateError> {
    let Some(start) = source.find(OPEN) else {
        return Err(TemplateError::new(path, 1, format!("no front matter: the file must start with `{OPEN}`, TOML, then `{CLOSE}`")));
    };
    if !source[..start].trim().is_empty() {
        return Err(TemplateError::new(path, 1, format!("text before the front matter; the file must start with `{OPEN}`")));
    }
    let body_from = start + OPEN.len();
    let Some(len) = source[body_from..].find(CLOSE) else {
        return Err(TemplateError::new(path, 1, format!("front matter is not closed with `{CLOSE}`")));
    };
    let toml_text = &source[body_from..body_from + len];
    let first_line = source[..body_from].lines().count().max(1);
    let spec: TemplateSpec = toml::from_str(toml_text).map_err(|e| {
        let line = e.span().map_or(0, |s| toml_text[..s.start].matches('\n').count());
        TemplateError::new(path, first_line + line, format!("front matter: {}", e.message()))
    })?;
    let sha256 = dasynth_core::ids::sha256_hex(source.as_bytes());
    Ok(Template { name: name.to_string(), path: path.to_path_buf(), spec, source, sha256 })
}

/// Reads every `*.j2` under `dir/<family>/`. Files that cannot be parsed come back as errors;
/// the others still load.
pub fn load_dir(dir: &Path) -> (Vec<Template>, Vec<TemplateError>) {
    let mut templates = Vec::new();
    let mut errors = Vec::new();
    let mut files = Vec::new();
    collect(dir, &mut files, &mut errors);
    files.sort();
    for path in files {
        let rel = path.strip_prefix(dir).unwrap_or(&path);
        let name = rel.with_extension("").to_string_lossy().replace('\\', "/");
        match std::fs::read_to_string(&path) {
            Ok(source) => match parse(&path, &name, source) {
                Ok(t) => templates.push(t),
                Err(e) => errors.push(e),
            },
            Err(e) => errors.push(TemplateError::new(&path, 1, format!("cannot read: {e}"))),
        }
    }
    (templates, errors)
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>, errors: &mut Vec<TemplateError>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            errors.push(TemplateError::new(dir, 1, format!("cannot read the templates folder: {e}")));
            return;
        }
    };
    for entry in entries.flatten() {
        let p = entry.path();
        // `roles/` holds the prompts of the LLM questioner and inspector, not task templates.
        if p.is_dir() && p.file_name().is_some_and(|n| n == ROLES_DIR) {
            continue;
        }
        if p.is_dir() {
            collect(&p, files, errors);
        } else if p.extension().is_some_and(|e| e == "j2") {
            files.push(p);
        }
    }
}

/// The minijinja environment every template renders in: strict about undefined names, with the
/// filters `ident` (SQL identifier), `lit` (SQL literal), `py` (Python literal) and `num`
/// (a number for prose).
pub fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    env.add_filter("ident", |v: Value| sql_ident(&v.to_string()));
    env.add_filter("lit", |v: Value| sql_literal(&v));
    env.add_filter("py", |v: Value| py_literal(&v));
    env.add_filter("num", |v: Value| prose_number(&v));
    env
}

/// Names the renderer provides besides a template's own roles and parameters.
pub const GLOBALS: [&str; 2] = ["variant", "seed"];

pub fn sql_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn sql_literal(v: &Value) -> String {
    match v.kind() {
        minijinja::value::ValueKind::Number | minijinja::value::ValueKind::Bool => v.to_string(),
        _ => format!("'{}'", v.to_string().replace('\'', "''")),
    }
}

/// A Python literal for a string, number, boolean or none.
pub fn py_literal(v: &Value) -> String {
    use minijinja::value::ValueKind;
    match v.kind() {
        ValueKind::Number => v.to_string(),
        ValueKind::Bool => if v.is_true() { "True" } else { "False" }.to_string(),
        ValueKind::None | ValueKind::Undefined => "None".to_string(),
        ValueKind::Seq => {
            let items: Vec<String> = v.try_iter().map(|it| it.map(|x| py_literal(&x)).collect()).unwrap_or_default();
            format!("[{}]", items.join(", "))
        }
        _ => py_str(&v.to_string()),
    }
}

/// A Python string literal.
pub fn py_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("{s:?}"))
}

fn prose_number(v: &Value) -> String {
    match f64::try_from(v.clone()) {
        Ok(x) if x.fract() == 0.0 && x.abs() < 1e15 => format!("{}", x as i64),
        Ok(x) => format!("{x}"),
        Err(_) => v.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "{#---\nfamily = \"data-question-answering\"\nstage = 1\ndifficulty = \"easy\"\nanswer = \"number\"\n[tables.df]\n---#}\n{% block prompt %}x{% endblock %}";

    #[test]
    fn parses_front_matter_and_hashes_the_file() {
        let t = parse(Path::new("a.j2"), "qa/a", GOOD.to_string()).unwrap();
        assert_eq!(t.spec.stage, 1);
        assert_eq!(t.sha256.len(), 64);
        assert_eq!(t.block_line("prompt"), 8);
    }

    #[test]
    fn front_matter_errors_point_at_the_file_line() {
        let bad = GOOD.replace("stage = 1", "stage = \"one\"");
        let e = parse(Path::new("t/a.j2"), "qa/a", bad).unwrap_err();
        assert_eq!(e.line, 3, "{e}");
        assert!(e.to_string().starts_with("t/a.j2:3:"), "{e}");
        let unknown = GOOD.replace("stage = 1", "stage = 1\ncolour = 2");
        let e = parse(Path::new("a.j2"), "qa/a", unknown).unwrap_err();
        assert!(e.message.contains("colour"), "{e}");
    }

    #[test]
    fn literals_are_escaped() {
        assert_eq!(sql_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(sql_literal(&Value::from("O'Neil")), "'O''Neil'");
        assert_eq!(py_literal(&Value::from("a\"b")), "\"a\\\"b\"");
        assert_eq!(py_literal(&Value::from(3)), "3");
        assert!(contains_ident("{{ cat|ident }}", "cat"));
        assert!(!contains_ident("{{ category }}", "cat"));
    }
}
