//! The browser's table: one compact columnar record of every trajectory (dimension values as
//! indices into per-dimension lists, verdict fields as small integers), so 50,000 rows load as
//! a few hundred kilobytes and filter without touching the trajectories themselves.

use crate::facts::{Dicts, Dim, Facts, REPLAY, replay_index};
use dasynth_core::verdict::Reason;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

#[derive(Serialize)]
pub(crate) struct Summary<'a> {
    pub n: usize,
    /// Trajectories per detail block (`d0`, `d1`, ...): trajectory `i` is item `i % chunk` of
    /// block `i / chunk`.
    pub chunk: usize,
    pub dims: BTreeMap<&'static str, &'a [String]>,
    pub tasks: Vec<&'a str>,
    pub reasons: Vec<&'static str>,
    pub replay: Vec<&'static str>,
    pub finishes: Vec<&'static str>,
    pub cols: Columns<'a>,
}

#[derive(Default, Serialize)]
pub(crate) struct Columns<'a> {
    pub key: Vec<&'a str>,
    pub task: Vec<u32>,
    pub family: Vec<u32>,
    pub stage: Vec<u32>,
    pub difficulty: Vec<u32>,
    pub template: Vec<u32>,
    pub source: Vec<u32>,
    pub table: Vec<u32>,
    pub format: Vec<u32>,
    pub teacher: Vec<u32>,
    pub model: Vec<u32>,
    /// 0 accepted, 1 rejected, 2 no verdict.
    pub status: Vec<u8>,
    /// Bit `i` for `reasons[i]`.
    pub reasons: Vec<u32>,
    /// Index into `replay`, -1 without a verdict.
    pub replay: Vec<i8>,
    /// Score × 1000, -1 without a verdict.
    pub score: Vec<i32>,
    pub turns: Vec<u32>,
    pub tokens: Vec<u64>,
    /// Micro-dollars.
    pub cost: Vec<u64>,
    /// Index into `finishes`.
    pub finish: Vec<u8>,
}

pub(crate) fn summary<'a>(facts: &'a [Facts], dicts: &'a Dicts, chunk: usize) -> Summary<'a> {
    let mut c = Columns::default();
    let mut tasks: Vec<&str> = Vec::new();
    let mut task_index: HashMap<&str, u32> = HashMap::new();
    let mut finishes: Vec<&'static str> = Vec::new();
    for f in facts {
        c.key.push(&f.key);
        let t = *task_index.entry(&f.task_id).or_insert_with(|| {
            tasks.push(&f.task_id);
            tasks.len() as u32 - 1
        });
        c.task.push(t);
        for (dim, col) in [
            (Dim::Family, &mut c.family),
            (Dim::Stage, &mut c.stage),
            (Dim::Difficulty, &mut c.difficulty),
            (Dim::Template, &mut c.template),
            (Dim::Source, &mut c.source),
            (Dim::Table, &mut c.table),
            (Dim::Format, &mut c.format),
            (Dim::Teacher, &mut c.teacher),
            (Dim::Model, &mut c.model),
        ] {
            col.push(f.dim(dim));
        }
        c.status.push(f.status.code());
        c.reasons.push(f.reasons);
        c.replay.push(f.replay.map_or(-1, |r| replay_index(r) as i8));
        c.score.push(f.score.map_or(-1, |s| (s * 1000.0).round() as i32));
        c.turns.push(f.turns);
        c.tokens.push(f.tokens);
        c.cost.push((f.cost_usd.max(0.0) * 1e6).round() as u64);
        let fi = match finishes.iter().position(|x| *x == f.finish) {
            Some(i) => i,
            None => {
                finishes.push(f.finish);
                finishes.len() - 1
            }
        };
        c.finish.push(fi as u8);
    }
    Summary {
        n: facts.len(),
        chunk,
        dims: Dim::ALL.iter().map(|d| (d.name(), dicts.values(*d))).collect(),
        tasks,
        reasons: Reason::ALL.iter().map(|r| r.name()).collect(),
        replay: REPLAY.iter().map(|r| r.name()).collect(),
        finishes,
        cols: c,
    }
}
