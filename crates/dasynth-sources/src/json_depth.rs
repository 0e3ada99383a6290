//! A streaming check of JSON nesting depth, run before a JSON or JSON Lines file reaches
//! polars' recursive reader: a 60 KB file of 30,000 nested brackets would otherwise overflow
//! the reader's stack and abort the process. Only brackets outside strings count; the check
//! reads the file once in constant memory and does not validate anything else.

use std::io::Read;
use std::path::Path;

/// The byte offset at which `path` nests deeper than `limit` arrays and objects, if it does.
pub fn too_deep(path: &Path, limit: usize) -> std::io::Result<Option<u64>> {
    too_deep_in(std::fs::File::open(path)?, limit)
}

fn too_deep_in(mut r: impl Read, limit: usize) -> std::io::Result<Option<u64>> {
    let mut buf = vec![0u8; 1 << 16];
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    let mut offset: u64 = 0;
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => return Ok(None),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let mut i = 0;
        while i < n {
            if in_string {
                if escaped {
                    escaped = false;
                    i += 1;
                    continue;
                }
                // Jump to the next byte that can end the string or escape one.
                match memchr::memchr2(b'"', b'\\', &buf[i..n]) {
                    None => i = n,
                    Some(k) => {
                        i += k;
                        if buf[i] == b'"' {
                            in_string = false;
                        } else {
                            escaped = true;
                        }
                        i += 1;
                    }
                }
                continue;
            }
            match buf[i] {
                b'"' => in_string = true,
                b'[' | b'{' => {
                    depth += 1;
                    if depth > limit {
                        return Ok(Some(offset + i as u64));
                    }
                }
                b']' | b'}' => depth = depth.saturating_sub(1),
                _ => {}
            }
            i += 1;
        }
        offset += n as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deep(text: &str, limit: usize) -> Option<u64> {
        too_deep_in(std::io::Cursor::new(text.as_bytes()), limit).unwrap()
    }

    #[test]
    fn depth_counts_brackets_outside_strings_only() {
        assert_eq!(deep(r#"[{"a": [1, 2]}, {"b": "[[[[["}]"#, 3), None);
        assert_eq!(deep(r#"[{"a": [[1]]}]"#, 3), Some(8));
        // An escaped quote does not end a string; brackets after it are still inside.
        assert_eq!(deep(r#"["\"[[[[", {"k": "\\"}]"#, 2), None);
        assert_eq!(deep("{\"a\":1}\n{\"a\":[2]}\n", 2), None, "JSON Lines: depth returns to zero on every line");
    }

    #[test]
    fn thirty_thousand_levels_are_refused_in_constant_memory() {
        // The issue's 60 KB file: 30,000 levels of nesting.
        let text = format!("{}{}", "[".repeat(30_000), "]".repeat(30_000));
        assert_eq!(deep(&text, crate::limits::MAX_JSON_DEPTH), Some(crate::limits::MAX_JSON_DEPTH as u64));
        // Across read buffers: the depth carries over from one 64 KiB piece to the next.
        let long = format!("[\"{}\",{}{}]", "x".repeat(70_000), "[".repeat(10), "]".repeat(10));
        assert_eq!(deep(&long, 8), Some(70_004 + 7));
    }
}
