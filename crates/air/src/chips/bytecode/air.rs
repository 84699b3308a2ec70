use core::borrow::Borrow;

use p3_air::{AirBuilder, BaseAir, WindowAccess};
use p3_field::PrimeCharacteristicRing;
use p3_lookup::{Count, InteractionBuilder};

use super::columns::{BytecodeCols, NUM_BYTECODE_COLS};
use crate::buses;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BytecodeAir;

impl<F> BaseAir<F> for BytecodeAir {
    fn width(&self) -> usize {
        NUM_BYTECODE_COLS
    }
}

impl BytecodeAir {
    pub fn eval<AB: InteractionBuilder>(&self, builder: &mut AB) {
        let main = builder.main();
        let local: &BytecodeCols<AB::Var> = main.current_slice().borrow();
        let next: &BytecodeCols<AB::Var> = main.next_slice().borrow();
        let one = AB::Expr::ONE;
        let is_op: AB::Expr = one.clone() - local.is_data.into();

        builder.assert_bool(local.is_first);
        builder.assert_bool(local.is_data);
        builder.when_first_row().assert_one(local.is_first);

        // A code starts at pc 0 with an opcode.
        builder.when(local.is_first).assert_zero(local.pc);
        builder.when(local.is_first).assert_zero(local.rem);

        // is_data <=> rem != 0.
        builder.assert_eq(local.rem.into() * local.rem_inv.into(), local.is_data);
        builder.assert_zero(local.rem.into() * is_op);

        // Data bytes have no opcode properties.
        builder.assert_zero(local.is_data.into() * local.imm_size.into());
        builder.assert_zero(local.is_data.into() * local.is_jumpdest.into());

        // Within a code: same id, pc + 1, and the PUSH-data counter runs down.
        let mut within = builder.when_transition();
        let not_first: AB::Expr = one.clone() - next.is_first.into();
        within.assert_zero(not_first.clone() * (next.code_id.into() - local.code_id.into()));
        within.assert_zero(not_first.clone() * (next.pc.into() - local.pc.into() - one.clone()));
        let next_rem =
            local.is_data.into() * (local.rem.into() - one.clone()) + local.imm_size.into();
        within.assert_zero(not_first * (next.rem.into() - next_rem));
        // A new code has a larger id.
        builder.when_transition().assert_zero(
            next.is_first.into()
                * (next.code_id.into() - local.code_id.into() - one.clone() - next.id_gap.into()),
        );
        buses::U16.lookup_key(
            builder,
            [local.id_gap],
            Count::bounded(local.is_first.into(), 1),
        );

        // Each byte is paired with the next byte of its code (the padding's last byte with 0,
        // being padding itself), so one read gives two bytes.
        builder.when_transition().assert_zero(
            (one.clone() - next.is_first.into()) * (local.next_byte.into() - next.byte.into()),
        );
        builder.assert_zero(local.is_last.into() * local.next_byte.into());

        // Only opcode bytes can be executed.
        builder.assert_zero(local.is_data.into() * local.mult_exec.into());

        // One opcode-table lookup per row: an opcode byte's properties, or (a data byte) the
        // data entry of its value, which range-checks it. One bus, so one LogUp column.
        buses::CODE_OPCODE.lookup_key(
            builder,
            [local.byte, local.imm_size, local.is_jumpdest, local.is_data],
            Count::bounded(one.clone(), 1),
        );
        buses::BYTECODE.table_entry(
            builder,
            [local.code_id, local.pc, local.byte],
            local.mult_exec,
        );
        // Any byte (opcode, data or padding) with the next one, for the push-immediate table.
        buses::CODE_BYTE.table_entry(
            builder,
            [local.code_id, local.pc, local.byte, local.next_byte],
            local.mult_read,
        );

        // Every byte's JUMPDEST flag (0 on PUSH data) and whether it ends its padded code, for
        // the CPU's bad-jump halts.
        builder
            .when_transition()
            .assert_eq(local.is_last, next.is_first);
        builder.when_last_row().assert_one(local.is_last);
        buses::JUMPDEST_FLAG.table_entry(
            builder,
            [local.code_id, local.pc, local.is_jumpdest, local.is_last],
            local.mult_dest,
        );
    }
}
