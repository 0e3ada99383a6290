//! Request summaries and response bodies in the OpenAI and Anthropic wire formats.

use crate::*;

pub(crate) fn error_body(api: Api, kind: &str, message: &str) -> Bytes {
    let v = match api {
        Api::OpenAi => serde_json::json!({"error": {"message": message, "type": kind, "code": kind}}),
        Api::Anthropic => serde_json::json!({"type": "error", "error": {"type": kind, "message": message}}),
    };
    Bytes::from(v.to_string())
}

pub(crate) fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts.iter().filter_map(|p| p.get("text").and_then(Value::as_str)).collect::<Vec<_>>().join(""),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

pub(crate) fn summarize(api: Api, path: &str, body: &Value, key: Option<String>, hit: u64) -> RequestSummary {
    let mut system = match api {
        Api::Anthropic => body.get("system").map(text_of),
        Api::OpenAi => None,
    };
    let mut messages = Vec::new();
    if let Some(arr) = body.get("messages").and_then(Value::as_array) {
        for m in arr {
            let role = m.get("role").and_then(Value::as_str).unwrap_or("").to_string();
            let content = m.get("content").map(text_of).unwrap_or_default();
            if api == Api::OpenAi && role == "system" && system.is_none() && messages.is_empty() {
                system = Some(content);
                continue;
            }
            messages.push(SummaryMessage { role, content });
        }
    }
    let stop_v = body.get("stop").or_else(|| body.get("stop_sequences"));
    let stop = match stop_v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect(),
        _ => Vec::new(),
    };
    RequestSummary {
        api,
        path: path.to_string(),
        model: body.get("model").and_then(Value::as_str).unwrap_or("").to_string(),
        system,
        messages,
        stop,
        seed: body.get("seed").and_then(Value::as_u64),
        max_tokens: body.get("max_tokens").or_else(|| body.get("max_completion_tokens")).and_then(Value::as_u64),
        temperature: body.get("temperature").and_then(Value::as_f64),
        auth_present: key.is_some(),
        key,
        hit,
    }
}

#[derive(Serialize)]
pub(crate) struct OaiMsg<'a> {
    pub(crate) role: &'static str,
    pub(crate) content: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) reasoning_content: Option<&'a str>,
}
#[derive(Serialize)]
pub(crate) struct OaiChoice<'a> {
    pub(crate) index: u32,
    pub(crate) message: OaiMsg<'a>,
    pub(crate) finish_reason: &'a str,
}
#[derive(Serialize)]
pub(crate) struct OaiUsage {
    pub(crate) prompt_tokens: u64,
    pub(crate) completion_tokens: u64,
    pub(crate) total_tokens: u64,
}
#[derive(Serialize)]
pub(crate) struct OaiResp<'a> {
    pub(crate) id: String,
    pub(crate) object: &'static str,
    pub(crate) created: u64,
    pub(crate) model: &'a str,
    pub(crate) choices: [OaiChoice<'a>; 1],
    pub(crate) usage: OaiUsage,
}
#[derive(Serialize)]
pub(crate) struct AnthBlock<'a> {
    #[serde(rename = "type")]
    pub(crate) kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) text: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) thinking: Option<&'a str>,
}
#[derive(Serialize)]
pub(crate) struct AnthUsage {
    pub(crate) input_tokens: u64,
    pub(crate) output_tokens: u64,
}
#[derive(Serialize)]
pub(crate) struct AnthResp<'a> {
    pub(crate) id: String,
    #[serde(rename = "type")]
    pub(crate) kind: &'static str,
    pub(crate) role: &'static str,
    pub(crate) model: &'a str,
    pub(crate) content: Vec<AnthBlock<'a>>,
    pub(crate) stop_reason: &'a str,
    pub(crate) usage: AnthUsage,
}

pub(crate) fn success_body(api: Api, s: &RequestSummary, r: &Reply) -> Bytes {
    let (inp, out) = r.usage.unwrap_or_else(|| {
        let chars: usize = s.messages.iter().map(|m| m.content.len()).sum::<usize>() + s.system.as_ref().map_or(0, |x| x.len());
        (chars as u64 / 4 + 1, r.content.len() as u64 / 4 + 1)
    });
    let id = format!("fake-{}", s.hit);
    let bytes = match api {
        Api::OpenAi => serde_json::to_vec(&OaiResp {
            id,
            object: "chat.completion",
            created: 0,
            model: &s.model,
            choices: [OaiChoice {
                index: 0,
                message: OaiMsg { role: "assistant", content: &r.content, reasoning_content: r.reasoning.as_deref() },
                finish_reason: r.finish_reason.as_deref().unwrap_or("stop"),
            }],
            usage: OaiUsage { prompt_tokens: inp, completion_tokens: out, total_tokens: inp + out },
        }),
        Api::Anthropic => {
            let mut content = Vec::new();
            if let Some(t) = r.reasoning.as_deref() {
                content.push(AnthBlock { kind: "thinking", text: None, thinking: Some(t) });
            }
            if !r.content.is_empty() {
                content.push(AnthBlock { kind: "text", text: Some(&r.content), thinking: None });
            }
            serde_json::to_vec(&AnthResp {
                id,
                kind: "message",
                role: "assistant",
                model: &s.model,
                content,
                stop_reason: r.finish_reason.as_deref().unwrap_or("end_turn"),
                usage: AnthUsage { input_tokens: inp, output_tokens: out },
            })
        }
    };
    Bytes::from(bytes.unwrap_or_default())
}
