//! Charts as inline SVG: horizontal bars with labels and counts, histograms with both axes
//! labelled, and small stacked bars for tables. Colours come from CSS classes, so the page's
//! light and dark themes both apply; every label is escaped.

use crate::html::escape::esc;
use dasynth_core::report::Distribution;
use std::fmt::Write;

/// One bar: label, value, the text printed after the bar, and its CSS class.
pub(crate) struct Bar {
    pub label: String,
    pub value: f64,
    pub text: String,
    pub class: &'static str,
}

impl Bar {
    pub fn count(label: impl Into<String>, n: u64, class: &'static str) -> Self {
        Self { label: label.into(), value: n as f64, text: group_digits(n), class }
    }
}

const ROW: f64 = 22.0;
const WIDTH: f64 = 640.0;
/// Longest label shown in full; longer ones are shortened (the full text is the bar's title).
const LABEL_CHARS: usize = 34;

/// Horizontal bars, one per row, with a value axis titled `axis`.
pub(crate) fn hbars(bars: &[Bar], axis: &str) -> String {
    if bars.is_empty() {
        return String::new();
    }
    let label_w = (bars.iter().map(|b| b.label.chars().count().min(LABEL_CHARS)).max().unwrap_or(4) as f64 * 6.8 + 12.0).clamp(60.0, 250.0);
    let text_w = bars.iter().map(|b| b.text.chars().count()).max().unwrap_or(1) as f64 * 7.0 + 10.0;
    let plot_w = (WIDTH - label_w - text_w).max(120.0);
    let max = bars.iter().map(|b| b.value).fold(0.0, f64::max).max(f64::MIN_POSITIVE);
    let height = ROW * bars.len() as f64 + 34.0;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" role="img" aria-label="{}">"#,
        esc(axis)
    );
    for (i, b) in bars.iter().enumerate() {
        let y = i as f64 * ROW + 4.0;
        let w = (b.value / max * plot_w).max(if b.value > 0.0 { 1.0 } else { 0.0 });
        let _ = write!(
            s,
            r#"<g><title>{title}: {text}</title><text x="{lx}" y="{ty}" text-anchor="end">{label}</text><rect class="{class}" x="{label_w}" y="{y}" width="{w:.1}" height="{h}"></rect><text x="{vx:.1}" y="{ty}">{text}</text></g>"#,
            title = esc(&b.label),
            text = esc(&b.text),
            lx = label_w - 6.0,
            ty = y + 13.0,
            label = esc(&shorten(&b.label, LABEL_CHARS)),
            class = b.class,
            h = ROW - 6.0,
            vx = label_w + w + 4.0,
        );
    }
    let axis_y = ROW * bars.len() as f64 + 6.0;
    let _ = write!(
        s,
        r#"<line class="axis" x1="{label_w}" y1="{axis_y}" x2="{x2}" y2="{axis_y}"></line><text class="muted" x="{label_w}" y="{ty}">0</text><text class="muted" x="{x2}" y="{ty}" text-anchor="end">{max} {axis}</text></svg>"#,
        x2 = label_w + plot_w,
        ty = axis_y + 16.0,
        max = esc(&number(max)),
        axis = esc(axis),
    );
    s
}

/// A histogram with the buckets' ranges on the x axis and counts on the y axis.
pub(crate) fn histogram(d: &Distribution, x_title: &str) -> String {
    if d.buckets.is_empty() {
        return String::new();
    }
    let (left, right, top, bottom) = (48.0, 12.0, 18.0, 46.0);
    let height = 220.0;
    let plot_w = WIDTH - left - right;
    let plot_h = height - top - bottom;
    let max = d.buckets.iter().map(|b| b.count).max().unwrap_or(1).max(1) as f64;
    let bw = plot_w / d.buckets.len() as f64;
    let unit = d.buckets.iter().all(|b| b.hi - b.lo == 1.0);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" role="img" aria-label="{}">"#,
        esc(x_title)
    );
    // y axis with three gridlines.
    for k in 0..=3 {
        let v = max * k as f64 / 3.0;
        let y = top + plot_h - plot_h * k as f64 / 3.0;
        let _ = write!(
            s,
            r#"<line class="gridline" x1="{left}" y1="{y:.1}" x2="{x2}" y2="{y:.1}"></line><text class="muted" x="{tx}" y="{ty:.1}" text-anchor="end">{v}</text>"#,
            x2 = left + plot_w,
            tx = left - 4.0,
            ty = y + 4.0,
            v = group_digits(v.round() as u64),
        );
    }
    let label_every = (d.buckets.len() as f64 / 12.0).ceil().max(1.0) as usize;
    for (i, b) in d.buckets.iter().enumerate() {
        let h = b.count as f64 / max * plot_h;
        let x = left + i as f64 * bw;
        let range = if unit { number(b.lo) } else { format!("{}–{}", number(b.lo), number(b.hi)) };
        let _ = write!(
            s,
            r#"<g><title>{range}: {n}</title><rect class="bar" x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}"></rect>"#,
            range = esc(&range),
            n = group_digits(b.count),
            y = top + plot_h - h,
            w = (bw - 2.0).max(1.0),
        );
        if b.count > 0 && bw >= 22.0 {
            let _ = write!(
                s,
                r#"<text x="{cx:.1}" y="{ty:.1}" text-anchor="middle">{n}</text>"#,
                cx = x + bw / 2.0,
                ty = top + plot_h - h - 3.0,
                n = short(b.count)
            );
        }
        if i % label_every == 0 {
            let _ = write!(
                s,
                r#"<text class="muted" x="{cx:.1}" y="{ty}" text-anchor="middle">{l}</text>"#,
                cx = if unit { x + bw / 2.0 } else { x },
                ty = top + plot_h + 14.0,
                l = esc(&number(b.lo)),
            );
        }
        s.push_str("</g>");
    }
    let _ = write!(
        s,
        r#"<line class="axis" x1="{left}" y1="{yb}" x2="{x2}" y2="{yb}"></line><line class="axis" x1="{left}" y1="{top}" x2="{left}" y2="{yb}"></line><text x="{cx}" y="{tt}" text-anchor="middle">{title}</text><text x="12" y="{my}" transform="rotate(-90 12 {my})" text-anchor="middle">trajectories</text></svg>"#,
        yb = top + plot_h,
        x2 = left + plot_w,
        cx = left + plot_w / 2.0,
        tt = height - 8.0,
        title = esc(x_title),
        my = top + plot_h / 2.0,
    );
    s
}

/// A small stacked bar (accepted / rejected / no verdict) for a table cell.
pub(crate) fn stack(parts: &[(u64, &'static str)], title: &str) -> String {
    let total: u64 = parts.iter().map(|p| p.0).sum();
    let w = 90.0;
    let mut s = format!(r#"<svg class="mini" width="{w}" height="10" viewBox="0 0 {w} 10"><title>{}</title>"#, esc(title));
    let mut x = 0.0;
    for &(n, class) in parts {
        if total == 0 || n == 0 {
            continue;
        }
        let pw = n as f64 / total as f64 * w;
        let _ = write!(s, r#"<rect class="{class}" x="{x:.1}" y="0" width="{pw:.1}" height="10"></rect>"#);
        x += pw;
    }
    s.push_str("</svg>");
    s
}

fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max - 1).collect();
    out.push('…');
    out
}

/// 12345 → "12,345".
pub(crate) fn group_digits(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// 12345 → "12k", for labels on narrow bars.
fn short(n: u64) -> String {
    match n {
        0..1_000 => n.to_string(),
        1_000..1_000_000 => format!("{:.0}k", n as f64 / 1e3),
        _ => format!("{:.1}M", n as f64 / 1e6),
    }
}

/// A whole number with grouped digits, else two decimals.
pub(crate) fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        let s = group_digits(v.abs() as u64);
        if v < 0.0 { format!("-{s}") } else { s }
    } else {
        format!("{v:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dasynth_core::report::Bucket;

    #[test]
    fn labels_are_escaped_and_numbers_grouped() {
        let svg = hbars(&[Bar::count("<script>alert(1)</script>", 12345, "bar")], "trajectories");
        assert!(!svg.contains("<script>") && svg.contains("&lt;script&gt;"), "{svg}");
        assert!(svg.contains("12,345"));
        assert_eq!(group_digits(1234567), "1,234,567");
        assert_eq!(number(-3.0), "-3");
        assert_eq!(number(2.5), "2.50");
    }

    #[test]
    fn histograms_label_both_axes() {
        let d = Distribution {
            name: "turns".into(),
            n: 3,
            buckets: vec![Bucket { lo: 1.0, hi: 2.0, count: 2 }, Bucket { lo: 2.0, hi: 3.0, count: 1 }],
            ..Default::default()
        };
        let svg = histogram(&d, "turns per trajectory");
        assert!(svg.contains("turns per trajectory") && svg.contains(">trajectories<"), "{svg}");
        assert_eq!(svg.matches("<rect").count(), 2);
    }
}
