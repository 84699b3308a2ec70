//! Sponge rows: the blocks of each hash in order, then zero rows.

use core::borrow::BorrowMut;
use core::ops::Range;

use p3_field::PrimeField32;
use p3_keccak::KeccakF;
use p3_matrix::dense::RowMajorMatrix;
use p3_symmetric::Permutation;

use super::columns::{DIGEST_BYTES, GasCols, NUM_SPONGE_COLS, RATE, RATE_LIMBS, SpongeCols};
use crate::chips::cpu::trace::{SubblockAnalysis, step_words};
use crate::chips::memory::columns::WORD_BYTES;
use crate::chips::memory::trace::{MemoryImage, be_bytes, small_offset, writes_by_step};
use crate::chips::range::trace::RangeCounts;
use crate::error::TraceError;
use crate::opcodes;
use slotproof_executor::trace::{STEP_OK, SubblockTrace};

/// Hashes take fewer bytes than this (what a successful KECCAK256 can pay for), so a block's
/// remaining length fits the 30-bit range check.
pub const MAX_HASH_LEN: usize = 1 << 29;

/// One hash: its consumer's context and timestamp, the offset the bytes come from, the bytes,
/// the context's memory size in words before the step, and the memory words its lanes are read
/// from (`crate::chips::keccak_bytes`: from the offset's word on).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hash {
    pub ctx: u32,
    pub ts: u32,
    pub offset: u32,
    pub data: Vec<u8>,
    pub mw: u32,
    pub words: Vec<[u8; WORD_BYTES]>,
}

/// Memory cost of `w` words: `3 w + floor(w^2 / 512)`.
fn memory_cost(w: u64) -> u64 {
    3 * w + w * w / 512
}

impl Hash {
    /// The hash of the `len` bytes at `offset` of a memory whose word `w` is `word(w)`.
    pub fn read(
        ctx: u32,
        ts: u32,
        offset: u32,
        len: usize,
        mw: u32,
        word: impl Fn(u32) -> [u8; WORD_BYTES],
    ) -> Hash {
        let base = offset / WORD_BYTES as u32;
        let n = crate::chips::keccak_bytes::trace::words_of(offset, len);
        let words: Vec<[u8; WORD_BYTES]> = (0..n as u32).map(|j| word(base + j)).collect();
        let k = offset as usize % WORD_BYTES;
        let data = (k..k + len)
            .map(|a| words[a / WORD_BYTES][a % WORD_BYTES])
            .collect();
        Hash {
            ctx,
            ts,
            offset,
            data,
            mw,
            words,
        }
    }

    /// Memory byte `offset + x` as the words hold it (0 past them): message bytes, and the
    /// bytes past the length that a lane holding the message's last bytes carries.
    pub fn byte_at(&self, x: usize) -> u8 {
        let a = self.offset as usize % WORD_BYTES + x;
        self.words
            .get(a / WORD_BYTES)
            .map_or(0, |w| w[a % WORD_BYTES])
    }

    /// The memory size in words after the step and the step's gas (KECCAK256: `30 + 6 words`
    /// plus the expansion to cover `[offset, offset + len)` where `len > 0`).
    pub fn gas(&self) -> (u32, u64) {
        let len = self.data.len() as u64;
        let end = u64::from(self.offset) + len;
        let mw_next = if len > 0 {
            u64::from(self.mw).max(end.div_ceil(32))
        } else {
            u64::from(self.mw)
        };
        let cost =
            30 + 6 * len.div_ceil(32) + memory_cost(mw_next) - memory_cost(u64::from(self.mw));
        (mw_next as u32, cost)
    }
}

/// The hashes of the successful KECCAK256 steps of `range`: each step's context, timestamp
/// (step + 1), offset (0 for a zero length), memory size before it, and the bytes its context's
/// memory holds at `[offset, offset + len)` (zero past what was written), replayed from the
/// memory at the range's start and the recorded writes. A digest other than the one the step
/// pushed, or an area at 2^29 bytes or beyond, is an error.
pub fn hashes_of(
    trace: &SubblockTrace,
    an: &SubblockAnalysis,
    range: &Range<usize>,
) -> Result<Vec<Hash>, TraceError> {
    let writes = writes_by_step(trace, range)?;
    let mut image: MemoryImage = an
        .memory_before
        .get(&range.start)
        .ok_or(TraceError::Inconsistent {
            step: range.start,
            what: "a shard starting where the subblock was not analysed",
        })?
        .clone();
    let mut out = Vec::new();
    for i in range.clone() {
        let s = &trace.steps[i];
        let ctx = an.aux[i].ctx;
        if s.opcode == opcodes::KECCAK256 && s.status == STEP_OK {
            let (inp, pushed) = step_words(trace, i);
            let too_large = || TraceError::MemoryTooLarge { step: i };
            let len = small_offset(&inp[1]).ok_or_else(too_large)?;
            let offset = if len == 0 {
                0
            } else {
                small_offset(&inp[0]).ok_or_else(too_large)?
            };
            if offset as usize + len as usize >= MAX_HASH_LEN {
                return Err(too_large());
            }
            let h = Hash::read(ctx, i as u32 + 1, offset, len as usize, an.aux[i].mw, |w| {
                image.get(&(ctx, w)).copied().unwrap_or([0; WORD_BYTES])
            });
            if revm::primitives::keccak256(&h.data).0 != be_bytes(&pushed) {
                return Err(TraceError::Inconsistent {
                    step: i,
                    what: "KECCAK256 digest differs from the hash of the replayed memory",
                });
            }
            out.push(h);
        }
        for &(o, bytes) in writes.get(&i).into_iter().flatten() {
            for (j, &b) in bytes.iter().enumerate() {
                let a = o as usize + j;
                let w = image
                    .entry((ctx, (a / WORD_BYTES) as u32))
                    .or_insert([0; WORD_BYTES]);
                w[a % WORD_BYTES] = b;
            }
        }
    }
    Ok(out)
}

/// Blocks (rows) a hash of `len` bytes absorbs.
pub fn blocks_of(len: usize) -> usize {
    len / RATE + 1
}

fn limbs_of(state: &[u64; 25]) -> [u16; 100] {
    core::array::from_fn(|i| (state[i / 4] >> (16 * (i % 4))) as u16)
}

fn bytes_of(state: &[u64; 25]) -> [u8; 200] {
    core::array::from_fn(|i| state[i / 8].to_le_bytes()[i % 8])
}

/// The padded bytes of block `b` of `data` (pad10*1 with Keccak's `0x01`).
pub fn padded_block(data: &[u8], b: usize) -> [u8; RATE] {
    let mut out = [0u8; RATE];
    let start = b * RATE;
    for (j, o) in out.iter_mut().enumerate() {
        if let Some(&x) = data.get(start + j) {
            *o = x;
        }
    }
    if b + 1 == blocks_of(data.len()) {
        out[data.len() - start] ^= 0x01;
        out[RATE - 1] ^= 0x80;
    }
    out
}

/// What the sponge rows need from the other tables: the permutation inputs (in row order) and
/// the lookups they make.
#[derive(Clone, Debug, Default)]
pub struct SpongeRows {
    pub rows: usize,
    pub perms: Vec<[u64; 25]>,
}

/// The sponge table of `hashes` padded with zero rows to `height` (a power of two holding one
/// row per block); counts its AND-table (`ands`, index `256 x + y`), u16 and byte-pair lookups and
/// returns the permutation inputs, one per row, for the permutation table. A hash of
/// [`MAX_HASH_LEN`] bytes or more is an error.
pub fn generate<F: PrimeField32>(
    hashes: &[Hash],
    height: usize,
    ands: &mut [u32],
    u16s: &mut RangeCounts,
) -> Result<(RowMajorMatrix<F>, SpongeRows), TraceError> {
    let too_far = |h: &&Hash| {
        h.data.len() >= MAX_HASH_LEN
            || (!h.data.is_empty() && h.offset as usize + h.data.len() >= MAX_HASH_LEN)
            || h.mw >= 1 << 20
            || h.gas().0 >= 1 << 20
    };
    if let Some(h) = hashes.iter().find(too_far) {
        return Err(TraceError::HashTooLong {
            ts: h.ts,
            len: h.data.len(),
        });
    }
    let rows: usize = hashes.iter().map(|h| blocks_of(h.data.len())).sum();
    debug_assert!(height.is_power_of_two() && height >= rows);
    let mut values = F::zero_vec(height * NUM_SPONGE_COLS);
    let mut out = SpongeRows {
        rows,
        perms: Vec::with_capacity(rows),
    };
    let mut r = 0;
    for h in hashes {
        let nb = blocks_of(h.data.len());
        let mut state = [0u64; 25];
        for b in 0..nb {
            let row: &mut SpongeCols<F> =
                values[r * NUM_SPONGE_COLS..(r + 1) * NUM_SPONGE_COLS].borrow_mut();
            r += 1;
            let last = b + 1 == nb;
            row.is_real = F::ONE;
            row.is_first = F::from_bool(b == 0);
            row.is_last = F::from_bool(last);
            row.ctx = F::from_u32(h.ctx);
            row.ts = F::from_u32(h.ts);
            row.offset = F::from_u32(h.offset);
            row.len = F::from_u32(h.data.len() as u32);
            row.block = F::from_u32(b as u32);
            let rem = h.data.len() - b * RATE;
            if last {
                row.pad_at[rem] = F::ONE;
            } else {
                let d = (rem - RATE) as u32;
                row.rem_lo = F::from_u32(d & 0xffff);
                row.rem_hi = F::from_u32(d >> 16);
                u16s.add(d & 0xffff);
                u16s.add((d >> 16) * 4);
            }
            let before = bytes_of(&state);
            let before_limbs = limbs_of(&state);
            let padded = padded_block(&h.data, b);
            for j in 0..RATE {
                row.state_bytes[j] = F::from_u8(before[j]);
                row.msg[j] = F::from_u8(h.byte_at(b * RATE + j));
                row.padded[j] = F::from_u8(padded[j]);
                row.and[j] = F::from_u8(before[j] & padded[j]);
                ands[(usize::from(before[j]) << 8) | usize::from(padded[j])] += 1;
            }
            for (k, c) in row.capacity.iter_mut().enumerate() {
                *c = F::from_u16(before_limbs[RATE_LIMBS + k]);
            }
            for (lane, chunk) in padded.chunks_exact(8).enumerate() {
                state[lane] ^= u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
            }
            out.perms.push(state);
            KeccakF.permute_mut(&mut state);
            for (o, x) in row.state_out.iter_mut().zip(limbs_of(&state)) {
                *o = F::from_u16(x);
            }
            if last {
                gas_row(&mut row.gas, h, u16s);
                let after = bytes_of(&state);
                for m in 0..DIGEST_BYTES / 2 {
                    row.digest[2 * m] = F::from_u8(after[2 * m]);
                    row.digest[2 * m + 1] = F::from_u8(after[2 * m + 1]);
                    u16s.add_byte_pair(after[2 * m + 1], after[2 * m]);
                }
            }
        }
    }
    Ok((RowMajorMatrix::new(values, NUM_SPONGE_COLS), out))
}

/// The gas columns of a hash's last block (bounds checked by [`generate`]).
fn gas_row<F: PrimeField32>(g: &mut GasCols<F>, h: &Hash, u16s: &mut RangeCounts) {
    let len = h.data.len() as u32;
    let (mw_next, cost) = h.gas();
    g.mw = F::from_u32(h.mw);
    g.mw_next = F::from_u32(mw_next);
    g.cost = F::from_u64(cost);
    let words = len.div_ceil(32);
    g.words = F::from_u32(words);
    g.word_pad = F::from_u32(32 * words - len);
    u16s.add((32 * words - len) * 2048);
    if len > 0 {
        g.has_len = F::ONE;
        g.len_inv = F::from_u32(len).inverse();
        let end = h.offset + len;
        let expand = mw_next > h.mw;
        g.expand = F::from_bool(expand);
        let gap = if expand {
            32 * mw_next - end
        } else {
            32 * h.mw - end
        };
        g.gap_lo = F::from_u32(gap & 0xffff);
        g.gap_hi = F::from_u32(gap >> 16);
        u16s.add((gap & 0xffff) * if expand { 2048 } else { 1 });
        u16s.add((gap >> 16) * 4);
        if expand {
            let grow = end - 32 * h.mw - 1;
            g.grow_lo = F::from_u32(grow & 0xffff);
            g.grow_hi = F::from_u32(grow >> 16);
            u16s.add(grow & 0xffff);
            u16s.add((grow >> 16) * 4);
        }
    }
    for (t, x) in [h.mw, mw_next].into_iter().enumerate() {
        let (lo, hi) = (x & 0x3ff, x >> 10);
        g.sq_lo[t] = F::from_u32(lo);
        g.sq_hi[t] = F::from_u32(hi);
        g.sq_s[t] = F::from_u32(lo * lo / 512);
        g.sq_r[t] = F::from_u32(lo * lo % 512);
        u16s.add(lo * 64);
        u16s.add(hi * 64);
        u16s.add(lo * lo % 512 * 128);
    }
}

/// The digest of `data` as an EVM word's 16-bit limbs (little-endian), as the sponge sends it.
pub fn digest_limbs(digest: &[u8; 32]) -> [u16; 16] {
    core::array::from_fn(|i| u16::from(digest[30 - 2 * i]) << 8 | u16::from(digest[31 - 2 * i]))
}
