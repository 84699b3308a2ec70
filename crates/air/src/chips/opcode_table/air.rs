use core::borrow::Borrow;

use p3_air::{BaseAir, WindowAccess};
use p3_field::Field;
use p3_lookup::InteractionBuilder;
use p3_matrix::dense::RowMajorMatrix;

use super::columns::{NUM_OPCODE_TABLE_COLS, NUM_PROPS, OpcodeProps, OpcodeTableCols, props_of};
use crate::buses;

// Positions of the fields the bytecode chip looks up (fields are `u8`s, so offsets are indices).
const PROP_OPCODE: usize = core::mem::offset_of!(OpcodeProps<u8>, opcode);
const PROP_IMM_SIZE: usize = core::mem::offset_of!(OpcodeProps<u8>, imm_size);
const PROP_IS_JUMPDEST: usize = core::mem::offset_of!(OpcodeProps<u8>, is_jumpdest);

/// Rows of the opcode table: one per opcode byte.
pub const OPCODE_TABLE_ROWS: usize = 256;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpcodeTableAir;

impl OpcodeTableAir {
    /// The fixed columns: row `k` holds the properties of opcode `k` ([`props_of`]).
    pub fn properties<F: Field>() -> RowMajorMatrix<F> {
        let values = (0..OPCODE_TABLE_ROWS)
            .flat_map(|k| props_of(k as u8).to_array().map(F::from_u32))
            .collect();
        RowMajorMatrix::new(values, NUM_PROPS)
    }
}

impl<F: Field> BaseAir<F> for OpcodeTableAir {
    fn width(&self) -> usize {
        NUM_OPCODE_TABLE_COLS
    }
    /// The properties are preprocessed columns: committed once in the verifying key, so the
    /// prover cannot change any of them.
    fn preprocessed_trace(&self) -> Option<RowMajorMatrix<F>> {
        Some(Self::properties())
    }
    fn preprocessed_width(&self) -> usize {
        NUM_PROPS
    }
    fn preprocessed_next_row_columns(&self) -> Vec<usize> {
        vec![]
    }
    /// The shard binding (`crate::shard::SHARD_BINDING_LEN` values: block and subblock claims):
    /// not constrained by any row, but observed by the Fiat–Shamir transcript, so a shard proof
    /// verifies only with the public values it was made for.
    fn num_public_values(&self) -> usize {
        crate::shard::SHARD_BINDING_LEN
    }
    fn main_next_row_columns(&self) -> Vec<usize> {
        vec![]
    }
}

impl OpcodeTableAir {
    pub fn eval<AB: InteractionBuilder>(&self, builder: &mut AB) {
        let props: [AB::Var; NUM_PROPS] = builder.preprocessed().current_slice()[..NUM_PROPS]
            .try_into()
            .expect("the opcode table's preprocessed width");
        let main = builder.main();
        let local: &OpcodeTableCols<AB::Var> = main.current_slice().borrow();
        let code_key = [
            props[PROP_OPCODE],
            props[PROP_IMM_SIZE],
            props[PROP_IS_JUMPDEST],
        ];
        buses::OPCODE.table_entry(builder, props, local.mult_cpu);
        buses::CODE_OPCODE.table_entry(builder, code_key, local.mult_code);
    }
}
