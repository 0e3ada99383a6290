//! The optional judge: a configured teacher (`verify.judge = "NAME"`) scores open-ended reports
//! on DeepAnalyze's five dimensions (usefulness, richness, soundness, interpretability,
//! readability; 1–5) and, when the task has a free-text checklist, how much of it the report
//! covers. The prompt is `templates/roles/judge.j2`; calls go through the run's LLM response
//! cache, so a rerun asks nothing again. The inspector's verdict recorded in a trajectory is
//! honoured by the stage as its own check.

use crate::error::VerifyError;
use dasynth_core::config::Settings;
use dasynth_core::layout::RunDir;
use dasynth_core::trajectory::Trajectory;
use dasynth_core::verdict::JudgeScores;
use dasynth_llm::{ChatRequest, Client, Message};
use dasynth_tasks::task::Task;
use std::path::PathBuf;

/// A judge client with the runtime its calls run on.
pub struct Judge {
    name: String,
    client: Client,
    templates: PathBuf,
    runtime: tokio::runtime::Runtime,
}

/// Most bytes of cell output shown to the judge.
const OUTPUT_BYTES: usize = 12_000;

impl Judge {
    /// The configured judge, if any.
    pub fn from_settings(s: &Settings, run: &RunDir) -> Result<Option<Judge>, VerifyError> {
        let Some(name) = &s.verify.judge else { return Ok(None) };
        let err = |source| VerifyError::Judge { judge: name.clone(), source: Box::new(source) };
        // Settings validation guarantees the judge names an LLM teacher.
        let Some(cfg) = s.teachers.iter().find(|t| &t.label() == name && !t.is_reference()) else { return Ok(None) };
        let path = s.trajectories.cache.clone().unwrap_or_else(|| run.llm_cache());
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|source| VerifyError::Read { path: dir.to_path_buf(), source })?;
        }
        let cache = dasynth_llm::ResponseCache::open(&path).map_err(err)?;
        let client = Client::builder(cfg.clone()).cache(cache).build().map_err(err)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| VerifyError::Threads(format!("the judge's runtime: {e}")))?;
        let templates = dasynth_tasks::templates_dir(&s.tasks)?;
        Ok(Some(Judge { name: name.clone(), client, templates, runtime }))
    }

    /// The judge's identity, for the settings hash: a new judge model redoes the verdicts.
    pub fn fingerprint(s: &Settings) -> Option<String> {
        let name = s.verify.judge.as_ref()?;
        let cfg = s.teachers.iter().find(|t| &t.label() == name)?;
        Some(format!("{}|{}|{}", cfg.kind, cfg.model, cfg.base_url.as_deref().unwrap_or_default()))
    }

    /// Scores a report. `outputs` are the cell outputs the report may draw on.
    pub fn score(&self, task: &Task, t: &Trajectory, outputs: &[String]) -> Result<JudgeScores, String> {
        let truth = task.ground_truth_value();
        let checklist: Vec<String> = match truth.get("checklist").and_then(|c| c.as_array()) {
            Some(items) => items.iter().filter_map(|x| x.as_str().map(str::to_string)).collect(),
            None => Vec::new(),
        };
        let joined = outputs.join("\n---\n");
        let ctx = serde_json::json!({
            "instruction": task.instruction,
            "checklist": checklist,
            "outputs": dasynth_agent::format::truncate_middle(&joined, OUTPUT_BYTES),
            "files": t.outputs,
            "answer": t.answer.clone().unwrap_or_default(),
        });
        let prompt = dasynth_agent::roles::render(&self.templates, "judge", ctx).map_err(|e| e.to_string())?;
        let req = ChatRequest { messages: vec![Message::user(prompt)], sample_index: t.sample, ..Default::default() };
        let resp = self.runtime.block_on(self.client.chat(&req)).map_err(|e| format!("judge {:?}: {e}", self.name))?;
        let reply = dasynth_agent::roles::json_object(&resp.content)
            .ok_or_else(|| format!("the judge's reply is not JSON: {}", resp.content.chars().take(200).collect::<String>()))?;
        parse_scores(&self.name, &reply, !checklist.is_empty())
    }
}

/// Reads the five scores (each clamped to 1–5) and the checklist coverage from a reply.
pub fn parse_scores(judge: &str, reply: &serde_json::Value, has_checklist: bool) -> Result<JudgeScores, String> {
    let dim = |k: &str| -> Result<f64, String> {
        reply.get(k).and_then(|v| v.as_f64()).map(|x| x.clamp(1.0, 5.0)).ok_or_else(|| format!("the judge's reply has no numeric `{k}`"))
    };
    Ok(JudgeScores {
        judge: judge.to_string(),
        usefulness: dim("usefulness")?,
        richness: dim("richness")?,
        soundness: dim("soundness")?,
        interpretability: dim("interpretability")?,
        readability: dim("readability")?,
        checklist_coverage: if has_checklist {
            reply.get("checklist_coverage").and_then(|v| v.as_f64()).map(|x| x.clamp(0.0, 1.0))
        } else {
            None
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_are_read_and_clamped() {
        let v = serde_json::json!({"usefulness": 4, "richness": 3.5, "soundness": 9, "interpretability": 2, "readability": 5, "checklist_coverage": 0.5});
        let s = parse_scores("j", &v, true).unwrap();
        assert_eq!((s.soundness, s.checklist_coverage), (5.0, Some(0.5)));
        assert!((s.mean() - 3.9).abs() < 1e-9);
        assert!(parse_scores("j", &serde_json::json!({"usefulness": 4}), false).unwrap_err().contains("richness"));
    }

    #[test]
    fn the_shipped_prompt_renders() {
        let templates = dasynth_testkit::repo_root().join("templates");
        let p = dasynth_agent::roles::render(
            &templates,
            "judge",
            serde_json::json!({"instruction": "x", "checklist": ["c1"], "outputs": "o", "files": [], "answer": "a"}),
        )
        .unwrap();
        assert!(p.contains("- c1") && p.contains("checklist_coverage") && p.contains("soundness"), "{p}");
    }
}
