//! DeepAnalyze's action format. A model turn holds `<Analyze>`, `<Understand>`, `<Code>` and
//! `<Answer>` blocks; generation stops at `</Code>`, the environment runs the code and answers
//! with `<Execute>…</Execute>`. This module reads a turn and says what it asks for, or which
//! format rule it breaks.
//!
//! Only what makes a turn unusable stops the agent loop ([`parse_turn`]): an `<Execute>` the
//! model wrote itself, an unclosed block, code outside `<Code>`, a turn with neither code nor an
//! answer. Habits stricter than DeepAnalyze's own format check, such as opening every turn after
//! an `<Execute>` with `<Analyze>`, are style signals ([`turn_style`]) that the verify stage
//! scores; a turn after `<Execute>` may begin with `<Understand>` as DeepAnalyze allows.

/// The system prompt that describes the actions to a teacher model.
pub const SYSTEM_PROMPT: &str = "You are a data science agent. You solve the task by reasoning and by running Python code \
on the data files, which are in your working directory.\n\n\
Write your reply as a sequence of actions:\n\
<Analyze>your plan, reasoning and reflection</Analyze>\n\
<Understand>what you learned from the data or from an output</Understand>\n\
<Code>\n```python\ncode to run\n```\n</Code>\n\
<Answer>your final answer, once you are sure</Answer>\n\n\
After </Code>, stop and wait: the code runs in a persistent Python session (pandas, numpy, scipy, \
scikit-learn, statsmodels, matplotlib and seaborn are installed; there is no network) and its output comes back as \
<Execute>…</Execute>. Begin every reply after an <Execute> with <Analyze>. Never write <Execute> \
yourself. Save any file you are asked to produce under `outputs/`. End with exactly one <Answer>.";

/// What a model turn asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Run this code, then continue.
    Code(String),
    /// The final answer.
    Answer(String),
}

/// A turn that breaks the format, with the rule it breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatError(pub String);

impl std::fmt::Display for FormatError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn block<'a>(text: &'a str, tag: &str) -> Option<Result<&'a str, FormatError>> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = text.find(&open)? + open.len();
    match text[start..].find(&close) {
        Some(end) => Some(Ok(&text[start..start + end])),
        None => Some(Err(FormatError(format!("<{tag}> is never closed")))),
    }
}

/// The code inside a `<Code>` block: a fenced block's body, or the whole block when unfenced.
pub fn code_body(block: &str) -> String {
    let t = block.trim();
    if let Some(rest) = t.strip_prefix("```") {
        let rest = rest.strip_prefix("python").or_else(|| rest.strip_prefix("py")).unwrap_or(rest);
        let body = rest.strip_suffix("```").unwrap_or(rest);
        return body.trim_matches('\n').to_string() + "\n";
    }
    t.to_string() + "\n"
}

/// The action tags a model writes, in the order a turn usually holds them.
pub const ACTION_TAGS: [&str; 4] = ["Analyze", "Understand", "Code", "Answer"];

/// Reads one model turn.
pub fn parse_turn(text: &str) -> Result<Action, FormatError> {
    if text.contains("<Execute>") {
        return Err(FormatError("the model wrote an <Execute> block itself".into()));
    }
    let code = block(text, "Code").transpose()?;
    let answer = block(text, "Answer").transpose()?;
    match (code, answer) {
        (Some(c), None) => {
            let before_code = &text[..text.find("<Code>").unwrap_or(0)];
            if before_code.contains("```") {
                return Err(FormatError("code outside <Code>".into()));
            }
            let body = code_body(c);
            if body.trim().is_empty() {
                return Err(FormatError("an empty <Code> block".into()));
            }
            Ok(Action::Code(body))
        }
        (None, Some(a)) => Ok(Action::Answer(a.trim().to_string())),
        (Some(_), Some(_)) => {
            // A turn stops at </Code>, so an answer in the same turn came before the code.
            Err(FormatError("<Answer> and <Code> in one turn".into()))
        }
        (None, None) if text.contains("```") => Err(FormatError("code outside <Code>".into())),
        (None, None) => Err(FormatError("the turn has neither <Code> nor <Answer>".into())),
    }
}

/// The code a turn ran: the body of its `<Code>` block, when it has a closed one.
pub fn turn_code(text: &str) -> Option<String> {
    match block(text, "Code")? {
        Ok(c) => Some(code_body(c)),
        Err(_) => None,
    }
}

/// Style signals of one turn that do not stop the loop: how a turn after an `<Execute>` opens,
/// and a `<Code>` block that is not a python fence.
pub fn turn_style(text: &str, after_execute: bool) -> Vec<String> {
    let mut out = Vec::new();
    let head = text.trim_start();
    if after_execute && !head.starts_with("<Analyze>") {
        if head.starts_with("<Understand>") {
            out.push("a turn after <Execute> begins with <Understand>".to_string());
        } else {
            out.push("a turn after <Execute> begins with neither <Analyze> nor <Understand>".to_string());
        }
    }
    if let Some(Ok(c)) = block(text, "Code") {
        let c = c.trim();
        if !(c.starts_with("```python") && c.ends_with("```")) {
            out.push("a <Code> block that is not a ```python fence".to_string());
        }
    }
    out
}

/// Completes a turn cut at the stop sequence: APIs drop the stop string from the content.
pub fn complete_stopped_turn(text: &str) -> String {
    if text.contains("<Code>") && !text.contains("</Code>") { format!("{}</Code>", text.trim_end()) } else { text.to_string() }
}

/// The `<Execute>` message for a cell's output, cut to `max_bytes` (head and tail kept).
pub fn execute_message(stdout: &str, error: Option<&str>, max_bytes: usize) -> String {
    let mut body = String::new();
    body.push_str(stdout);
    if let Some(e) = error {
        if !body.is_empty() && !body.ends_with('\n') {
            body.push('\n');
        }
        body.push_str("[Error]:\n");
        body.push_str(&short_traceback(e));
    }
    format!("<Execute>\n{}\n</Execute>", truncate_middle(body.trim_end(), max_bytes))
}

/// The last frames and the message of a Python traceback.
pub fn short_traceback(stderr: &str) -> String {
    let lines: Vec<&str> = stderr.trim_end().lines().collect();
    let keep = 8;
    if lines.len() <= keep { lines.join("\n") } else { format!("…\n{}", lines[lines.len() - keep..].join("\n")) }
}

/// Keeps the head and tail of a long text with a marker of what was cut.
pub fn truncate_middle(s: &str, max_bytes: usize) -> String {
    if s.len() <= max_bytes {
        return s.to_string();
    }
    let half = max_bytes / 2;
    let mut a = half;
    while !s.is_char_boundary(a) {
        a -= 1;
    }
    let mut b = s.len() - half;
    while !s.is_char_boundary(b) {
        b += 1;
    }
    format!("{}\n[… {} bytes cut …]\n{}", &s[..a], b - a, &s[b..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_turns_and_answers() {
        let t = "<Analyze>look</Analyze>\n<Code>\n```python\nprint(1)\n```\n</Code>";
        assert_eq!(parse_turn(t), Ok(Action::Code("print(1)\n".into())));
        assert_eq!(turn_code(t).as_deref(), Some("print(1)\n"));
        let a = "<Analyze>done</Analyze><Answer>42</Answer>";
        assert_eq!(parse_turn(a), Ok(Action::Answer("42".into())));
        assert_eq!(turn_code(a), None);
        assert_eq!(complete_stopped_turn("<Code>\n```python\nx\n```\n"), "<Code>\n```python\nx\n```</Code>");
    }

    #[test]
    fn format_errors_are_named() {
        assert!(parse_turn("<Analyze>a</Analyze><Execute>fake</Execute>").unwrap_err().0.contains("<Execute>"));
        assert!(parse_turn("<Analyze>a</Analyze>```python\nx\n```").unwrap_err().0.contains("outside"));
        assert!(parse_turn("<Analyze>a</Analyze><Answer>1").unwrap_err().0.contains("never closed"));
        assert!(parse_turn("just words").unwrap_err().0.contains("neither"));
    }

    #[test]
    fn understand_after_execute_is_a_style_signal_not_an_error() {
        let t = "<Understand>x</Understand><Answer>1</Answer>";
        assert_eq!(parse_turn(t), Ok(Action::Answer("1".into())));
        assert_eq!(turn_style(t, true), vec!["a turn after <Execute> begins with <Understand>".to_string()]);
        assert!(turn_style(t, false).is_empty());
        assert!(turn_style("<Analyze>a</Analyze><Code>print(1)</Code>", true)[0].contains("python fence"));
    }

    #[test]
    fn execute_output_is_capped_and_errors_marked() {
        let m = execute_message("x".repeat(100).as_str(), Some("Traceback\nValueError: bad"), 40);
        assert!(m.starts_with("<Execute>\n") && m.ends_with("\n</Execute>"));
        assert!(m.contains("bytes cut"));
        let e = execute_message("", Some("Traceback (most recent call last):\n  File x\nKeyError: 'a'"), 1000);
        assert!(e.contains("[Error]:\nTraceback"), "{e}");
    }
}
