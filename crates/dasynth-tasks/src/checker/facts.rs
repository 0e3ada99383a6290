//! Report answers: every fact of the ground truth (`{name: value}`) must be stated somewhere
//! in the text — numbers as in [`super::numbers`] (tolerance, rounding, percentages; each
//! written number states one value at most), text as a whole phrase. A `checklist` entry is left to the inspector; a report with nothing else to
//! check passes this check.

use super::AnswerCheck;
use super::numbers;
use super::spec::CheckerSpec;
use super::text::{contains_phrase, plain, scalar_text};
use serde_json::Value;

/// The key of a report's ground truth that holds items for the inspector, not facts.
pub const CHECKLIST: &str = "checklist";

pub fn check_facts(spec: &CheckerSpec, truth: &Value, text: &str) -> AnswerCheck {
    let Some(facts) = truth.as_object() else { return AnswerCheck::wrong("the ground truth has no facts", None) };
    let facts: Vec<(&String, &Value)> = facts.iter().filter(|(k, _)| k.as_str() != CHECKLIST).collect();
    if plain(text).chars().all(|c| !c.is_alphanumeric()) {
        return AnswerCheck::unextractable("the report is empty");
    }
    if facts.is_empty() {
        return AnswerCheck::pass("no facts to check (the checklist is for the inspector)", None);
    }
    let numbers = numbers::scan(text);
    if numbers.is_empty() && facts.iter().any(|(_, v)| v.is_number()) {
        return AnswerCheck::unextractable("the report states no numbers");
    }
    let stated = stated_values(spec, &facts, &numbers);
    let mut missing = Vec::new();
    for (name, fact) in &facts {
        let ok = match fact.as_f64() {
            Some(f) => stated.contains(&f.to_bits()),
            None => contains_phrase(text, &scalar_text(fact)),
        };
        if !ok {
            missing.push(format!("{name} = {fact}"));
        }
    }
    let shown = Some(format!("{} of {} facts stated", facts.len() - missing.len(), facts.len()));
    if missing.is_empty() {
        AnswerCheck::pass(format!("the report states all {} facts", facts.len()), shown)
    } else {
        AnswerCheck::wrong(format!("the report does not state: {}", missing.join("; ")), shown)
    }
}

/// The numeric fact values (as bits) that the text states, each written number standing for one
/// value at most (equal facts share it): a maximum matching of values to written numbers, so
/// two close facts cannot both be "stated" by one number.
fn stated_values(spec: &CheckerSpec, facts: &[(&String, &Value)], written: &[numbers::Written]) -> Vec<u64> {
    let mut values: Vec<f64> = Vec::new();
    for (_, v) in facts {
        if let Some(f) = v.as_f64()
            && !values.iter().any(|x| x.to_bits() == f.to_bits())
        {
            values.push(f);
        }
    }
    let candidates: Vec<Vec<usize>> =
        values.iter().map(|&f| (0..written.len()).filter(|&w| numbers::matches(spec, &written[w], f)).collect()).collect();
    let mut owner: Vec<Option<usize>> = vec![None; written.len()];
    fn augment(v: usize, candidates: &[Vec<usize>], owner: &mut [Option<usize>], seen: &mut [bool]) -> bool {
        for &w in &candidates[v] {
            if seen[w] {
                continue;
            }
            seen[w] = true;
            if owner[w].is_none_or(|o| augment(o, candidates, owner, seen)) {
                owner[w] = Some(v);
                return true;
            }
        }
        false
    }
    for v in 0..values.len() {
        let mut seen = vec![false; written.len()];
        augment(v, &candidates, &mut owner, &mut seen);
    }
    owner.iter().flatten().map(|&v| values[v].to_bits()).collect()
}
