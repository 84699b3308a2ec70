//! Row-major host matrices to the engines' column-major layout and back.

use p3_field::Field;
use p3_matrix::Matrix;
use p3_matrix::dense::RowMajorMatrix;
use rayon::prelude::*;

/// `out[c * h + r] = m[r][c]`: a row-major matrix to column-major, columns in parallel blocks.
pub fn to_columns<F: Field>(m: &RowMajorMatrix<F>) -> Vec<F> {
    let (h, w) = (m.height(), m.width());
    let mut cols = F::zero_vec(h * w);
    if h == 0 || w == 0 {
        return cols;
    }
    // Each task fills a run of whole columns; it reads rows with stride w (cache-friendly
    // enough: 16 consecutive rows' words of the task's columns share lines).
    let per_task = (1usize << 16).div_ceil(h).max(1);
    cols.par_chunks_mut(per_task * h)
        .enumerate()
        .for_each(|(t, chunk)| {
            let c0 = t * per_task;
            let ncols = chunk.len() / h;
            for (r, row) in m.values.chunks_exact(w).enumerate() {
                for dc in 0..ncols {
                    chunk[dc * h + r] = row[c0 + dc];
                }
            }
        });
    cols
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
