//! Stop-string search over a turn's growing text: only matches that end in the newly added
//! part are looked for, so each token costs time proportional to the longest stop string.

/// The earliest stop string in `text` that ends at or after byte `new_from`: `(start, stop)`.
pub fn find_stop<'a>(text: &str, new_from: usize, stops: &'a [String]) -> Option<(usize, &'a str)> {
    let longest = stops.iter().map(String::len).max()?;
    let mut from = new_from.saturating_sub(longest.saturating_sub(1));
    while !text.is_char_boundary(from) {
        from -= 1;
    }
    let tail = &text[from..];
    stops.iter().filter(|s| !s.is_empty()).filter_map(|s| tail.find(s.as_str()).map(|i| (from + i, s.as_str()))).min_by_key(|(i, _)| *i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_stops_spanning_pieces() {
        let stops = vec!["</Code>".to_string(), "END".to_string()];
        assert_eq!(find_stop("abc</Co", 5, &stops), None);
        assert_eq!(find_stop("abc</Code>\n", 7, &stops), Some((3, "</Code>")));
        assert_eq!(find_stop("xEND yy</Code>", 1, &stops), Some((1, "END")));
        assert_eq!(find_stop("é</Code>", 2, &stops), Some((2, "</Code>")));
        assert_eq!(find_stop("anything", 0, &[]), None);
    }
}
