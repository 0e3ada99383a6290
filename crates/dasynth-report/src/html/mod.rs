//! `report/index.html`: one self-contained page. The Overview, Quality and Tables sections are
//! plain HTML and inline SVG written here (readable without script); the trajectory browser is
//! built by the page's one script from data blocks embedded in the page: a summary block and
//! one block per [`CHUNK`](crate::browser::chunks::CHUNK) trajectories, each gzip-compressed
//! JSON in base64, and one block per inlined image.
//!
//! The page loads nothing: its Content-Security-Policy allows only its own script and style
//! (by hash), images from `data:` URLs, no connections, and Trusted Types with no policy, so
//! no text can ever become markup in it.

pub(crate) mod escape;
mod overview;
mod quality;
mod tables;

use crate::charts::group_digits;
use base64::Engine;
use dasynth_core::report::Report;
use escape::esc;
use sha2::{Digest, Sha256};
use std::fmt::Write;

const CSS: &str = include_str!("../../assets/page.css");
const JS: &str = include_str!("../../assets/page.js");

/// The data the page embeds for its browser.
pub(crate) struct Embedded<'a> {
    /// The summary block (base64 of gzip of JSON); none when there are no trajectories.
    pub summary: Option<&'a str>,
    pub blocks: &'a [String],
    /// (MIME type, base64) of each inlined image, by image number.
    pub images: &'a [(&'static str, String)],
}

/// The sections written as HTML: Overview, Quality, Tables and the browser's frame.
pub(crate) fn sections(r: &Report) -> String {
    let mut s = overview::overview(r);
    s.push_str(&quality::quality(r));
    s.push_str(&tables::tables(r));
    s.push_str(&browser_frame(r));
    s
}

fn browser_frame(r: &Report) -> String {
    let b = &r.browser;
    let mut s = String::from(r#"<section id="browser"><h2>Trajectories</h2>"#);
    if b.trajectories == 0 {
        s.push_str(r#"<p class="muted">No trajectories yet.</p></section>"#);
        return s;
    }
    let _ = write!(
        s,
        r#"<p class="muted small">{} trajectories. Filter and sort them; click one (or open <code>index.html#t=KEY</code>) to read it."#,
        group_digits(b.trajectories)
    );
    if b.cut > 0 || b.messages_left_out > 0 {
        let _ = write!(
            s,
            " To keep the page under its size budget, {} are shown whole, {} have long parts cut (head and tail kept, down to {} bytes per part) and {} only with their figures and verdict; trajectories/*.jsonl has every one in full.",
            group_digits(b.complete),
            group_digits(b.cut),
            b.tightest_cut_chars.map_or_else(|| "–".into(), group_digits),
            group_digits(b.messages_left_out)
        );
    }
    if b.images_left_out > 0 {
        let _ = write!(
            s,
            " {} images are inlined, {} left out (too large or past the page's image budget).",
            b.images_inlined, b.images_left_out
        );
    }
    s.push_str(r#"</p><div id="browser-app"><p class="loading">Loading the trajectory browser… (it needs JavaScript)</p></div></section>"#);
    s
}

fn hash(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(text.as_bytes()))
}

/// The whole page.
pub(crate) fn page(r: &Report, sections: &str, data: &Embedded<'_>) -> String {
    let data_bytes: usize = data.summary.map_or(0, str::len)
        + data.blocks.iter().map(String::len).sum::<usize>()
        + data.images.iter().map(|(_, b)| b.len() + 60).sum::<usize>();
    let mut s = String::with_capacity(sections.len() + data_bytes + CSS.len() + JS.len() + 4096);
    let csp = format!(
        "default-src 'none'; script-src 'sha256-{}'; style-src 'sha256-{}'; img-src data:; connect-src 'none'; font-src 'none'; \
         media-src 'none'; object-src 'none'; frame-src 'none'; worker-src 'none'; manifest-src 'none'; base-uri 'none'; \
         form-action 'none'; require-trusted-types-for 'script'; trusted-types 'none'",
        hash(JS),
        hash(CSS)
    );
    let run_name = std::path::Path::new(&r.run).file_name().map_or_else(|| r.run.clone(), |n| n.to_string_lossy().into_owned());
    let _ = write!(
        s,
        r##"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="{csp}"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="color-scheme" content="light dark"><meta name="referrer" content="no-referrer"><title>dasynth report — {title}</title><style>{CSS}</style></head><body><header class="top"><h1>dasynth report</h1><nav><a href="#overview">Overview</a><a href="#quality">Quality</a><a href="#tables">Tables</a><a href="#browser">Trajectories</a></nav><span class="meta">{run} · {when}</span></header><main>"##,
        csp = esc(&csp),
        title = esc(&run_name),
        run = esc(&r.run),
        when = esc(&r.generated_at),
    );
    s.push_str(sections);
    s.push_str(r#"</main><div id="viewer" hidden><div class="panel"></div></div>"#);
    // Data blocks: base64 holds no `<`, so no block can end its element early.
    if let Some(summary) = data.summary {
        let _ = write!(s, r#"<script type="application/octet-stream" id="summary">{summary}</script>"#);
    }
    for (i, block) in data.blocks.iter().enumerate() {
        let _ = write!(s, r#"<script type="application/octet-stream" id="d{i}">{block}</script>"#);
    }
    for (i, (mime, b64)) in data.images.iter().enumerate() {
        let _ = write!(s, r#"<script type="application/octet-stream" id="i{i}" data-mime="{mime}">{b64}</script>"#);
    }
    let _ = writeln!(s, "<script>{JS}</script></body></html>");
    s
}

/// Bytes the page takes besides its sections and data blocks (head, style, script, frame).
pub(crate) fn shell_bytes() -> usize {
    CSS.len() + JS.len() + 2048
}
