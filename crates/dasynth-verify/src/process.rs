//! Process checks: DeepAnalyze's format check and the signals of how the agent worked.
//!
//! The format check is the condition under which DeepAnalyze's RL reward is −1: the
//! `<Analyze>` and `<Answer>` pairs must be present, every block closed, every `<Code>` a
//! python fence, and exactly one `<Answer>` at the very end with no tags inside. A turn after
//! `<Execute>` may open with `<Understand>` or `<Analyze>`; other habits (an `<Understand>`
//! opening a turn, no `<Understand>` at all) are style signals that do not reject. The rest
//! counts: turns, code cells, cells that errored, errors followed by a clean cell (recovery,
//! which is good data), cells that repeat an earlier one exactly, and tokens.

use dasynth_agent::format::{self, ACTION_TAGS};
use dasynth_core::trajectory::{Finish, Trajectory};

/// What the process checks found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Process {
    pub format_ok: bool,
    pub format_issues: Vec<String>,
    pub style_issues: Vec<String>,
    pub turns: u32,
    pub code_cells: u32,
    pub error_cells: u32,
    pub recoveries: u32,
    pub repeated_cells: u32,
}

impl Process {
    /// Share of code cells that errored (0 when none ran).
    pub fn error_share(&self) -> f64 {
        if self.code_cells == 0 { 0.0 } else { self.error_cells as f64 / self.code_cells as f64 }
    }
}

fn count(text: &str, needle: &str) -> usize {
    text.matches(needle).count()
}

/// DeepAnalyze's format rules over the assistant turns; a trajectory that never answered is
/// left to the `no_answer` check rather than failing the `<Answer>` rules here too.
pub fn format_issues(assistant: &[&str], answered: bool) -> Vec<String> {
    let mut issues = Vec::new();
    let all = assistant.join("\n");
    for tag in ACTION_TAGS {
        let (open, close) = (count(&all, &format!("<{tag}>")), count(&all, &format!("</{tag}>")));
        if open > close {
            issues.push(format!("<{tag}> is never closed"));
        } else if close > open {
            issues.push(format!("</{tag}> without <{tag}>"));
        }
    }
    if !all.contains("<Analyze>") {
        issues.push("no <Analyze> block".into());
    }
    if all.contains("<Execute>") {
        issues.push("the model wrote an <Execute> block itself".into());
    }
    let mut rest = all.as_str();
    while let Some(p) = rest.find("<Code>") {
        let body = &rest[p + "<Code>".len()..];
        let end = body.find("</Code>").unwrap_or(body.len());
        let code = body[..end].trim();
        if !(code.starts_with("```python") && code.ends_with("```") && code.len() >= "```python```".len()) {
            issues.push("a <Code> block is not a ```python fence".into());
            break;
        }
        rest = &body[end..];
    }
    if answered {
        let answers = count(&all, "<Answer>");
        if answers != 1 {
            issues.push(format!("{answers} <Answer> blocks (exactly one is allowed)"));
        }
        let last = assistant.last().copied().unwrap_or_default();
        match (last.rfind("<Answer>"), last.rfind("</Answer>")) {
            (Some(s), Some(e)) if s < e => {
                if !last[e + "</Answer>".len()..].trim().is_empty() {
                    issues.push("text after </Answer>".into());
                }
                let inner = &last[s + "<Answer>".len()..e];
                if ACTION_TAGS
                    .iter()
                    .chain(["Execute"].iter())
                    .any(|t| inner.contains(&format!("<{t}>")) || inner.contains(&format!("</{t}>")))
                {
                    issues.push("tags inside <Answer>".into());
                }
            }
            _ => issues.push("the last turn does not end with <Answer>".into()),
        }
    }
    issues.dedup();
    issues
}

/// Runs the process checks on a trajectory.
pub fn check(t: &Trajectory) -> Process {
    let assistant: Vec<&str> = t.messages.iter().filter(|m| m.role == "assistant").map(|m| m.content.as_str()).collect();
    let answered = t.finish == Finish::Answer && t.answer.is_some();
    let format_issues = format_issues(&assistant, answered);
    let mut style_issues: Vec<String> = Vec::new();
    let mut after_execute = false;
    for m in &t.messages {
        match m.role.as_str() {
            "execute" => after_execute = true,
            "assistant" => {
                for s in format::turn_style(&m.content, after_execute) {
                    if !style_issues.contains(&s) {
                        style_issues.push(s);
                    }
                }
                after_execute = false;
            }
            _ => {}
        }
    }
    if !assistant.iter().any(|a| a.contains("<Understand>")) {
        style_issues.push("no <Understand> block".into());
    }
    // Cells: an assistant message followed by an `execute` message ran code.
    let mut cells: Vec<(String, bool)> = Vec::new();
    for (i, w) in t.messages.windows(2).enumerate() {
        if w[0].role == "assistant" && w[1].role == "execute" {
            let code = format::turn_code(&w[0].content).unwrap_or_default();
            let turn = t.messages[..=i].iter().filter(|m| m.role == "assistant").count() - 1;
            let recorded = t.turns.get(turn).and_then(|x| x.cell.as_ref()).map(|c| c.status != "ok");
            let errored = recorded.unwrap_or_else(|| w[1].content.contains("[Error]:"));
            cells.push((code.trim().to_string(), errored));
        }
    }
    let error_cells = cells.iter().filter(|c| c.1).count() as u32;
    let recoveries = cells.windows(2).filter(|w| w[0].1 && !w[1].1).count() as u32;
    let repeated_cells = cells.iter().enumerate().filter(|(i, c)| !c.0.is_empty() && cells[..*i].iter().any(|p| p.0 == c.0)).count() as u32;
    Process {
        format_ok: format_issues.is_empty(),
        format_issues,
        style_issues,
        turns: assistant.len() as u32,
        code_cells: cells.len() as u32,
        error_cells,
        recoveries,
        repeated_cells,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deepanalyze_format_rules() {
        let code = "<Analyze>a</Analyze><Code>\n```python\nx=1\n```\n</Code>";
        let answer = "<Understand>u</Understand><Answer>42</Answer>";
        assert!(format_issues(&[code, answer], true).is_empty(), "{:?}", format_issues(&[code, answer], true));
        let unclosed = "<Analyze>a<Code>\n```python\nx=1\n```\n</Code>";
        assert_eq!(format_issues(&[unclosed, answer], true), vec!["<Analyze> is never closed".to_string()]);
        let bare = "<Analyze>a</Analyze><Code>x=1</Code>";
        assert!(format_issues(&[bare, answer], true)[0].contains("python fence"));
        let two = "<Analyze>a</Analyze><Answer>1</Answer><Answer>2</Answer>";
        assert!(format_issues(&[two], true)[0].contains("2 <Answer> blocks"));
        let inside = "<Analyze>a</Analyze><Answer>1 <Code>x</Code></Answer>";
        assert!(format_issues(&[inside], true).contains(&"tags inside <Answer>".to_string()));
        let after = "<Analyze>a</Analyze><Answer>1</Answer> more";
        assert_eq!(format_issues(&[after], true), vec!["text after </Answer>".to_string()]);
        assert!(format_issues(&[code], false).is_empty());
    }
}
