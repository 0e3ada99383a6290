//! The two optional LLM roles around the agent loop, as in DeepAnalyze: a *questioner* that writes
//! open tasks (with a checklist) from a table's profile, and an *inspector* that accepts or
//! rejects a finished trajectory against that checklist (or, for template tasks, against the
//! ground truth). Their prompts are minijinja files in `templates/roles/`.

use dasynth_core::catalog::CatalogEntry;
use dasynth_core::layout::RunDir;
use dasynth_core::profile::TableProfile;
use dasynth_core::trajectory::{Inspection, Trajectory};
use dasynth_llm::{ChatRequest, Client, Message};
use dasynth_tasks::spec::Family;
use dasynth_tasks::task::Task;
use std::path::Path;

/// Families the questioner writes for, in turn.
const OPEN_FAMILIES: [Family; 3] = [Family::OpenEndedResearch, Family::DataInsight, Family::DataAnalysis];

/// A role call that did not give a usable answer.
#[derive(Debug, thiserror::Error)]
pub enum RoleError {
    #[error("{}: cannot read the role prompt", path.display())]
    Read {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}:{line}: {message}\nhint: `dasynth templates check` lints role prompts too", path.display())]
    Template { path: std::path::PathBuf, line: usize, message: String },
    #[error(transparent)]
    Llm(#[from] dasynth_llm::LlmError),
    #[error("{0}")]
    Reply(String),
}

/// Renders the role prompt `templates/roles/<role>.j2` with a context.
pub fn render(templates: &Path, role: &str, ctx: serde_json::Value) -> Result<String, RoleError> {
    let path = templates.join(dasynth_tasks::template::ROLES_DIR).join(format!("{role}.j2"));
    let source = std::fs::read_to_string(&path).map_err(|source| RoleError::Read { path: path.clone(), source })?;
    let terr = |e: minijinja::Error| RoleError::Template { path: path.clone(), line: e.line().unwrap_or(1), message: e.to_string() };
    let mut env = dasynth_tasks::template::environment();
    env.add_template_owned(role.to_string(), source).map_err(terr)?;
    let tmpl = env.get_template(role).map_err(terr)?;
    tmpl.render(ctx).map_err(terr)
}

/// The first JSON object in a reply (models like to wrap it in prose or a code fence).
pub fn json_object(text: &str) -> Option<serde_json::Value> {
    let start = text.find('{')?;
    let end = text.rfind('}')?;
    serde_json::from_str(text.get(start..=end)?).ok()
}

async fn ask(client: &Client, prompt: String, sample: u32) -> Result<serde_json::Value, RoleError> {
    let req = ChatRequest { messages: vec![Message::user(prompt)], sample_index: sample, ..Default::default() };
    let resp = client.chat(&req).await?;
    json_object(&resp.content)
        .ok_or_else(|| RoleError::Reply(format!("the reply is not JSON: {}", resp.content.chars().take(200).collect::<String>())))
}

/// An LLM that writes open tasks, and where and how many.
pub struct Questioner<'a> {
    pub client: &'a Client,
    /// The questioner's name (its teacher label).
    pub name: &'a str,
    /// The templates folder holding `roles/questioner.j2`.
    pub templates: &'a Path,
    pub run: &'a RunDir,
    pub per_table: u32,
    pub seed: u64,
}

/// Asks the questioner for `per_table` open tasks for one table. Returns the tasks and one
/// message per failed request.
pub async fn write_questions(q: &Questioner<'_>, entry: &CatalogEntry, profile: &TableProfile) -> (Vec<Task>, Vec<String>) {
    let Questioner { client, name: questioner, templates, run, per_table, seed } = *q;
    let columns: Vec<serde_json::Value> = profile
        .columns
        .iter()
        .map(|c| {
            let top: Vec<&str> = c.top_values.iter().take(3).map(|v| v.value.as_str()).collect();
            serde_json::json!({"name": c.name, "dtype": c.dtype, "semantic": format!("{:?}", c.semantic_type).to_lowercase(),
                "nulls": c.null_count, "distinct": c.distinct_count, "top": top.join(", ")})
        })
        .collect();
    let table = serde_json::json!({
        "name": entry.member.clone().unwrap_or_else(|| entry.name.clone()),
        "file": dasynth_tasks::task::visible_name(entry),
        "ref": dasynth_tasks::task::table_ref(entry),
        "rows": profile.n_rows,
        "columns": columns,
    });
    let mut tasks = Vec::new();
    let mut errors = Vec::new();
    for index in 0..per_table {
        let family = OPEN_FAMILIES[index as usize % OPEN_FAMILIES.len()];
        let prompt = match render(templates, "questioner", serde_json::json!({"table": table, "family": family.as_str(), "index": index})) {
            Ok(p) => p,
            Err(e) => {
                errors.push(e.to_string());
                break;
            }
        };
        let reply = match ask(client, prompt, index).await {
            Ok(v) => v,
            Err(e) => {
                errors.push(format!("{}: {e}", entry.name));
                continue;
            }
        };
        let instruction = reply.get("instruction").and_then(|v| v.as_str()).unwrap_or_default();
        let checklist: Vec<String> = reply
            .get("checklist")
            .and_then(|v| v.as_array())
            .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect())
            .unwrap_or_default();
        if instruction.trim().is_empty() || checklist.is_empty() {
            errors.push(format!("{}: the questioner's reply lacks an instruction or a checklist", entry.name));
            continue;
        }
        let question = dasynth_tasks::OpenQuestion { family, instruction, checklist: &checklist, questioner, index, seed };
        match dasynth_tasks::open_task(run, entry, &question) {
            Ok(t) => tasks.push(t),
            Err(e) => errors.push(e.to_string()),
        }
    }
    (tasks, errors)
}

/// Asks the inspector about a finished trajectory.
pub async fn inspect(client: &Client, inspector: &str, templates: &Path, task: &Task, t: &Trajectory) -> Result<Inspection, RoleError> {
    let truth = task.ground_truth_value();
    let checklist: Vec<String> = match truth.get("checklist").and_then(|c| c.as_array()) {
        Some(items) => items.iter().filter_map(|x| x.as_str().map(str::to_string)).collect(),
        None => vec![format!("The answer agrees with the correct result: {truth} ({} answer).", task.answer_type)],
    };
    let outputs: Vec<&str> = t.messages.iter().filter(|m| m.role == "execute").rev().take(3).map(|m| m.content.as_str()).collect();
    let ctx = serde_json::json!({
        "instruction": task.instruction,
        "checklist": checklist,
        "outputs": outputs.into_iter().rev().collect::<Vec<_>>().join("\n"),
        "files": t.outputs,
        "answer": t.answer.clone().unwrap_or_else(|| "(no answer)".into()),
    });
    let prompt = render(templates, "inspector", ctx)?;
    let reply = ask(client, prompt, t.sample).await?;
    let accepted = reply
        .get("accept")
        .and_then(|v| v.as_bool())
        .ok_or_else(|| RoleError::Reply("the inspector's reply has no boolean `accept`".into()))?;
    let reasons = reply
        .get("reasons")
        .and_then(|v| v.as_array())
        .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    Ok(Inspection { inspector: inspector.to_string(), accepted, reasons })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_found_inside_prose_and_fences() {
        let v = json_object("Sure!\n```json\n{\"accept\": true, \"reasons\": []}\n```").unwrap();
        assert_eq!(v["accept"], serde_json::json!(true));
        assert!(json_object("no json here").is_none());
    }

    #[test]
    fn shipped_role_prompts_render() {
        let templates = dasynth_testkit::repo_root().join("templates");
        let q = render(&templates, "questioner", serde_json::json!({"table": {"name": "t", "file": "t.csv", "ref": "`t.csv`", "rows": 3,
            "columns": [{"name": "a", "dtype": "i64", "semantic": "numeric", "nulls": 0, "distinct": 3, "top": "1, 2"}]}, "family": "data-insight", "index": 0}))
        .unwrap();
        assert!(q.contains("`a` (i64, numeric") && q.contains("\"checklist\""), "{q}");
        let i = render(
            &templates,
            "inspector",
            serde_json::json!({"instruction": "x", "checklist": ["c1"], "outputs": "o", "files": [], "answer": "a"}),
        )
        .unwrap();
        assert!(i.contains("- c1") && i.contains("\"accept\""), "{i}");
    }
}
