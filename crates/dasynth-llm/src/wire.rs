//! Request bodies and response parsing for the two wire protocols.

use serde::{Deserialize, Serialize};

use crate::types::{Message, Role, Usage};

#[derive(Serialize)]
struct OaiMessage<'a> {
    role: Role,
    content: &'a str,
}

#[derive(Serialize)]
struct OaiRequest<'a> {
    model: &'a str,
    messages: Vec<OaiMessage<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_p: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    seed: Option<u64>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    stop: &'a [String],
}

#[derive(Serialize)]
struct AnthRequest<'a> {
    model: &'a str,
    max_tokens: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    system: Option<String>,
    messages: Vec<OaiMessage<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_p: Option<f64>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    stop_sequences: &'a [String],
}

/// Sampling parameters after applying endpoint defaults.
pub(crate) struct Params<'a> {
    pub model: &'a str,
    pub system: Option<&'a str>,
    pub messages: &'a [Message],
    pub max_tokens: Option<u32>,
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    pub seed: Option<u64>,
    pub stop: &'a [String],
}

pub(crate) const ANTHROPIC_DEFAULT_MAX_TOKENS: u32 = 4096;

pub(crate) fn openai_body(p: &Params<'_>) -> serde_json::Result<Vec<u8>> {
    let mut messages = Vec::with_capacity(p.messages.len() + 1);
    if let Some(s) = p.system {
        messages.push(OaiMessage { role: Role::System, content: s });
    }
    messages.extend(p.messages.iter().map(|m| OaiMessage { role: m.role, content: &m.content }));
    serde_json::to_vec(&OaiRequest {
        model: p.model,
        messages,
        max_tokens: p.max_tokens,
        temperature: p.temperature,
        top_p: p.top_p,
        seed: p.seed,
        stop: p.stop,
    })
}

pub(crate) fn anthropic_body(p: &Params<'_>) -> serde_json::Result<Vec<u8>> {
    // System-role messages are folded into the separate `system` field.
    let mut system: Vec<&str> = p.system.into_iter().collect();
    let mut messages = Vec::with_capacity(p.messages.len());
    for m in p.messages {
        if m.role == Role::System {
            system.push(&m.content);
        } else {
            messages.push(OaiMessage { role: m.role, content: &m.content });
        }
    }
    serde_json::to_vec(&AnthRequest {
        model: p.model,
        max_tokens: p.max_tokens.unwrap_or(ANTHROPIC_DEFAULT_MAX_TOKENS),
        system: (!system.is_empty()).then(|| system.join("\n\n")),
        messages,
        temperature: p.temperature,
        top_p: p.top_p,
        stop_sequences: p.stop,
    })
}

/// Parsed provider response, before cost/latency bookkeeping.
#[derive(Debug, PartialEq)]
pub(crate) struct Parsed {
    pub content: String,
    pub reasoning: Option<String>,
    pub finish_reason: Option<String>,
    pub usage: Usage,
    pub model: Option<String>,
}

#[derive(Deserialize)]
struct OaiResp {
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    choices: Vec<OaiChoice>,
    #[serde(default)]
    usage: Option<OaiUsage>,
}
#[derive(Deserialize)]
struct OaiChoice {
    #[serde(default)]
    message: Option<OaiRespMessage>,
    #[serde(default)]
    finish_reason: Option<String>,
}
#[derive(Deserialize)]
struct OaiRespMessage {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    reasoning_content: Option<String>,
    #[serde(default)]
    reasoning: Option<String>,
}
#[derive(Deserialize)]
struct OaiUsage {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
}

pub(crate) fn parse_openai(body: &[u8]) -> serde_json::Result<Parsed> {
    let r: OaiResp = serde_json::from_slice(body)?;
    let usage = r.usage.map(|u| Usage { input_tokens: u.prompt_tokens, output_tokens: u.completion_tokens }).unwrap_or_default();
    let (content, reasoning, finish_reason) = match r.choices.into_iter().next() {
        Some(c) => {
            let (content, reasoning) = match c.message {
                Some(m) => (m.content.unwrap_or_default(), m.reasoning_content.or(m.reasoning)),
                None => (String::new(), None),
            };
            (content, reasoning.filter(|r| !r.is_empty()), c.finish_reason)
        }
        None => (String::new(), None, None),
    };
    Ok(Parsed { content, reasoning, finish_reason, usage, model: r.model })
}

#[derive(Deserialize)]
struct AnthResp {
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    content: Vec<AnthBlock>,
    #[serde(default)]
    stop_reason: Option<String>,
    #[serde(default)]
    usage: Option<AnthUsage>,
}
#[derive(Deserialize)]
struct AnthBlock {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    thinking: Option<String>,
}
#[derive(Deserialize)]
struct AnthUsage {
    #[serde(default)]
    input_tokens: u64,
    #[serde(default)]
    output_tokens: u64,
}

pub(crate) fn parse_anthropic(body: &[u8]) -> serde_json::Result<Parsed> {
    let r: AnthResp = serde_json::from_slice(body)?;
    let mut content = String::new();
    let mut reasoning: Option<String> = None;
    for b in r.content {
        match b.kind.as_str() {
            "text" => content.push_str(b.text.as_deref().unwrap_or("")),
            "thinking" => {
                if let Some(t) = b.thinking {
                    reasoning.get_or_insert_with(String::new).push_str(&t);
                }
            }
            _ => {}
        }
    }
    let usage = r.usage.map(|u| Usage { input_tokens: u.input_tokens, output_tokens: u.output_tokens }).unwrap_or_default();
    Ok(Parsed { content, reasoning, finish_reason: r.stop_reason, usage, model: r.model })
}

/// Human-readable message from an error body: `error.message` when the body
/// is a provider error object, else the (truncated) raw text.
pub(crate) fn error_message(body: &[u8]) -> String {
    let v: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let msg = v
        .as_ref()
        .and_then(|v| v.get("error"))
        .and_then(|e| e.get("message").and_then(|m| m.as_str()).map(str::to_string).or_else(|| e.as_str().map(str::to_string)))
        .or_else(|| v.as_ref().and_then(|v| v.get("message")).and_then(|m| m.as_str()).map(str::to_string))
        .unwrap_or_else(|| String::from_utf8_lossy(body).into_owned());
    let mut out: String = msg.chars().take(500).collect();
    if out.len() < msg.len() {
        out.push('…');
    }
    out
}

pub(crate) fn mentions_context_length(msg: &str) -> bool {
    let m = msg.to_ascii_lowercase();
    ["context length", "context_length", "maximum context", "context window", "prompt is too long", "too many tokens"]
        .iter()
        .any(|p| m.contains(p))
}

pub(crate) fn mentions_unknown_model(msg: &str) -> bool {
    let m = msg.to_ascii_lowercase();
    m.contains("model not found")
        || m.contains("model_not_found")
        || (m.contains("model") && (m.contains("does not exist") || m.contains("not found")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openai_body_shape() {
        let msgs = vec![Message::user("hi")];
        let stop = vec!["END".to_string()];
        let p = Params {
            model: "m",
            system: Some("sys"),
            messages: &msgs,
            max_tokens: Some(5),
            temperature: None,
            top_p: Some(0.9),
            seed: Some(7),
            stop: &stop,
        };
        let v: serde_json::Value = serde_json::from_slice(&openai_body(&p).expect("ser")).expect("json");
        assert_eq!(v["messages"][0]["role"], "system");
        assert_eq!(v["messages"][1]["content"], "hi");
        assert_eq!(v["stop"][0], "END");
        assert_eq!(v["seed"], 7);
        assert!(v.get("temperature").is_none());
        let v: serde_json::Value = serde_json::from_slice(&anthropic_body(&p).expect("ser")).expect("json");
        assert_eq!(v["system"], "sys");
        assert_eq!(v["messages"].as_array().map(Vec::len), Some(1));
        assert_eq!(v["stop_sequences"][0], "END");
        assert!(v.get("seed").is_none());
        let p2 = Params { stop: &[], max_tokens: None, ..p };
        let v: serde_json::Value = serde_json::from_slice(&anthropic_body(&p2).expect("ser")).expect("json");
        assert_eq!(v["max_tokens"], ANTHROPIC_DEFAULT_MAX_TOKENS);
        assert!(v.get("stop_sequences").is_none());
    }

    #[test]
    fn parses_reasoning_variants() {
        let a = parse_openai(br#"{"choices":[{"message":{"content":"x","reasoning_content":"r"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":2}}"#).expect("p");
        assert_eq!(a.reasoning.as_deref(), Some("r"));
        assert_eq!(a.usage, Usage { input_tokens: 1, output_tokens: 2 });
        let b = parse_openai(br#"{"choices":[{"message":{"content":null,"reasoning":"r2"}}]}"#).expect("p");
        assert_eq!((b.content.as_str(), b.reasoning.as_deref()), ("", Some("r2")));
        let c = parse_anthropic(br#"{"model":"c","content":[{"type":"thinking","thinking":"t"},{"type":"text","text":"a"},{"type":"text","text":"b"}],"stop_reason":"end_turn","usage":{"input_tokens":3,"output_tokens":4}}"#).expect("p");
        assert_eq!(c.content, "ab");
        assert_eq!(c.reasoning.as_deref(), Some("t"));
        assert_eq!(c.finish_reason.as_deref(), Some("end_turn"));
        assert!(parse_openai(b"{\"choices\": [").is_err());
    }

    #[test]
    fn classifies_error_messages() {
        assert_eq!(error_message(br#"{"error":{"message":"boom"}}"#), "boom");
        assert_eq!(error_message(b"plain"), "plain");
        assert!(mentions_context_length("This model's maximum context length is 8192 tokens"));
        assert!(mentions_context_length("prompt is too long: 300000 tokens > 200000 maximum"));
        assert!(!mentions_context_length("bad temperature"));
        assert!(mentions_unknown_model("The model `x` does not exist"));
        assert!(!mentions_unknown_model("temperature out of range"));
    }
}
