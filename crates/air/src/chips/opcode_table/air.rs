use core::borrow::Borrow;

use p3_air::{BaseAir, WindowAccess};
use p3_field::PrimeCharacteristicRing;
use p3_lookup::InteractionBuilder;

use super::columns::{NUM_OPCODE_TABLE_COLS, NUM_PROPS, OpcodeProps, OpcodeTableCols, props_of};
use crate::word::LIMBS;
use crate::{block_context, buses};

// Positions of the fields the bytecode chip looks up (fields are `u8`s, so offsets are indices).
const PROP_OPCODE: usize = core::mem::offset_of!(OpcodeProps<u8>, opcode);
const PROP_IMM_SIZE: usize = core::mem::offset_of!(OpcodeProps<u8>, imm_size);
const PROP_IS_JUMPDEST: usize = core::mem::offset_of!(OpcodeProps<u8>, is_jumpdest);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpcodeTableAir;

impl<F> BaseAir<F> for OpcodeTableAir {
    fn width(&self) -> usize {
        NUM_OPCODE_TABLE_COLS
    }
    /// The shard binding (`crate::shard::SHARD_BINDING_LEN` values: block and subblock claims):
    /// not constrained by any row, but observed by the Fiat–Shamir transcript, so a shard proof
    /// verifies only with the public values it was made for.
    /// Then the block context (`crate::block_context`), which its block-context entries are
    /// made of.
    fn num_public_values(&self) -> usize {
        crate::shard::SHARD_BINDING_LEN + crate::block_context::BLOCK_CONTEXT_LEN
    }
    fn main_next_row_columns(&self) -> Vec<usize> {
        vec![]
    }
}

impl OpcodeTableAir {
    pub fn eval<AB: InteractionBuilder>(&self, builder: &mut AB) {
        let main = builder.main();
        let local: &OpcodeTableCols<AB::Var> = main.current_slice().borrow();

        let mut sum = AB::Expr::ZERO;
        for &s in &local.sel {
            builder.assert_bool(s);
            sum += s.into();
        }
        builder.assert_one(sum);

        // Every property is a constant linear combination of the selectors.
        let mut props: [AB::Expr; NUM_PROPS] = core::array::from_fn(|_| AB::Expr::ZERO);
        for (op, &s) in local.sel.iter().enumerate() {
            let p = props_of(op as u8).to_array();
            for (acc, &v) in props.iter_mut().zip(&p) {
                if v != 0 {
                    *acc += s.into() * AB::Expr::from_u32(v);
                }
            }
        }
        // The bytecode chip's key: (byte, immediate size, is JUMPDEST, is PUSH data). Row k
        // offers opcode k's entry, and the data entry (k, 0, 0, 1) of byte value k.
        let code_key = [
            props[PROP_OPCODE].clone(),
            props[PROP_IMM_SIZE].clone(),
            props[PROP_IS_JUMPDEST].clone(),
            AB::Expr::ZERO,
        ];
        let data_key = [
            props[PROP_OPCODE].clone(),
            AB::Expr::ZERO,
            AB::Expr::ZERO,
            AB::Expr::ONE,
        ];
        buses::OPCODE.table_entry(builder, props, local.mult_cpu);

        // Block-context entries: row k's (tag, argument, value) is sel[k] times constants and
        // public values, so a row holds exactly the value the public values give its opcode
        // (or slot). Rows without an entry provide (0, 0, 0), which no CPU lookup asks for
        // (the tag is a block-context opcode).
        let pv: Vec<AB::Expr> = builder.public_values()[crate::shard::SHARD_BINDING_LEN..]
            .iter()
            .map(|&v| v.into())
            .collect();
        let mut tag = AB::Expr::ZERO;
        let mut arg: [AB::Expr; LIMBS] = core::array::from_fn(|_| AB::Expr::ZERO);
        let mut value: [AB::Expr; LIMBS] = core::array::from_fn(|_| AB::Expr::ZERO);
        for (row, op, arg_off, value_off) in block_context::entries() {
            let s: AB::Expr = local.sel[row].into();
            tag += s.clone() * AB::Expr::from_u8(op);
            if let Some(a) = arg_off {
                for (j, acc) in arg.iter_mut().take(block_context::ARG_LIMBS).enumerate() {
                    *acc += s.clone() * pv[a + j].clone();
                }
            }
            for (j, acc) in value.iter_mut().enumerate() {
                *acc += s.clone() * pv[value_off + j].clone();
            }
        }
        let entry = [tag].into_iter().chain(arg).chain(value);
        buses::BLOCK_CONTEXT.table_entry::<AB, AB::Expr>(builder, entry, local.mult_ctx);
        buses::CODE_OPCODE.table_entry(builder, code_key, local.mult_code);
        buses::CODE_OPCODE.table_entry(builder, data_key, local.mult_data);
    }
}
