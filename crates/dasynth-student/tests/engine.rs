//! The scheduler's promises on the tiny fixture model: sequences joining and leaving between
//! steps do not change anyone's tokens, the samples of a shared prefill are reproducible one
//! by one, a paused sequence resumes on its kept cache, and an out-of-memory step shrinks and
//! retries.

mod common;

use common::*;
use dasynth_student::{EngineOptions, Event, FinishReason, SamplingParams};

fn greedy(n: usize) -> SamplingParams {
    SamplingParams { ignore_eos: true, ..SamplingParams::greedy(n) }
}

#[test]
fn joins_and_leaves_between_steps_do_not_change_results() {
    let r = Reference::load();
    let prompts = r.batch_prompts("plain");
    let want = r.rows("plain", "batch_greedy");
    let ties = r.near_ties("plain");
    // Fewer slots than sequences, and a small step budget so prompts are prefilled in chunks
    // beside running decodes.
    let e = engine(
        &fixtures().join("tiny-qwen3"),
        EngineOptions { max_seqs: 6, max_len: Some(128), max_batch_tokens: 24, ..Default::default() },
    );
    let mut gens: Vec<(usize, _)> = (0..4).map(|i| (i, e.generate(prompts[i].clone(), greedy(40)).expect("generate"))).collect();
    // Let the first ones run a few steps before others join.
    let mut head = Vec::new();
    for _ in 0..5 {
        match gens[0].1.blocking_next() {
            Some(Event::Token { id, .. }) => head.push(id),
            other => panic!("expected a token, got {other:?}"),
        }
    }
    gens.extend((4..12).map(|i| (i, e.generate(prompts[i].clone(), greedy(40)).expect("generate"))));
    // Sequence 1 leaves early; its slot goes to a waiting one.
    for _ in 0..3 {
        gens[1].1.blocking_next();
    }
    gens.remove(1);
    let mut checked = 0;
    // A finished turn keeps its slot (the sequence could be resumed) until its handle is
    // dropped, so each is dropped once read: that is what lets the waiting ones in.
    for (i, mut g) in gens {
        let turn = g.blocking_turn().expect("turn");
        drop(g);
        let mut ours = turn.tokens;
        if i == 0 {
            // Its first five tokens were read one by one above.
            ours.splice(0..0, head.iter().copied());
        }
        assert_eq!(ours.len(), 40, "sequence {i}");
        checked += check_greedy(&ours, &want[i][..40], i, &ties, "joins and leaves");
    }
    assert!(checked > 400, "{checked}");
}

#[test]
fn shared_prefill_samples_match_their_single_runs() {
    let r = Reference::load();
    let prompt = r.ids("plain", "prompt");
    let e = engine(&fixtures().join("tiny-qwen3"), EngineOptions { max_seqs: 8, max_len: Some(128), ..Default::default() });
    let params =
        SamplingParams { temperature: 0.9, top_p: 0.95, top_k: 50, seed: 11, max_tokens: 30, ignore_eos: true, ..Default::default() };
    let before = e.stats().prefill_tokens;
    let mut group = e.generate_n(prompt.clone(), params.clone(), 4).expect("generate_n");
    let together: Vec<Vec<u32>> = group.iter_mut().map(|g| g.blocking_turn().expect("turn").tokens).collect();
    assert_eq!(e.stats().prefill_tokens - before, prompt.len() as u64, "one prefill for four samples");
    drop(group);
    for (i, t) in together.iter().enumerate() {
        let mut g = e.generate(prompt.clone(), SamplingParams { seed: 11 + i as u64, ..params.clone() }).expect("generate");
        assert_eq!(&g.blocking_turn().expect("turn").tokens, t, "sample {i}");
    }
    assert!(together.iter().any(|t| t != &together[0]), "different seeds should give different samples");
}

#[test]
fn paused_sequence_resumes_on_its_cache() {
    let r = Reference::load();
    let prompt = r.ids("plain", "prompt");
    let e = engine(&fixtures().join("tiny-qwen3"), EngineOptions { max_seqs: 2, max_len: Some(128), ..Default::default() });
    let mut g = e.generate(prompt.clone(), greedy(10)).expect("generate");
    let t1 = g.blocking_turn().expect("turn 1");
    assert_eq!(t1.finish.reason, FinishReason::MaxTokens);
    assert_eq!(t1.tokens, r.ids("plain", "greedy")[..10].to_vec());
    assert_eq!(g.context_len(), prompt.len() + 10);
    // A tool's output is appended; only it (and the last sampled token) is prefilled.
    let tool: Vec<u32> = vec![7, 8, 9, 10, 11];
    let before = e.stats();
    g.resume(tool.clone(), Some(greedy(20))).expect("resume");
    let t2 = g.blocking_turn().expect("turn 2");
    let after = e.stats();
    assert_eq!(after.prefill_tokens - before.prefill_tokens, 1 + tool.len() as u64);
    // The same context prefilled from scratch gives the same continuation.
    let mut full = prompt.clone();
    full.extend(&t1.tokens);
    full.extend(&tool);
    let mut fresh = e.generate(full, greedy(20)).expect("generate");
    assert_eq!(fresh.blocking_turn().expect("fresh").tokens, t2.tokens);
    // Resuming past the context is refused with the limit named.
    let err = g.resume(vec![1; 200], None).expect_err("too long");
    assert!(err.to_string().contains("maximum context length of 127"), "{err}");
}

#[test]
fn stop_token_ends_a_turn_and_context_fills() {
    let r = Reference::load();
    let prompt = r.ids("plain", "prompt");
    let want = r.ids("plain", "greedy");
    let e = engine(&fixtures().join("tiny-qwen3"), EngineOptions { max_seqs: 1, max_len: Some(40), ..Default::default() });
    let stop = want[3];
    let first = want.iter().position(|t| *t == stop).expect("present");
    let mut g = e.generate(prompt.clone(), SamplingParams { stop_token_ids: vec![stop], ..greedy(100) }).expect("generate");
    let t = g.blocking_turn().expect("turn");
    assert_eq!(t.finish.reason, FinishReason::StopToken(stop));
    assert_eq!(t.tokens, want[..=first].to_vec());
    drop(g);
    let mut g = e.generate(prompt.clone(), greedy(100)).expect("generate");
    let t = g.blocking_turn().expect("turn");
    assert_eq!(t.finish.reason, FinishReason::ContextFull);
    assert_eq!(t.finish.context_len, 40);
}

#[test]
fn out_of_memory_step_shrinks_and_retries() {
    let r = Reference::load();
    let prompts = r.batch_prompts("plain");
    let want = r.rows("plain", "batch_greedy");
    let ties = r.near_ties("plain");
    let e = engine(
        &fixtures().join("tiny-qwen3"),
        EngineOptions { max_seqs: 16, max_len: Some(128), max_batch_tokens: 512, simulate_oom_above: Some(12), ..Default::default() },
    );
    let mut gens: Vec<_> = (0..16).map(|i| e.generate(prompts[i].clone(), greedy(20)).expect("generate")).collect();
    for (i, g) in gens.iter_mut().enumerate() {
        let t = g.blocking_turn().expect("turn");
        check_greedy(&t.tokens, &want[i][..20], i, &ties, "after shrinking");
    }
    assert!(e.stats().oom_retries >= 5, "{:?}", e.stats());
}
