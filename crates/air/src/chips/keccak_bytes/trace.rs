//! Word rows: for each hash with a non-zero length, one row per aligned word from the offset's
//! word to the word holding the last byte of its last lane, in order.

use core::borrow::BorrowMut;

use p3_field::PrimeField32;
use p3_matrix::dense::RowMajorMatrix;

use super::columns::{BytesCols, NUM_BYTES_COLS, ROW_LANES};
use crate::chips::keccak_sponge::trace::Hash;
use crate::chips::memory::columns::WORD_BYTES;
use crate::chips::range::trace::RangeCounts;

/// Rows (words) a hash reads: through the last byte of its last lane.
pub fn words_of(offset: u32, len: usize) -> usize {
    if len == 0 {
        return 0;
    }
    let lanes = len.div_ceil(8);
    let first = offset as usize / WORD_BYTES;
    let last = (offset as usize + 8 * lanes - 1) / WORD_BYTES;
    last - first + 1
}

/// The word table of `hashes` (their `words` as [`Hash::words`] gives them), padded with zero
/// rows to `height`; counts its u16 and byte-pair lookups.
pub fn generate<F: PrimeField32>(
    hashes: &[Hash],
    height: usize,
    u16s: &mut RangeCounts,
) -> RowMajorMatrix<F> {
    let rows: usize = hashes.iter().map(|h| h.words.len()).sum();
    debug_assert!(height.is_power_of_two() && height >= rows);
    let mut values = F::zero_vec(height * NUM_BYTES_COLS);
    let mut r = 0;
    for h in hashes {
        let base = h.offset / WORD_BYTES as u32;
        let k = h.offset as usize % WORD_BYTES;
        let lanes = h.data.len().div_ceil(8);
        for (i, word) in h.words.iter().enumerate() {
            let row: &mut BytesCols<F> =
                values[r * NUM_BYTES_COLS..(r + 1) * NUM_BYTES_COLS].borrow_mut();
            r += 1;
            let more = i + 1 < h.words.len();
            row.is_real = F::ONE;
            row.more = F::from_bool(more);
            row.ctx = F::from_u32(h.ctx);
            row.ts = F::from_u32(h.ts);
            row.offset = F::from_u32(h.offset);
            row.len = F::from_usize(h.data.len());
            row.base = F::from_u32(base);
            row.base_lo = F::from_u32(base & 0xffff);
            row.base_hi = F::from_u32(base >> 16);
            u16s.add(base & 0xffff);
            u16s.add((base >> 16) * 256);
            row.shift[k] = F::ONE;
            row.i = F::from_usize(i);
            let w = base + i as u32;
            row.off_hi = F::from_u32((32 * w) >> 16);
            for (j, &b) in word.iter().enumerate() {
                row.word[j] = F::from_u8(b);
            }
            for m in 0..WORD_BYTES / 2 {
                u16s.add_byte_pair(word[WORD_BYTES - 2 - 2 * m], word[WORD_BYTES - 1 - 2 * m]);
            }
            for x in 0..WORD_BYTES {
                let y = x + k;
                let b = if y < WORD_BYTES {
                    word[y]
                } else if more {
                    h.words[i + 1][y - WORD_BYTES]
                } else {
                    0
                };
                row.lanes[x] = F::from_u8(b);
            }
            for q in 0..ROW_LANES {
                row.lane_on[q] = F::from_bool(ROW_LANES * i + q < lanes);
            }
        }
    }
    RowMajorMatrix::new(values, NUM_BYTES_COLS)
}
