//! Train / validation / test by source table.
//!
//! Tasks that read several tables (joins) tie those tables together, so tables are grouped
//! into connected components and a whole component goes to one split: no table is in two
//! splits, and no task straddles them. Each component counts under its most common task
//! family; components are ordered within their family by a content hash, the families are
//! interleaved by relative position, and the first share of that order goes to train, the next
//! to validation and the rest to test. The split therefore follows the configured fractions in
//! every family, and depends only on the tasks, never on which trajectories were accepted.
//!
//! A real corpus can chain most of its tables together through a few joins on common columns
//! (60 held-out tables: 70 join tasks tied 32 tables and 55% of the tasks into one component,
//! which went whole to test). So a join only ties its tables when the component it makes stays
//! under a cap (`component_cap`): half the tasks of the smallest split, or two tables' worth
//! of tasks where one table already holds more. Joins are taken in task-id order; one that
//! would pass the cap is left loose, and goes to the split its tables land in when they all
//! land in one, or is left out of the export (`tables_across_splits`) when they do not, so no
//! table is ever in two splits.

use crate::inputs::TaskInfo;
use dasynth_core::config::SplitFractions;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// A dataset split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Split {
    Train,
    Validation,
    Test,
}

impl Split {
    pub const ALL: [Split; 3] = [Split::Train, Split::Validation, Split::Test];
    pub fn name(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Validation => "validation",
            Split::Test => "test",
        }
    }
    pub fn index(self) -> usize {
        self as usize
    }
}

/// The split of every task and table.
#[derive(Debug, Default)]
pub struct Splits {
    by_table: HashMap<String, Split>,
    by_task: HashMap<String, Split>,
    /// Joins whose tables landed in different splits: in none.
    across: HashSet<String>,
}

impl Splits {
    pub fn task(&self, task_id: &str) -> Option<Split> {
        self.by_task.get(task_id).copied()
    }

    /// Whether the task is a join whose tables landed in different splits (so it is in none).
    pub fn across_splits(&self, task_id: &str) -> bool {
        self.across.contains(task_id)
    }

    /// Source tables per split.
    pub fn tables_by_split(&self) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        for s in self.by_table.values() {
            *out.entry(s.name().to_string()).or_default() += 1;
        }
        out
    }

    pub fn assign(tasks: &HashMap<String, TaskInfo>, fractions: SplitFractions) -> Self {
        let mut ids: Vec<&String> = tasks.keys().collect();
        ids.sort();
        // The tables of every task; a task without tables stands for itself.
        let key_lists: HashMap<&String, Vec<String>> = ids
            .iter()
            .map(|&id| {
                let t = &tasks[id];
                (id, if t.table_ids.is_empty() { vec![format!("task:{}", t.task.id)] } else { t.table_ids.clone() })
            })
            .collect();
        let keys = |id: &String| &key_lists[id];
        // Union-find over table ids, weighed by the tasks each component holds: first every
        // single-table task, then the joins that keep their component under the cap.
        let mut uf = UnionFind::default();
        for name in ids.iter().flat_map(|id| keys(id)) {
            uf.id(name);
        }
        let mut weight = vec![0usize; uf.parent.len()];
        for k in ids.iter().map(|id| keys(id)).filter(|k| k.len() == 1) {
            weight[uf.index[&k[0]]] += 1;
        }
        let cap = component_cap(ids.len(), weight.iter().copied().max().unwrap_or(0), fractions);
        let mut loose: HashSet<&String> = HashSet::new();
        for id in &ids {
            let k = keys(id);
            if k.len() < 2 {
                continue;
            }
            let mut roots: Vec<usize> = k.iter().map(|name| uf.root(name)).collect();
            roots.sort_unstable();
            roots.dedup();
            let merged = roots.iter().map(|&r| weight[r]).sum::<usize>() + 1;
            if merged > cap {
                loose.insert(id);
                continue;
            }
            for &r in &roots[1..] {
                uf.union(roots[0], r);
            }
            weight[uf.find(roots[0])] = merged;
        }
        // Families of each component, from the tasks it holds.
        let mut families: HashMap<usize, BTreeMap<&str, u64>> = HashMap::new();
        for id in ids.iter().filter(|id| !loose.contains(*id)) {
            let t = &tasks[*id];
            let root = uf.root(&keys(id)[0]);
            *families.entry(root).or_default().entry(t.task.family.as_str()).or_default() += 1;
        }
        // Every component by its primary family, ordered by the hash of its smallest member.
        let mut members: HashMap<usize, Vec<String>> = HashMap::new();
        for (name, &i) in &uf.index {
            members.entry(uf.find(i)).or_default().push(name.clone());
        }
        let mut by_family: BTreeMap<&str, Vec<(String, usize)>> = BTreeMap::new();
        for (root, names) in &members {
            let key = names.iter().min().cloned().unwrap_or_default();
            let family =
                families.get(root).and_then(|f| f.iter().max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0))).map(|(f, _)| *f)).unwrap_or("");
            let h = hex::encode(Sha256::digest(key.as_bytes()));
            by_family.entry(family).or_default().push((h, *root));
        }
        let mut order: Vec<(f64, String, usize)> = Vec::new();
        for comps in by_family.values_mut() {
            comps.sort();
            let n = comps.len() as f64;
            for (i, (h, root)) in comps.iter().enumerate() {
                order.push(((i as f64 + 0.5) / n, h.clone(), *root));
            }
        }
        order.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
        let total = order.len() as f64;
        let mut split_of_root = HashMap::new();
        for (k, (_, _, root)) in order.iter().enumerate() {
            let pos = (k as f64 + 0.5) / total;
            let split = if pos < fractions.train {
                Split::Train
            } else if pos < fractions.train + fractions.validation {
                Split::Validation
            } else {
                Split::Test
            };
            split_of_root.insert(*root, split);
        }
        let mut out = Splits::default();
        for (name, &i) in &uf.index {
            if let Some(s) = split_of_root.get(&uf.find(i))
                && !name.starts_with("task:")
            {
                out.by_table.insert(name.clone(), *s);
            }
        }
        for id in ids {
            let splits: BTreeSet<Split> = keys(id).iter().filter_map(|name| split_of_root.get(&uf.root(name)).copied()).collect();
            let mut splits = splits.into_iter();
            match (splits.next(), splits.next()) {
                (Some(split), None) => {
                    out.by_task.insert(id.clone(), split);
                }
                _ => {
                    out.across.insert(id.clone());
                }
            }
        }
        out
    }
}

/// The most tasks a component of joined tables may hold: half the tasks of the smallest
/// non-empty split, or twice the tasks of the largest single table when that is more (so that a
/// join of two ordinary tables always holds).
fn component_cap(tasks: usize, largest_table: usize, fractions: SplitFractions) -> usize {
    let smallest = [fractions.train, fractions.validation, fractions.test].into_iter().filter(|f| *f > 0.0).fold(1.0, f64::min);
    ((tasks as f64 * smallest / 2.0).floor() as usize).max(2 * largest_table + 1).max(2)
}

#[derive(Default)]
struct UnionFind {
    index: HashMap<String, usize>,
    parent: Vec<usize>,
}

impl UnionFind {
    fn id(&mut self, name: &str) -> usize {
        if let Some(&i) = self.index.get(name) {
            return i;
        }
        let i = self.parent.len();
        self.parent.push(i);
        self.index.insert(name.to_string(), i);
        i
    }
    /// The root of a name [`UnionFind::id`] registered.
    fn root(&self, name: &str) -> usize {
        self.find(self.index[name])
    }
    fn find(&self, mut i: usize) -> usize {
        while self.parent[i] != i {
            i = self.parent[i];
        }
        i
    }
    fn union(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
            self.parent[hi] = lo;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dasynth_core::task::Task;

    fn task(id: &str, family: &str, tables: &[&str]) -> TaskInfo {
        let t = Task {
            id: id.into(),
            family: family.into(),
            stage: 1,
            difficulty: "easy".into(),
            template: format!("{family}/t"),
            template_version: 1,
            template_sha256: String::new(),
            prompt: "p".into(),
            instruction: "i".into(),
            source: "s".into(),
            table_ids: serde_json::to_string(tables).unwrap(),
            files: "[]".into(),
            answer_type: "number".into(),
            ground_truth: "1".into(),
            checker: "{}".into(),
            solution: "[]".into(),
            bindings: "{}".into(),
            seed: 0,
            variant: 0,
        };
        TaskInfo { table_ids: t.table_id_list(), files: vec![], task: t }
    }

    #[test]
    fn joined_tables_share_a_split_and_fractions_hold_per_family() {
        let mut tasks = HashMap::new();
        for i in 0..100 {
            for fam in ["qa", "cleaning"] {
                let id = format!("{fam}{i}");
                tasks.insert(id.clone(), task(&id, fam, &[&format!("{fam}-table{i}")]));
            }
        }
        tasks.insert("join".into(), task("join", "qa", &["qa-table1", "qa-table2"]));
        let s = Splits::assign(&tasks, SplitFractions::default());
        assert_eq!(s.by_table["qa-table1"], s.by_table["qa-table2"]);
        for fam in ["qa", "cleaning"] {
            let mut n = [0; 3];
            for (t, sp) in &s.by_table {
                if t.starts_with(fam) {
                    n[sp.index()] += 1;
                }
            }
            assert!((75..=85).contains(&n[0]) && (7..=13).contains(&n[1]) && (7..=13).contains(&n[2]), "{fam}: {n:?}");
        }
        // Deterministic.
        let again = Splits::assign(&tasks, SplitFractions::default());
        assert_eq!(s.by_task, again.by_task);
    }
    #[test]
    fn a_chain_of_joins_does_not_pull_most_tables_into_one_split() {
        // 60 tables of 20 tasks each, and a join between every pair of neighbours: one
        // component of all 60 before the cap.
        let mut tasks = HashMap::new();
        for t in 0..60 {
            for i in 0..20 {
                let id = format!("t{t}-{i}");
                tasks.insert(id.clone(), task(&id, "qa", &[&format!("table{t}")]));
            }
            if t > 0 {
                let id = format!("join{t}");
                tasks.insert(id.clone(), task(&id, "qa", &[&format!("table{}", t - 1), &format!("table{t}")]));
            }
        }
        let s = Splits::assign(&tasks, SplitFractions::default());
        let mut n = [0usize; 3];
        for id in tasks.keys() {
            if let Some(sp) = s.task(id) {
                n[sp.index()] += 1;
            }
        }
        let total = tasks.len() as f64;
        assert!((n[0] as f64 / total) > 0.7 && (n[1] as f64 / total) > 0.05 && (n[2] as f64 / total) > 0.05, "{n:?}");
        // Joins either share their tables' split or are in none, and no table is in two splits.
        for t in 1..60 {
            let id = format!("join{t}");
            let (a, b) = (s.by_table[&format!("table{}", t - 1)], s.by_table[&format!("table{t}")]);
            match s.task(&id) {
                Some(sp) => assert!(sp == a && sp == b, "{id}"),
                None => assert!(a != b && s.across_splits(&id), "{id}"),
            }
        }
        // Ordinary pairs still join: some joins tie their two tables.
        assert!((1..60).any(|t| s.task(&format!("join{t}")).is_some()));
    }
}
