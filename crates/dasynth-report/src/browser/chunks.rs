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

use crate::browser::detail::{Item, write_detail};
use crate::error::ReportError;
use base64::Engine;
use std::io::Write;

/// Trajectories per block.
pub(crate) const CHUNK: usize = 256;

/// Part caps from loosest to tightest; `None` leaves the messages out.
pub(crate) const CAPS: [Option<usize>; 8] =
    [Some(256 * 1024), Some(64 * 1024), Some(16 * 1024), Some(4096), Some(1024), Some(256), Some(64), None];

/// Encodes blocks within a per-trajectory share of the page's budget.
pub(crate) struct ChunkEncoder {
    share: f64,
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
        Self { share, level: 0, blocks: Vec::new(), complete: 0, cut: 0, left_out: 0, tightest: None, encodings: 0 }
    }

    /// Encodes one block (at most [`CHUNK`] items).
    pub fn push(&mut self, items: &[Item]) -> Result<(), ReportError> {
        let budget = self.share * items.len() as f64;
        let mut level = self.level;
        let (text, outcomes) = loop {
            let (text, outcomes) = encode(items, CAPS[level])?;
            self.encodings += 1;
            if text.len() as f64 <= budget || level + 1 == CAPS.len() {
                break (text, outcomes);
            }
            level += 1;
        };
        // Well under the share: the next block may try one cap looser.
        self.level = if level > 0 && (text.len() as f64) < budget / 3.0 { level - 1 } else { level };
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
            let cap = CAPS[level].unwrap_or(0);
            self.tightest = Some(self.tightest.map_or(cap, |t| t.min(cap)));
        }
        self.blocks.push(text);
        Ok(())
    }
}

/// One block under one cap: base64 of gzip of a JSON array.
fn encode(items: &[Item], cap: Option<usize>) -> Result<(String, Vec<crate::browser::detail::CutOutcome>), ReportError> {
    let mut json = Vec::with_capacity(items.len() * 2048);
    json.push(b'[');
    let mut outcomes = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            json.push(b',');
        }
        outcomes.push(write_detail(item, cap, &mut json).map_err(|source| ReportError::Encode { what: "a trajectory", source })?);
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
