//! Escaping text for HTML and SVG: every value that comes from a run folder (names, errors,
//! answers) passes through [`esc`] before it is written into markup.

use std::borrow::Cow;

/// `text` with `& < > " '` replaced by entities, safe in element content and quoted attributes.
pub(crate) fn esc(text: &str) -> Cow<'_, str> {
    if !text.contains(['&', '<', '>', '"', '\'']) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// A share as a percentage with one decimal (`12.5%`), or `–` when there is none.
pub(crate) fn pct(share: Option<f64>) -> String {
    share.map_or_else(|| "–".to_string(), |s| format!("{:.1}%", s * 100.0))
}

#[cfg(test)]
mod tests {
    #[test]
    fn markup_is_neutralised() {
        assert_eq!(super::esc("<img src=x onerror='a()'> & \"q\""), "&lt;img src=x onerror=&#39;a()&#39;&gt; &amp; &quot;q&quot;");
        assert!(matches!(super::esc("plain"), std::borrow::Cow::Borrowed(_)));
        assert_eq!(super::pct(Some(0.125)), "12.5%");
    }
}
