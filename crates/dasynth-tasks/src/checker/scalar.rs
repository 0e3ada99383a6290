//! Answers that are one value: numbers, whole numbers, strings and model metrics.

use super::AnswerCheck;
use super::collection;
use super::extract::{self, Answer};
use super::literal::{Literal, key_form};
use super::numbers::{self, Written};
use super::spec::CheckerSpec;
use super::text::{self, plain};
use crate::spec::AnswerType;
use serde_json::Value;

/// Keys of a JSON object that hold the answer.
pub const ANSWER_KEYS: [&str; 5] = ["answer", "value", "result", "finalanswer", "score"];

/// A number read from an answer, and where it was read.
#[derive(Debug, Clone)]
pub struct Found {
    pub number: Written,
    /// The text the number was read from (for the verdict).
    pub shown: String,
    pub source: &'static str,
}

/// Words after which a four-digit number is a year, not the answer ("in 2013").
const YEAR_WORDS: [&str; 11] = ["in", "since", "during", "from", "between", "by", "until", "before", "after", "through", "to"];

/// Words that mark a clause about the baseline rather than the model ("the baseline MAE is 5.1").
const BASELINE_WORDS: [&str; 6] = ["baseline", "naive", "dummy", "majority", "mean predictor", "constant"];

fn year_like(w: &Written) -> bool {
    w.whole && !w.percent && w.end - w.start == 4 && (1000.0..=2999.0).contains(&w.value)
}

fn is_year_reference(c: &[char], w: &Written) -> bool {
    if !year_like(w) {
        return false;
    }
    let mut k = w.start;
    while k > 0 && c[k - 1] == ' ' {
        k -= 1;
    }
    let e = k;
    while k > 0 && c[k - 1].is_ascii_alphabetic() {
        k -= 1;
    }
    let word: String = c[k..e].iter().collect::<String>().to_ascii_lowercase();
    YEAR_WORDS.contains(&word.as_str())
}

/// Start and end (in chars) of the clause around a span: clauses end at line breaks, `;`, `(`,
/// `)`, `|`, a `,` or `.` followed by a space, and the words but, while, whereas, versus, vs,
/// compared, against and and.
fn clause(c: &[char], start: usize, end: usize) -> (usize, usize) {
    let boundary = |k: usize| -> Option<usize> {
        let ch = c[k];
        if matches!(ch, '\n' | ';' | '(' | ')' | '|') || (matches!(ch, ',' | '.') && k + 1 < c.len() && c[k + 1] == ' ') {
            return Some(1);
        }
        for w in [" but ", " while ", " whereas ", " versus ", " vs ", " vs. ", " compared ", " against ", " and "] {
            if k + w.len() <= c.len() && c[k..k + w.len()].iter().map(|x| x.to_ascii_lowercase()).eq(w.chars()) {
                return Some(w.len());
            }
        }
        None
    };
    let mut s = 0;
    let mut k = 0;
    while k < start {
        match boundary(k) {
            Some(len) if k + len <= start => {
                s = k + len;
                k += len;
            }
            _ => k += 1,
        }
    }
    let mut e = c.len();
    let mut k = end;
    while k < c.len() {
        if boundary(k).is_some() {
            e = k;
            break;
        }
        k += 1;
    }
    (s, e.max(s))
}

fn about_baseline(c: &[char], w: &Written) -> bool {
    let (s, e) = clause(c, w.start, w.end);
    let text: String = c[s..e].iter().collect::<String>().to_lowercase();
    BASELINE_WORDS.iter().any(|b| text.contains(b))
}

/// Words after which a number is what the sentence states ("the mean is 4.2", "an accuracy of
/// 0.9", "= 4.2", "Mean: 4.2").
const COPULAS: [&str; 17] = [
    "is", "was", "are", "were", "be", "been", "equals", "equal", "of", "at", "reaches", "reached", "gives", "yields", "totals", "totaled",
    "totalled",
];
/// Words between a copula and its number that change nothing ("is approximately 4.2").
const HEDGES: [&str; 11] =
    ["approximately", "about", "around", "roughly", "nearly", "almost", "exactly", "only", "just", "precisely", "some"];

/// The ASCII word that ends at `k`, lower-cased, and where it starts.
fn word_before(c: &[char], k: usize) -> (String, usize) {
    let mut s = k;
    while s > 0 && c[s - 1].is_ascii_alphabetic() {
        s -= 1;
    }
    (c[s..k].iter().collect::<String>().to_ascii_lowercase(), s)
}

/// Whether the number starting at `start` follows a copula (hedges, spaces, emphasis and
/// currency signs between them allowed); `n = 342` and `out of 344` do not count.
fn after_copula(c: &[char], start: usize) -> bool {
    let mut k = start;
    loop {
        while k > 0 && matches!(c[k - 1], ' ' | '*' | '`' | '$' | '\u{20ac}' | '\u{a3}' | '~') {
            k -= 1;
        }
        if k == 0 {
            return false;
        }
        let ch = c[k - 1];
        if matches!(ch, '=' | ':' | '\u{2248}') {
            if ch == '=' {
                // `n = 342` names a count, not a result.
                let mut j = k - 1;
                while j > 0 && c[j - 1] == ' ' {
                    j -= 1;
                }
                let mut v = j;
                while v > 0 && text::is_word(c[v - 1]) {
                    v -= 1;
                }
                if j - v == 1 {
                    return false;
                }
            }
            return true;
        }
        let (word, ws) = word_before(c, k);
        if HEDGES.contains(&word.as_str()) {
            k = ws;
            continue;
        }
        if COPULAS.contains(&word.as_str()) {
            if word == "of" {
                let mut j = ws;
                while j > 0 && c[j - 1] == ' ' {
                    j -= 1;
                }
                if word_before(c, j).0 == "out" {
                    return false;
                }
            }
            return true;
        }
        return false;
    }
}

/// Nouns that make a number a description of the data ("342 rows", "Rows used: 342").
const CONTEXT_NOUNS: [&str; 15] = [
    "rows",
    "row",
    "records",
    "observations",
    "samples",
    "entries",
    "values",
    "points",
    "columns",
    "non-null",
    "nonnull",
    "missing",
    "complete",
    "valid",
    "cases",
];
/// First words of a `label:` that make the number after it a count of the data.
const CONTEXT_LABELS: [&str; 5] = ["n", "count", "number", "sample", "size"];

/// Whether a number counts the data rather than answers: followed by one of
/// [`CONTEXT_NOUNS`], or after a `label:` on its line whose first word is one of them or of
/// [`CONTEXT_LABELS`].
fn is_context(c: &[char], w: &Written) -> bool {
    let mut k = w.end;
    while k < c.len() && c[k] == ' ' {
        k += 1;
    }
    let mut e = k;
    while e < c.len() && (c[e].is_ascii_alphabetic() || c[e] == '-') {
        e += 1;
    }
    let next: String = c[k..e].iter().collect::<String>().to_ascii_lowercase();
    if CONTEXT_NOUNS.contains(&next.as_str()) {
        return true;
    }
    let mut ls = w.start;
    while ls > 0 && c[ls - 1] != '\n' {
        ls -= 1;
    }
    let before = &c[ls..w.start];
    let Some(p) = before.iter().rposition(|&ch| ch == ':') else { return false };
    let label: String = before[..p].iter().collect::<String>().to_ascii_lowercase();
    let words: Vec<&str> =
        label.split(|ch: char| !(ch.is_ascii_alphabetic() || ch == '-')).filter(|w| w.chars().any(|ch| ch.is_ascii_alphabetic())).collect();
    words.first().is_some_and(|w| CONTEXT_NOUNS.contains(w) || CONTEXT_LABELS.contains(w))
}

/// The number a piece of prose states as its answer. Candidates narrow step by step (a step
/// that would leave none is skipped): for metrics, numbers in a clause about the baseline are
/// dropped; years are preferred when the answer is a year (`years`: those after "in", "since",
/// ... first), else those years are dropped; for numbers and metrics, counts of the data
/// ([`is_context`]) are dropped; numbers in parentheses are dropped. Of what is left, the first
/// number after a copula ("is", "of", "=", ":") wins, else the last number.
pub fn prose_number(text: &str, answer_type: AnswerType, years: bool) -> Option<Written> {
    let c: Vec<char> = text.chars().collect();
    let metric = answer_type == AnswerType::Metric;
    let mut nums: Vec<Written> = numbers::scan(text).into_iter().filter(|w| !(metric && about_baseline(&c, w))).collect();
    let narrow = |nums: &mut Vec<Written>, keep: &dyn Fn(&Written) -> bool| {
        let kept: Vec<Written> = nums.iter().filter(|w| keep(w)).cloned().collect();
        if !kept.is_empty() {
            *nums = kept;
        }
    };
    if years {
        let refs: Vec<Written> = nums.iter().filter(|w| is_year_reference(&c, w)).cloned().collect();
        if refs.is_empty() {
            narrow(&mut nums, &|w| year_like(w));
        } else {
            nums = refs;
        }
    } else {
        narrow(&mut nums, &|w| !is_year_reference(&c, w));
    }
    if matches!(answer_type, AnswerType::Number | AnswerType::Metric) {
        narrow(&mut nums, &|w| !is_context(&c, w));
    }
    narrow(&mut nums, &|w| !w.in_parens);
    nums.iter().find(|w| after_copula(&c, w.start)).or_else(|| nums.last()).cloned()
}

/// A line that holds one number and at most two words besides (a unit), and no `label:`: the
/// last such line of the prose, with its number.
fn value_line(prose: &str) -> Option<(Written, String)> {
    let mut found = None;
    for line in prose.lines() {
        let item = extract::list_item(line).unwrap_or_else(|| line.to_string());
        let t: String = item.chars().filter(|c| !matches!(c, '*' | '`' | '#' | '>')).collect();
        let t = t.trim();
        let nums = numbers::scan(t);
        if nums.len() != 1 || t.contains(':') || t.contains('|') {
            continue;
        }
        let c: Vec<char> = t.chars().collect();
        let rest: String = c[..nums[0].start].iter().chain(&c[nums[0].end..]).collect();
        if rest.chars().any(|ch| ch.is_ascii_digit()) {
            continue;
        }
        let words: Vec<&str> = rest.split_whitespace().filter(|w| w.chars().any(char::is_alphanumeric)).collect();
        if words.len() <= 2 {
            found = Some((nums[0].clone(), t.to_string()));
        }
    }
    found
}

fn first_number(text: &str) -> Option<Written> {
    numbers::scan(text).into_iter().next()
}

/// The answer's value in a literal: a number or text, a one-element list, or the value of an
/// answer key of an object (the metric's name counts; with `single`, an object's only numeric
/// value too).
fn literal_scalar<'a>(v: &'a Literal, metric: Option<&str>, single: bool) -> Option<&'a Literal> {
    match v {
        Literal::Number(..) | Literal::Str(_) | Literal::Bool(_) => Some(v),
        Literal::List(items) if items.len() == 1 => literal_scalar(&items[0], metric, single),
        Literal::Map(entries) => {
            if let Some(m) = metric.map(key_form).filter(|m| !m.is_empty())
                && let Some((_, v)) = entries.iter().find(|(k, _)| {
                    let k = key_form(k);
                    k.contains(&m) && !k.contains("baseline")
                })
            {
                return literal_scalar(v, None, false);
            }
            for key in ANSWER_KEYS {
                if let Some(v) = v.get(key) {
                    return literal_scalar(v, None, false);
                }
            }
            if single {
                let scalars: Vec<&Literal> =
                    entries.iter().map(|(_, v)| v).filter(|v| v.is_scalar() && !matches!(v, Literal::Null)).collect();
                if entries.len() == 1 && scalars.len() == 1 {
                    return Some(scalars[0]);
                }
                let numeric: Vec<&&Literal> = scalars.iter().filter(|v| matches!(v, Literal::Number(..))).collect();
                if numeric.len() == 1 {
                    return Some(numeric[0]);
                }
            }
            None
        }
        _ => None,
    }
}

/// Reads the number an answer gives. Sources, first found wins: the last `@name[value]`
/// marker holding a number; a literal (the whole answer, a data fence, or an object in the
/// prose with an answer key); the last `\boxed{}`; the last bold span holding a number (outside
/// parentheses preferred); the last "Answer:" line; the last line holding only a number (and
/// at most two words); the prose without its tables, then with them, then the fences (see
/// [`prose_number`]); and, for whole numbers in an answer without digits, the last number word
/// (zero to twenty).
pub fn find_number(spec: &CheckerSpec, answer: &Answer, truth: Option<f64>) -> Option<Found> {
    let metric = spec.answer_type == AnswerType::Metric;
    // Years are skipped in prose unless the answer is itself a year.
    let years = truth.is_some_and(|t| t.fract() == 0.0 && (1000.0..=2999.0).contains(&t));
    let metric_name = if metric { spec.metric.as_deref() } else { None };
    let found = |w: Written, shown: &str, source| Some(Found { number: w, shown: shown.trim().to_string(), source });
    if let Some((_, v)) = extract::markers(&answer.prose).iter().rev().find_map(|(n, v)| first_number(v).map(|w| (n, (w, v)))) {
        return found(v.0, v.1, "marker");
    }
    for (lit, embedded) in extract::literals(answer, true) {
        if embedded && !matches!(lit, Literal::Map(_)) {
            continue;
        }
        if let Some(v) = literal_scalar(&lit, metric_name, !embedded) {
            let shown = v.text();
            if let Some(w) = first_number(&shown) {
                return found(w, &shown, "literal");
            }
        }
    }
    if let Some((w, b)) = extract::boxed(&answer.prose).iter().rev().find_map(|b| first_number(b).map(|w| (w, b))) {
        return found(w, b, "boxed");
    }
    let bold: Vec<(Written, String, bool)> =
        extract::bold_spans(&answer.prose).into_iter().filter_map(|(s, paren)| first_number(&s).map(|w| (w, s, paren))).collect();
    if let Some((w, s, _)) = bold.iter().rfind(|b| !b.2).or_else(|| bold.last()) {
        return found(w.clone(), s, "bold");
    }
    if let Some(line) = extract::answer_lines(&answer.prose).last()
        && let Some(w) = prose_number(line, spec.answer_type, years)
    {
        return found(w, line, "answer line");
    }
    let statement = answer.statement();
    if let Some((w, line)) = value_line(&statement) {
        return found(w, &line, "value line");
    }
    let fences: Vec<&str> = answer.fences.iter().map(|(_, b)| b.as_str()).collect();
    for text in [statement, answer.prose.clone(), fences.join("\n")] {
        if let Some(w) = prose_number(&text, spec.answer_type, years) {
            let shown: String = text.chars().skip(w.start).take(w.end - w.start).collect();
            return found(w, &shown, "prose");
        }
    }
    if spec.answer_type == AnswerType::Integer
        && let Some(w) = numbers::last_number_word(&answer.prose)
    {
        let shown: String = answer.prose.chars().skip(w.start).take(w.end - w.start).collect();
        return found(w, &shown, "number word");
    }
    None
}

fn truth_number(truth: &Value) -> Option<f64> {
    truth.as_f64().or_else(|| truth.as_str().and_then(|s| s.trim().parse().ok()))
}

/// Number and integer answers.
pub fn check_number(spec: &CheckerSpec, truth: &Value, answer: &Answer) -> AnswerCheck {
    let Some(t) = truth_number(truth) else { return AnswerCheck::wrong(format!("the ground truth {truth} is not a number"), None) };
    let Some(f) = find_number(spec, answer, Some(t)) else { return AnswerCheck::unextractable("the answer states no number") };
    let shown = Some(f.shown.clone());
    let ok = if spec.answer_type == AnswerType::Integer {
        numbers::matches_whole(spec, &f.number, t)
    } else {
        numbers::matches(spec, &f.number, t)
    };
    if ok {
        AnswerCheck::pass(format!("{} ({}) states {t}", f.shown, f.source), shown)
    } else if spec.answer_type == AnswerType::Integer && f.number.value.fract() != 0.0 {
        AnswerCheck::wrong(format!("expected the whole number {t}, the answer's {} ({}) is not whole", f.shown, f.source), shown)
    } else {
        AnswerCheck::wrong(format!("expected {t}, the answer's {} ({}) is outside the tolerance", f.shown, f.source), shown)
    }
}

/// Metrics whose scores lie in [0, 1]: a value in (1, 100] without a percent sign is read as a
/// percentage.
const UNIT_METRICS: [&str; 10] = ["accuracy", "acc", "f1", "f1score", "precision", "recall", "auc", "rocauc", "balancedaccuracy", "iou"];
/// Metrics that cannot be negative.
const ERROR_METRICS: [&str; 7] = ["mae", "mse", "rmse", "mape", "logloss", "crossentropy", "error"];
/// Metrics that cannot exceed 1.
const AT_MOST_ONE: [&str; 3] = ["r2", "rsquared", "r²"];

/// Metric answers: the model's score on the held-out split must reach the ground truth's
/// `baseline` in the metric's direction.
pub fn check_metric(spec: &CheckerSpec, truth: &Value, answer: &Answer) -> AnswerCheck {
    let Some(baseline) = truth.get("baseline").and_then(Value::as_f64) else {
        return AnswerCheck::wrong("the ground truth has no numeric baseline", None);
    };
    let name = spec.metric.clone().unwrap_or_else(|| "score".into());
    let Some(f) = find_number(spec, answer, None) else { return AnswerCheck::unextractable(format!("the answer states no {name}")) };
    let shown = Some(f.shown.clone());
    let form = key_form(&name);
    let mut score = if f.number.percent { f.number.value / 100.0 } else { f.number.value };
    if UNIT_METRICS.contains(&form.as_str()) && !f.number.percent && score > 1.0 && score <= 100.0 {
        score /= 100.0;
    }
    if !score.is_finite() {
        return AnswerCheck::wrong(format!("{name} {} is not a finite number", f.shown), shown);
    }
    let impossible = (UNIT_METRICS.contains(&form.as_str()) && !(0.0..=1.0).contains(&score))
        || (ERROR_METRICS.contains(&form.as_str()) && score < 0.0)
        || (AT_MOST_ONE.contains(&form.as_str()) && score > 1.0);
    if impossible {
        return AnswerCheck::wrong(format!("{} is not a possible {name}", f.shown), shown);
    }
    let higher = spec.higher_is_better.unwrap_or(true);
    let ok = if higher { score >= baseline - 1e-9 } else { score <= baseline + 1e-9 };
    if ok {
        AnswerCheck::pass(format!("{name} {} ({}) reaches the baseline {baseline}", f.shown, f.source), shown)
    } else {
        AnswerCheck::wrong(format!("{name} {} ({}) does not beat the baseline {baseline}", f.shown, f.source), shown)
    }
}

/// The text of an answer that names its value: the last marker; a literal (the whole answer, a
/// data fence, or an object in the prose with an answer key); the last `\boxed{}`; the first
/// bold span; the last "Answer:" line; else the prose without its tables (with them when
/// nothing else is left).
fn find_text(answer: &Answer) -> (String, &'static str) {
    if let Some((_, v)) = extract::markers(&answer.prose).last() {
        return (v.clone(), "marker");
    }
    for (lit, embedded) in extract::literals(answer, true) {
        if embedded && !matches!(lit, Literal::Map(_)) {
            continue;
        }
        if let Some(v) = literal_scalar(&lit, None, !embedded) {
            return (v.text(), "literal");
        }
    }
    if let Some(b) = extract::boxed(&answer.prose).last() {
        return (b.clone(), "boxed");
    }
    if let Some((b, _)) = extract::bold_spans(&answer.prose).first() {
        return (b.clone(), "bold");
    }
    if let Some(line) = extract::answer_lines(&answer.prose).last() {
        return (line.clone(), "answer line");
    }
    let statement = answer.statement();
    if statement.chars().any(char::is_alphanumeric) {
        return (statement, "text");
    }
    (answer.prose.clone(), "text")
}

/// Other values a list-like sentence names besides the answer ("Biscoe or Dream"): none when
/// the sentence is not a list of short pieces.
fn hedged(text: &str, needle: &str) -> Vec<String> {
    let needle_chars: Vec<char> = needle.chars().collect();
    let pieces = extract::split_enumeration(text, &[needle.to_string()]);
    if pieces.len() < 2 {
        return Vec::new();
    }
    let mut extras = Vec::new();
    for piece in &pieces {
        let hay: Vec<char> = plain(piece).chars().collect();
        if !text::phrase_positions(&hay, &needle_chars).is_empty() {
            continue;
        }
        let runner_up = text::RUNNER_UP_CUES.iter().any(|cue| !text::phrase_positions(&hay, &cue.chars().collect::<Vec<_>>()).is_empty());
        if runner_up {
            continue;
        }
        if collection::lead_in_stripped(&plain(piece)).split(' ').filter(|w| !w.is_empty()).count() > 3 {
            return Vec::new();
        }
        if let Some(x) = collection::extra(piece, false, false) {
            extras.push(x);
        }
    }
    extras
}

/// String answers: the first sentence that names the value — before any comparison with other
/// values and not as a runner-up ("Biscoe, followed by Dream" and "Biscoe leads; Dream comes
/// second" name Biscoe, not Dream) — decides; it fails when it is a list naming other values
/// too ("Biscoe or Dream").
pub fn check_string(truth: &Value, answer: &Answer) -> AnswerCheck {
    let (found, source) = find_text(answer);
    let hay = plain(&found);
    let bare = hay.trim().trim_end_matches(':').trim();
    if !bare.chars().any(char::is_alphanumeric) || extract::LABELS.contains(&bare) {
        return AnswerCheck::unextractable("the answer is empty");
    }
    let mut names = vec![text::scalar_text(truth)];
    match truth {
        Value::Bool(true) => names.push("yes".into()),
        Value::Bool(false) => names.push("no".into()),
        _ => {}
    }
    let shown: String = found.trim().chars().take(200).collect();
    let keep: Vec<String> = names.iter().map(|n| plain(n)).collect();
    for sentence in extract::sentences(&hay, &keep) {
        let s: Vec<char> = sentence.chars().collect();
        let cut = text::comparison_start(&s);
        for needle in &keep {
            let n: Vec<char> = needle.chars().collect();
            if !text::phrase_positions(&s, &n).iter().any(|&p| p < cut && !text::runner_up_after(&s, p + n.len())) {
                continue;
            }
            let extras = hedged(&s[..cut].iter().collect::<String>(), needle);
            if !extras.is_empty() {
                let list: Vec<String> = extras.iter().map(|x| format!("{x:?}")).collect();
                return AnswerCheck::wrong(format!("the answer ({source}) names {} besides {truth}", list.join(", ")), Some(shown));
            }
            return AnswerCheck::pass(format!("the answer ({source}) names {truth}"), Some(shown));
        }
    }
    AnswerCheck::wrong(format!("the answer ({source}) does not name {truth}"), Some(shown))
}
