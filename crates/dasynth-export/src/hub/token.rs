//! The Hub token: from `HF_TOKEN`, else the token file `huggingface_hub` writes
//! (`$HF_TOKEN_PATH`, else `$HF_HOME/token`, else `~/.cache/huggingface/token`). The value is
//! only ever put in an `Authorization` header marked sensitive; `Debug` and `Display` print
//! `***`.

use std::path::PathBuf;

/// A secret that never prints.
#[derive(Clone)]
pub struct Token(String);

impl Token {
    pub fn new(value: impl Into<String>) -> Self {
        Token(value.into())
    }
    /// The `Authorization` header value, marked sensitive so no log or debug print shows it.
    pub fn header(&self) -> Option<reqwest::header::HeaderValue> {
        let mut v = reqwest::header::HeaderValue::from_str(&format!("Bearer {}", self.0)).ok()?;
        v.set_sensitive(true);
        Some(v)
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(***)")
    }
}

impl std::fmt::Display for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// Where `huggingface_hub` keeps the token of `huggingface-cli login`.
pub fn token_file(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    let nonempty = |k: &str| env(k).filter(|v| !v.trim().is_empty());
    if let Some(p) = nonempty("HF_TOKEN_PATH") {
        return Some(PathBuf::from(p));
    }
    if let Some(h) = nonempty("HF_HOME") {
        return Some(PathBuf::from(h).join("token"));
    }
    let cache = nonempty("XDG_CACHE_HOME").map(PathBuf::from).or_else(|| nonempty("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(cache.join("huggingface").join("token"))
}

/// The token from the environment or the token file, if any.
pub fn discover(env: &dyn Fn(&str) -> Option<String>) -> Option<Token> {
    if let Some(t) = env(dasynth_core::env::HF_TOKEN).map(|t| t.trim().to_string()).filter(|t| !t.is_empty()) {
        return Some(Token(t));
    }
    let path = token_file(env)?;
    let text = std::fs::read_to_string(path).ok()?;
    let t = text.trim();
    (!t.is_empty()).then(|| Token(t.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_wins_then_the_file_and_nothing_prints() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("token"), "hf_file\n").unwrap();
        let home = dir.path().to_string_lossy().into_owned();
        let with_env = |k: &str| match k {
            "HF_TOKEN" => Some("hf_env".to_string()),
            "HF_HOME" => Some(home.clone()),
            _ => None,
        };
        let t = discover(&with_env).unwrap();
        assert_eq!(format!("{t} {t:?}"), "*** Token(***)");
        assert!(format!("{:?}", t.header().unwrap()).contains("Sensitive"));
        let file_only = |k: &str| (k == "HF_HOME").then(|| home.clone());
        assert_eq!(discover(&file_only).unwrap().0, "hf_file");
        assert!(discover(&|_: &str| None).is_none());
    }
}
