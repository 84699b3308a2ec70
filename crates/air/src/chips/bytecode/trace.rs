use core::borrow::BorrowMut;

use p3_field::PrimeField32;
use p3_matrix::dense::RowMajorMatrix;

use super::columns::{BytecodeCols, NUM_BYTECODE_COLS};
use crate::chips::range::trace::RangeCounts;
use crate::opcodes::info;

/// Zero bytes appended to every code: the implicit STOP at the end, and room for a PUSH32 that
/// starts on the last byte.
pub const CODE_PADDING: usize = 33;

/// One code of the shard and the lookups the CPU makes into it.
#[derive(Clone, Debug)]
pub struct CodeUse<'a> {
    pub id: u32,
    pub bytes: &'a [u8],
    /// Per padded pc: steps executing the opcode there.
    pub exec: Vec<u32>,
    /// Per padded pc: push-immediate reads of the byte there and the next one.
    pub read: Vec<u32>,
    /// Per padded pc: bad-jump halts to that byte (the last byte: also those past it).
    pub dest: Vec<u32>,
}

impl<'a> CodeUse<'a> {
    pub fn new(id: u32, bytes: &'a [u8]) -> Self {
        let n = bytes.len() + CODE_PADDING;
        Self {
            id,
            bytes,
            exec: vec![0; n],
            read: vec![0; n],
            dest: vec![0; n],
        }
    }

    pub fn padded_len(&self) -> usize {
        self.bytes.len() + CODE_PADDING
    }

    pub fn byte(&self, pc: usize) -> u8 {
        self.bytes.get(pc).copied().unwrap_or(0)
    }
}

/// Fill one code's rows; returns the row after the last.
// The code, its CPU lookups and the two counters it feeds are separate borrows of the caller's
// state; bundling them into a struct for this one private call would only rename them.
#[allow(clippy::too_many_arguments)]
fn fill_code<F: PrimeField32>(
    rows: &mut [F],
    start: usize,
    id: u32,
    prev_id: Option<u32>,
    len: usize,
    byte_at: impl Fn(usize) -> u8,
    uses: Option<&CodeUse<'_>>,
    u16_rc: &mut RangeCounts,
    counts: &mut CodeOpcodeCounts,
) -> usize {
    let mut rem = 0u32;
    for pc in 0..len {
        let r = start + pc;
        let row: &mut BytecodeCols<F> =
            rows[r * NUM_BYTECODE_COLS..(r + 1) * NUM_BYTECODE_COLS].borrow_mut();
        let b = byte_at(pc);
        row.code_id = F::from_u32(id);
        row.pc = F::from_u32(pc as u32);
        row.byte = F::from_u8(b);
        if pc + 1 < len {
            row.next_byte = F::from_u8(byte_at(pc + 1));
        }
        if pc == 0 {
            row.is_first = F::ONE;
            let gap = prev_id.map(|p| id - p - 1).unwrap_or(0);
            row.id_gap = F::from_u32(gap);
            u16_rc.add(gap);
        }
        row.rem = F::from_u32(rem);
        if rem > 0 {
            row.rem_inv = F::from_u32(rem).inverse();
            row.is_data = F::ONE;
            counts.data[b as usize] += 1;
            rem -= 1;
        } else {
            let imm = info(b).immediate as u32;
            row.imm_size = F::from_u32(imm);
            row.is_jumpdest = F::from_bool(b == crate::opcodes::JUMPDEST);
            counts.opcode[b as usize] += 1;
            rem = imm;
        }
        if let Some(u) = uses {
            row.mult_exec = F::from_u32(u.exec[pc]);
            row.mult_read = F::from_u32(u.read[pc]);
            row.mult_dest = F::from_u32(u.dest[pc]);
        }
        row.is_last = F::from_bool(pc + 1 == len);
    }
    start + len
}

/// Rows the bytecode trace of `codes` needs: every code's padded bytes and at least one row of
/// the zero code that pads it.
pub fn rows<'c, 'a: 'c>(codes: impl IntoIterator<Item = &'c CodeUse<'a>>) -> usize {
    codes.into_iter().map(|c| c.padded_len()).sum::<usize>() + 1
}

/// The bytecode chip's lookups into the opcode table ([`crate::buses::CODE_OPCODE`]), by byte
/// value: one per row, an opcode byte's into its opcode entry, a PUSH data byte's into the
/// data entry of its value (which range-checks it).
#[derive(Clone, Debug)]
pub struct CodeOpcodeCounts {
    pub opcode: [u32; 256],
    pub data: [u32; 256],
}

/// The bytecode trace (codes in increasing id order), padded with a zero code to `height` rows
/// (a power of two, at least [`rows`]). Returns the trace and its rows' opcode-table lookup
/// counts (the zero code's included: its rows are checked like any code's).
pub fn generate<F: PrimeField32>(
    codes: &[CodeUse<'_>],
    height: usize,
    u16_rc: &mut RangeCounts,
) -> (RowMajorMatrix<F>, CodeOpcodeCounts) {
    debug_assert!(height.is_power_of_two() && height >= rows(codes.iter()));
    let mut values = F::zero_vec(height * NUM_BYTECODE_COLS);
    let mut counts = CodeOpcodeCounts {
        opcode: [0; 256],
        data: [0; 256],
    };
    let mut r = 0;
    let mut prev = None;
    for c in codes {
        r = fill_code(
            &mut values,
            r,
            c.id,
            prev,
            c.padded_len(),
            |pc| c.byte(pc),
            Some(c),
            u16_rc,
            &mut counts,
        );
        prev = Some(c.id);
    }
    // Padding: one more code of zero bytes, never executed.
    let pad_id = prev.map(|p| p + 1).unwrap_or(0);
    fill_code(
        &mut values,
        r,
        pad_id,
        prev,
        height - r,
        |_| 0,
        None,
        u16_rc,
        &mut counts,
    );
    (RowMajorMatrix::new(values, NUM_BYTECODE_COLS), counts)
}
