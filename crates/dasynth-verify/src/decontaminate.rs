//! Decontamination: no task may copy a question of a benchmark the data will be evaluated on.
//!
//! The user names benchmark question files (`verify.decontaminate`): JSON Lines or Parquet with
//! one question per row in a text field ([`QUESTION_FIELDS`], the first present). Questions and
//! task instructions are cut into lower-cased word n-grams (`verify.decontaminate-ngram`); a
//! task is contaminated by the question that shares the largest share of its n-grams with the
//! instruction, when that share reaches `verify.decontaminate-threshold`. Questions shorter
//! than n words are compared whole. An inverted index from n-gram to questions makes a check
//! cost one look-up per n-gram of the instruction.

use crate::error::VerifyError;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use xxhash_rust::xxh3::xxh3_64;

/// The fields a question may be in, in the order they are tried.
pub const QUESTION_FIELDS: [&str; 7] = ["question", "prompt", "instruction", "query", "problem", "input", "text"];

/// A benchmark question a task overlaps, and how much of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Match {
    pub file: String,
    pub question: String,
    pub share: f64,
}

impl Match {
    /// As recorded in a verdict: the file and the question.
    pub fn describe(&self) -> String {
        format!("{}: {}", self.file, self.question.chars().take(300).collect::<String>())
    }
}

/// Benchmark questions, indexed by n-gram.
#[derive(Debug, Default)]
pub struct Benchmarks {
    n: usize,
    questions: Vec<(usize, String, usize)>,
    files: Vec<String>,
    index: HashMap<u64, Vec<u32>>,
}

fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect()
}

fn ngrams(text: &str, n: usize) -> Vec<u64> {
    let w = words(text);
    if w.is_empty() {
        return Vec::new();
    }
    let n = n.min(w.len());
    let mut out: Vec<u64> = w.windows(n).map(|g| xxh3_64(g.join(" ").as_bytes())).collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// The question text of one row.
fn question_of(row: &serde_json::Map<String, serde_json::Value>) -> Option<&str> {
    QUESTION_FIELDS.iter().find_map(|f| row.get(*f).and_then(|v| v.as_str()))
}

fn rows(path: &Path) -> Result<Vec<serde_json::Map<String, serde_json::Value>>, VerifyError> {
    let bad = |message: String| VerifyError::Benchmark { path: path.to_path_buf(), message };
    if path.extension().is_some_and(|e| e == "parquet") {
        return dasynth_parquet::read_rows(path).map_err(|e| bad(e.to_string()));
    }
    let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let row = serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(line)
            .map_err(|e| bad(format!("line {} is not a JSON object: {e}", i + 1)))?;
        out.push(row);
    }
    Ok(out)
}

impl Benchmarks {
    /// Reads and indexes the question files.
    pub fn load(paths: &[PathBuf], n: usize) -> Result<Self, VerifyError> {
        let mut b = Benchmarks { n, ..Default::default() };
        for path in paths {
            let file = b.files.len();
            b.files.push(path.display().to_string());
            for (i, row) in rows(path)?.iter().enumerate() {
                let Some(q) = question_of(row) else {
                    let keys: Vec<&str> = row.keys().map(String::as_str).collect();
                    return Err(VerifyError::Benchmark {
                        path: path.clone(),
                        message: format!("row {} has no question text field; its fields are: {}", i + 1, keys.join(", ")),
                    });
                };
                let grams = ngrams(q, n);
                if grams.is_empty() {
                    continue;
                }
                let id = b.questions.len() as u32;
                for g in &grams {
                    b.index.entry(*g).or_default().push(id);
                }
                b.questions.push((file, q.to_string(), grams.len()));
            }
        }
        Ok(b)
    }

    pub fn is_empty(&self) -> bool {
        self.questions.is_empty()
    }

    /// The question a text overlaps most, when the overlap reaches `threshold`.
    pub fn check(&self, text: &str, threshold: f64) -> Option<Match> {
        if self.questions.is_empty() {
            return None;
        }
        let mut hits: HashMap<u32, usize> = HashMap::new();
        for g in ngrams(text, self.n) {
            for &q in self.index.get(&g).map(Vec::as_slice).unwrap_or_default() {
                *hits.entry(q).or_default() += 1;
            }
        }
        let (q, share) = hits
            .into_iter()
            .map(|(q, h)| (q, h as f64 / self.questions[q as usize].2 as f64))
            .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))?;
        let (file, question, _) = &self.questions[q as usize];
        (share >= threshold).then(|| Match { file: self.files[*file].clone(), question: question.clone(), share })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copied_question_is_found_in_jsonl_and_fields_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("q.jsonl");
        std::fs::write(&p, "{\"question\": \"What is the average temperature in Seattle across all days of the year?\"}\n{\"prompt\": \"How many penguins live on Biscoe island?\"}\n").unwrap();
        let b = Benchmarks::load(std::slice::from_ref(&p), 8).unwrap();
        let m = b
            .check("# Instruction\nWhat is the average temperature in Seattle across all days of the year? Answer with a number.", 0.5)
            .unwrap();
        assert!(m.question.starts_with("What is the average") && m.share == 1.0, "{m:?}");
        assert!(b.check("Which month had the most rain in the weather table?", 0.5).is_none());
        std::fs::write(&p, "{\"body\": \"x\"}\n").unwrap();
        let e = Benchmarks::load(&[p], 8).unwrap_err().to_string();
        assert!(e.contains("q.jsonl") && e.contains("body") && e.contains("hint:"), "{e}");
    }
}
