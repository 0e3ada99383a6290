//! `deepanalyze`: DeepAnalyze's own SFT form. The whole trajectory after the prompt is one
//! assistant message with the `<Execute>` blocks inside it; `execute_spans` gives each block's
//! `[start, end)` in code points (Python string indices), `<Execute>` through `</Execute>`, so a
//! trainer can mask the environment's text out of the loss as DeepAnalyze's trainer does.

use super::*;
use dasynth_core::export::{DeepanalyzeRow, Span};
use dasynth_core::trajectory::Message;

pub fn schema() -> Schema {
    let mut fields = vec![
        field("messages", messages()),
        field("execute_spans", list(strukt(vec![field("start", DataType::UInt64), field("end", DataType::UInt64)]))),
    ];
    fields.extend(meta_fields());
    Schema::from_iter(fields)
}

pub fn row(t: &Trajectory, meta: RowMeta) -> DeepanalyzeRow {
    let mut head = Vec::new();
    let mut body = String::new();
    let mut chars = 0u64;
    let mut spans = Vec::new();
    for m in &t.messages {
        match m.role.as_str() {
            "system" | "user" if body.is_empty() => head.push(m.clone()),
            role => {
                if !body.is_empty() && !body.ends_with('\n') {
                    body.push('\n');
                    chars += 1;
                }
                let n = m.content.chars().count() as u64;
                if role == "execute" {
                    spans.extend(execute_spans(&m.content).into_iter().map(|(s, e)| Span { start: chars + s, end: chars + e }));
                }
                body.push_str(&m.content);
                chars += n;
            }
        }
    }
    head.push(Message::new("assistant", body));
    DeepanalyzeRow { messages: head, execute_spans: spans, meta }
}

/// The `<Execute>…</Execute>` blocks of a text, as code-point spans.
fn execute_spans(text: &str) -> Vec<(u64, u64)> {
    const OPEN: &str = "<Execute>";
    const CLOSE: &str = "</Execute>";
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(p) = text[from..].find(OPEN) {
        let start = from + p;
        let end = match text[start..].find(CLOSE) {
            Some(q) => start + q + CLOSE.len(),
            None => text.len(),
        };
        out.push((text[..start].chars().count() as u64, text[..end].chars().count() as u64));
        from = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_cover_execute_blocks_in_code_points() {
        let text = "é<Execute>\nß\n</Execute>";
        let spans = execute_spans(text);
        let chars: Vec<char> = text.chars().collect();
        let got: String = chars[spans[0].0 as usize..spans[0].1 as usize].iter().collect();
        assert_eq!(got, "<Execute>\nß\n</Execute>");
    }
}
