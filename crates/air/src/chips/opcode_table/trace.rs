use core::borrow::BorrowMut;

use p3_field::PrimeField32;
use p3_matrix::dense::RowMajorMatrix;

use super::columns::{NUM_OPCODE_TABLE_COLS, OpcodeTableCols};
use crate::chips::bytecode::trace::CodeOpcodeCounts;

/// The opcode table: row `k` selects opcode `k` and carries its lookup counts (the
/// block-context counts from `crate::block_context::counts`).
pub fn generate<F: PrimeField32>(
    cpu_counts: &[u32; 256],
    code_counts: &CodeOpcodeCounts,
    ctx_counts: &[u32; 256],
) -> RowMajorMatrix<F> {
    let mut values = F::zero_vec(256 * NUM_OPCODE_TABLE_COLS);
    for (k, row) in values.chunks_exact_mut(NUM_OPCODE_TABLE_COLS).enumerate() {
        let cols: &mut OpcodeTableCols<F> = row.borrow_mut();
        cols.sel[k] = F::ONE;
        cols.mult_cpu = F::from_u32(cpu_counts[k]);
        cols.mult_code = F::from_u32(code_counts.opcode[k]);
        cols.mult_data = F::from_u32(code_counts.data[k]);
        cols.mult_ctx = F::from_u32(ctx_counts[k]);
    }
    RowMajorMatrix::new(values, NUM_OPCODE_TABLE_COLS)
}
