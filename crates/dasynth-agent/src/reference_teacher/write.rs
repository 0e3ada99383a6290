//! The turns of a reference trajectory, in order: the first look (with a mistake and its fix
//! in some trajectories), the solution's steps, a sanity check where one fits, the answer.

use super::phrases::{self, fill, pick};
use super::scene::{Scene, TableVar, py_list};
use super::{LoopLimits, TABLE_ROWS, cell_outcome, execute_text, render_answer};
use crate::format;
use crate::reference::{ANSWER_MARK, answer_cell, output_files, parse_answer};
use dasynth_core::rng::{Rng, unit};
use dasynth_core::trajectory::{Finish, Message, Trajectory, Turn};
use dasynth_sandbox::{CellResult, Session, Status};
use dasynth_tasks::checker::{self, CheckerSpec};
use dasynth_tasks::spec::AnswerType;
use dasynth_tasks::task::Task;
use dasynth_tasks::template::py_str;
use serde_json::Value;
use std::path::Path;
use std::time::Instant;

/// Runs cells and records the turns of one trajectory.
pub(super) struct Writer<'a> {
    session: &'a mut Session,
    t: &'a mut Trajectory,
    started: Instant,
    limits: &'a LoopLimits,
    code_turns: usize,
}

/// The trajectory ended early; its finish says why.
pub(super) struct Stop;

impl<'a> Writer<'a> {
    pub fn new(session: &'a mut Session, t: &'a mut Trajectory, started: Instant, limits: &'a LoopLimits) -> Self {
        Self { session, t, started, limits, code_turns: 0 }
    }

    fn elapsed_ms(&self) -> f64 {
        self.started.elapsed().as_secs_f64() * 1000.0
    }

    fn record(&mut self, text: String, cell: Option<&CellResult>) {
        self.t.messages.push(Message::new("assistant", text));
        if let Some(r) = cell {
            self.t.messages.push(Message::new("execute", execute_text(r, self.limits.execute_bytes)));
        }
        self.t.turns.push(Turn {
            started_ms: self.elapsed_ms(),
            generate_ms: 0.0,
            input_tokens: 0,
            output_tokens: 0,
            cached: false,
            cost_usd: 0.0,
            cell: cell.map(cell_outcome),
            format_error: None,
        });
    }

    /// One code turn; the cell may fail (a mistake the next turn fixes).
    fn try_turn(&mut self, analyze: &str, understand: Option<&str>, code: &str) -> Result<CellResult, Stop> {
        if self.code_turns >= self.limits.max_turns {
            self.t.finish = Finish::TurnLimit;
            self.t.finish_detail = format!("the reference trajectory needs more than {} turns", self.limits.max_turns);
            return Err(Stop);
        }
        let r = self.session.run(code);
        self.record(format!("{}<Code>\n```python\n{code}```\n</Code>", prose(analyze, understand)), Some(&r));
        self.code_turns += 1;
        if !r.status.session_alive() {
            self.fail(&r);
            return Err(Stop);
        }
        Ok(r)
    }

    /// One code turn whose cell must succeed.
    fn turn(&mut self, analyze: &str, understand: Option<&str>, code: &str) -> Result<CellResult, Stop> {
        let r = self.try_turn(analyze, understand, code)?;
        if r.status != Status::Ok {
            self.fail(&r);
            return Err(Stop);
        }
        Ok(r)
    }

    fn fail(&mut self, r: &CellResult) {
        self.t.finish = Finish::SandboxError;
        self.t.finish_detail =
            format!("reference cell {} ended {}: {}", self.code_turns, r.status.name(), format::short_traceback(&r.stderr));
    }

    /// What a cell showed the model (its `<Execute>` text, cut as the model saw it).
    fn shown(&self, r: &CellResult) -> String {
        execute_text(r, self.limits.execute_bytes)
    }
}

/// `<Analyze>` and, when there is one, `<Understand>`.
fn prose(analyze: &str, understand: Option<&str>) -> String {
    let mut text = format!("<Analyze>\n{}\n</Analyze>\n", analyze.trim());
    if let Some(u) = understand.map(str::trim).filter(|u| !u.is_empty()) {
        text.push_str(&format!("<Understand>\n{u}\n</Understand>\n"));
    }
    text
}

/// A realistic mistake, exposed by the output of the cell that makes it.
#[derive(Debug, Clone)]
enum Mistake {
    /// A column named with the wrong letter case in the first look.
    Case { table: usize, column: String, wrong: String },
    /// The first look loads without parsing a text date column and uses `.dt` on it.
    Date { line: usize },
    /// A text column averaged with the numeric ones.
    TextMean { table: usize, text: String, numbers: Vec<String> },
}

fn choose_mistake(scene: &Scene, rng: &mut Rng, share: f64) -> Option<Mistake> {
    if unit(rng.next_u64()) >= share {
        return None;
    }
    let mut options = Vec::new();
    if !scene.date_lines.is_empty() {
        options.push(Mistake::Date { line: rng.below(scene.date_lines.len() as u64) as usize });
    }
    for (i, t) in scene.tables.iter().enumerate() {
        if let Some((column, wrong)) = t.involved.iter().find_map(|c| Some((c.clone(), t.miscased(c)?))) {
            options.push(Mistake::Case { table: i, column, wrong });
            break;
        }
    }
    for (i, t) in scene.tables.iter().enumerate() {
        let text = t.involved.iter().find(|c| t.is_text(c));
        let numbers: Vec<String> = t.involved.iter().filter(|c| t.is_numeric(c)).cloned().collect();
        if let (Some(text), false) = (text, numbers.is_empty()) {
            options.push(Mistake::TextMean { table: i, text: text.clone(), numbers });
            break;
        }
    }
    if options.is_empty() {
        return None;
    }
    let i = rng.below(options.len() as u64) as usize;
    Some(options.swap_remove(i))
}

/// The lines of the first look at every table, in one of three styles. `miscase` swaps one
/// column name of one table for a wrongly cased one.
fn look_code(scene: &Scene, style: u64, miscase: Option<(usize, &str, &str)>) -> String {
    let mut code = String::new();
    for (i, t) in scene.tables.iter().enumerate() {
        let mut cols = t.involved.clone();
        if let Some((table, column, wrong)) = miscase
            && table == i
        {
            for c in cols.iter_mut().filter(|c| c.as_str() == column) {
                *c = wrong.to_string();
            }
        }
        let (v, list) = (&t.var, py_list(&cols));
        let sel = format!("{v}[{list}]");
        match style {
            0 => code.push_str(&format!("print({v}.shape)\nprint({sel}.dtypes)\nprint({sel}.isna().sum())\nprint({sel}.head())\n")),
            1 => code.push_str(&format!(
                "print(f\"{{len({v})}} rows, {{{v}.shape[1]}} columns\")\nprint(pd.DataFrame({{\"dtype\": {sel}.dtypes.astype(str), \"missing\": {sel}.isna().sum()}}))\nprint({sel}.head(3))\n"
            )),
            _ => code.push_str(&format!(
                "print(\"rows, columns:\", {v}.shape)\nfor col in {list}:\n    print(col, {v}[col].dtype, {v}[col].isna().sum())\nprint({sel}.head())\n"
            )),
        }
    }
    code
}

/// Whether `number` appears in `text` as a whole number (not inside a longer one).
fn appears(number: &str, text: &str) -> bool {
    let bytes = text.as_bytes();
    let is_num = |b: u8| b.is_ascii_digit() || b == b'.';
    text.match_indices(number).any(|(at, _)| {
        let before = at.checked_sub(1).map(|i| bytes[i]);
        let after = bytes.get(at + number.len()).copied();
        // A full stop after a number ends a sentence; before it, or a digit either side, it is
        // part of a longer number.
        !before.is_some_and(|b| is_num(b) || b == b'-')
            && !after.is_some_and(|b| b.is_ascii_digit() || (b == b'.' && bytes.get(at + number.len() + 1).is_some_and(u8::is_ascii_digit)))
    })
}

/// Reads shape, types and missing counts of the involved columns with a hidden cell (it changes
/// nothing) and states those the look's output shows.
fn facts_text(w: &mut Writer<'_>, scene: &Scene, shown: &str, rng: &mut Rng) -> Option<String> {
    const MARK: &str = "<<dasynth-facts>>";
    let wanted: Vec<String> = scene.tables.iter().map(|t| format!("({}, {})", py_str(&t.var), py_list(&t.involved))).collect();
    let code = format!(
        "def __dasynth_facts():\n    out = {{}}\n    for name, cols in [{}]:\n        frame = globals().get(name)\n        if frame is None or not hasattr(frame, \"shape\"):\n            continue\n        out[name] = [int(frame.shape[0]), int(frame.shape[1]), [[c, str(frame[c].dtype), int(frame[c].isna().sum())] for c in cols if c in frame.columns]]\n    return out\nimport json as __dasynth_j\nprint({} + __dasynth_j.dumps(__dasynth_facts()))\ndel __dasynth_facts\n",
        wanted.join(", "),
        py_str(MARK)
    );
    let r = w.session.run(&code);
    let line = r.stdout.lines().rev().find(|l| l.starts_with(MARK))?;
    let facts: Value = serde_json::from_str(&line[MARK.len()..]).ok()?;
    let mut sentences = Vec::new();
    let several = scene.tables.len() > 1;
    let mut any_missing = false;
    for t in &scene.tables {
        let Some(f) = facts.get(&t.var).and_then(Value::as_array) else { continue };
        let (Some(rows), Some(cols)) = (f.first().and_then(Value::as_u64), f.get(1).and_then(Value::as_u64)) else { continue };
        let (rows, cols) = (rows.to_string(), cols.to_string());
        if appears(&rows, shown) && appears(&cols, shown) {
            let subject = if several { format!("`{}`", t.var) } else { pick(rng, &["The table", "The data", "It"]).to_string() };
            let shape = pick(rng, &["{subject} has {rows} rows and {cols} columns.", "{subject} holds {rows} rows in {cols} columns."]);
            sentences.push(fill(shape, &[("subject", subject.as_str()), ("rows", rows.as_str()), ("cols", cols.as_str())]));
        }
        let mut parts = Vec::new();
        for c in f.get(2).and_then(Value::as_array).into_iter().flatten() {
            let (Some(name), Some(dtype), Some(missing)) =
                (c.get(0).and_then(Value::as_str), c.get(1).and_then(Value::as_str), c.get(2).and_then(Value::as_u64))
            else {
                continue;
            };
            let kind = dtype_words(dtype);
            let missing_text = match missing {
                0 => pick(rng, &[" with no missing values", " and complete", " with every value present"]).to_string(),
                m if appears(&m.to_string(), shown) => {
                    any_missing = true;
                    format!(" with {m} missing value{}", if m == 1 { "" } else { "s" })
                }
                _ => String::new(),
            };
            parts.push(format!("`{name}` is {kind}{missing_text}"));
        }
        if !parts.is_empty() {
            sentences.push(format!("{}.", parts.join("; ")));
        }
    }
    if any_missing {
        sentences.push(
            pick(
                rng,
                &[
                    "I'll keep the missing values in mind: pandas skips them in its aggregations.",
                    "Some values are missing, which pandas leaves out of sums, means and counts of values.",
                    "The missing values matter for the calculation, so I'll make sure they are handled the way the question says.",
                ],
            )
            .to_string(),
        );
    }
    (!sentences.is_empty()).then(|| sentences.join(" "))
}

fn dtype_words(dtype: &str) -> String {
    match dtype {
        d if d.starts_with("float") => format!("numeric (`{d}`)"),
        d if d.starts_with("int") || d.starts_with("Int") => format!("integer (`{d}`)"),
        "str" | "object" | "string" => "text".to_string(),
        "bool" | "boolean" => "boolean".to_string(),
        d if d.starts_with("datetime") => format!("a datetime (`{d}`)"),
        d => format!("`{d}`"),
    }
}

/// The last lines of what a cell showed, quoted in one line (numbers kept whole).
fn quote_output(shown: &str, rng: &mut Rng) -> Option<String> {
    let body = shown.trim().strip_prefix("<Execute>").unwrap_or(shown).strip_suffix("</Execute>").unwrap_or(shown).trim();
    let lines: Vec<&str> = body.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    if lines.is_empty() {
        return None;
    }
    // A short output whole; a longer one (a table, a summary) by its first lines.
    let tail = &lines[..lines.len().min(3)];
    let mut text = tail.iter().map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")).collect::<Vec<_>>().join(" / ");
    if text.len() > 200 {
        let mut cut = 200;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        let at = text[..cut].rfind(' ').unwrap_or(cut);
        text.truncate(at);
        text.push_str(" …");
    }
    let text = text.replace('`', "'");
    let quoted = format!("`{text}`");
    Some(fill(pick(rng, phrases::OUTPUT_LEAD), &[("output", quoted.as_str())]))
}

/// Whether a step already prints its result: `print(answer...)`, or `print(x)` of the variable
/// it names the answer (`answer = x`).
fn prints_answer(step: &str) -> bool {
    step.contains("print(answer")
        || step.lines().filter_map(|l| l.trim().strip_prefix("answer = ")).any(|x| step.contains(&format!("print({})", x.trim())))
}

/// The line that prints the result at the end of the last step.
fn show_line(answer: AnswerType) -> &'static str {
    match answer {
        AnswerType::Table | AnswerType::File => "print(answer.head(10))\n",
        AnswerType::Set | AnswerType::List => "print(list(answer))\n",
        _ => "print(answer)\n",
    }
}

/// A sanity check of the result and how to read its output.
enum Check {
    /// A count against the rows of the table.
    Count { var: String },
    /// A mean, median or percentile against the column's range.
    Range { var: String, column: String },
    /// How many values a list holds.
    Size,
    /// The shape of a table.
    Shape,
    /// The chart file exists.
    File { path: String },
    /// A named value is one of the column's values.
    Member { var: String, column: String },
}

fn choose_check(scene: &Scene, spec: &CheckerSpec, instruction: &str) -> Option<Check> {
    let lower = instruction.to_lowercase();
    let first: Option<&TableVar> = scene.tables.first();
    match spec.answer_type {
        AnswerType::Integer if ["how many", "number of", "count"].iter().any(|w| lower.contains(w)) => {
            first.map(|t| Check::Count { var: t.var.clone() })
        }
        AnswerType::Number if ["mean", "average", "median", "percentile", "quantile"].iter().any(|w| lower.contains(w)) => {
            let t = first?;
            t.involved.iter().find(|c| t.is_numeric(c)).map(|c| Check::Range { var: t.var.clone(), column: c.clone() })
        }
        AnswerType::Set | AnswerType::List => Some(Check::Size),
        AnswerType::Table => Some(Check::Shape),
        AnswerType::File => spec.file.as_ref().map(|f| Check::File { path: format!("outputs/{f}") }),
        AnswerType::String => {
            let t = first?;
            t.involved.iter().find(|c| t.is_text(c)).map(|c| Check::Member { var: t.var.clone(), column: c.clone() })
        }
        _ => None,
    }
}

impl Check {
    fn code(&self) -> String {
        match self {
            Check::Count { var } => format!("print(len({var}), answer <= len({var}))\n"),
            Check::Range { var, column } => {
                let s = format!("{var}[{}]", py_str(column));
                format!("print({s}.min(), {s}.max(), {s}.min() <= answer <= {s}.max())\n")
            }
            Check::Size => "print(len(answer))\n".into(),
            // The whole table goes to a file: the answer shows its first rows only.
            Check::Shape => format!("answer.to_csv({}, index=False)\nprint(answer.shape)\n", py_str(TABLE_FILE)),
            // The chart's data goes beside it (`counts.png` → `counts.csv`).
            Check::File { path } => format!(
                "answer.to_csv({data}, index=False)\nimport os\nprint(os.path.exists({p}), os.path.getsize({p}))\n",
                data = py_str(&crate::reference_teacher::data_file(path)),
                p = py_str(path)
            ),
            Check::Member { var, column } => format!("print(str(answer) in set({var}[{}].dropna().astype(str)))\n", py_str(column)),
        }
    }

    /// What the check's output says (`<Understand>`), and a finding for the answer. Only
    /// numbers the output shows are stated.
    fn read(&self, shown: &str, result: &str) -> Option<(String, String)> {
        let body = shown.trim().strip_prefix("<Execute>")?.strip_suffix("</Execute>")?.trim();
        let tokens: Vec<&str> =
            body.split(|c: char| c.is_whitespace() || c == '(' || c == ')' || c == ',').filter(|t| !t.is_empty()).collect();
        match (self, tokens.as_slice()) {
            (Check::Count { var }, [rows, ok]) => Some(if *ok == "True" {
                (
                    format!("`{var}` has {rows} rows, and the count is no larger than that, as it must be."),
                    format!("That is out of {rows} rows in total."),
                )
            } else {
                (format!("`{var}` has {rows} rows; the result is larger, so it counts more than rows."), String::new())
            }),
            (Check::Range { column, .. }, [lo, hi, ok]) => Some(if *ok == "True" {
                (
                    format!("`{column}` runs from {lo} to {hi}, and the result lies inside that range, as it should."),
                    format!("It lies within the range of `{column}` ({lo} to {hi})."),
                )
            } else {
                (format!("`{column}` runs from {lo} to {hi}; the result lies outside that range."), String::new())
            }),
            (Check::Size, [n]) => Some((format!("The result holds {n} values."), String::new())),
            (Check::Shape, [rows, cols]) => Some((
                format!("The table has {rows} rows and {cols} columns."),
                match rows.parse::<usize>() {
                    Ok(r) if r > TABLE_ROWS => {
                        format!("The full table has {rows} rows, saved as `{TABLE_FILE}`; the first ones are shown.")
                    }
                    _ => String::new(),
                },
            )),
            (Check::File { .. }, ["True", bytes]) => {
                Some((format!("The chart file was written and is {bytes} bytes long."), String::new()))
            }
            (Check::Member { column, .. }, ["True"]) => {
                Some((format!("`{result}` is indeed one of the values of `{column}`."), String::new()))
            }
            _ => None,
        }
    }
}

/// Where the check cell of a table answer saves the whole table.
const TABLE_FILE: &str = "outputs/answer.csv";

/// Writes every turn; an early stop leaves its reason in the trajectory's finish.
pub(super) fn write(w: &mut Writer<'_>, scene: &Scene, task: &Task, spec: &CheckerSpec, sample: u32, outputs: &Path) {
    if scene.load_cell.trim().is_empty() {
        w.t.finish_detail = "the task has no reference solution".into();
        return;
    }
    let _ = turns(w, scene, task, spec, sample, outputs);
}

fn turns(w: &mut Writer<'_>, scene: &Scene, task: &Task, spec: &CheckerSpec, sample: u32, outputs: &Path) -> Result<(), Stop> {
    let mut rng = Rng::from_parts(&[&task.id, &sample.to_string(), "reference-teacher"]);
    let mistake = choose_mistake(scene, &mut rng, w.limits.mistakes);
    let style = rng.below(3);
    let plan = fill(pick(&mut rng, phrases::PLAN), &[("columns", scene.columns_text().as_str()), ("files", scene.files_text().as_str())]);
    let look = look_code(scene, style, None);

    // The first look, and the mistakes made there.
    let mut pending: Option<String>;
    match &mistake {
        Some(Mistake::Case { table, column, wrong }) => {
            let code = format!("{}{}", scene.load_cell, look_code(scene, style, Some((*table, column, wrong))));
            let r = w.try_turn(&plan, None, &code)?;
            let r = if r.status == Status::Error && r.stderr.contains("KeyError") {
                let analyze = fill(pick(&mut rng, phrases::AFTER_KEY_ERROR), &[("wrong", wrong.as_str())]);
                w.turn(&analyze, None, &format!("print({}.columns.tolist())\n{look}", scene.tables[*table].var))?
            } else if r.status == Status::Ok {
                r
            } else {
                w.fail(&r);
                return Err(Stop);
            };
            let shown = w.shown(&r);
            pending = facts_text(w, scene, &shown, &mut rng);
        }
        Some(Mistake::Date { line }) => {
            let d = &scene.date_lines[*line];
            let s = format!("{}[{}]", d.var, py_str(&d.column));
            let code = format!("{}{look}print({s}.dt.year.value_counts().sort_index().head())\n", scene.load_cell_without_dates());
            let r = w.try_turn(&plan, None, &code)?;
            let shown = w.shown(&r);
            let facts = facts_text(w, scene, &shown, &mut rng);
            if r.status == Status::Error && r.stderr.contains("AttributeError") {
                let analyze = fill(pick(&mut rng, phrases::AFTER_DT_ERROR), &[("column", d.column.as_str())]);
                let parse: String = scene.date_lines.iter().map(|d| format!("{}\n", d.line)).collect();
                let r = w.turn(&analyze, facts.as_deref(), &format!("{parse}print({s}.dtype)\nprint({s}.min(), {s}.max())\n"))?;
                let shown = w.shown(&r);
                pending = quote_output(&shown, &mut rng);
            } else if r.status == Status::Ok {
                pending = facts;
            } else {
                w.fail(&r);
                return Err(Stop);
            }
        }
        _ => {
            let r = w.turn(&plan, None, &format!("{}{look}", scene.load_cell))?;
            let shown = w.shown(&r);
            pending = facts_text(w, scene, &shown, &mut rng);
        }
    }
    if let Some(Mistake::TextMean { table, text, numbers }) = &mistake {
        let t = &scene.tables[*table];
        let mut cols = vec![text.clone()];
        cols.extend(numbers.iter().cloned());
        let r = w.try_turn(
            pick(&mut rng, phrases::TRY_MEANS),
            pending.take().as_deref(),
            &format!("print({}[{}].mean())\n", t.var, py_list(&cols)),
        )?;
        let r = if r.status == Status::Error {
            let analyze = fill(pick(&mut rng, phrases::AFTER_TYPE_ERROR), &[("column", text.as_str())]);
            w.turn(&analyze, None, &format!("print({}[{}].mean())\n", t.var, py_list(numbers)))?
        } else {
            r
        };
        let shown = w.shown(&r);
        pending = quote_output(&shown, &mut rng);
    }

    // The solution's steps; the last one prints the result.
    let mut steps = scene.steps.clone();
    if steps.is_empty() {
        steps.push(String::new());
    }
    let n = steps.len();
    for (i, step) in steps.iter_mut().enumerate() {
        let analyze = if i == 0 {
            pick(&mut rng, phrases::AFTER_LOOK)
        } else if i + 1 < n {
            pick(&mut rng, phrases::NEXT_STEP)
        } else {
            pick(&mut rng, phrases::FINAL_STEP)
        };
        if i + 1 == n && !prints_answer(step) {
            step.push_str(show_line(spec.answer_type));
        }
        let r = w.turn(analyze, pending.take().as_deref(), step)?;
        let shown = w.shown(&r);
        pending = quote_output(&shown, &mut rng);
    }

    // The answer, read without a visible turn.
    let hidden = w.session.run(&answer_cell("answer"));
    let files_out = output_files(outputs);
    w.t.outputs = files_out.clone();
    let Some(value) = parse_answer(&hidden.stdout) else {
        w.t.finish = Finish::SandboxError;
        w.t.finish_detail =
            format!("the reference solution left no `answer` ({ANSWER_MARK} missing): {}", format::short_traceback(&hidden.stderr));
        return Err(Stop);
    };
    let result = super::scalar(&value);

    // A sanity check where one fits.
    let mut finding = String::new();
    let mut wrap = pick(&mut rng, phrases::WRAP_UP_UNCHECKED);
    if let Some(check) = choose_check(scene, spec, &task.instruction) {
        let r = w.turn(pick(&mut rng, phrases::CHECK), pending.take().as_deref(), &check.code())?;
        let shown = w.shown(&r);
        match check.read(&shown, &result) {
            Some((understand, found)) => {
                pending = Some(understand);
                finding = found;
                wrap = pick(&mut rng, phrases::WRAP_UP);
            }
            None => pending = quote_output(&shown, &mut rng),
        }
    }

    let mut text = render_answer(spec, &value, &files_out);
    if !finding.is_empty() {
        text.push_str("\n\n");
        text.push_str(&finding);
    }
    w.record(format!("{}<Answer>\n{text}\n</Answer>", prose(wrap, pending.as_deref())), None);
    let truth = task.ground_truth_value();
    let verdict = if matches!(spec.answer_type, AnswerType::Table | AnswerType::File) {
        checker::check_value(spec, &truth, &value, &files_out)
    } else {
        checker::check_text(spec, &truth, &text, &files_out)
    };
    w.t.passed = Some(verdict.passed);
    w.t.check_detail = verdict.reason;
    w.t.answer = Some(text);
    w.t.finish = Finish::Answer;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_that_prints_its_result_is_left_alone() {
        assert!(prints_answer("summary = x\nprint(summary)\nanswer = summary\n"));
        assert!(prints_answer("answer = 1\nprint(answer)\n"));
        assert!(!prints_answer("answer = counts.index[0]\nprint(counts.head())\n"));
    }

    #[test]
    fn numbers_appear_only_whole() {
        assert!(appears("344", "(344, 17)"));
        assert!(appears("17", "(344, 17)"));
        assert!(appears("2", "Body Mass (g)    2\n"));
        assert!(appears("5", "it has 5."));
        assert!(!appears("44", "(344, 17)"));
        assert!(!appears("4", "4.5"));
        assert!(!appears("5", "4.5"));
        assert!(!appears("3", "1344"));
    }

    #[test]
    fn output_quotes_keep_the_last_lines_whole() {
        let mut rng = Rng::new(1);
        let q = quote_output("<Execute>\nmean    4201.754386\nstd      801.954536\nmax     6300.000000\nName: x\n</Execute>", &mut rng)
            .unwrap();
        assert!(q.contains("`mean 4201.754386 / std 801.954536 / max 6300.000000`"), "{q}");
        assert!(quote_output("<Execute>\n\n</Execute>", &mut rng).is_none());
    }

    #[test]
    fn checks_read_only_what_the_output_says() {
        let c = Check::Range { var: "df".into(), column: "mass".into() };
        let (u, f) = c.read("<Execute>\n2700.0 6300.0 True\n</Execute>", "4201.75").unwrap();
        assert!(u.contains("2700.0 to 6300.0") && f.contains("2700.0 to 6300.0"), "{u} {f}");
        let (u, f) = c.read("<Execute>\n2700.0 6300.0 False\n</Execute>", "9000").unwrap();
        assert!(u.contains("outside") && f.is_empty());
        assert!(c.read("<Execute>\n[Error]:\nTypeError\n</Execute>", "x").is_none());
        let (u, f) = Check::Shape.read("<Execute>\n(12, 2)\n</Execute>", "").unwrap();
        assert!(u.contains("12 rows and 2 columns") && f.contains("12 rows"));
    }
}
