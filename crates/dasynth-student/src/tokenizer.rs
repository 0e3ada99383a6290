//! The Qwen tokenizer (`tokenizer.json`), the ChatML prompt format Qwen3 models are trained
//! on, and incremental detokenization for streaming and stop strings.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{Result, StudentError};

/// A loaded `tokenizer.json`.
#[derive(Clone)]
pub struct Tokenizer {
    inner: Arc<tokenizers::Tokenizer>,
    path: PathBuf,
}

/// One chat message for [`Tokenizer::chat_prompt`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatMessage {
    pub role: String,
    pub content: String,
}

impl Tokenizer {
    pub fn from_file(path: &Path) -> Result<Tokenizer> {
        let inner = tokenizers::Tokenizer::from_file(path)
            .map_err(|e| StudentError::Tokenizer { path: path.to_path_buf(), message: e.to_string() })?;
        Ok(Tokenizer { inner: Arc::new(inner), path: path.to_path_buf() })
    }

    /// Token ids of `text`; special tokens written in the text (`<|im_start|>`) are recognised.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        let enc = self
            .inner
            .encode(text, false)
            .map_err(|e| StudentError::Tokenizer { path: self.path.clone(), message: format!("encoding: {e}") })?;
        Ok(enc.get_ids().to_vec())
    }

    /// Text of `ids`, special tokens included.
    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        self.inner.decode(ids, false).map_err(|e| StudentError::Tokenizer { path: self.path.clone(), message: format!("decoding: {e}") })
    }

    /// The id of a token string (`<|im_end|>`), if the vocabulary has it.
    pub fn token_id(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
    }

    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    /// ChatML, as Qwen3's chat template renders a conversation without tools:
    /// `<|im_start|>{role}\n{content}<|im_end|>\n` per message, then the assistant's header.
    pub fn chat_prompt(messages: &[ChatMessage]) -> String {
        let mut s = String::new();
        for m in messages {
            s.push_str("<|im_start|>");
            s.push_str(&m.role);
            s.push('\n');
            s.push_str(&m.content);
            s.push_str("<|im_end|>\n");
        }
        s.push_str("<|im_start|>assistant\n");
        s
    }
}

/// Turns a growing list of ids into text a piece at a time, holding back bytes that do not yet
/// form whole characters (a byte-level BPE token can end inside a UTF-8 sequence).
#[derive(Debug, Default, Clone)]
pub struct Detokenizer {
    ids: Vec<u32>,
    prefix_offset: usize,
    read_offset: usize,
}

impl Detokenizer {
    /// Adds `id` and returns the new text it completes (possibly empty).
    pub fn push(&mut self, tok: &Tokenizer, id: u32) -> Result<String> {
        self.ids.push(id);
        let prefix = tok.decode(&self.ids[self.prefix_offset..self.read_offset])?;
        let full = tok.decode(&self.ids[self.prefix_offset..])?;
        if full.len() > prefix.len() && !full.ends_with('\u{FFFD}') && full.is_char_boundary(prefix.len()) {
            let new = full[prefix.len()..].to_string();
            self.prefix_offset = self.read_offset;
            self.read_offset = self.ids.len();
            Ok(new)
        } else {
            Ok(String::new())
        }
    }

    /// Forgets the ids (the text so far stays with the caller).
    pub fn reset(&mut self) {
        *self = Detokenizer::default();
    }
}
