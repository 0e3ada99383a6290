//! Train / validation / test by source table.
//!
//! Tasks that read several tables (joins) tie those tables together, so tables are grouped
//! into connected components and a whole component goes to one split: no table is in two
//! splits, and no task straddles them. Each component counts under its most common task
//! family; components are ordered within their family by a content hash, the families are
//! interleaved by relative position, and the first share of that order goes to train, the next
//! to validation and the rest to test. The split therefore follows the configured fractions in
//! every family, and depends only on the tasks, never on which trajectories were accepted.

use crate::inputs::TaskInfo;
use dasynth_core::config::SplitFractions;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};

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
}

impl Splits {
    pub fn task(&self, task_id: &str) -> Option<Split> {
        self.by_task.get(task_id).copied()
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
        // Union-find over table ids; a task without tables stands for itself.
        let mut uf = UnionFind::default();
        let table_keys = |t: &TaskInfo| -> Vec<String> {
            if t.table_ids.is_empty() { vec![format!("task:{}", t.task.id)] } else { t.table_ids.clone() }
        };
        for id in &ids {
            let keys = table_keys(&tasks[*id]);
            let first = uf.id(&keys[0]);
            for k in &keys[1..] {
                let other = uf.id(k);
                uf.union(first, other);
            }
        }
        // Families of each component.
        let mut families: HashMap<usize, BTreeMap<&str, u64>> = HashMap::new();
        for id in &ids {
            let t = &tasks[*id];
            let first = uf.id(&table_keys(t)[0]);
            let root = uf.find(first);
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
            let t = &tasks[id];
            let first = uf.id(&table_keys(t)[0]);
            let root = uf.find(first);
            if let Some(s) = split_of_root.get(&root) {
                out.by_task.insert(id.clone(), *s);
            }
        }
        out
    }
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
}
