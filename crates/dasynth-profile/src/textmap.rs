//! A hash map keyed by the text values of a column, fast for short values.
//!
//! Arrow keeps a text value of at most 12 bytes inside its 16-byte view (length, then the
//! bytes, zero-padded), so such a value is looked up by its view as one integer: no string
//! comparison, no pointer chased. Longer values are looked up by the string and its hash, made
//! once: growing the map or merging another into it never hashes a string again.

use polars::prelude::*;
use polars_arrow::array::{Utf8ViewArray, View};
use std::hash::{BuildHasher, BuildHasherDefault, Hash, Hasher};

pub(crate) struct TextMap<'a, V> {
    short: PlHashMap<u128, (&'a str, V)>,
    long: std::collections::HashMap<Hashed<'a>, V, BuildHasherDefault<TakeHash>>,
}

/// A text with its hash (one seed for every map, so maps can be merged).
#[derive(Clone, Copy)]
struct Hashed<'a> {
    hash: u64,
    text: &'a str,
}

impl<'a> Hashed<'a> {
    fn new(text: &'a str) -> Self {
        static STATE: std::sync::LazyLock<PlSeedableRandomStateQuality> =
            std::sync::LazyLock::new(|| PlSeedableRandomStateQuality::seed_from_u64(0x7e47));
        Self { hash: STATE.hash_one(text.as_bytes()), text }
    }
}

impl PartialEq for Hashed<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.hash == other.hash && self.text == other.text
    }
}

impl Eq for Hashed<'_> {}

impl Hash for Hashed<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

/// A hasher that hands on the hash a [`Hashed`] carries.
#[derive(Default)]
struct TakeHash(u64);

impl Hasher for TakeHash {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // (Only a Hashed is hashed here, through write_u64; any other key still gets a hash.)
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, hash: u64) {
        self.0 = hash;
    }
}

impl<'a, V> Default for TextMap<'a, V> {
    fn default() -> Self {
        Self { short: PlHashMap::default(), long: Default::default() }
    }
}

/// A value of at most 12 bytes as one integer: its whole view (length and zero-padded bytes).
pub(crate) fn inline_key(v: &View) -> Option<u128> {
    (v.length <= View::MAX_INLINE_SIZE).then(|| v.as_u128())
}

impl<'a, V> TextMap<'a, V> {
    /// The value for row `i` of `arr` (which must not be null), made by `new` on first sight.
    #[inline]
    pub(crate) fn entry_at(&mut self, arr: &'a Utf8ViewArray, i: usize, new: impl FnOnce(&'a str) -> V) -> &mut V {
        if let Some(key) = inline_key(&arr.views()[i]) {
            &mut self
                .short
                .entry(key)
                .or_insert_with(|| {
                    let s = arr.value(i);
                    (s, new(s))
                })
                .1
        } else {
            let s = arr.value(i);
            self.long.entry(Hashed::new(s)).or_insert_with(|| new(s))
        }
    }

    /// Every distinct value with what it maps to, in no particular order.
    pub(crate) fn into_pairs(self) -> impl Iterator<Item = (&'a str, V)> {
        self.short.into_values().chain(self.long.into_iter().map(|(k, v)| (k.text, v)))
    }

    /// Adds `other`'s entries, combining the values of a text both hold.
    pub(crate) fn merge(&mut self, other: Self, combine: impl Fn(&mut V, V)) {
        // Room for every new text at once (maps of slices of a sorted column share few).
        self.short.reserve(other.short.len());
        self.long.reserve(other.long.len());
        for (k, (s, v)) in other.short {
            match self.short.get_mut(&k) {
                Some(mine) => combine(&mut mine.1, v),
                None => {
                    self.short.insert(k, (s, v));
                }
            }
        }
        for (k, v) in other.long {
            match self.long.get_mut(&k) {
                Some(mine) => combine(mine, v),
                None => {
                    self.long.insert(k, v);
                }
            }
        }
    }
}

impl<'a> TextMap<'a, u64> {
    /// Counts the values of `arr` at `rows` (none null). A run of equal values in a row, common
    /// in sorted or grouped columns, is one lookup.
    pub(crate) fn count_rows(&mut self, arr: &'a Utf8ViewArray, rows: impl Iterator<Item = usize>) {
        let views = arr.views();
        let mut run: Option<(usize, u64)> = None;
        for i in rows {
            if let Some((at, n)) = &mut run {
                let (a, b) = (&views[*at], &views[i]);
                let same = match inline_key(a) {
                    Some(k) => Some(k) == inline_key(b),
                    None => a.as_u128() == b.as_u128() || (a.length == b.length && a.prefix == b.prefix && arr.value(*at) == arr.value(i)),
                };
                if same {
                    *n += 1;
                    continue;
                }
                *self.entry_at(arr, *at, |_| 0) += *n;
            }
            run = Some((i, 1));
        }
        if let Some((at, n)) = run {
            *self.entry_at(arr, at, |_| 0) += n;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_long_values_are_counted_apart_and_merged() {
        // Runs of equal values, and neighbours equal in length and first four bytes only.
        let words = ["a", "a", "", "twelve bytes", "thirteen byte", "thirteen byte", "thirteen bytf", "a", "é", "a\0", "a\0"];
        let ca = StringChunked::from_slice("w".into(), &words);
        let more = StringChunked::from_slice("w".into(), &["new", "a", "thirteen byte"]);
        let arr = ca.downcast_iter().next().unwrap();
        let mut map: TextMap<u64> = TextMap::default();
        map.count_rows(arr, 0..arr.len());
        let arr = more.downcast_iter().next().unwrap();
        let mut other: TextMap<u64> = TextMap::default();
        for i in 0..arr.len() {
            *other.entry_at(arr, i, |_| 0) += 10;
        }
        map.merge(other, |a, b| *a += b);
        let mut got: Vec<(&str, u64)> = map.into_pairs().collect();
        got.sort();
        assert_eq!(
            got,
            vec![("", 1), ("a", 13), ("a\0", 2), ("new", 10), ("thirteen byte", 12), ("thirteen bytf", 1), ("twelve bytes", 1), ("é", 1)]
        );
    }
}
