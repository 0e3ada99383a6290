//! Content-hash ids. A table's id is derived from the sha256 of its bytes (and, for files that
//! hold several tables, the member name), so the same table crawled from two places gets one id
//! and a rerun recognises its own earlier work.

use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::Path;

/// Number of hex characters kept in short ids (64 bits).
pub const SHORT_ID_LEN: usize = 16;

/// Hex sha256 of a byte slice.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Streams a file through sha256; returns the hex digest and the byte count.
pub fn sha256_file(path: &Path) -> std::io::Result<(String, u64)> {
    let mut f = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut total = 0u64;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        total += n as u64;
    }
    Ok((hex::encode(hasher.finalize()), total))
}

/// A short id from several parts, separated unambiguously.
pub fn short_id(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for p in parts {
        hasher.update((p.len() as u64).to_le_bytes());
        hasher.update(p.as_bytes());
    }
    let mut h = hex::encode(hasher.finalize());
    h.truncate(SHORT_ID_LEN);
    h
}

/// The id of a table: the file's sha256 alone for single-table files, or with the member
/// (sheet, SQLite table) for files that hold several.
pub fn table_id(file_sha256: &str, member: Option<&str>) -> String {
    match member {
        None => file_sha256.chars().take(SHORT_ID_LEN).collect(),
        Some(m) => short_id(&[file_sha256, m]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_member_sensitive() {
        let sha = sha256_hex(b"a,b\n1,2\n");
        assert_eq!(table_id(&sha, None), &sha[..16]);
        assert_ne!(table_id(&sha, Some("x")), table_id(&sha, Some("y")));
        assert_eq!(short_id(&["ab", "c"]).len(), 16);
        assert_ne!(short_id(&["ab", "c"]), short_id(&["a", "bc"]));
    }
}
