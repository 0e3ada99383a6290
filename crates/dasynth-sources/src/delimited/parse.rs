//! Reading one piece of the file into column builders: indexed windows of plain text, record
//! by record elsewhere.

use super::*;

/// Parses the records that start in `data[start..end]`.
pub(super) fn parse_segment(
    data: &[u8],
    start: usize,
    end: usize,
    d: &Dialect,
    scan: &Scanner,
    sample: &Sample,
    n_rows: Option<usize>,
) -> Result<Vec<ColumnBuf>, Declined> {
    // Pieces meet at record starts, so no character is split between two checks. (A limited
    // read checks all its bytes too, as polars does.)
    std::str::from_utf8(&data[start..end]).map_err(|_| Declined("invalid UTF-8"))?;
    let limit = n_rows.unwrap_or(usize::MAX);
    let (rows, long_bytes) = sample.room(end - start);
    let width = sample.kinds.len();
    let rows = rows.min(limit.saturating_add(16));
    let mut bufs: Vec<ColumnBuf> = sample.kinds.iter().zip(long_bytes).map(|(&k, long)| ColumnBuf::new(k, rows, long)).collect();
    let mut scratch = Vec::new();
    let (mut pos, mut rows) = (start, 0);
    // A limited read takes few records; a single column has too little to index.
    let mut index = (n_rows.is_none() && width >= 2).then(index::Index::default);
    while pos < end && rows < limit {
        // Up to the end of a window: indexed when the text is plain, otherwise record by record.
        let to = (pos + index::WINDOW).min(end);
        if let Some(ix) = &mut index
            && let Some(next) = ix.scan(data, pos, to, d, width)
        {
            ix.fill(data, pos, d, &mut bufs, &mut scratch)?;
            #[cfg(test)]
            super::tests::INDEXED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            rows += ix.records(width);
            pos = next;
            continue;
        }
        while pos < end && rows < limit && (pos < to || index.is_none()) {
            let (next, n) = record(data, pos, d, scan, width, &mut |c, f| bufs[c].push(f, d.quote, &mut scratch))?;
            if n != width {
                return Err(Declined("records with different numbers of fields"));
            }
            pos = next;
            rows += 1;
        }
    }
    if pos != end && rows < limit {
        return Err(MISSED_SPLIT);
    }
    Ok(bufs)
}
