//! What the trajectory view shows of one trajectory: its messages split into their tags
//! (`<Analyze>`, `<Understand>`, `<Code>`, `<Execute>`, `<Answer>`), the cost and cell outcome of
//! each turn, the task, the verdict with its replay mismatches, and the files it wrote. Every
//! text is cut to the part cap chosen for its block (see [`crate::browser::chunks`]); a cut keeps
//! the head and the tail and records how many bytes were left out.

use crate::browser::images::OutputPlan;
use crate::inputs::TaskInfo;
use crate::text::split_middle;
use dasynth_core::trajectory::{Inspection, Trajectory};
use dasynth_core::verdict::{JudgeScores, Verdict};
use serde::Serialize;
use std::borrow::Cow;

/// The tags a message is split into, as DeepAnalyze writes them.
const TAGS: [&str; 5] = ["Analyze", "Understand", "Code", "Answer", "Execute"];

/// Most unsupported claims listed per trajectory.
const MAX_CLAIMS: usize = 50;
/// Replay outputs keep at least this much even under the tightest cap: they are the evidence
/// of a mismatch.
const MISMATCH_FLOOR: usize = 512;

/// One trajectory with everything the page needs to show it.
pub(crate) struct Item {
    /// None when the trajectory was gone by the time the page was written.
    pub trajectory: Option<Trajectory>,
    pub verdict: Option<Verdict>,
    pub task: Option<TaskInfo>,
    pub outputs: Vec<OutputPlan>,
}

impl Item {
    pub fn gone() -> Self {
        Self { trajectory: None, verdict: None, task: None, outputs: Vec::new() }
    }
}

/// The detail of a trajectory whose line disappeared between the report's two passes.
#[derive(Serialize)]
struct Gone {
    gone: bool,
}

/// A run of text of one tag, perhaps cut: `x` is the head, `y` the tail and `c` the bytes cut
/// between them.
#[derive(Serialize)]
struct Part<'a> {
    t: &'static str,
    x: &'a str,
    #[serde(skip_serializing_if = "is_zero")]
    c: usize,
    #[serde(skip_serializing_if = "str::is_empty")]
    y: &'a str,
}

/// The cap of one part: answers and code, what a reader checks first, keep more; the system
/// prompt, the same in every trajectory, keeps less.
fn part_cap(cap: usize, role: &str, tag: &str) -> usize {
    match (role, tag) {
        ("system", _) => cap / 4,
        (_, "Answer") => cap.saturating_mul(4),
        (_, "Code") => cap.saturating_mul(2),
        _ => cap,
    }
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

#[derive(Serialize)]
struct Msg<'a> {
    r: &'a str,
    p: Vec<Part<'a>>,
}

#[derive(Serialize)]
struct TurnView<'a> {
    #[serde(rename = "in")]
    input: u64,
    out: u64,
    ms: f64,
    #[serde(skip_serializing_if = "is_false")]
    cached: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    cell: Option<&'a str>,
    #[serde(skip_serializing_if = "is_zero_ms")]
    cell_ms: f64,
    #[serde(skip_serializing_if = "is_false")]
    trunc: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    fe: Option<&'a str>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero_ms(ms: &f64) -> bool {
    *ms == 0.0
}

#[derive(Serialize)]
struct TaskView<'a> {
    instruction: &'a str,
    answer_type: &'a str,
    ground_truth: &'a str,
}

#[derive(Serialize)]
struct OutputView<'a> {
    name: &'a str,
    /// The image block's number, -1 when not inlined.
    img: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    why: Option<&'a str>,
}

/// A replay mismatch as the view shows it (the view computes its own diff).
#[derive(Serialize)]
struct MismatchView<'a> {
    cell: u32,
    recorded_status: &'a str,
    replayed_status: &'a str,
    recorded: Cow<'a, str>,
    replayed: Cow<'a, str>,
}

/// The verdict fields the view shows; what the summary already holds (dimensions, reasons,
/// score) and what only verify needs (hashes) stay out.
#[derive(Serialize)]
struct VerdictView<'a> {
    replay: &'static str,
    #[serde(skip_serializing_if = "str::is_empty")]
    replay_detail: &'a str,
    cells: u32,
    cells_matched: u32,
    answer_passed: Option<bool>,
    answer_detail: Cow<'a, str>,
    extracted_answer: Option<Cow<'a, str>>,
    claims: u32,
    grounded_share: Option<f64>,
    ungrounded_claims: Vec<Cow<'a, str>>,
    checklist_coverage: Option<f64>,
    judge: Option<&'a JudgeScores>,
    format_ok: bool,
    format_issues: &'a [String],
    style_issues: &'a [String],
    code_cells: u32,
    error_cells: u32,
    recoveries: u32,
    repeated_cells: u32,
    missing_outputs: &'a [String],
    duplicate_of: Option<&'a str>,
    contaminated_by: Option<&'a str>,
    mismatches: Vec<MismatchView<'a>>,
}

#[derive(Serialize)]
struct Detail<'a> {
    sample: u32,
    #[serde(skip_serializing_if = "str::is_empty")]
    fd: &'a str,
    passed: Option<bool>,
    #[serde(skip_serializing_if = "str::is_empty")]
    check: &'a str,
    task_info: Option<TaskView<'a>>,
    msgs: Vec<Msg<'a>>,
    turns: Vec<TurnView<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    outputs: Vec<OutputView<'a>>,
    verdict: Option<VerdictView<'a>>,
    inspection: Option<&'a Inspection>,
    /// Some part was cut.
    #[serde(skip_serializing_if = "is_false")]
    cut: bool,
    /// The messages were left out altogether.
    #[serde(skip_serializing_if = "is_false")]
    lo: bool,
}

/// How one item came out under a cap.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct CutOutcome {
    pub cut: bool,
    pub left_out: bool,
}

/// Serializes `item` with every text part cut to `cap` bytes (`None`: messages left out) and
/// appends it to `out` as JSON.
pub(crate) fn write_detail<'a>(item: &'a Item, cap: Option<usize>, out: &mut Vec<u8>) -> Result<CutOutcome, serde_json::Error> {
    let Some(t) = &item.trajectory else {
        serde_json::to_writer(&mut *out, &Gone { gone: true })?;
        return Ok(CutOutcome { cut: false, left_out: true });
    };
    let mut cut = false;
    let msgs = match cap {
        None => Vec::new(),
        Some(cap) => t
            .messages
            .iter()
            .map(|m| Msg {
                r: &m.role,
                p: split_tags(&m.content)
                    .into_iter()
                    .map(|(tag, text)| match split_middle(text, part_cap(cap, &m.role, tag)) {
                        None => Part { t: tag, x: text, c: 0, y: "" },
                        Some((head, tail, n)) => {
                            cut = true;
                            Part { t: tag, x: head, c: n, y: tail }
                        }
                    })
                    .collect(),
            })
            .collect(),
    };
    let text_cap = cap.unwrap_or(0).max(MISMATCH_FLOOR);
    let mut cut_text = |text: &'a str| {
        let c = crate::text::cut_middle(text, text_cap);
        cut |= matches!(c, Cow::Owned(_));
        c
    };
    let verdict = item.verdict.as_ref().map(|v| VerdictView {
        replay: v.replay.name(),
        replay_detail: &v.replay_detail,
        cells: v.cells,
        cells_matched: v.cells_matched,
        answer_passed: v.answer_passed,
        answer_detail: cut_text(&v.answer_detail),
        extracted_answer: v.extracted_answer.as_deref().map(&mut cut_text),
        claims: v.claims,
        grounded_share: v.grounded_share,
        ungrounded_claims: v.ungrounded_claims.iter().take(MAX_CLAIMS).map(|c| cut_text(c)).collect(),
        checklist_coverage: v.checklist_coverage,
        judge: v.judge.as_ref(),
        format_ok: v.format_ok,
        format_issues: &v.format_issues,
        style_issues: &v.style_issues,
        code_cells: v.code_cells,
        error_cells: v.error_cells,
        recoveries: v.recoveries,
        repeated_cells: v.repeated_cells,
        missing_outputs: &v.missing_outputs,
        duplicate_of: v.duplicate_of.as_deref(),
        contaminated_by: v.contaminated_by.as_deref(),
        mismatches: v
            .mismatches
            .iter()
            .map(|m| MismatchView {
                cell: m.cell,
                recorded_status: &m.recorded_status,
                replayed_status: &m.replayed_status,
                recorded: cut_text(&m.recorded),
                replayed: cut_text(&m.replayed),
            })
            .collect(),
    });
    let detail = Detail {
        sample: t.sample,
        fd: &t.finish_detail,
        passed: t.passed,
        check: &t.check_detail,
        task_info: item.task.as_ref().map(|task| TaskView {
            instruction: &task.instruction,
            answer_type: &task.answer_type,
            ground_truth: &task.ground_truth,
        }),
        msgs,
        turns: t
            .turns
            .iter()
            .map(|turn| TurnView {
                input: turn.input_tokens,
                out: turn.output_tokens,
                ms: turn.generate_ms.round(),
                cached: turn.cached,
                cell: turn.cell.as_ref().map(|c| c.status.as_str()),
                cell_ms: turn.cell.as_ref().map_or(0.0, |c| c.duration_ms.round()),
                trunc: turn.cell.as_ref().is_some_and(|c| c.truncated),
                fe: turn.format_error.as_deref(),
            })
            .collect(),
        outputs: item
            .outputs
            .iter()
            .map(|o| OutputView { name: &o.name, img: o.image.map_or(-1, |i| i as i64), why: o.why.as_deref() })
            .collect(),
        verdict,
        inspection: t.inspection.as_ref(),
        cut,
        lo: cap.is_none(),
    };
    serde_json::to_writer(&mut *out, &detail)?;
    Ok(CutOutcome { cut, left_out: cap.is_none() })
}

/// A message split into tagged runs; text outside any tag is a run with an empty tag. A tag
/// that is never closed runs to the end of the message.
pub(crate) fn split_tags(text: &str) -> Vec<(&'static str, &str)> {
    let mut out = Vec::new();
    let mut rest = text;
    loop {
        let next = TAGS.iter().filter_map(|tag| find_open(rest, tag).map(|i| (i, *tag))).min_by_key(|(i, _)| *i);
        let Some((at, tag)) = next else {
            push_text(&mut out, rest);
            return out;
        };
        push_text(&mut out, &rest[..at]);
        let body_start = at + tag.len() + 2;
        let body = &rest[body_start..];
        let close = format!("</{tag}>");
        match body.find(&close) {
            Some(end) => {
                out.push((tag, body[..end].trim_matches('\n')));
                rest = &body[end + close.len()..];
            }
            None => {
                out.push((tag, body.trim_matches('\n')));
                return out;
            }
        }
    }
}

fn find_open(text: &str, tag: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = text[from..].find('<') {
        let at = from + i;
        let rest = &text[at + 1..];
        if rest.starts_with(tag) && rest[tag.len()..].starts_with('>') {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

fn push_text<'a>(out: &mut Vec<(&'static str, &'a str)>, text: &'a str) {
    if !text.trim().is_empty() {
        out.push(("", text.trim_matches('\n')));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_split_into_their_tags() {
        let parts = split_tags("<Analyze>plan</Analyze>\n<Code>\n```python\nx = 1\n```\n</Code>");
        assert_eq!(parts, vec![("Analyze", "plan"), ("Code", "```python\nx = 1\n```")]);
        assert_eq!(split_tags("<Execute>\nout\n</Execute>"), vec![("Execute", "out")]);
        assert_eq!(split_tags("intro <Answer>42"), vec![("", "intro "), ("Answer", "42")]);
        assert_eq!(split_tags("a <b> <Answerx> c"), vec![("", "a <b> <Answerx> c")]);
        assert!(split_tags("  \n").is_empty());
    }
}
