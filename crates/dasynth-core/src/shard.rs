//! Shards: `--shard I/N` splits a stage's items by their content-hash ids, so N machines can
//! each run one part and `dasynth merge` can put the parts together again.
//!
//! An item belongs to shard `I` (0-based) of `N` when the first eight bytes of the sha256 of its
//! id, read as a big-endian number, leave `I` when divided by `N`. Hashing the id (rather than
//! reading it as a number) spreads any id evenly, hex or not, and the assignment depends on
//! nothing but the id and `N`: the same item lands in the same shard on every machine and rerun.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// One part of a sharded run: `index` (0-based) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

/// A `--shard` value that is not `I/N` with `0 <= I < N`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid shard {text:?}: {why}\nhint: write I/N with 0 <= I < N, e.g. --shard 0/4 for the first of four shards")]
pub struct ShardError {
    pub text: String,
    pub why: &'static str,
}

impl Shard {
    /// The whole run, unsharded.
    pub const ALL: Shard = Shard { index: 0, count: 1 };

    pub fn new(index: u32, count: u32) -> Result<Self, ShardError> {
        let text = format!("{index}/{count}");
        if count == 0 {
            return Err(ShardError { text, why: "the number of shards must be at least 1" });
        }
        if index >= count {
            return Err(ShardError { text, why: "the shard index must be below the number of shards" });
        }
        Ok(Shard { index, count })
    }

    /// Parses `I/N`.
    pub fn parse(text: &str) -> Result<Self, ShardError> {
        let err = |why| ShardError { text: text.to_string(), why };
        let (i, n) = text.trim().split_once('/').ok_or_else(|| err("expected I/N"))?;
        let i: u32 = i.trim().parse().map_err(|_| err("the shard index is not a whole number"))?;
        let n: u32 = n.trim().parse().map_err(|_| err("the number of shards is not a whole number"))?;
        Self::new(i, n)
    }

    pub fn is_all(self) -> bool {
        self.count == 1
    }

    /// The shard an id belongs to, of `count`.
    pub fn of(id: &str, count: u32) -> u32 {
        let digest = Sha256::digest(id.as_bytes());
        let mut head = [0u8; 8];
        head.copy_from_slice(&digest[..8]);
        (u64::from_be_bytes(head) % u64::from(count.max(1))) as u32
    }

    /// Whether the item with this id belongs to this shard.
    pub fn contains(self, id: &str) -> bool {
        self.is_all() || Self::of(id, self.count) == self.index
    }

    /// The suffix of this shard's files: `shard-0003-of-0016`.
    pub fn file_stem(self) -> String {
        format!("shard-{:04}-of-{:04}", self.index, self.count)
    }

    /// The shard a file stem names (the inverse of [`Shard::file_stem`]).
    pub fn from_file_stem(stem: &str) -> Option<Shard> {
        let (i, n) = stem.strip_prefix("shard-")?.split_once("-of-")?;
        Shard::new(i.parse().ok()?, n.parse().ok()?).ok()
    }

    /// Every shard of a run split into `count`.
    pub fn all_of(count: u32) -> impl Iterator<Item = Shard> {
        (0..count).map(move |index| Shard { index, count })
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl std::str::FromStr for Shard {
    type Err = ShardError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// A shard's claim or completion marker (`shards/<stage>-shard-I-of-N.{claim,done}.json`).
///
/// A shard run writes its claim when it starts and, after every output file is in place, the
/// same record as its completion marker, so `merge` can tell a shard that finished from one
/// that crashed or never ran, and two runs of one shard (their tokens differ) from one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ShardMarker {
    /// The stage the marker is for (`tasks`, `trajectories`, `verify`).
    pub stage: String,
    /// The shard index, 0-based.
    pub index: u32,
    /// The number of shards of the run.
    pub count: u32,
    /// Unique to one invocation: a claim and a completion marker with different tokens mean two
    /// runs of the same shard overlapped.
    pub token: String,
    /// The machine and process that ran the shard (for error messages).
    pub host: String,
    pub pid: u32,
    /// RFC 3339 times.
    pub started: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished: Option<String>,
    /// Items the shard holds when it finished (tasks, trajectories or verdicts).
    #[serde(default)]
    pub items: u64,
    /// The shard's output files, relative to the run root.
    #[serde(default)]
    pub files: Vec<String>,
}

impl ShardMarker {
    pub fn shard(&self) -> Shard {
        Shard { index: self.index, count: self.count }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_validate() {
        assert_eq!(Shard::parse("2/5").unwrap(), Shard { index: 2, count: 5 });
        assert_eq!(Shard::parse(" 0 / 1 ").unwrap(), Shard::ALL);
        for bad in ["5/5", "1/0", "x/2", "3", "-1/4"] {
            let e = Shard::parse(bad).unwrap_err();
            assert!(e.to_string().contains(bad) && e.to_string().contains("hint:"), "{e}");
        }
        assert_eq!(Shard::new(3, 16).unwrap().file_stem(), "shard-0003-of-0016");
        assert_eq!(Shard::from_file_stem("shard-0003-of-0016"), Some(Shard::new(3, 16).unwrap()));
        assert_eq!(Shard::from_file_stem("shard-0016-of-0016"), None);
    }

    #[test]
    fn every_id_is_in_exactly_one_shard_and_the_split_is_even() {
        let ids: Vec<String> = (0..4000).map(|i| crate::ids::short_id(&[&i.to_string()])).collect();
        let mut sizes = [0usize; 4];
        for id in &ids {
            let owners: Vec<Shard> = Shard::all_of(4).filter(|s| s.contains(id)).collect();
            assert_eq!(owners.len(), 1);
            sizes[owners[0].index as usize] += 1;
        }
        assert!(sizes.iter().all(|&n| (900..1100).contains(&n)), "{sizes:?}");
        assert!(ids.iter().all(|id| Shard::ALL.contains(id)));
    }
}
