//! What a finished trajectory looks like as training data: how many cells it ran, whether it
//! looked at the data before computing, whether its `<Understand>` blocks cite outputs, whether
//! it recovered from an error, and which numbers it states that no earlier output shows.
//!
//! A number "comes from an output" when an earlier `<Execute>` block shows it, or shows it
//! rounded, or the text rounds the output's number (pandas prints six significant digits, an
//! answer may carry all of them). Numbers inside backticks (names, code) and inside words
//! (`r2`, `float64`) are not claims.

use dasynth_core::trajectory::Trajectory;

/// The shape of one trajectory.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Shape {
    /// Code cells run.
    pub code_cells: usize,
    /// The first cell looks at the data (shape, types, missing values or rows) and computes no
    /// answer.
    pub explores_first: bool,
    /// Some `<Understand>` states a number an earlier output shows.
    pub understand_cites_output: bool,
    /// A cell failed and a later one ran, and the trajectory still answered.
    pub recovered: bool,
    /// Numbers stated in `<Understand>` or `<Answer>` that no earlier output shows.
    pub unsupported: Vec<String>,
}

/// Reads the shape of a trajectory.
pub fn shape(t: &Trajectory) -> Shape {
    let mut s = Shape::default();
    let mut outputs: Vec<(f64, f64)> = Vec::new();
    let mut failed = false;
    for m in &t.messages {
        match m.role.as_str() {
            "execute" => {
                if m.content.contains("[Error]:") {
                    failed = true;
                } else if failed && s.code_cells > 0 {
                    s.recovered = true;
                }
                outputs.extend(numbers(&m.content));
            }
            "assistant" => {
                if let Some(code) = block(&m.content, "Code") {
                    if s.code_cells == 0 {
                        let looks = [".shape", ".dtypes", ".isna()", ".head(", ".info(", ".describe("].iter().any(|p| code.contains(p));
                        s.explores_first = looks && !code.contains("answer =");
                    }
                    s.code_cells += 1;
                }
                for tag in ["Understand", "Answer"] {
                    let Some(text) = block(&m.content, tag) else { continue };
                    for (x, unit) in numbers(&strip_code(text)) {
                        if outputs.iter().any(|&(y, unit_y)| same_number(x, unit, y, unit_y)) {
                            if tag == "Understand" {
                                s.understand_cites_output = true;
                            }
                        } else {
                            s.unsupported.push(format_number(x, unit));
                        }
                    }
                }
            }
            _ => {}
        }
    }
    s.recovered &= t.finish == dasynth_core::trajectory::Finish::Answer;
    s
}

fn block<'a>(text: &'a str, tag: &str) -> Option<&'a str> {
    let start = text.find(&format!("<{tag}>"))? + tag.len() + 2;
    let end = text[start..].find(&format!("</{tag}>"))? + start;
    Some(&text[start..end])
}

/// The text without backticked spans.
fn strip_code(text: &str) -> String {
    text.split('`').step_by(2).collect::<Vec<_>>().join(" ")
}

/// Every number in `text` (plain or in scientific notation) with its last digit's place value;
/// digits that belong to a word are skipped.
fn numbers(text: &str) -> Vec<(f64, f64)> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let digits = |mut i: usize| {
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        i
    };
    while i < b.len() {
        if !b[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let in_word = i > 0 && (b[i - 1].is_ascii_alphabetic() || b[i - 1] == b'_');
        let negative = i > 0 && b[i - 1] == b'-' && (i < 2 || !b[i - 2].is_ascii_alphanumeric());
        let start = i;
        i = digits(i);
        let mut decimals = 0i32;
        if i + 1 < b.len() && b[i] == b'.' && b[i + 1].is_ascii_digit() {
            let end = digits(i + 1);
            decimals = (end - i - 1) as i32;
            i = end;
        }
        let mut exponent = 0i32;
        if i + 1 < b.len() && matches!(b[i], b'e' | b'E') {
            let sign = usize::from(matches!(b[i + 1], b'+' | b'-'));
            if b.get(i + 1 + sign).is_some_and(u8::is_ascii_digit) {
                let end = digits(i + 1 + sign);
                exponent = text[i + 1..end].parse().unwrap_or(0);
                i = end;
            }
        }
        let in_word = in_word || (i < b.len() && (b[i].is_ascii_alphabetic() || b[i] == b'_'));
        if in_word {
            continue;
        }
        if let Ok(x) = text[start..i].parse::<f64>() {
            out.push((if negative { -x } else { x }, 10f64.powi(exponent - decimals)));
        }
    }
    out
}

/// Whether one number is the other, or a rounding of it (`unit`: the place of the last digit).
fn same_number(x: f64, unit_x: f64, y: f64, unit_y: f64) -> bool {
    let tolerance = 0.5 * unit_x.max(unit_y) * (1.0 + 1e-9) + f64::EPSILON * x.abs().max(y.abs());
    (x - y).abs() <= tolerance
}

fn format_number(x: f64, unit: f64) -> String {
    let decimals = (-unit.log10().round()).max(0.0) as usize;
    format!("{x:.decimals$}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use dasynth_core::trajectory::{Finish, Message};

    fn trajectory(messages: &[(&str, &str)]) -> Trajectory {
        let task = dasynth_core::task::Task {
            id: "t".into(),
            family: "f".into(),
            stage: 1,
            difficulty: "easy".into(),
            template: "x".into(),
            template_version: 1,
            template_sha256: String::new(),
            prompt: "p".into(),
            instruction: "i".into(),
            source: "s".into(),
            table_ids: "[]".into(),
            files: "[]".into(),
            answer_type: "number".into(),
            ground_truth: "1".into(),
            checker: "{}".into(),
            solution: "[]".into(),
            bindings: "{}".into(),
            seed: 0,
            variant: 0,
        };
        let mut t = Trajectory::start(&task, "reference", "reference", 0, "system");
        t.messages.extend(messages.iter().map(|(r, c)| Message::new(r, *c)));
        t.finish = Finish::Answer;
        t
    }

    #[test]
    fn numbers_are_read_whole_and_words_skipped() {
        let n: Vec<(f64, f64)> = numbers("(344, 17) r2 float64 -0.25 x-1 12.50 3.351021e+07");
        let values: Vec<f64> = n.iter().map(|p| p.0).collect();
        assert_eq!(values, [344.0, 17.0, -0.25, 1.0, 12.5, 3.351021e7]);
        assert_eq!(n[4].1, 0.01);
        assert!((n[5].1 - 10.0).abs() < 1e-9);
        assert!(same_number(4201.754385964912, 1e-12, 4201.754386, 1e-6));
        assert!(same_number(4201.75, 0.01, 4201.754386, 1e-6));
        assert!(same_number(4202.0, 1.0, 4201.754386, 1e-6));
        assert!(same_number(33510207.065372538, 1e-9, 3.351021e7, 10.0));
        assert!(!same_number(4201.7, 0.1, 4201.754386, 1e-6));
        assert!(!same_number(3.0, 1.0, 5.0, 1.0));
    }

    #[test]
    fn claims_are_checked_against_earlier_outputs() {
        let t = trajectory(&[
            ("assistant", "<Analyze>look</Analyze>\n<Code>\n```python\nprint(df.shape)\n```\n</Code>"),
            ("execute", "<Execute>\n(344, 17)\n</Execute>"),
            ("assistant", "<Analyze>x</Analyze>\n<Code>\n```python\nprint(df['a'].mean(\n```\n</Code>"),
            ("execute", "<Execute>\n[Error]:\nSyntaxError\n</Execute>"),
            (
                "assistant",
                "<Analyze>fix</Analyze>\n<Understand>The table has 344 rows and 17 columns.</Understand>\n<Code>\n```python\nprint(df['a'].mean())\n```\n</Code>",
            ),
            ("execute", "<Execute>\n4201.754386\n</Execute>"),
            (
                "assistant",
                "<Analyze>done</Analyze>\n<Understand>It is about 4201.75, from `col 2`.</Understand>\n<Answer>4201.75 of 345 rows</Answer>",
            ),
        ]);
        let s = shape(&t);
        assert_eq!(s.code_cells, 3);
        assert!(s.explores_first && s.understand_cites_output && s.recovered);
        assert_eq!(s.unsupported, ["345"]);
    }
}
