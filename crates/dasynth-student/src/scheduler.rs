//! Continuous batching: the step loop that runs on the engine's thread.
//!
//! Each step packs one token of every decoding sequence and chunks of prompts (new ones, or
//! the appended tokens of resumed ones) into one forward pass of at most `max_batch_tokens`
//! tokens, samples the next token of every sequence whose input is used up, and checks its
//! stops. A sequence whose turn ends leaves the batch but keeps its slot and KV cache: it is
//! *paused* until its caller resumes it with more tokens (only those are prefilled) or drops
//! it. New sequences join between steps as soon as slots are free. The `n` samples of one
//! prompt share one prefill: the first sample prefills, its cache prefix is copied to the
//! others' slots, and each draws its first token from the same logits with its own seed.
//!
//! A token sampled in one step is fed (its keys and values written) in the next step, so a
//! paused sequence carries its last token as the first input of its next turn. When the device
//! runs out of memory in a step, the batch limits are halved and the step is planned again.

use std::collections::{HashMap, VecDeque};

use candle_core::Tensor;
use dasynth_core::rng::{Rng, unit};
use tokio::sync::mpsc::UnboundedSender;

use crate::error::{Result, StudentError, TensorContext};
use crate::kv_cache::KvCache;
use crate::model::{DecodeSeg, PrefillSeg, Qwen3, StepBatch};
use crate::params::{Event, Finish, FinishReason, SamplingParams};
use crate::rope::RopeTables;
use crate::sampler::SampleRow;
use crate::stop::find_stop;
use crate::tokenizer::{Detokenizer, Tokenizer};

/// Identifies one sequence for its whole life.
pub type SeqId = u64;

/// Limits of one step.
#[derive(Debug, Clone, Copy)]
pub struct StepLimits {
    /// Tokens in one forward pass (decode tokens plus prefill chunks).
    pub max_batch_tokens: usize,
    /// Decoding sequences in one forward pass.
    pub max_decode: usize,
    /// Simulated out-of-memory when a step packs more tokens than this (tests).
    pub simulate_oom_above: Option<usize>,
}

/// A request to start sequences from one prompt.
pub struct NewGroup {
    pub prompt: Vec<u32>,
    pub members: Vec<NewSeq>,
}

/// One sample of a [`NewGroup`].
pub struct NewSeq {
    pub id: SeqId,
    pub params: SamplingParams,
    pub events: UnboundedSender<Event>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Running,
    /// Waiting for its group leader's prefill, to copy it.
    Forking(SeqId),
    Paused,
}

struct Seq {
    slot: usize,
    /// Tokens whose keys and values are in the slot.
    fed: usize,
    /// Tokens to feed next (prompt, appended tokens, or the last sampled token).
    to_feed: Vec<u32>,
    params: SamplingParams,
    rng: Rng,
    state: State,
    followers: Vec<SeqId>,
    /// A follower's copy of the prompt, prefilled by itself if its leader goes away first.
    fork_prompt: Vec<u32>,
    turn_generated: usize,
    turn_text: String,
    detok: Detokenizer,
    events: UnboundedSender<Event>,
}

/// Counters of the work done, read by benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SchedulerStats {
    pub steps: u64,
    pub prefill_tokens: u64,
    pub decode_tokens: u64,
    pub generated_tokens: u64,
    pub oom_retries: u64,
}

/// The engine's state: model, cache and sequences.
pub struct Scheduler {
    model: Qwen3,
    cache: KvCache,
    rope: RopeTables,
    tokenizer: Option<Tokenizer>,
    eos: Vec<u32>,
    limits: StepLimits,
    seqs: HashMap<SeqId, Seq>,
    /// Running order (oldest first), so long-waiting sequences are scheduled first.
    order: Vec<SeqId>,
    waiting: VecDeque<NewGroup>,
    stats: SchedulerStats,
}

/// A sampled token for a sequence, from logits row `row`.
struct Draw {
    id: SeqId,
    row: usize,
}

impl Scheduler {
    pub fn new(model: Qwen3, cache: KvCache, rope: RopeTables, tokenizer: Option<Tokenizer>, eos: Vec<u32>, limits: StepLimits) -> Self {
        Scheduler {
            model,
            cache,
            rope,
            tokenizer,
            eos,
            limits,
            seqs: HashMap::new(),
            order: Vec::new(),
            waiting: VecDeque::new(),
            stats: SchedulerStats::default(),
        }
    }

    pub fn stats(&self) -> SchedulerStats {
        self.stats
    }

    pub fn max_len(&self) -> usize {
        self.cache.max_len()
    }

    pub fn slots(&self) -> usize {
        self.cache.slots()
    }

    /// Whether a step would do anything.
    pub fn has_work(&self) -> bool {
        self.seqs.values().any(|s| s.state == State::Running) || (!self.waiting.is_empty() && self.can_admit())
    }

    fn can_admit(&self) -> bool {
        self.waiting.front().is_some_and(|g| g.members.len() <= self.cache.free_slots())
    }

    pub fn submit(&mut self, group: NewGroup) {
        self.waiting.push_back(group);
    }

    /// Appends `tokens` to a paused sequence and runs it again, with new `params` if given.
    pub fn resume(&mut self, id: SeqId, tokens: Vec<u32>, params: Option<SamplingParams>) {
        let max_len = self.cache.max_len();
        let Some(seq) = self.seqs.get_mut(&id) else { return };
        if seq.state != State::Paused {
            let _ = seq.events.send(Event::Failed("resume of a sequence that is not paused".into()));
            return;
        }
        if seq.fed + seq.to_feed.len() + tokens.len() + 1 > max_len {
            let _ = seq.events.send(Event::Failed(
                StudentError::PromptTooLong { tokens: seq.fed + seq.to_feed.len() + tokens.len(), limit: max_len }.to_string(),
            ));
            return;
        }
        seq.to_feed.extend(tokens);
        if let Some(p) = params {
            seq.params = p;
        }
        seq.turn_generated = 0;
        seq.turn_text.clear();
        seq.detok.reset();
        seq.state = State::Running;
    }

    /// Drops a sequence (finished, cancelled or its handle gone) and frees its slot.
    pub fn release(&mut self, id: SeqId) {
        if let Some(seq) = self.seqs.remove(&id) {
            self.cache.release_slot(seq.slot);
            self.order.retain(|s| *s != id);
            // Followers still waiting for this prefill run their own.
            for f in seq.followers {
                if let Some(fs) = self.seqs.get_mut(&f) {
                    fs.to_feed = std::mem::take(&mut fs.fork_prompt);
                    fs.state = State::Running;
                }
            }
        }
        self.waiting.retain_mut(|g| {
            g.members.retain(|m| m.id != id);
            !g.members.is_empty()
        });
    }

    /// Fails every sequence (the engine is stopping on an error).
    pub fn fail_all(&mut self, message: &str) {
        for (_, seq) in self.seqs.drain() {
            self.cache.release_slot(seq.slot);
            let _ = seq.events.send(Event::Failed(message.to_string()));
        }
        for g in self.waiting.drain(..) {
            for m in g.members {
                let _ = m.events.send(Event::Failed(message.to_string()));
            }
        }
        self.order.clear();
    }

    fn admit(&mut self) {
        while self.can_admit() {
            let Some(group) = self.waiting.pop_front() else { break };
            let leader = group.members[0].id;
            let mut followers = Vec::new();
            for (i, m) in group.members.into_iter().enumerate() {
                let Some(slot) = self.cache.take_slot() else { break };
                let state = if i == 0 { State::Running } else { State::Forking(leader) };
                if i > 0 {
                    followers.push(m.id);
                }
                let (to_feed, fork_prompt) = if i == 0 { (group.prompt.clone(), Vec::new()) } else { (Vec::new(), group.prompt.clone()) };
                self.seqs.insert(
                    m.id,
                    Seq {
                        slot,
                        fed: 0,
                        to_feed,
                        rng: Rng::new(m.params.seed),
                        params: m.params,
                        state,
                        followers: Vec::new(),
                        fork_prompt,
                        turn_generated: 0,
                        turn_text: String::new(),
                        detok: Detokenizer::default(),
                        events: m.events,
                    },
                );
                self.order.push(m.id);
            }
            if let Some(l) = self.seqs.get_mut(&leader) {
                l.followers = followers;
            }
        }
    }

    /// Plans, runs and samples one step.
    pub fn step(&mut self) -> Result<()> {
        self.admit();
        loop {
            let (batch, owners) = self.plan();
            if batch.tokens.is_empty() {
                return Ok(());
            }
            match self.run(&batch) {
                Ok(logits) => return self.finish_step(&batch, &owners, &logits),
                Err(e) if e.is_out_of_memory() && (self.limits.max_batch_tokens > 1 || self.limits.max_decode > 1) => {
                    self.limits.max_batch_tokens = (self.limits.max_batch_tokens / 2).max(1);
                    self.limits.max_decode = (self.limits.max_decode / 2).max(1);
                    self.stats.oom_retries += 1;
                    tracing::warn!(
                        max_batch_tokens = self.limits.max_batch_tokens,
                        max_decode = self.limits.max_decode,
                        "out of device memory in a step; shrinking the batch and retrying"
                    );
                }
                Err(e) => return Err(e),
            }
        }
    }

    fn run(&mut self, batch: &StepBatch) -> Result<Tensor> {
        if let Some(limit) = self.limits.simulate_oom_above
            && batch.tokens.len() > limit
        {
            return Err(StudentError::OutOfMemory {
                what: format!("a simulated step of {} tokens", batch.tokens.len()),
                bytes: 0,
                slots: 0,
            });
        }
        self.model.forward(batch, &self.cache, &self.rope)
    }

    /// The packed batch and, per packed segment, `(sequence, tokens fed, wants logits)`.
    fn plan(&self) -> (StepBatch, Vec<(SeqId, usize, bool)>) {
        let mut batch = StepBatch::default();
        let mut owners = Vec::new();
        let mut budget = self.limits.max_batch_tokens.max(1);
        for &id in &self.order {
            if batch.decode.len() >= self.limits.max_decode || budget == 0 {
                break;
            }
            let s = &self.seqs[&id];
            if s.state == State::Running && s.to_feed.len() == 1 {
                batch.logit_rows.push(batch.decode.len() as u32);
                batch.tokens.push(s.to_feed[0]);
                batch.decode.push(DecodeSeg { slot: s.slot, len: s.fed + 1 });
                owners.push((id, 1, true));
                budget -= 1;
            }
        }
        for &id in &self.order {
            if budget == 0 {
                break;
            }
            let s = &self.seqs[&id];
            if s.state == State::Running && s.to_feed.len() > 1 {
                let n = s.to_feed.len().min(budget);
                let done = n == s.to_feed.len();
                if done {
                    batch.logit_rows.push((batch.tokens.len() + n - 1) as u32);
                }
                batch.tokens.extend_from_slice(&s.to_feed[..n]);
                batch.prefill.push(PrefillSeg { slot: s.slot, start: s.fed, len: n });
                owners.push((id, n, done));
                budget -= n;
            }
        }
        (batch, owners)
    }

    fn finish_step(&mut self, batch: &StepBatch, owners: &[(SeqId, usize, bool)], logits: &Tensor) -> Result<()> {
        self.stats.steps += 1;
        self.stats.decode_tokens += batch.decode.len() as u64;
        self.stats.prefill_tokens += (batch.tokens.len() - batch.decode.len()) as u64;
        let mut draws = Vec::new();
        let mut row = 0;
        for &(id, fed, wants) in owners {
            let Some(seq) = self.seqs.get_mut(&id) else { continue };
            seq.fed += fed;
            seq.to_feed.drain(..fed);
            if !wants {
                continue;
            }
            draws.push(Draw { id, row });
            let followers = std::mem::take(&mut seq.followers);
            let (slot, fed_now) = (seq.slot, seq.fed);
            for f in followers {
                let Some(fs) = self.seqs.get_mut(&f) else { continue };
                if fs.state != State::Forking(id) {
                    continue;
                }
                self.cache.copy_prefix(slot, fs.slot, fed_now)?;
                fs.fed = fed_now;
                fs.fork_prompt = Vec::new();
                fs.state = State::Running;
                draws.push(Draw { id: f, row });
            }
            row += 1;
        }
        if draws.is_empty() {
            return Ok(());
        }
        let rows: Vec<u32> = draws.iter().map(|d| d.row as u32).collect();
        let logits = if rows.iter().enumerate().all(|(i, r)| *r as usize == i) && rows.len() == row {
            logits.clone()
        } else {
            let idx = Tensor::from_vec(rows, draws.len(), logits.device()).ctx(|| "sample rows".to_string())?;
            logits.index_select(&idx, 0).ctx(|| "sample rows".to_string())?
        };
        let sample_rows: Vec<SampleRow> = draws
            .iter()
            .map(|d| {
                let s = self.seqs.get_mut(&d.id).map(|s| {
                    let uniform = unit(s.rng.next_u64()) as f32;
                    SampleRow { temperature: s.params.temperature, top_p: s.params.top_p, top_k: s.params.top_k, uniform }
                });
                s.unwrap_or(SampleRow { temperature: 0.0, top_p: 1.0, top_k: 0, uniform: 0.0 })
            })
            .collect();
        let tokens = self.model.sample(&logits, &sample_rows)?;
        for (d, tok) in draws.iter().zip(tokens) {
            self.accept(d.id, tok)?;
        }
        Ok(())
    }

    /// Records a sampled token and ends the turn when a stop is reached.
    fn accept(&mut self, id: SeqId, tok: u32) -> Result<()> {
        let max_len = self.cache.max_len();
        let Some(seq) = self.seqs.get_mut(&id) else { return Ok(()) };
        self.stats.generated_tokens += 1;
        seq.turn_generated += 1;
        seq.to_feed.push(tok);
        let stop_token = seq.params.stop_token_ids.contains(&tok) || (!seq.params.ignore_eos && self.eos.contains(&tok));
        let mut text = String::new();
        if !stop_token && let Some(t) = &self.tokenizer {
            text = seq.detok.push(t, tok)?;
        }
        let new_from = seq.turn_text.len();
        seq.turn_text.push_str(&text);
        let reason = if stop_token {
            Some(FinishReason::StopToken(tok))
        } else if let Some((at, s)) = find_stop(&seq.turn_text, new_from, &seq.params.stop) {
            Some(FinishReason::StopString { matched: s.to_string(), text_end: at })
        } else if seq.turn_generated >= seq.params.max_tokens {
            Some(FinishReason::MaxTokens)
        } else if seq.fed + seq.to_feed.len() >= max_len {
            Some(FinishReason::ContextFull)
        } else {
            None
        };
        let _ = seq.events.send(Event::Token { id: tok, text });
        if let Some(reason) = reason {
            seq.state = State::Paused;
            let finish = Finish { reason, generated: seq.turn_generated, context_len: seq.fed + seq.to_feed.len() };
            let _ = seq.events.send(Event::Finished(finish));
        }
        Ok(())
    }
}
