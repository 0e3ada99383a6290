//! Quality figures per group: the whole run, every value of every dimension, and the weak spots
//! (groups, and teacher pairs such as teacher × format, that fail one check markedly more often
//! than the run as a whole).

use crate::facts::{Dicts, Dim, Facts, REPLAY, Status, replay_index};
use dasynth_core::report::{Breakdown, GroupFigures, WeakSpot};
use dasynth_core::verdict::{Reason, ReplayClass};
use std::collections::{BTreeMap, HashMap};

/// Running sums of one group.
#[derive(Debug, Clone, Default)]
pub(crate) struct GroupAcc {
    trajectories: u64,
    verdicts: u64,
    accepted: u64,
    reasons: [u64; Reason::ALL.len()],
    replay: [u64; REPLAY.len()],
    answers_checked: u64,
    answers_passed: u64,
    reports: u64,
    grounded_sum: f64,
    judged: u64,
    judge_sum: f64,
    format_errors: u64,
    score_sum: f64,
}

impl GroupAcc {
    pub fn add(&mut self, f: &Facts) {
        self.trajectories += 1;
        if let Some(ok) = f.answer {
            self.answers_checked += 1;
            self.answers_passed += u64::from(ok);
        }
        if f.status == Status::Unverified {
            return;
        }
        self.verdicts += 1;
        self.accepted += u64::from(f.status == Status::Accepted);
        for (i, n) in self.reasons.iter_mut().enumerate() {
            *n += u64::from(f.reasons & (1 << i) != 0);
        }
        if let Some(r) = f.replay {
            self.replay[replay_index(r)] += 1;
        }
        if let Some(g) = f.grounded_share {
            self.reports += 1;
            self.grounded_sum += g;
        }
        if let Some(j) = f.judge {
            self.judged += 1;
            self.judge_sum += j;
        }
        self.format_errors += u64::from(f.format_ok == Some(false));
        self.score_sum += f.score.unwrap_or(0.0);
    }

    pub fn figures(&self, value: &str) -> GroupFigures {
        let mean = |sum: f64, n: u64| (n > 0).then(|| sum / n as f64);
        GroupFigures {
            value: value.to_string(),
            trajectories: self.trajectories,
            verdicts: self.verdicts,
            accepted: self.accepted,
            reasons: Reason::ALL.iter().zip(self.reasons).filter(|(_, n)| *n > 0).map(|(r, n)| (r.name().to_string(), n)).collect(),
            replay: REPLAY.iter().zip(self.replay).filter(|(_, n)| *n > 0).map(|(r, n)| (r.name().to_string(), n)).collect(),
            answers_checked: self.answers_checked,
            answers_passed: self.answers_passed,
            reports: self.reports,
            mean_grounded_share: mean(self.grounded_sum, self.reports),
            judged: self.judged,
            mean_judge_score: mean(self.judge_sum, self.judged),
            format_errors: self.format_errors,
            mean_score: mean(self.score_sum, self.verdicts),
        }
    }

    /// (problem, count, out of) for every problem weak spots look for.
    /// The most specific come first: a rejection reason, then a replay class, then a wrong
    /// answer, then rejection as a whole.
    fn problems(&self) -> Vec<(String, u64, u64)> {
        let mut out = Vec::new();
        for (r, n) in Reason::ALL.iter().zip(self.reasons) {
            out.push((r.name().to_string(), n, self.verdicts));
        }
        for class in [ReplayClass::Hallucinated, ReplayClass::Broken, ReplayClass::Nondeterministic] {
            out.push((format!("replay {}", class.name()), self.replay[replay_index(class)], self.verdicts));
        }
        out.push(("answer wrong".to_string(), self.answers_checked - self.answers_passed, self.answers_checked));
        out.push(("rejected".to_string(), self.verdicts - self.accepted, self.verdicts));
        out
    }
}

/// The pairs weak spots also look at: a teacher can fail on one family or format only.
const PAIRS: [(Dim, Dim); 4] =
    [(Dim::Teacher, Dim::Family), (Dim::Teacher, Dim::Format), (Dim::Teacher, Dim::Template), (Dim::Family, Dim::Format)];

/// Smallest group a weak spot is reported for.
const MIN_GROUP: u64 = 5;
/// How much worse than the whole run (absolute share) a group must be.
const MIN_EXCESS: f64 = 0.10;
/// How many standard errors above the run's share (binomial), so small groups need more.
const MIN_Z: f64 = 2.5;
/// Most weak spots listed.
const MAX_WEAK_SPOTS: usize = 25;

/// Accumulators for the whole run, each dimension and each pair.
#[derive(Debug, Default)]
pub(crate) struct Groups {
    pub overall: GroupAcc,
    by_dim: [HashMap<u32, GroupAcc>; Dim::ALL.len()],
    by_pair: [HashMap<(u32, u32), GroupAcc>; PAIRS.len()],
}

impl Groups {
    pub fn add(&mut self, f: &Facts) {
        self.overall.add(f);
        for dim in Dim::ALL {
            if dim == Dim::Table {
                // A task over several tables counts under each of them.
                for &t in &f.tables {
                    self.by_dim[dim.index()].entry(t).or_default().add(f);
                }
                if f.tables.is_empty() {
                    self.by_dim[dim.index()].entry(f.dim(dim)).or_default().add(f);
                }
            } else {
                self.by_dim[dim.index()].entry(f.dim(dim)).or_default().add(f);
            }
        }
        for (i, (a, b)) in PAIRS.iter().enumerate() {
            self.by_pair[i].entry((f.dim(*a), f.dim(*b))).or_default().add(f);
        }
    }

    /// Every dimension's groups, largest first (ties by value).
    pub fn breakdowns(&self, dicts: &Dicts) -> Vec<Breakdown> {
        Dim::ALL
            .iter()
            .map(|&dim| {
                let mut groups: Vec<GroupFigures> =
                    self.by_dim[dim.index()].iter().map(|(&v, acc)| acc.figures(dicts.value(dim, v))).collect();
                groups.sort_by(|a, b| b.trajectories.cmp(&a.trajectories).then_with(|| a.value.cmp(&b.value)));
                Breakdown { dimension: dim.name().to_string(), groups }
            })
            .collect()
    }

    /// Groups that fail one check markedly more often than the whole run, worst first.
    pub fn weak_spots(&self, dicts: &Dicts) -> Vec<WeakSpot> {
        let overall: BTreeMap<String, f64> =
            self.overall.problems().into_iter().filter(|(_, _, of)| *of > 0).map(|(p, n, of)| (p, n as f64 / of as f64)).collect();
        let mut spots: Vec<(f64, WeakSpot)> = Vec::new();
        for dim in Dim::ALL {
            // A group that is the whole run is no weak spot.
            if self.by_dim[dim.index()].len() < 2 {
                continue;
            }
            for (&v, acc) in &self.by_dim[dim.index()] {
                for (problem, rate, n) in excesses(acc, &overall) {
                    spots.push(spot(dim.name().to_string(), dicts.value(dim, v).to_string(), problem, rate, n, &overall));
                }
            }
        }
        for (i, (a, b)) in PAIRS.iter().enumerate() {
            let a_groups = &self.by_dim[a.index()];
            let b_groups = &self.by_dim[b.index()];
            if a_groups.len() < 2 && b_groups.len() < 2 {
                continue;
            }
            for (&(va, vb), acc) in &self.by_pair[i] {
                let parents: Vec<BTreeMap<String, f64>> = [a_groups.get(&va), b_groups.get(&vb)]
                    .into_iter()
                    .flatten()
                    .map(|g| g.problems().into_iter().filter(|(_, _, of)| *of > 0).map(|(p, n, of)| (p, n as f64 / of as f64)).collect())
                    .collect();
                for (problem, rate, n) in excesses(acc, &overall) {
                    // Only when the pair is worse than either of its parts: otherwise the single
                    // group already explains it.
                    let worse_than_parts = parents.iter().all(|p| rate - p.get(&problem).copied().unwrap_or(0.0) >= MIN_EXCESS);
                    if worse_than_parts {
                        let dimension = format!("{} × {}", a.name(), b.name());
                        let value = format!("{} × {}", dicts.value(*a, va), dicts.value(*b, vb));
                        spots.push(spot(dimension, value, problem, rate, n, &overall));
                    }
                }
            }
        }
        spots.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.value.cmp(&b.1.value)).then_with(|| a.1.problem.cmp(&b.1.problem)));
        spots.truncate(MAX_WEAK_SPOTS);
        spots.into_iter().map(|(_, s)| s).collect()
    }
}

/// The problems a group has markedly more often than the run: (problem, rate, n). A problem
/// with the same count as a more specific one already listed (`rejected` beside the one reason
/// that rejected them all) is left out.
fn excesses(acc: &GroupAcc, overall: &BTreeMap<String, f64>) -> Vec<(String, f64, u64)> {
    let mut out = Vec::new();
    let mut counts = Vec::new();
    for (problem, count, of) in acc.problems() {
        if of < MIN_GROUP || counts.contains(&count) {
            continue;
        }
        let rate = count as f64 / of as f64;
        let base = overall.get(&problem).copied().unwrap_or(0.0);
        let p = base.clamp(0.02, 0.98);
        let z = (rate - base) / (p * (1.0 - p) / of as f64).sqrt();
        if rate - base >= MIN_EXCESS && z >= MIN_Z {
            counts.push(count);
            out.push((problem, rate, of));
        }
    }
    out
}

fn spot(dimension: String, value: String, problem: String, rate: f64, n: u64, overall: &BTreeMap<String, f64>) -> (f64, WeakSpot) {
    let overall_rate = overall.get(&problem).copied().unwrap_or(0.0);
    // Ranked by excess weighted by the evidence behind it.
    let rank = (rate - overall_rate) * (n as f64).sqrt();
    (rank, WeakSpot { dimension, value, problem, n, rate, overall_rate })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::Facts;

    fn facts(dicts: &mut Dicts, teacher: &str, format: &str, hallucinated: bool) -> Facts {
        let mut dims = [0; Dim::ALL.len()];
        dims[Dim::Teacher.index()] = dicts.intern(Dim::Teacher, teacher);
        dims[Dim::Format.index()] = dicts.intern(Dim::Format, format);
        for d in [Dim::Family, Dim::Stage, Dim::Difficulty, Dim::Template, Dim::Source, Dim::Table, Dim::Model] {
            dims[d.index()] = dicts.intern(d, "x");
        }
        let reason = if hallucinated { 1 << crate::facts::reason_index(Reason::ReplayHallucinated) } else { 0 };
        Facts {
            key: String::new(),
            dims,
            tables: vec![],
            table_ids: vec![],
            task_id: String::new(),
            status: if hallucinated { Status::Rejected } else { Status::Accepted },
            reasons: reason,
            replay: Some(if hallucinated { ReplayClass::Hallucinated } else { ReplayClass::Consistent }),
            answer: Some(true),
            grounded_share: None,
            judge: None,
            format_ok: Some(true),
            score: Some(if hallucinated { 0.2 } else { 0.9 }),
            turns: 2,
            code_cells: 1,
            error_cells: 0,
            recoveries: 0,
            tokens: 10,
            cost_usd: 0.0,
            finish: "answer",
        }
    }

    /// One teacher hallucinating on Excel only shows as a teacher × format weak spot, and the
    /// teacher on its own and the format on their own do not hide it.
    #[test]
    fn a_teacher_failing_on_one_format_is_a_weak_spot() {
        let mut dicts = Dicts::default();
        let mut groups = Groups::default();
        for i in 0..400 {
            let teacher = if i % 2 == 0 { "a" } else { "b" };
            let format = ["csv", "xlsx", "parquet", "json"][i / 2 % 4];
            let bad = teacher == "b" && format == "xlsx" && i % 5 != 0;
            groups.add(&facts(&mut dicts, teacher, format, bad));
        }
        let spots = groups.weak_spots(&dicts);
        let top = &spots[0];
        assert_eq!(top.dimension, "teacher × format", "{spots:#?}");
        assert_eq!(top.value, "b × xlsx");
        assert!(top.rate > 0.7 && top.overall_rate < 0.15, "{top:?}");
        assert!(spots.iter().all(|s| !(s.dimension == "teacher" && s.value == "a")), "{spots:#?}");
        let b = groups.breakdowns(&dicts);
        let teachers = b.iter().find(|b| b.dimension == "teacher").unwrap();
        assert_eq!(teachers.groups.iter().map(|g| g.trajectories).sum::<u64>(), 400);
    }

    #[test]
    fn a_uniform_run_has_no_weak_spots() {
        let mut dicts = Dicts::default();
        let mut groups = Groups::default();
        for i in 0..300 {
            groups.add(&facts(&mut dicts, ["a", "b", "c"][i % 3], ["csv", "xlsx"][i % 2], i % 7 == 0));
        }
        assert!(groups.weak_spots(&dicts).is_empty(), "{:#?}", groups.weak_spots(&dicts));
    }
}
