//! The API key wrapper. The teacher configuration itself is `dasynth_core::config::TeacherConfig`
//! (one type for the `[[teacher]]` table and the client).

use std::fmt;

/// An API key. Its `Debug` output is redacted and it has no `Display`, so it
/// cannot leak through logs or error messages by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(key: impl Into<String>) -> Self {
        ApiKey(key.into())
    }
    /// The secret itself; only for building request headers.
    pub fn expose(&self) -> &str {
        &self.0
    }
    /// Replace every occurrence of the key in `text` with `***`.
    pub fn redact(&self, text: &str) -> String {
        if self.0.len() >= 4 && text.contains(&self.0) { text.replace(&self.0, "***") } else { text.to_string() }
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_key_is_redacted() {
        let k = ApiKey::new("sk-secret-123");
        assert_eq!(format!("{k:?}"), "ApiKey(***)");
        assert_eq!(k.redact("bad key sk-secret-123!"), "bad key ***!");
    }
}
