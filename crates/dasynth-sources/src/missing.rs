//! The text that means "missing": pandas' default `na_values` for `read_csv` (and
//! `read_excel`), so that every stage sees the nulls a plain `pd.read_csv(f)` sees.
//!
//! pandas compares a field's whole text, quoted or not, with no blanks trimmed: `"NA"` and `NA`
//! are missing, ` NA` is text. The empty string is in the list, so a quoted empty field is
//! missing too. The list is `pandas._libs.parsers.STR_NA_VALUES`; a cross-check test compares it
//! with the installed pandas.

/// pandas' default missing-value strings, sorted.
pub const NA_VALUES: [&str; 19] = [
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None",
    "n/a", "nan", "null",
];

/// The longest entry of [`NA_VALUES`].
const LONGEST: usize = 8;

/// Whether a field's text (without its quotes) is one of pandas' missing-value strings. Most
/// text is told apart by its length and first byte alone.
#[inline(always)]
pub fn is_na(text: &[u8]) -> bool {
    match text.first() {
        None => true,
        Some(b'#' | b'-' | b'1' | b'<' | b'N' | b'n') if text.len() <= LONGEST => NA_VALUES.iter().any(|v| v.as_bytes() == text),
        Some(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_sorted_and_the_quick_test_agrees_with_it() {
        assert!(NA_VALUES.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(NA_VALUES.iter().map(|v| v.len()).max(), Some(LONGEST));
        for v in NA_VALUES {
            assert!(is_na(v.as_bytes()), "{v:?}");
        }
        for v in ["na", " NA", "NA ", "N/a", "none", "NULLS", "-", "1", "nil", "missing", "#N/A!", "inf"] {
            assert!(!is_na(v.as_bytes()), "{v:?}");
        }
    }

    /// The list equals the installed pandas' `STR_NA_VALUES` (skipped without the test Python).
    #[test]
    fn the_list_is_pandas_own() {
        let Ok(python) = std::env::var("DASYNTH_TEST_PYTHON") else { return };
        let out = std::process::Command::new(python)
            .args(["-c", "from pandas._libs.parsers import STR_NA_VALUES as s; print('\\n'.join(sorted(s)))"])
            .output()
            .expect("run the test Python");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let theirs: Vec<String> = String::from_utf8_lossy(&out.stdout).split('\n').map(str::to_string).collect();
        // `print` ends with a line feed; the first (empty) entry is the empty string.
        let theirs: Vec<&str> = theirs[..theirs.len() - 1].iter().map(String::as_str).collect();
        assert_eq!(theirs, NA_VALUES.to_vec());
    }
}
