//! DeepAnalyze's action format. A model turn holds `<Analyze>`, `<Understand>`, `<Code>` and
//! `<Answer>` blocks; generation stops at `</Code>`, the environment runs the code and answers
//! with `<Execute>…</Execute>`. This module reads a turn and says what it asks for, or which
//! format rule it breaks.

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

/// Reads one model turn. `after_execute` says whether the turn answers an `<Execute>` (then it
/// must begin with `<Analyze>`).
pub fn parse_turn(text: &str, after_execute: bool) -> Result<Action, FormatError> {
    if text.contains("<Execute>") {
        return Err(FormatError("the model wrote an <Execute> block itself".into()));
    }
    if after_execute && !text.trim_start().starts_with("<Analyze>") {
        return Err(FormatError("a turn after <Execute> must begin with <Analyze>".into()));
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
        assert_eq!(parse_turn(t, false), Ok(Action::Code("print(1)\n".into())));
        let a = "<Analyze>done</Analyze><Answer>42</Answer>";
        assert_eq!(parse_turn(a, true), Ok(Action::Answer("42".into())));
        assert_eq!(complete_stopped_turn("<Code>\n```python\nx\n```\n"), "<Code>\n```python\nx\n```</Code>");
    }

    #[test]
    fn format_errors_are_named() {
        assert!(parse_turn("<Analyze>a</Analyze><Execute>fake</Execute>", false).unwrap_err().0.contains("<Execute>"));
        assert!(parse_turn("<Understand>x</Understand><Answer>1</Answer>", true).unwrap_err().0.contains("begin with <Analyze>"));
        assert!(parse_turn("<Analyze>a</Analyze>```python\nx\n```", false).unwrap_err().0.contains("outside"));
        assert!(parse_turn("<Analyze>a</Analyze><Answer>1", false).unwrap_err().0.contains("never closed"));
        assert!(parse_turn("just words", false).unwrap_err().0.contains("neither"));
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
