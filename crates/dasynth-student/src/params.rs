//! What a caller asks of a generation ([`SamplingParams`]) and what it hears back ([`Event`]).

/// Sampling and stopping settings of one generation turn.
#[derive(Debug, Clone, PartialEq)]
pub struct SamplingParams {
    /// 0 is greedy.
    pub temperature: f32,
    pub top_p: f32,
    /// 0 keeps every token.
    pub top_k: usize,
    /// Seed of this sample's generator; sample `i` of `n` uses `seed + i`.
    pub seed: u64,
    /// Tokens to generate in this turn at most.
    pub max_tokens: usize,
    /// The turn ends when the generated text contains one of these (the text up to and
    /// including it stays in the context).
    pub stop: Vec<String>,
    /// The turn ends when one of these ids is generated (besides the model's end-of-sequence ids).
    pub stop_token_ids: Vec<u32>,
    /// Keep going past the model's end-of-sequence ids (benchmarks).
    pub ignore_eos: bool,
}

impl Default for SamplingParams {
    fn default() -> Self {
        SamplingParams {
            temperature: 1.0,
            top_p: 1.0,
            top_k: 0,
            seed: 0,
            max_tokens: 256,
            stop: Vec::new(),
            stop_token_ids: Vec::new(),
            ignore_eos: false,
        }
    }
}

impl SamplingParams {
    /// Greedy decoding of up to `max_tokens` tokens.
    pub fn greedy(max_tokens: usize) -> Self {
        SamplingParams { temperature: 0.0, max_tokens, ..Default::default() }
    }
}

/// Why a turn ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FinishReason {
    /// The text reached a stop string; `text_end` is where the stop string starts in the turn's
    /// text.
    StopString { matched: String, text_end: usize },
    /// A stop id (end of turn, end of text, or one the caller named) was generated.
    StopToken(u32),
    /// `max_tokens` were generated.
    MaxTokens,
    /// The context is full: no further token fits the sequence's slot.
    ContextFull,
}

impl FinishReason {
    /// OpenAI's `finish_reason`: `stop` or `length`.
    pub fn openai(&self) -> &'static str {
        match self {
            FinishReason::StopString { .. } | FinishReason::StopToken(_) => "stop",
            FinishReason::MaxTokens | FinishReason::ContextFull => "length",
        }
    }
}

/// The end of a turn. The sequence keeps its KV cache until it is resumed or dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finish {
    pub reason: FinishReason,
    /// Tokens generated in this turn.
    pub generated: usize,
    /// Tokens the sequence holds now (prompt, earlier turns and this turn's tokens).
    pub context_len: usize,
}

/// What a generation stream yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// One generated token and the text it completes (empty while a character is incomplete,
    /// always empty for stop ids, and empty when the engine has no tokenizer).
    Token { id: u32, text: String },
    /// The turn ended.
    Finished(Finish),
    /// The sequence failed and was dropped.
    Failed(String),
}
