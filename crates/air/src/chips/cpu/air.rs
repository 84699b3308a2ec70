use core::borrow::Borrow;

use p3_air::{AirBuilder, BaseAir, WindowAccess};
use p3_field::PrimeCharacteristicRing;
use p3_lookup::{Count, InteractionBuilder};

use super::columns::{CpuCols, MAX_POPS, NUM_CPU_COLS};
use crate::buses;
use crate::chips::bool1;
use crate::opcodes::JUMPDEST;
use crate::word::LIMBS;

/// Highest stack height the EVM allows.
pub const STACK_LIMIT: u32 = 1024;

/// The CPU chip's public values: where the shard starts and ends, for chaining shards.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct CpuPublic<T> {
    pub first_step: T,
    pub first_pc: T,
    pub first_gas: T,
    pub first_sp: T,
    pub first_ctx: T,
    pub first_code: T,
    pub first_nctx: T,
    /// 1 if the first row continues a context of the previous shard (neither fresh nor resumed).
    pub first_entry: T,
    pub first_opcode: T,
    /// The first row's context's call count and memory size in words (carried in where it
    /// continues a context of the previous shard).
    pub first_ncalls: T,
    pub first_mw: T,
    pub last_step: T,
    /// pc, gas, stack height, context and code the next step of the last step's context has.
    pub last_npc: T,
    pub last_gas_after: T,
    pub last_sp_next: T,
    pub last_ctx: T,
    pub last_code: T,
    /// `nctx` after the last row.
    pub last_nctx: T,
    /// The next step (in the next shard) continues the last step's context.
    pub last_cont: T,
    /// The last step jumps (the next shard must start on a JUMPDEST).
    pub last_jump: T,
    /// The last step is a call (its gas does not carry over to the next step).
    pub last_is_call: T,
    /// The call count and memory size in words the next step of the last step's context has.
    pub last_ncalls_next: T,
    pub last_mw_next: T,
}

pub const NUM_CPU_PUBLIC: usize = core::mem::size_of::<CpuPublic<u8>>();

impl<T: Copy> CpuPublic<T> {
    pub fn to_vec(&self) -> Vec<T> {
        // SAFETY: `#[repr(C)]` struct of `NUM_CPU_PUBLIC` `T`s.
        unsafe { core::slice::from_raw_parts(self as *const Self as *const T, NUM_CPU_PUBLIC) }
            .to_vec()
    }

    pub fn from_slice(v: &[T]) -> Self {
        assert_eq!(v.len(), NUM_CPU_PUBLIC);
        // SAFETY: as above.
        unsafe { *(v.as_ptr() as *const Self) }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CpuAir;

impl<F> BaseAir<F> for CpuAir {
    fn width(&self) -> usize {
        NUM_CPU_COLS
    }
    fn num_public_values(&self) -> usize {
        NUM_CPU_PUBLIC
    }
}

impl CpuAir {
    pub fn eval<AB: InteractionBuilder>(&self, builder: &mut AB) {
        let main = builder.main();
        let l: &CpuCols<AB::Var> = main.current_slice().borrow();
        let n: &CpuCols<AB::Var> = main.next_slice().borrow();
        let pv: Vec<AB::Expr> = builder.public_values().iter().map(|&v| v.into()).collect();
        let pv = CpuPublic::<AB::Expr>::from_slice_cloned(&pv);
        let one = AB::Expr::ONE;
        let c = |v: u32| AB::Expr::from_u32(v);
        let op = &l.op;

        // ---- Flags ----
        for f in [
            l.is_real, l.exc, l.cont, l.start, l.fresh, l.resume, l.suspend, l.jump, l.cond_nz,
        ] {
            builder.assert_bool(f);
        }
        let ok: AB::Expr = l.is_real.into() - l.exc.into();
        builder.assert_zero(l.exc.into() * (one.clone() - l.is_real.into()));
        builder.assert_zero(l.cont.into() * (one.clone() - l.is_real.into()));
        builder.assert_zero(l.cont.into() * l.exc.into());
        builder.assert_zero(l.cont.into() * op.is_term.into());
        // INVALID and bytes that are not opcodes only ever halt exceptionally.
        builder.assert_zero(op.is_invalid.into() * ok.clone());
        builder.when_first_row().assert_one(l.is_real);
        builder
            .when_transition()
            .assert_zero(n.is_real.into() * (one.clone() - l.is_real.into()));
        builder
            .when_transition()
            .assert_zero(n.is_real.into() * (n.step.into() - l.step.into() - one.clone()));

        // ---- Opcode and bytecode ----
        buses::OPCODE.lookup_key(builder, op.to_array(), bool1(l.is_real.into()));
        buses::BYTECODE.lookup_key(
            builder,
            [l.code_id, l.pc, op.opcode],
            bool1(l.is_real.into()),
        );

        // ---- Derived per-step values ----
        builder.assert_eq(l.sp_next, l.sp.into() - op.pops.into() + op.pushes.into());
        builder.assert_eq(
            l.jump,
            op.is_jump.into() + op.is_jumpi.into() * l.cond_nz.into(),
        );
        let target: AB::Expr = l.inp[0][0].into() + l.inp[0][1].into() * c(1 << 16);
        let h = &l.halt;
        let bad_jump: AB::Expr =
            h.dest_not_jumpdest.into() + h.dest_past_code.into() + h.dest_far.into();
        // A jump that continues has a 32-bit target (its high limbs are zero).
        for k in 2..LIMBS {
            builder.assert_zero((l.jump.into() - bad_jump.clone()) * l.inp[0][k].into());
        }
        let seq_pc: AB::Expr = l.pc.into() + one.clone() + op.imm_size.into();
        builder.assert_eq(
            l.npc,
            l.jump.into() * target + (one.clone() - l.jump.into()) * seq_pc,
        );
        let cond: AB::Expr = l.inp[1].iter().map(|&x| x.into()).sum();
        builder.assert_zero(
            op.is_jumpi.into() * (cond.clone() * l.cond_inv.into() - l.cond_nz.into()),
        );
        builder.assert_zero(op.is_jumpi.into() * cond * (one.clone() - l.cond_nz.into()));

        // ---- Gas ----
        builder.assert_eq(l.gas_after, l.ga_lo.into() + l.ga_hi.into() * c(1 << 16));
        buses::U16.lookup_key(builder, [l.ga_lo], bool1(l.is_real.into()));
        buses::U16.lookup_key(builder, [l.ga_hi.into() * c(4)], bool1(l.is_real.into()));
        builder.assert_zero(
            op.gas_static.into()
                * (one.clone() - l.exc.into())
                * (l.gas.into() - l.gas_after.into() - op.static_gas.into()),
        );
        // An exceptional halt consumes all the gas its context has left.
        builder.assert_zero(l.exc.into() * l.gas_after.into());

        // ---- Exceptional halts: exactly one kind, and its condition holds ----
        let kinds = [
            h.underflow,
            h.overflow,
            h.out_of_gas,
            h.other,
            h.dest_not_jumpdest,
            h.dest_past_code,
            h.dest_far,
        ];
        for f in kinds {
            builder.assert_bool(f);
        }
        builder.assert_eq(
            l.exc,
            kinds.iter().fold(AB::Expr::ZERO, |acc, &f| acc + f.into()),
        );
        // Underflow: sp < pops, i.e. pops - 1 - sp >= 0 (sp is at most 1024 on every row).
        buses::U16.lookup_key(
            builder,
            [op.pops.into() - one.clone() - l.sp.into()],
            bool1(h.underflow.into()),
        );
        // Overflow: sp - pops + pushes > 1024.
        buses::U16.lookup_key(
            builder,
            [l.sp_next.into() - c(STACK_LIMIT + 1)],
            bool1(h.overflow.into()),
        );
        // Out of gas (static-gas opcodes): gas and static - 1 - gas both in [0, 2^16), so
        // gas < static as integers.
        builder.assert_zero(h.out_of_gas.into() * (one.clone() - op.gas_static.into()));
        buses::U16.lookup_key(builder, [l.gas], bool1(h.out_of_gas.into()));
        buses::U16.lookup_key(
            builder,
            [op.static_gas.into() - one.clone() - l.gas.into()],
            bool1(h.out_of_gas.into()),
        );
        // A halt the chip does not derive only where the opcode can halt so.
        builder.assert_zero(h.other.into() * (one.clone() - op.may_halt_other.into()));
        // Bad jump: a taken JUMP/JUMPI (target and condition are consumed from the stack) ...
        builder.assert_zero(bad_jump.clone() * (one.clone() - l.jump.into()));
        // ... to a byte of the code that is not a JUMPDEST opcode, or at/past the padded
        // code's last byte (a zero byte; both below 2^16) ...
        let near: AB::Expr = h.dest_not_jumpdest.into() + h.dest_past_code.into();
        for k in 1..LIMBS {
            builder.assert_zero(near.clone() * l.inp[0][k].into());
        }
        buses::JUMPDEST_FLAG.lookup_key(
            builder,
            [
                l.code_id.into(),
                l.inp[0][0].into(),
                AB::Expr::ZERO,
                AB::Expr::ZERO,
            ],
            bool1(h.dest_not_jumpdest.into()),
        );
        buses::JUMPDEST_FLAG.lookup_key(
            builder,
            [
                l.code_id.into(),
                h.code_last.into(),
                AB::Expr::ZERO,
                AB::Expr::ONE,
            ],
            bool1(h.dest_past_code.into()),
        );
        buses::U16.lookup_key(
            builder,
            [l.inp[0][0].into() - h.code_last.into()],
            bool1(h.dest_past_code.into()),
        );
        // ... or at 2^16 or more (a limb above the lowest is non-zero; limbs are u16 values,
        // so their sum is zero only if all are).
        let high: AB::Expr = (1..LIMBS).map(|k| l.inp[0][k].into()).sum();
        builder.assert_zero(h.dest_far.into() * (high * h.dest_high_inv.into() - one.clone()));

        // ---- Stack height bounds (successful steps) ----
        buses::U16.lookup_key(builder, [l.sp.into() - op.pops.into()], bool1(ok.clone()));
        buses::U16.lookup_key(
            builder,
            [c(STACK_LIMIT) - l.sp_next.into()],
            bool1(ok.clone()),
        );

        // ---- Within a context: the next row is this context's next step ----
        {
            let mut t = builder.when_transition();
            // `cont` on the last step of a shard points into the next shard (public values).
            let linked: AB::Expr = l.cont.into() * n.is_real.into();
            t.assert_zero(linked.clone() * (n.ctx.into() - l.ctx.into()));
            t.assert_zero(linked.clone() * (n.code_id.into() - l.code_id.into()));
            t.assert_zero(linked.clone() * (n.pc.into() - l.npc.into()));
            t.assert_zero(linked.clone() * (n.sp.into() - l.sp_next.into()));
            t.assert_zero(linked.clone() * (n.ncalls.into() - l.ncalls.into() - op.is_call.into()));
            t.assert_zero(linked.clone() * (n.mw.into() - l.mw_next.into()));
            // A call's unused gas comes back from the callee: only other steps chain gas.
            t.assert_zero(
                linked.clone()
                    * (one.clone() - op.is_call.into())
                    * (n.gas.into() - l.gas_after.into()),
            );
            t.assert_zero(linked * l.jump.into() * (n.op.opcode.into() - c(JUMPDEST as u32)));
            // Leaving the context is only possible by a call, a halt or an exception.
            t.assert_zero(
                (one.clone() - l.cont.into())
                    * n.is_real.into()
                    * (one.clone() - op.is_call.into() - op.is_term.into())
                    * (one.clone() - l.exc.into()),
            );
            // Row starts: a fresh context or a resumption.
            t.assert_zero(n.is_real.into() * (n.start.into() - one.clone() + l.cont.into()));
            t.assert_eq(n.start, n.fresh.into() + n.resume.into());
            t.assert_zero(n.is_real.into() * (n.nctx.into() - l.nctx.into() - l.fresh.into()));
            t.assert_zero(n.is_real.into() * (n.prev_ctx.into() - l.ctx.into()));
            // A call that enters its callee is followed by the callee's first step.
            t.assert_zero(l.suspend.into() * n.is_real.into() * (one.clone() - n.fresh.into()));
            t.assert_zero(l.suspend.into() * n.is_real.into() * (n.ctx.into() - l.callee.into()));
            // A resumption follows its callee's last step (a halt: a step that leaves its
            // context other than by a call that suspends it, see above): the callee succeeded
            // unless that step reverted or halted exceptionally.
            t.assert_zero(
                n.resume.into()
                    * (n.resumed_ok.into()
                        - (one.clone() - l.exc.into()) * (one.clone() - op.is_revert.into())),
            );
        }
        builder.when_first_row().assert_one(l.start);
        builder.assert_zero(l.fresh.into() * l.resume.into());
        builder.assert_eq(
            l.suspend,
            op.is_call.into() * (one.clone() - l.cont.into()) * (one.clone() - l.exc.into()),
        );
        // A fresh context gets the next id and starts at pc 0 with an empty stack.
        builder.assert_zero(l.fresh.into() * (l.ctx.into() - l.nctx.into()));
        builder.assert_zero(l.fresh.into() * l.pc.into());
        builder.assert_zero(l.fresh.into() * l.sp.into());
        builder.assert_zero(l.fresh.into() * l.ncalls.into());
        builder.assert_zero(l.fresh.into() * l.mw.into());
        // Resume tokens carry the caller's pc, stack height and code, and whether the callee
        // succeeded.
        builder.assert_bool(l.callee_ok);
        builder.assert_bool(l.resumed_ok);
        // ... and the caller's call count after the call.
        let sent: [AB::Expr; 8] = [
            l.ctx.into(),
            l.callee.into(),
            l.npc.into(),
            l.sp_next.into(),
            l.code_id.into(),
            l.callee_ok.into(),
            l.ncalls.into() + one.clone(),
            l.mw_next.into(),
        ];
        // A context's end for the memory rows of its words: only on a real step that leaves its
        // context without suspending it (a halt), after which the context never runs again.
        builder.assert_zero(l.ended.into() * (one.clone() - l.is_real.into()));
        builder.assert_zero(l.ended.into() * l.cont.into());
        builder.assert_zero(l.ended.into() * l.suspend.into());
        buses::CONTEXT_END.table_entry(builder, [l.ctx], l.ended);
        buses::RESUME.send(builder, sent, bool1(l.suspend.into()));
        buses::RESUME.receive(
            builder,
            [
                l.ctx,
                l.prev_ctx,
                l.pc,
                l.sp,
                l.code_id,
                l.resumed_ok,
                l.ncalls,
                l.mw,
            ],
            bool1(l.resume.into()),
        );
        // The result a call pushes when its callee ran: the success flag (CALL, CALLCODE,
        // DELEGATECALL, STATICCALL); zero for a CREATE whose callee failed (a created address
        // is trusted, and so is a zero after the callee succeeded, as when the code deposit
        // fails).
        let not_create: AB::Expr = one.clone() - op.is_create.into();
        builder.assert_zero(
            l.suspend.into() * not_create.clone() * (l.out[0].into() - l.callee_ok.into()),
        );
        for k in 0..LIMBS {
            if k > 0 {
                builder.assert_zero(l.suspend.into() * not_create.clone() * l.out[k].into());
            }
            builder.assert_zero(
                l.suspend.into()
                    * op.is_create.into()
                    * (one.clone() - l.callee_ok.into())
                    * l.out[k].into(),
            );
        }

        // ---- Stack tokens ----
        for i in 0..MAX_POPS {
            builder.assert_bool(l.consume[i]);
            if i + 1 < MAX_POPS {
                builder.assert_zero(l.consume[i + 1].into() * (one.clone() - l.consume[i].into()));
            }
        }
        let consumed: AB::Expr = l.consume.iter().map(|&x| x.into()).sum();
        // A bad jump consumes its target and condition (the halt is checked on them).
        builder.assert_eq(
            consumed,
            (ok.clone() + bad_jump.clone()) * op.mem_pops.into(),
        );
        builder.assert_eq(l.w_out, ok.clone() * op.mem_push.into());
        builder.assert_eq(l.w_dup, ok.clone() * op.is_dup.into());
        builder.assert_eq(l.w_swap, ok.clone() * op.is_swap.into());
        builder.assert_eq(l.w_alu, ok.clone() * op.is_alu.into());

        let sp: AB::Expr = l.sp.into();
        let nm1: AB::Expr = op.n.into() - one.clone();
        let step: AB::Expr = l.step.into();
        for i in 0..MAX_POPS {
            let slot = match i {
                0 => sp.clone() - one.clone() - op.is_dup.into() * nm1.clone(),
                1 => sp.clone() - c(2) - op.is_swap.into() * nm1.clone(),
                _ => sp.clone() - c(i as u32 + 1),
            };
            let fields = [l.ctx.into(), slot]
                .into_iter()
                .chain(l.inp[i].iter().map(|&x| x.into()))
                .chain([l.ts_old[i].into()]);
            buses::STACK.receive(builder, fields, bool1(l.consume[i].into()));
            builder.assert_zero(
                l.consume[i].into()
                    * (step.clone()
                        - one.clone()
                        - l.ts_old[i].into()
                        - l.tsd_lo[i].into()
                        - l.tsd_hi[i].into() * c(1 << 16)),
            );
            buses::U16.lookup_key(builder, [l.tsd_lo[i]], bool1(l.consume[i].into()));
            buses::U16.lookup_key(
                builder,
                [l.tsd_hi[i].into() * c(4)],
                bool1(l.consume[i].into()),
            );
        }
        let token = |slot: AB::Expr, limbs: &[AB::Var; LIMBS]| {
            [l.ctx.into(), slot]
                .into_iter()
                .chain(limbs.iter().map(|&x| x.into()))
                .chain([step.clone()])
                .collect::<Vec<AB::Expr>>()
        };
        // The pushed item (DUP: the copy on top).
        buses::STACK.send(
            builder,
            token(sp.clone() - op.out_off.into(), &l.out),
            bool1(l.w_out.into()),
        );
        // DUPn puts the n-th item back; SWAPn puts the old top at depth n+1 ...
        buses::STACK.send(
            builder,
            token(sp.clone() - op.n.into() - op.is_swap.into(), &l.inp[0]),
            Count::bounded(l.w_dup.into() + l.w_swap.into(), 1),
        );
        // ... and the old (n+1)-th item on top.
        buses::STACK.send(
            builder,
            token(sp.clone() - one.clone(), &l.inp[1]),
            bool1(l.w_swap.into()),
        );
        for k in 0..LIMBS {
            buses::U16.lookup_key(builder, [l.out[k]], bool1(l.w_out.into()));
            builder.assert_zero(op.is_dup.into() * (l.out[k].into() - l.inp[0][k].into()));
        }

        // ---- Values of the opcodes proven here ----
        let imm_key = [l.code_id.into(), l.pc.into()]
            .into_iter()
            .chain(l.out.iter().map(|&x| x.into()));
        buses::PUSH_IMMEDIATE.lookup_key(builder, imm_key, bool1(op.is_pushn.into()));
        for k in 0..LIMBS {
            builder.assert_zero(op.is_push0.into() * l.out[k].into());
            if k >= 2 {
                builder.assert_zero(op.is_pc.into() * l.out[k].into());
                builder.assert_zero(op.is_gas.into() * l.out[k].into());
            }
        }
        builder.assert_zero(
            op.is_pc.into() * (l.out[0].into() + l.out[1].into() * c(1 << 16) - l.pc.into()),
        );
        builder.assert_zero(op.is_gas.into() * (l.out[0].into() - l.ga_lo.into()));
        builder.assert_zero(op.is_gas.into() * (l.out[1].into() - l.ga_hi.into()));

        // ---- ALU operations ----
        // An ALU opcode with dynamic gas (EXP, the only one) sends its gas as the third operand
        // (not a stack item); the chip checks it against the operands.
        builder.assert_zero(
            l.w_alu.into()
                * (one.clone() - op.gas_static.into())
                * (l.inp[2][0].into() - l.gas.into() + l.gas_after.into()),
        );
        let alu = [op.opcode.into()]
            .into_iter()
            .chain(l.inp[0].iter().map(|&x| x.into()))
            .chain(l.inp[1].iter().map(|&x| x.into()))
            .chain(l.inp[2].iter().map(|&x| x.into()))
            .chain(l.out.iter().map(|&x| x.into()));
        buses::ALU.send(builder, alu, bool1(l.w_alu.into()));

        // ---- Memory: MLOAD/MSTORE/MSTORE8 go to the memory chip with their offset (below 2^32
        // here, below 2^29 there) and value (MLOAD: the pushed item; stores: the second item)
        // at timestamp step + 1 ----
        let mem_op: AB::Expr = op.is_mload.into() + op.is_mstore.into() + op.is_mstore8.into();
        for k in 2..LIMBS {
            builder.assert_zero(ok.clone() * mem_op.clone() * l.inp[0][k].into());
        }
        let ts_mem: AB::Expr = step.clone() + one.clone();
        let mem_fields = [
            l.ctx.into(),
            ts_mem.clone(),
            op.opcode.into(),
            l.inp[0][0].into(),
            l.inp[0][1].into(),
        ]
        .into_iter()
        .chain((0..LIMBS).map(|k| {
            op.is_mload.into() * l.out[k].into()
                + (op.is_mstore.into() + op.is_mstore8.into()) * l.inp[1][k].into()
        }))
        .chain([
            l.mw.into(),
            l.mw_next.into(),
            l.gas.into() - l.gas_after.into(),
        ]);
        buses::MEMORY_OP.send(builder, mem_fields, bool1(ok.clone() * mem_op.clone()));
        // Memory size: unchanged, derived by the memory chip (MLOAD/MSTORE/MSTORE8), or grown
        // by a trusted amount; MSIZE pushes it in bytes.
        builder.assert_zero(
            ok.clone()
                * (one.clone() - mem_op - op.mem_grow.into())
                * (l.mw_next.into() - l.mw.into()),
        );
        let grows: AB::Expr = ok.clone() * op.mem_grow.into();
        builder.assert_zero(
            grows.clone()
                * (l.mw_next.into() - l.mw.into() - l.mwg_lo.into() - l.mwg_hi.into() * c(1 << 16)),
        );
        buses::U16.lookup_key(builder, [l.mwg_lo], bool1(grows.clone()));
        buses::U16.lookup_key(builder, [l.mwg_hi.into() * c(4)], bool1(grows));
        let msize: AB::Expr = ok.clone() * op.is_msize.into();
        builder.assert_zero(
            msize.clone() * (l.out[0].into() + l.out[1].into() * c(1 << 16) - l.mw.into() * c(32)),
        );
        for k in 2..LIMBS {
            builder.assert_zero(msize.clone() * l.out[k].into());
        }
        // Trusted writes: the area [dst, dst + len) of the step's destination and length items.
        let classes: [(AB::Var, usize, usize); 4] = [
            (op.wr_02, 0, 2),
            (op.wr_13, 1, 3),
            (op.wr_56, 5, 6),
            (op.wr_45, 4, 5),
        ];
        let pick = |item: fn(&(AB::Var, usize, usize)) -> usize, k: usize| -> AB::Expr {
            classes
                .iter()
                .map(|cl| cl.0.into() * l.inp[item(cl)][k].into())
                .sum()
        };
        let wr_class: AB::Expr = classes.iter().map(|cl| cl.0.into()).sum();
        builder.assert_eq(l.wr, ok.clone() * wr_class);
        builder.assert_bool(l.wr_nz);
        let len_sum: AB::Expr = (0..LIMBS).map(|k| pick(|cl| cl.2, k)).sum();
        builder.assert_zero(l.wr.into() * (len_sum.clone() * l.wr_inv.into() - l.wr_nz.into()));
        builder.assert_zero(l.wr.into() * len_sum * (one.clone() - l.wr_nz.into()));
        builder.assert_zero(l.wr_nz.into() * (one.clone() - l.wr.into()));
        for k in 2..LIMBS {
            builder.assert_zero(l.wr_nz.into() * pick(|cl| cl.1, k));
            builder.assert_zero(l.wr_nz.into() * pick(|cl| cl.2, k));
        }
        builder.assert_zero(
            l.wr_nz.into()
                * (l.wr_start.into() - pick(|cl| cl.1, 0) - pick(|cl| cl.1, 1) * c(1 << 16)),
        );
        builder.assert_zero(
            l.wr_nz.into()
                * (l.wr_end.into()
                    - l.wr_start.into()
                    - pick(|cl| cl.2, 0)
                    - pick(|cl| cl.2, 1) * c(1 << 16)),
        );
        // Start and length below 2^29, so the end does not wrap.
        buses::U16.lookup_key(builder, [pick(|cl| cl.1, 1) * c(8)], bool1(l.wr_nz.into()));
        buses::U16.lookup_key(builder, [pick(|cl| cl.2, 1) * c(8)], bool1(l.wr_nz.into()));
        builder.assert_zero(l.wr_mult.into() * (one.clone() - l.wr_nz.into()));
        buses::MEMORY_AREA.table_entry(
            builder,
            [l.ctx.into(), ts_mem, l.wr_start.into(), l.wr_end.into()],
            l.wr_mult,
        );

        // ---- Call context: one value per context and opcode in the shard (RETURNDATASIZE: per
        // context and call count; BLOBHASH: per context and index below 2^16) ----
        // BLOBHASH is the one call-context read that consumes an item (`opcodes::
        // CONTEXT_READ_OPCODES`), so no column of its own is needed.
        let blobhash: AB::Expr = op.is_ctx_read.into() * op.pops.into();
        // Its index is at or above 2^16 iff a limb above the lowest is non-zero (u16 limbs: their
        // sum is zero only if all are): `cond_nz` and `cond_inv`, JUMPI's otherwise, hold the
        // flag and the inverse of that sum. Such an index is past the transaction's blobs:
        // the step pushes zero (its limbs are range-checked, so a zero sum is a zero word) and
        // reads no row, so no index aliases a smaller one by its low limb.
        let index_high: AB::Expr = (1..LIMBS).map(|k| l.inp[0][k].into()).sum();
        builder.assert_zero(
            blobhash.clone() * (index_high.clone() * l.cond_inv.into() - l.cond_nz.into()),
        );
        builder.assert_zero(blobhash.clone() * index_high * (one.clone() - l.cond_nz.into()));
        let out_sum: AB::Expr = l.out.iter().map(|&x| x.into()).sum();
        builder.assert_zero(blobhash.clone() * l.cond_nz.into() * out_sum);
        builder.assert_eq(
            l.ctx_seq,
            l.ncalls.into() * op.is_returndatasize.into() + blobhash.clone() * l.inp[0][0].into(),
        );
        let ctx_key = [l.ctx.into(), op.opcode.into(), l.ctx_seq.into()]
            .into_iter()
            .chain(l.out.iter().map(|&x| x.into()));
        let ctx_read: AB::Expr = ok.clone() * (op.is_ctx_read.into() - blobhash * l.cond_nz.into());
        buses::CALL_CONTEXT.lookup_key(builder, ctx_key, bool1(ctx_read));

        // ---- CALLDATALOAD: answered by the calldata chip from its context's words ----
        let cd_fields = [l.ctx.into()]
            .into_iter()
            .chain(l.inp[0].iter().map(|&x| x.into()))
            .chain(l.out.iter().map(|&x| x.into()));
        buses::CALLDATA_LOAD.send(builder, cd_fields, bool1(ok.clone() * op.is_cdload.into()));

        // ---- Block context: the value the shard's public values give the opcode (BLOCKHASH:
        // and the argument it consumed), `crate::block_context` ----
        let block_key = [op.opcode.into()]
            .into_iter()
            .chain(l.inp[0].iter().map(|&x| x.into()))
            .chain(l.out.iter().map(|&x| x.into()));
        buses::BLOCK_CONTEXT.lookup_key(
            builder,
            block_key,
            bool1(ok.clone() * op.is_block_ctx.into()),
        );

        // ---- Public values: the shard's first and last step ----
        {
            let mut f = builder.when_first_row();
            f.assert_eq(l.step, pv.first_step.clone());
            f.assert_eq(l.pc, pv.first_pc.clone());
            f.assert_eq(l.gas, pv.first_gas.clone());
            f.assert_eq(l.sp, pv.first_sp.clone());
            f.assert_eq(l.ctx, pv.first_ctx.clone());
            f.assert_eq(l.code_id, pv.first_code.clone());
            f.assert_eq(l.nctx, pv.first_nctx.clone());
            f.assert_eq(
                one.clone() - l.fresh.into() - l.resume.into(),
                pv.first_entry.clone(),
            );
            f.assert_eq(op.opcode, pv.first_opcode.clone());
            f.assert_eq(l.ncalls, pv.first_ncalls.clone());
            f.assert_eq(l.mw, pv.first_mw.clone());
        }
        let last: [(AB::Expr, AB::Expr); 12] = [
            (l.step.into(), pv.last_step.clone()),
            (l.npc.into(), pv.last_npc.clone()),
            (l.gas_after.into(), pv.last_gas_after.clone()),
            (l.sp_next.into(), pv.last_sp_next.clone()),
            (l.ctx.into(), pv.last_ctx.clone()),
            (l.code_id.into(), pv.last_code.clone()),
            (l.nctx.into() + l.fresh.into(), pv.last_nctx.clone()),
            (l.cont.into(), pv.last_cont.clone()),
            (l.jump.into(), pv.last_jump.clone()),
            (op.is_call.into(), pv.last_is_call.clone()),
            // As the next row of the context would take them (the transition above).
            (
                l.ncalls.into() + op.is_call.into(),
                pv.last_ncalls_next.clone(),
            ),
            (l.mw_next.into(), pv.last_mw_next.clone()),
        ];
        let is_last_real: AB::Expr = l.is_real.into() - n.is_real.into();
        for (col, p) in last {
            builder
                .when_transition()
                .assert_zero(is_last_real.clone() * (col.clone() - p.clone()));
            builder
                .when_last_row()
                .assert_zero(l.is_real.into() * (col - p));
        }
    }
}

impl<T: Clone> CpuPublic<T> {
    fn from_slice_cloned(v: &[T]) -> Self {
        assert_eq!(v.len(), NUM_CPU_PUBLIC);
        let mut it = v.iter().cloned();
        let mut next = || it.next().unwrap();
        CpuPublic {
            first_step: next(),
            first_pc: next(),
            first_gas: next(),
            first_sp: next(),
            first_ctx: next(),
            first_code: next(),
            first_nctx: next(),
            first_entry: next(),
            first_opcode: next(),
            first_ncalls: next(),
            first_mw: next(),
            last_step: next(),
            last_npc: next(),
            last_gas_after: next(),
            last_sp_next: next(),
            last_ctx: next(),
            last_code: next(),
            last_nctx: next(),
            last_cont: next(),
            last_jump: next(),
            last_is_call: next(),
            last_ncalls_next: next(),
            last_mw_next: next(),
        }
    }
}
