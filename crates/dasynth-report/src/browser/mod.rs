//! The data behind the page's trajectory browser: the summary block (one columnar record per
//! trajectory, see [`summary`]), the detail blocks (see [`chunks`] and [`detail`]) and the
//! inlined images (see [`images`]). The detail blocks come from a second pass over the
//! trajectory files, in the same order as the first.

pub(crate) mod chunks;
pub(crate) mod detail;
pub(crate) mod images;
mod summary;

use crate::error::ReportError;
use crate::gather::Gathered;
use crate::inputs::Inputs;
use base64::Engine;
use chunks::{CHUNK, ChunkEncoder};
use dasynth_core::layout::RunDir;
use dasynth_core::reporter::Reporter;
use detail::Item;
use std::collections::HashMap;

/// The summary block: base64 of gzip of the columnar JSON; none without trajectories.
pub(crate) fn summary_block(g: &Gathered) -> Result<Option<String>, ReportError> {
    if g.facts.is_empty() {
        return Ok(None);
    }
    let json = serde_json::to_vec(&summary::summary(&g.facts, &g.dicts, CHUNK))
        .map_err(|source| ReportError::Encode { what: "the trajectory summary", source })?;
    Ok(Some(base64::engine::general_purpose::STANDARD.encode(chunks::gzip(&json))))
}

/// The detail blocks and images, each trajectory within `share` bytes of page.
pub(crate) struct Details {
    pub encoder: ChunkEncoder,
    pub images: Vec<(&'static str, String)>,
}

/// Streams the trajectories a second time and encodes their detail blocks. Verdicts are taken
/// out of `inputs` as they are used.
pub(crate) fn details(
    run: &RunDir,
    inputs: &mut Inputs,
    g: &mut Gathered,
    share: f64,
    reporter: &dyn Reporter,
) -> Result<Details, ReportError> {
    let index: HashMap<&str, usize> = g.facts.iter().enumerate().map(|(i, f)| (f.key.as_str(), i)).collect();
    let mut encoder = ChunkEncoder::new(share);
    let mut images: Vec<(&'static str, String)> = vec![("image/png", String::new()); g.images.inlined as usize];
    let mut pending: Vec<Item> = Vec::with_capacity(CHUNK);
    let mut next = 0;
    let mut failed = None;
    let mut flush = |pending: &mut Vec<Item>, force: bool, failed: &mut Option<ReportError>| {
        if (pending.len() == CHUNK || (force && !pending.is_empty())) && failed.is_none() {
            if let Err(e) = encoder.push(pending) {
                *failed = Some(e);
            }
            pending.clear();
        }
    };
    reporter.start("report", g.facts.len() as u64);
    crate::stream::for_each(run, &run.trajectories_dir(), |t| {
        // A trajectory written since the first pass is not in this report.
        let Some(&i) = index.get(t.key.as_str()) else { return };
        if i < next || failed.is_some() {
            return;
        }
        // Trajectories gone since the first pass keep their place.
        while next < i {
            pending.push(Item::gone());
            next += 1;
            flush(&mut pending, false, &mut failed);
        }
        let mut outputs = g.outputs.remove(&t.key).unwrap_or_default();
        for o in &mut outputs {
            inline_image(run, &t.key, o, &mut images);
        }
        let verdict = inputs.verdicts.as_mut().and_then(|m| m.remove(&t.key));
        let task = inputs.tasks.as_ref().and_then(|m| m.get(&t.task_id)).cloned();
        reporter.item(&t.key);
        pending.push(Item { trajectory: Some(t), verdict, task, outputs });
        next += 1;
        flush(&mut pending, false, &mut failed);
    });
    while next < g.facts.len() {
        pending.push(Item::gone());
        next += 1;
        flush(&mut pending, false, &mut failed);
    }
    flush(&mut pending, true, &mut failed);
    reporter.finish();
    match failed {
        Some(e) => Err(e),
        None => Ok(Details { encoder, images }),
    }
}

/// Reads a planned image into its block; a file that cannot be read is left out.
fn inline_image(run: &RunDir, key: &str, o: &mut images::OutputPlan, images: &mut [(&'static str, String)]) {
    let Some(n) = o.image else { return };
    let read = images::output_path(run, key, &o.name).and_then(|p| std::fs::read(p).ok());
    match (read, images::mime(&o.name), images.get_mut(n)) {
        (Some(bytes), Some(mime), Some(slot)) => *slot = (mime, base64::engine::general_purpose::STANDARD.encode(bytes)),
        _ => {
            o.image = None;
            o.why = Some("could not be read when the page was written".into());
        }
    }
}
