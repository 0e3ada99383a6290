//! The run's `dasynth.toml` as the report shows it: secrets redacted. The configuration holds
//! no API keys (only the names of the variables that do), but extra HTTP headers and proxy
//! URLs may carry credentials, so their values never reach the page.

/// Keys whose values are replaced, wherever they appear.
const SECRET_KEYS: [&str; 5] = ["extra-headers", "proxy", "token", "password", "secret"];

/// The TOML text with secret values replaced; none when the text is not TOML (then nothing of
/// it is shown, since it cannot be redacted safely).
pub(crate) fn redacted(text: &str) -> Option<String> {
    let mut table: toml::Table = toml::from_str(text).ok()?;
    redact_table(&mut table);
    toml::to_string_pretty(&table).ok()
}

fn redact_table(table: &mut toml::Table) {
    for (key, value) in table.iter_mut() {
        if SECRET_KEYS.iter().any(|s| key.contains(s)) && !key.ends_with("-env") {
            redact_value(value);
        } else {
            descend(value);
        }
    }
}

fn descend(value: &mut toml::Value) {
    match value {
        toml::Value::Table(t) => redact_table(t),
        toml::Value::Array(items) => items.iter_mut().for_each(descend),
        _ => {}
    }
}

fn redact_value(value: &mut toml::Value) {
    match value {
        toml::Value::Table(t) => t.iter_mut().for_each(|(_, v)| redact_value(v)),
        toml::Value::Array(items) => items.iter_mut().for_each(redact_value),
        other => *other = toml::Value::String("<redacted>".into()),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn header_values_and_proxies_are_redacted_but_variable_names_are_kept() {
        let text = "out = \"run\"\n[[teachers]]\nkind = \"openai\"\napi-key-env = \"OPENAI_KEY\"\nproxy = \"http://u:pw@proxy:8080\"\n[teachers.extra-headers]\nx-api-key = \"sk-live-123\"\n";
        let out = super::redacted(text).unwrap();
        assert!(!out.contains("sk-live-123") && !out.contains("u:pw"), "{out}");
        assert!(out.contains("OPENAI_KEY") && out.contains("x-api-key"), "{out}");
        assert!(super::redacted("not = [toml").is_none());
    }
}
