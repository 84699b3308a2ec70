use core::borrow::BorrowMut;
use std::collections::BTreeMap;

use p3_field::PrimeField32;
use p3_matrix::dense::RowMajorMatrix;

use super::columns::{MAX_IMMEDIATE, NUM_PUSH_IMMEDIATE_COLS, PushImmediateCols};
use crate::chips::bytecode::trace::CodeUse;
use crate::opcodes::PUSH0;

/// The PUSH1..PUSH32 sites a shard executes: `(code id, pc)` -> (immediate size, PUSH steps
/// there), one table row each, in key order.
#[derive(Clone, Debug, Default)]
pub struct PushSites {
    sites: BTreeMap<(u32, u32), (u8, u32)>,
}

impl PushSites {
    /// Count one step executing `opcode` at `(code_id, pc)`; other opcodes than PUSH1..PUSH32
    /// are ignored (PUSH0 has no immediate).
    pub fn add(&mut self, code_id: u32, pc: u32, opcode: u8) {
        let n = opcode.wrapping_sub(PUSH0);
        if (1..=MAX_IMMEDIATE as u8).contains(&n) {
            self.sites.entry((code_id, pc)).or_insert((n, 0)).1 += 1;
        }
    }

    /// Rows of the table (distinct sites).
    pub fn rows(&self) -> usize {
        self.sites.len()
    }

    /// Each row's lookups into the bytecode table: its opcode byte (on the bytecode bus, with
    /// the CPU's executions) and its byte pairs (pc + n - 2j - 1 for 2j < n).
    pub fn add_lookups(&self, codes: &mut BTreeMap<u32, CodeUse<'_>>) {
        for (&(id, pc), &(n, _)) in &self.sites {
            let code = codes.get_mut(&id).expect("code of a step");
            let (pc, n) = (pc as usize, n as usize);
            code.exec[pc] += 1;
            for j in (0..n).step_by(2) {
                code.read[pc + n - j - 1] += 1;
            }
        }
    }
}

/// The table of `sites`, padded with zero rows to `height` (a power of two, at least
/// `sites.rows()`). `codes` holds every site's code.
pub fn generate<F: PrimeField32>(
    sites: &PushSites,
    codes: &BTreeMap<u32, CodeUse<'_>>,
    height: usize,
) -> RowMajorMatrix<F> {
    debug_assert!(height.is_power_of_two() && height >= sites.rows());
    let mut values = F::zero_vec(height * NUM_PUSH_IMMEDIATE_COLS);
    for (r, (&(id, pc), &(n, mult))) in sites.sites.iter().enumerate() {
        let code = &codes[&id];
        let row: &mut PushImmediateCols<F> =
            values[r * NUM_PUSH_IMMEDIATE_COLS..(r + 1) * NUM_PUSH_IMMEDIATE_COLS].borrow_mut();
        row.code_id = F::from_u32(id);
        row.pc = F::from_u32(pc);
        row.mult = F::from_u32(mult);
        let (pc, n) = (pc as usize, n as usize);
        for i in 0..n {
            row.mask[i] = F::ONE;
            // Past the code's end: its zero padding.
            row.bytes[i] = F::from_u8(code.byte(pc + n - i));
        }
    }
    RowMajorMatrix::new(values, NUM_PUSH_IMMEDIATE_COLS)
}
