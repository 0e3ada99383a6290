//! The Qwen tokenizer built by the test setup gives Qwen3's ids, and incremental decoding
//! rebuilds the full text piece by piece.

mod common;

use dasynth_student::{ChatMessage, Detokenizer, Tokenizer};

#[test]
fn qwen3_ids_and_chat_prompt() {
    let Some(path) = common::qwen_tokenizer() else { return };
    let tok = Tokenizer::from_file(&path).expect("tokenizer");
    // Ids as Python's tokenizers gives them for Qwen3.
    let ids = tok.encode("<|im_start|>user\nHello, world! 12345 <think>ok</think></Code>\n<|im_end|>").expect("encode");
    assert_eq!(ids, [151644, 872, 198, 9707, 11, 1879, 0, 220, 16, 17, 18, 19, 20, 220, 151667, 562, 151668, 522, 2078, 397, 151645]);
    assert_eq!(tok.token_id("<|im_end|>"), Some(151645));
    assert_eq!(tok.vocab_size(), 151669);
    let p = Tokenizer::chat_prompt(&[ChatMessage { role: "user".into(), content: "hi".into() }]);
    assert_eq!(p, "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n");
}

#[test]
fn incremental_decoding_matches_whole_decoding() {
    let Some(path) = common::qwen_tokenizer() else { return };
    let tok = Tokenizer::from_file(&path).expect("tokenizer");
    let text = "销售额 grew 12% 📈 — see <Code>df.groupby('地区').sum()</Code>\n";
    let ids = tok.encode(text).expect("encode");
    let mut d = Detokenizer::default();
    let mut out = String::new();
    for id in &ids {
        out.push_str(&d.push(&tok, *id).expect("push"));
    }
    assert_eq!(out, text);
    assert_eq!(tok.decode(&ids).expect("decode"), text);
}
