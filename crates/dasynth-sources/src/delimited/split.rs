//! Where the file is cut into pieces for the threads, and where each piece's first record starts.

use super::*;

/// Where the pieces of `len` bytes to be read by `threads` threads are cut, ending with `len`:
/// each piece a share of what is left, so they shrink towards the end and the threads, taking
/// them in turn, finish close together.
pub(super) fn split_points(len: usize, threads: usize) -> Vec<usize> {
    let mut points = vec![0];
    let mut at = 0;
    while len - at >= 2 * MIN_PART && threads > 1 {
        at += ((len - at) / (2 * threads)).max(MIN_PART);
        points.push(at);
    }
    points.push(len);
    points
}

/// The start of each piece (and, last, the end of the data): `first(point)` for each split point
/// after the first, never before the start of the piece before.
pub(super) fn piece_starts(points: &[usize], mut first: impl FnMut(usize, usize) -> usize) -> Vec<usize> {
    let mut bounds = points.to_vec();
    for i in 1..bounds.len() - 1 {
        bounds[i] = first(i, points[i]).max(bounds[i - 1]);
    }
    bounds
}

/// [`piece_starts`], guessed: just after the first line feed at or after each split point.
pub(super) fn line_starts(data: &[u8], points: &[usize]) -> Vec<usize> {
    piece_starts(points, |_, at| memchr::memchr(b'\n', &data[at..]).map_or(data.len(), |j| at + j + 1))
}

/// [`piece_starts`]: the first record start at or after each split point, found from the parity
/// of the quotes before it (quotes come in pairs in a strictly quoted file; a file that is not is
/// declined by the parse that follows).
pub(super) fn boundaries(data: &[u8], quote: u8, points: &[usize]) -> Vec<usize> {
    let pieces: Vec<&[u8]> = points.windows(2).map(|w| &data[w[0]..w[1]]).collect();
    let counts: Vec<usize> = pieces.par_iter().with_max_len(1).map(|piece| count_byte(piece, quote)).collect();
    let mut inside = false;
    piece_starts(points, |i, at| {
        inside ^= counts[i - 1] % 2 == 1;
        let mut q = inside;
        for (j, &b) in data[at..].iter().enumerate() {
            if b == quote {
                q = !q;
            } else if b == b'\n' && !q {
                return at + j + 1;
            }
        }
        data.len()
    })
}

/// How often `byte` occurs in `bytes` (in 255-byte blocks, so the compiler can count in vectors).
pub(super) fn count_byte(bytes: &[u8], byte: u8) -> usize {
    bytes.chunks(255).map(|block| block.iter().fold(0u8, |n, &b| n + u8::from(b == byte)) as usize).sum()
}
