//! Row-major host matrices to the engines' column-major layout and back.

use std::collections::BTreeMap;

use p3_field::Field;
use p3_matrix::Matrix;
use p3_matrix::dense::RowMajorMatrix;
use rayon::prelude::*;

/// `out[c * h + r] = m[r][c]`: a row-major matrix to column-major (in parallel tiles, see
/// [`columns_range_into`]).
pub fn to_columns<F: Field>(m: &RowMajorMatrix<F>) -> Vec<F> {
    let (h, w) = (m.height(), m.width());
    let mut cols = F::zero_vec(h * w);
    columns_range_into(&m.values, h, w, 0, &mut cols);
    cols
}

/// Rows of a tile of the transpose. A tile of 8 columns x 2048 rows reads 2048 lines (128 KiB),
/// which stay in L2 while its columns are written. Eight columns, not the sixteen words of a
/// line: the columns are written at a power-of-two stride (the height), so their write streams
/// share cache sets, and sixteen exceed the ways (measured on this project's 2-core build
/// machine, 2^20 x 64 words: ~130-230 ms with 8 columns, ~680 ms with 16, ~450-900 ms for the
/// previous whole-column transpose; noisy, shared machine).
const TILE_ROWS: usize = 2048;
/// Words of a tile: short matrices take whole columns, as many as make this many words.
const TILE_WORDS: usize = 8 * TILE_ROWS;

/// A tile: (row band, column group).
type TileKey = (usize, usize);
/// A run of the output: the column-major index of its first word, and the words.
type Piece<'a, T> = (usize, &'a mut [T]);

/// Words `[start, start + out.len())` of the column-major form of the row-major
/// `height x width` matrix `values` (`values[r * width + c]`): `out[i]` is row
/// `(start + i) % height` of column `(start + i) / height`. A whole matrix is
/// `start = 0, out.len() = height * width`; the pinned staging slots take it in ranges.
///
/// Parallel over tiles (up to [`TILE_ROWS`] rows of a group of columns): the output is cut at
/// tile boundaries into pieces (each a run of one column, or whole columns of a short matrix),
/// every piece belongs to one tile, and a tile's pieces are written by one task while the
/// rows it reads stay in cache. The caller guarantees `values.len() >= height * width` and
/// `start + out.len() <= height * width`.
pub(crate) fn columns_range_into<T: Copy + Send + Sync>(
    values: &[T],
    height: usize,
    width: usize,
    start: usize,
    out: &mut [T],
) {
    if out.is_empty() || height == 0 || width == 0 {
        return;
    }
    let band = height.min(TILE_ROWS);
    let group = (TILE_WORDS / band).max(1);
    // Whole columns per tile when one band is the whole height: a tile's output is contiguous.
    let whole_columns = band == height;
    // (row band, column group) -> the tile's pieces: (first word's index, words).
    let mut tiles: BTreeMap<TileKey, Vec<Piece<'_, T>>> = BTreeMap::new();
    let mut rest = out;
    let mut g = start;
    while !rest.is_empty() {
        let (c, r) = (g / height, g % height);
        let tile_end = if whole_columns {
            (c / group + 1) * group * height
        } else {
            c * height + ((r / band + 1) * band).min(height)
        };
        let n = (tile_end - g).min(rest.len());
        let (piece, tail) = std::mem::take(&mut rest).split_at_mut(n);
        tiles
            .entry((r / band, c / group))
            .or_default()
            .push((g, piece));
        rest = tail;
        g += n;
    }
    tiles
        .into_values()
        .collect::<Vec<_>>()
        .into_par_iter()
        .for_each(|pieces| {
            for (g, piece) in pieces {
                let (mut c, mut r) = (g / height, g % height);
                for x in piece {
                    *x = values[r * width + c];
                    r += 1;
                    if r == height {
                        r = 0;
                        c += 1;
                    }
                }
            }
        });
}

/// The inverse of [`to_columns`]: column-major words back to a row-major matrix, rows in
/// parallel blocks.
pub fn from_columns<F: Field>(cols: &[F], height: usize, width: usize) -> RowMajorMatrix<F> {
    assert_eq!(cols.len(), height * width, "column data of the wrong size");
    let mut rows = F::zero_vec(height * width);
    if width > 0 {
        let per_task = (1usize << 16).div_ceil(width).max(1);
        rows.par_chunks_mut(per_task * width)
            .enumerate()
            .for_each(|(t, chunk)| {
                let r0 = t * per_task;
                for c in 0..width {
                    let col = &cols[c * height + r0..];
                    for (dr, row) in chunk.chunks_exact_mut(width).enumerate() {
                        row[c] = col[dr];
                    }
                }
            });
    }
    RowMajorMatrix::new(rows, width.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every range of short, tall and wide matrices (tiles of whole columns and of row bands,
    /// ranges starting and ending inside columns and bands) against the definition.
    #[test]
    fn range_transpose_matches_the_definition() {
        let shapes = [
            (1, 1),
            (1, 40_000),
            (3, 5),
            (7, 3),
            (2047, 3),
            (2048, 17),
            (2049, 2),
            (5000, 20),
            (3 * TILE_ROWS + 5, 33),
        ];
        for (h, w) in shapes {
            let values: Vec<u32> = (0..(h * w) as u32)
                .map(|x| x.wrapping_mul(2_654_435_761))
                .collect();
            let full: Vec<u32> = (0..h * w).map(|i| values[(i % h) * w + i / h]).collect();
            let n = h * w;
            // (start, end) pairs, clamped to the matrix.
            let ranges = [
                (0, n),
                (0, 0),
                (n / 3, 2 * n / 3),
                (1, n),
                (h - 1, 2 * h + 1),
                (n - 1, n),
                (n / 2 + 7, n),
                (TILE_ROWS - 1, 5 * TILE_ROWS + 3),
            ];
            for (s, e) in ranges {
                let (s, e) = (s.min(n), e.min(n));
                let len = e.saturating_sub(s);
                let mut out = vec![u32::MAX; len];
                columns_range_into(&values, h, w, s, &mut out);
                assert_eq!(out, full[s..s + len], "{h} x {w}, range {s}+{len}");
            }
        }
    }

    #[test]
    fn to_columns_and_from_columns_are_inverse() {
        use p3_koala_bear::KoalaBear;
        let (h, w) = (4099, 7);
        let values: Vec<KoalaBear> = (0..(h * w) as u32).map(KoalaBear::new).collect();
        let m = RowMajorMatrix::new(values, w);
        let cols = to_columns(&m);
        assert_eq!(cols[h * 3 + 5], m.values[5 * w + 3]);
        assert_eq!(from_columns(&cols, h, w), m);
    }
}
