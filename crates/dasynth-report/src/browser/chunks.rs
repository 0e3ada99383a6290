//! The trajectories' detail, in blocks of [`CHUNK`] trajectories, each gzip-compressed JSON in
//! base64. The page inflates a block only when one of its trajectories is opened.
//!
//! The page has a byte budget, shared evenly by trajectory: each block may take its share. A
//! block is first encoded under the part cap the previous block ended with (a trajectory's text
//! parts are cut to that many bytes, head and tail kept; answers keep four times as much and
//! code twice, the system prompt a quarter); when it comes out over its share it is
//! encoded again under the next tighter cap, down to leaving the messages out (the verdict and
//! figures stay). A block well under its share lets the next start one cap looser. So the page
//! keeps everything when it fits, and otherwise cuts the longest texts first, evenly across the
//! run, without holding more than one block of trajectories.
//!
//! When even the tightest cap leaves a block over its share (tens of thousands of trajectories
//! in one page), the block keeps the messages of its most telling trajectories under
//! [`PARTIAL_CAP`] and leaves out the rest: rejected ones first (the reason a reader drills
//! down), then those whose replay did not match, then the others in order. What a block leaves
//! of its share passes to the next.

use crate::browser::detail::{Item, write_detail};
use crate::error::ReportError;
use base64::Engine;
use std::io::Write;

/// Trajectories per block.
pub(crate) const CHUNK: usize = 256;

/// Part caps from loosest to tightest; `None` leaves the messages out.
pub(crate) const CAPS: [Option<usize>; 8] =
    [Some(256 * 1024), Some(64 * 1024), Some(16 * 1024), Some(4096), Some(1024), Some(256), Some(64), None];

/// The part cap of the trajectories a block keeps messages for when not all fit.
pub(crate) const PARTIAL_CAP: usize = 1024;

/// Encodes blocks within a per-trajectory share of the page's budget.
pub(crate) struct ChunkEncoder {
    share: f64,
    /// Bytes earlier blocks left of their share.
    credit: f64,
    level: usize,
    pub blocks: Vec<String>,
    pub complete: u64,
    pub cut: u64,
    pub left_out: u64,
    pub tightest: Option<usize>,
    pub encodings: u64,
}

impl ChunkEncoder {
    /// `share`: bytes of page (base64 text) each trajectory may take.
    pub fn new(share: f64) -> Self {
        Self { share, credit: 0.0, level: 0, blocks: Vec::new(), complete: 0, cut: 0, left_out: 0, tightest: None, encodings: 0 }
    }

    /// Encodes one block (at most [`CHUNK`] items).
    pub fn push(&mut self, items: &[Item]) -> Result<(), ReportError> {
        let budget = self.share * items.len() as f64 + self.credit;
        let mut level = self.level;
        let (mut text, mut outcomes) = loop {
            let (text, outcomes) = encode(items, &vec![CAPS[level]; items.len()])?;
            self.encodings += 1;
            if text.len() as f64 <= budget || level + 1 == CAPS.len() {
                break (text, outcomes);
            }
            level += 1;
        };
        let mut partial_cap = None;
        if CAPS[level].is_none()
            && (text.len() as f64) < budget
            && let Some((t, o)) = self.partial(items, budget, text.len())?
        {
            (text, outcomes) = (t, o);
            partial_cap = Some(PARTIAL_CAP);
        }
        // Well under the share: the next block may try one cap looser.
        self.level = if level > 0 && (text.len() as f64) < budget / 3.0 { level - 1 } else { level };
        self.credit = (budget - text.len() as f64).max(0.0);
        for o in &outcomes {
            if o.left_out {
                self.left_out += 1;
            } else if o.cut {
                self.cut += 1;
            } else {
                self.complete += 1;
            }
        }
        if outcomes.iter().any(|o| o.cut || o.left_out) {
            let cap = partial_cap.or(CAPS[level]).unwrap_or(0);
            self.tightest = Some(self.tightest.map_or(cap, |t| t.min(cap)));
        }
        self.blocks.push(text);
        Ok(())
    }
}

impl ChunkEncoder {
    /// The block with messages (under [`PARTIAL_CAP`]) for as many of its most telling
    /// trajectories as `budget` holds, given its size with none (`bare`); `None` when not even
    /// one fits.
    fn partial(&mut self, items: &[Item], budget: f64, bare: usize) -> Result<Option<Encoded>, ReportError> {
        let mut order: Vec<usize> = (0..items.len()).filter(|&i| items[i].trajectory.is_some()).collect();
        order.sort_by_key(|&i| priority(&items[i]));
        let caps_for = |k: usize| {
            let mut caps = vec![None; items.len()];
            for &i in &order[..k] {
                caps[i] = Some(PARTIAL_CAP);
            }
            caps
        };
        let (all, _) = encode(items, &caps_for(order.len()))?;
        self.encodings += 1;
        // A first guess from the mean size, then smaller until the block fits.
        let per = (all.len().saturating_sub(bare) as f64 / order.len().max(1) as f64).max(1.0);
        let mut k = (((budget - bare as f64) / per) as usize).min(order.len());
        while k > 0 {
            let encoded = encode(items, &caps_for(k))?;
            self.encodings += 1;
            if encoded.0.len() as f64 <= budget {
                return Ok(Some(encoded));
            }
            k = k * 3 / 4;
        }
        Ok(None)
    }
}

/// Rejected first, then replays that did not match, then the rest (each in block order).
fn priority(item: &Item) -> u8 {
    match &item.verdict {
        Some(v) if !v.accepted => 0,
        Some(v) if !v.mismatches.is_empty() => 1,
        _ => 2,
    }
}

type Encoded = (String, Vec<crate::browser::detail::CutOutcome>);

/// One block with a cap per item: base64 of gzip of a JSON array.
fn encode(items: &[Item], caps: &[Option<usize>]) -> Result<Encoded, ReportError> {
    let mut json = Vec::with_capacity(items.len() * 2048);
    json.push(b'[');
    let mut outcomes = Vec::with_capacity(items.len());
    for (i, (item, cap)) in items.iter().zip(caps).enumerate() {
        if i > 0 {
            json.push(b',');
        }
        outcomes.push(write_detail(item, *cap, &mut json).map_err(|source| ReportError::Encode { what: "a trajectory", source })?);
    }
    json.push(b']');
    Ok((base64::engine::general_purpose::STANDARD.encode(gzip(&json)), outcomes))
}

/// gzip of bytes held in memory (writing to a `Vec` cannot fail).
pub(crate) fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::with_capacity(bytes.len() / 4), flate2::Compression::default());
    let _ = enc.write_all(bytes);
    enc.finish().unwrap_or_default()
}
