//! Answers that are several values: sets (any order) and lists (in order; values tied in the
//! ground truth may come in either order).
//!
//! The answer is first cut into pieces by the most explicit structure it has (see
//! [`pieces`]). Each piece then names ground-truth values — strings as whole phrases, numbers
//! within tolerance — or, when it names none and looks like a value itself, counts as an extra
//! value. A set passes when every expected value is named once and nothing else is; a list
//! also needs them in order.

use super::AnswerCheck;
use super::extract::{self, Answer};
use super::literal::Literal;
use super::numbers;
use super::scalar::ANSWER_KEYS;
use super::spec::CheckerSpec;
use super::table;
use super::text::{self, plain};
use crate::spec::AnswerType;
use serde_json::Value;

/// One expected value and its rank (values of equal rank are tied).
struct Expected {
    value: Value,
    rank: usize,
}

fn expected(truth: &[Value]) -> Vec<Expected> {
    let mut out = Vec::new();
    for (rank, v) in truth.iter().enumerate() {
        match v {
            Value::Array(tied) => out.extend(tied.iter().map(|t| Expected { value: t.clone(), rank })),
            other => out.push(Expected { value: other.clone(), rank }),
        }
    }
    out
}

/// What a piece of the answer named.
#[derive(Debug, Clone, PartialEq)]
enum Item {
    Truth(usize),
    Extra(String),
}

/// Words that begin a part of a sentence that is not a value ("with 52 penguins").
const STOPWORDS: [&str; 45] = [
    "with",
    "which",
    "who",
    "whose",
    "that",
    "each",
    "both",
    "all",
    "respectively",
    "having",
    "where",
    "while",
    "for",
    "in",
    "on",
    "at",
    "of",
    "by",
    "since",
    "because",
    "as",
    "followed",
    "then",
    "than",
    "the",
    "a",
    "an",
    "these",
    "those",
    "this",
    "it",
    "they",
    "there",
    "here",
    "its",
    "their",
    "total",
    "overall",
    "note",
    "based",
    "according",
    "from",
    "to",
    "per",
    "ahead",
];

/// Verbs that end the value at the start of a piece of prose ("Adelie all exceed ...").
const VERBS: [&str; 19] = [
    "is", "are", "was", "were", "has", "have", "had", "exceed", "exceeds", "show", "shows", "lead", "leads", "rank", "ranks", "appear",
    "appears", "come", "comes",
];

/// Lead-in verbs: what comes before the last of them in a piece is not a value.
const LEAD_INS: [&str; 9] = [" are ", " is ", " were ", " was ", " include ", " includes ", " including ", " namely ", ": "];

/// A [`plain`] piece without what comes before the last lead-in ("the groups are ..."), with a
/// space before and (unless a lead-in ended it) after.
pub(crate) fn lead_in_stripped(hay: &str) -> String {
    let mut head = format!(" {hay} ");
    for lead in LEAD_INS {
        if let Some(p) = head.rfind(lead) {
            head = format!(" {}", &head[p + lead.len()..]);
        }
    }
    head
}

/// Whether a text is a number with at most a unit after it ("168", "168 penguins"), not a
/// value such as "9E".
fn numeric_piece(head: &str) -> bool {
    let c: Vec<char> = head.chars().collect();
    numbers::scan(head).first().is_some_and(|w| w.start == 0 && (w.end == c.len() || !super::text::is_word(c[w.end])))
}

/// The value a piece that names no expected value stands for, if it looks like one. Pieces of
/// prose (`structured` false) lose their lead-in ("The groups are ...") and what follows a
/// stopword or verb after their first word, must then be short and not start with a
/// [`STOPWORDS`] word or one of [`VERBS`]; with string values expected, a number is never an extra
/// value, and with numbers expected, text without a number is not.
pub(crate) fn extra(piece: &str, numeric: bool, structured: bool) -> Option<String> {
    let mut head = format!(" {} ", plain(piece));
    if !structured {
        head = lead_in_stripped(&plain(piece));
    }
    for stop in [":", "(", " \u{2014} ", " \u{2013} ", " - ", " with ", " which "] {
        if let Some(p) = head.find(stop) {
            head.truncate(p);
        }
    }
    let mut head = head.trim_matches(|c: char| c.is_whitespace() || matches!(c, '.' | ',' | ';' | '!' | '?' | '"' | '\'')).to_string();
    let mut words: Vec<&str> = head.split(' ').filter(|w| !w.is_empty()).collect();
    if words.is_empty() {
        return None;
    }
    if !structured {
        if STOPWORDS.contains(&words[0]) || VERBS.contains(&words[0]) {
            return None;
        }
        if let Some(cut) = (1..words.len()).find(|&i| STOPWORDS.contains(&words[i]) || VERBS.contains(&words[i])) {
            words.truncate(cut);
        }
        if words.len() > 4 {
            return None;
        }
        head = words.join(" ");
    }
    if numeric && numbers::scan(&head).is_empty() {
        return None;
    }
    if !numeric && numeric_piece(&head) {
        return None;
    }
    Some(head)
}

/// The expected values one piece names, in the order written; `used` marks values already
/// named by earlier pieces.
fn named_in(spec: &CheckerSpec, piece: &str, exp: &[Expected], used: &mut [bool]) -> Vec<Item> {
    let mut found: Vec<(usize, Item)> = Vec::new();
    // Strings as phrases, longest first; a phrase inside a longer one's match does not count.
    let hay: Vec<char> = plain(piece).chars().collect();
    let mut taken = vec![false; hay.len()];
    let mut order: Vec<usize> = (0..exp.len()).filter(|&i| !exp[i].value.is_number()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(plain(&text::scalar_text(&exp[i].value)).chars().count()));
    for i in order {
        let needle: Vec<char> = plain(&text::scalar_text(&exp[i].value)).chars().collect();
        for p in text::phrase_positions(&hay, &needle) {
            if taken[p..p + needle.len()].iter().any(|&t| t) {
                continue;
            }
            // The same text may be expected more than once: take the first unused one.
            let same = (0..exp.len()).find(|&j| {
                !used[j]
                    && !exp[j].value.is_number()
                    && plain(&text::scalar_text(&exp[j].value)) == plain(&text::scalar_text(&exp[i].value))
            });
            taken[p..p + needle.len()].iter_mut().for_each(|t| *t = true);
            match same {
                Some(j) => {
                    used[j] = true;
                    found.push((p, Item::Truth(j)));
                }
                None => found.push((p, Item::Extra(text::scalar_text(&exp[i].value)))),
            }
        }
    }
    found.sort_by_key(|(p, _)| *p);
    let mut items: Vec<Item> = found.into_iter().map(|(_, it)| it).collect();
    if exp.iter().any(|e| e.value.is_number()) {
        for w in numbers::scan(piece) {
            let hit = (0..exp.len()).find(|&j| !used[j] && exp[j].value.as_f64().is_some_and(|t| numbers::matches(spec, &w, t)));
            if let Some(j) = hit {
                used[j] = true;
                items.push(Item::Truth(j));
            } else if (0..exp.len()).any(|j| exp[j].value.as_f64().is_some_and(|t| numbers::matches(spec, &w, t))) {
                items.push(Item::Extra(piece.chars().skip(w.start).take(w.end - w.start).collect()));
            }
        }
    }
    items
}

/// The pieces of an answer, from its most explicit structure: the last `@name[…]` marker; a
/// list in a literal (the whole answer, a data fence or the prose; an object's answer key or
/// only value, or the keys of an object of numbers); the last `\boxed{}`; a markdown table's
/// column naming the most expected values; markdown list items; bold spans (two or more, or one
/// when one value is expected); the last "Answer:" line; else the sentence naming the most
/// expected values (after its colon), split at commas, semicolons, "and", "or" and "&".
fn pieces(spec: &CheckerSpec, answer: &Answer, exp: &[Expected]) -> (Vec<String>, &'static str) {
    let keep: Vec<String> = exp.iter().filter_map(|e| e.value.as_str().map(str::to_string)).collect();
    if let Some((_, v)) = extract::markers(&answer.prose).last() {
        return (extract::split_enumeration(v, &keep), "marker");
    }
    for (lit, _) in extract::literals(answer, true) {
        if let Some(items) = literal_items(&lit) {
            return (items, "literal");
        }
    }
    if let Some(b) = extract::boxed(&answer.prose).last() {
        return (extract::split_enumeration(b, &keep), "boxed");
    }
    let grids = table::markdown_tables(&answer.raw);
    if let Some(cells) = best_column(spec, &grids, exp) {
        return (cells, "table");
    }
    let items: Vec<String> = answer.prose.lines().filter_map(extract::list_item).collect();
    if !items.is_empty() {
        return (items, "list");
    }
    let bold: Vec<String> = extract::bold_spans(&answer.prose).into_iter().map(|(s, _)| s).collect();
    if bold.len() >= 2 || (bold.len() == 1 && exp.len() == 1) {
        return (bold, "bold");
    }
    if let Some(line) = extract::answer_lines(&answer.prose).last() {
        return (extract::split_enumeration(line, &keep), "answer line");
    }
    let sentences = extract::sentences(&answer.prose, &keep);
    let mut best: Option<(usize, &String)> = None;
    for s in &sentences {
        let mut used = vec![false; exp.len()];
        let n = named_in(spec, s, exp, &mut used).iter().filter(|i| matches!(i, Item::Truth(_))).count();
        if n > 0 && best.is_none_or(|(m, _)| n > m) {
            best = Some((n, s));
        }
    }
    let chosen = match best {
        Some((_, s)) => Some(s),
        None => sentences.iter().rev().find(|s| extract::split_enumeration(s, &keep).len() > 1),
    };
    let Some(sentence) = chosen else { return (Vec::new(), "text") };
    // "The top three: A, B and C" — the part before a colon that names nothing is a lead-in.
    // A colon with no space after it belongs to a value ("3:Lg", "10:30").
    let mut body = sentence.as_str();
    if let Some(p) = body.find(':').filter(|&p| body[p + 1..].chars().next().is_none_or(char::is_whitespace)) {
        let mut used = vec![false; exp.len()];
        if named_in(spec, &body[..p], exp, &mut used).is_empty() {
            body = &body[p + 1..];
        }
    }
    (extract::split_enumeration(body, &keep), "text")
}

fn literal_items(lit: &Literal) -> Option<Vec<String>> {
    match lit {
        Literal::List(items) => Some(items.iter().map(Literal::text).collect()),
        Literal::Map(entries) => {
            for key in ANSWER_KEYS {
                if let Some(v @ Literal::List(_)) = lit.get(key) {
                    return literal_items(v);
                }
            }
            if entries.len() == 1 && matches!(entries[0].1, Literal::List(_)) {
                return literal_items(&entries[0].1);
            }
            if !entries.is_empty() && entries.iter().all(|(_, v)| matches!(v, Literal::Number(..))) {
                return Some(entries.iter().map(|(k, _)| k.clone()).collect());
            }
            None
        }
        _ => None,
    }
}

/// The cells of the markdown-table column that names the most expected values (ties: the
/// leftmost), if any column names one.
fn best_column(spec: &CheckerSpec, grids: &[table::Grid], exp: &[Expected]) -> Option<Vec<String>> {
    let mut best: Option<(usize, Vec<String>)> = None;
    for g in grids {
        for col in 0..g.width() {
            let cells: Vec<String> = g.rows.iter().map(|r| r.get(col).cloned().unwrap_or_default()).collect();
            let mut used = vec![false; exp.len()];
            let n: usize =
                cells.iter().map(|c| named_in(spec, c, exp, &mut used).iter().filter(|i| matches!(i, Item::Truth(_))).count()).sum();
            if n > 0 && best.as_ref().is_none_or(|(m, _)| n > *m) {
                best = Some((n, cells));
            }
        }
    }
    best.map(|(_, cells)| cells)
}

/// Set and list answers.
pub fn check_collection(spec: &CheckerSpec, truth: &Value, answer: &Answer) -> AnswerCheck {
    let Value::Array(t) = truth else { return AnswerCheck::wrong(format!("the ground truth {truth} is not a list"), None) };
    let exp = expected(t);
    let numeric = exp.iter().all(|e| e.value.is_number());
    let (pieces, source) = pieces(spec, answer, &exp);
    let structured = !matches!(source, "text" | "answer line");
    let mut used = vec![false; exp.len()];
    let mut items = Vec::new();
    for p in &pieces {
        let named = named_in(spec, p, &exp, &mut used);
        if named.is_empty() {
            if let Some(x) = extra(p, numeric, structured) {
                items.push(Item::Extra(x));
            }
        } else {
            items.extend(named);
        }
    }
    let shown = Some(
        items
            .iter()
            .map(|i| match i {
                Item::Truth(j) => text::scalar_text(&exp[*j].value),
                Item::Extra(x) => x.clone(),
            })
            .collect::<Vec<_>>()
            .join(" | "),
    );
    if items.is_empty() {
        return AnswerCheck::unextractable(format!("no values can be read from the answer ({source})"));
    }
    let extras: Vec<&String> = items.iter().filter_map(|i| if let Item::Extra(x) = i { Some(x) } else { None }).collect();
    if !extras.is_empty() {
        let list: Vec<String> = extras.iter().map(|x| format!("{x:?}")).collect();
        return AnswerCheck::wrong(format!("the answer ({source}) names {}, not expected", list.join(", ")), shown);
    }
    let missing: Vec<String> = (0..exp.len()).filter(|&j| !used[j]).map(|j| exp[j].value.to_string()).collect();
    if !missing.is_empty() {
        return AnswerCheck::wrong(format!("the answer ({source}) does not name {}", missing.join(", ")), shown);
    }
    if spec.answer_type == AnswerType::List {
        let ranks: Vec<usize> = items.iter().filter_map(|i| if let Item::Truth(j) = i { Some(exp[*j].rank) } else { None }).collect();
        if let Some(k) = ranks.windows(2).position(|w| w[1] < w[0]) {
            let at = |n: usize| match &items[n] {
                Item::Truth(j) => exp[*j].value.to_string(),
                Item::Extra(x) => x.clone(),
            };
            return AnswerCheck::wrong(format!("the answer ({source}) puts {} before {}, out of order", at(k), at(k + 1)), shown);
        }
    }
    AnswerCheck::pass(
        format!("the answer ({source}) names every expected value{}", if spec.answer_type == AnswerType::List { " in order" } else { "" }),
        shown,
    )
}
