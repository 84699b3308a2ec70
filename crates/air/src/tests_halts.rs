//! STOP, INVALID and the exceptional halts on a block revm executes: a driver contract calls one
//! contract per halt kind (and one that RETURNs data, one that STOPs), reading RETURNDATASIZE
//! after each call, and a second transaction halts at the top level. The honest trace proves and
//! verifies; a step that claims a halt whose condition does not hold, a caller that resumes with
//! the wrong call result, gas left after a halt, two RETURNDATASIZE reads between the same calls
//! that disagree, and the other lies below are rejected.

use std::sync::OnceLock;

use core::borrow::{Borrow, BorrowMut};

use p3_field::{PrimeCharacteristicRing, PrimeField32};
use revm::primitives::{Address, Bytes, U256, address};
use slotproof_executor::generate::asm::Asm;
use slotproof_executor::generate::{BlockPlan, TxSpec};
use slotproof_executor::trace::{STEP_OK, SubblockTrace};

use crate::chips::bytecode::columns::{BytecodeCols, NUM_BYTECODE_COLS};
use crate::chips::cpu::columns::{CpuCols, NUM_CPU_COLS};
use crate::halts::{BadJumpDest, HaltKind, classify};
use crate::opcodes;
use crate::shard::{self, Shard, generate_shards};
use crate::tests::{F, check, prove_verify};
use slotproof_prover::ProveError;

/// The contracts the driver calls, in call order, with the gas it gives each.
const UNDERFLOW: Address = address!("0x4a17000000000000000000000000000000000001");
const OVERFLOW: Address = address!("0x4a17000000000000000000000000000000000002");
const INTO_PUSH_DATA: Address = address!("0x4a17000000000000000000000000000000000003");
const PAST_CODE: Address = address!("0x4a17000000000000000000000000000000000004");
const FAR_JUMPI: Address = address!("0x4a17000000000000000000000000000000000005");
const OUT_OF_GAS: Address = address!("0x4a17000000000000000000000000000000000006");
const INVALID: Address = address!("0x4a17000000000000000000000000000000000007");
const UNDEFINED: Address = address!("0x4a17000000000000000000000000000000000008");
const STOPS: Address = address!("0x4a17000000000000000000000000000000000009");
const RETURNS: Address = address!("0x4a1700000000000000000000000000000000000a");
const DRIVER: Address = address!("0x4a170000000000000000000000000000000000d0");

fn code(build: impl FnOnce(&mut Asm)) -> Bytes {
    let mut a = Asm::new();
    build(&mut a);
    a.assemble("halt test").expect("assembles")
}

/// (address, code, gas the driver gives it)
fn callees() -> Vec<(Address, Bytes, u64)> {
    vec![
        // ADD on a one-item stack.
        (
            UNDERFLOW,
            code(|a| {
                a.push(1).op(opcodes::ADD);
            }),
            100_000,
        ),
        // 1025 pushes.
        (
            OVERFLOW,
            code(|a| {
                for _ in 0..=crate::chips::cpu::air::STACK_LIMIT {
                    a.push0();
                }
            }),
            100_000,
        ),
        // JUMP to pc 1, a 0x5b byte of PUSH1 data.
        (
            INTO_PUSH_DATA,
            code(|a| {
                a.push(opcodes::JUMPDEST as u64).push(1).op(opcodes::JUMP);
            }),
            100_000,
        ),
        // JUMP past the end of the code.
        (
            PAST_CODE,
            code(|a| {
                a.push(300).op(opcodes::JUMP);
            }),
            100_000,
        ),
        // Taken JUMPI to 2^40 + 2.
        (
            FAR_JUMPI,
            code(|a| {
                a.push(1).push((1 << 40) + 2).op(opcodes::JUMPI);
            }),
            100_000,
        ),
        // PUSH1 (3 gas) with 2 gas left.
        (
            OUT_OF_GAS,
            code(|a| {
                a.push(1);
            }),
            2,
        ),
        (
            INVALID,
            code(|a| {
                a.push(1).op(opcodes::INVALID);
            }),
            100_000,
        ),
        // 0x0c is not an opcode.
        (
            UNDEFINED,
            code(|a| {
                a.op(0x0c);
            }),
            100_000,
        ),
        // Returns 32 bytes.
        (
            RETURNS,
            code(|a| {
                a.push(32).push0().op(opcodes::RETURN);
            }),
            100_000,
        ),
        (
            STOPS,
            code(|a| {
                a.push(1).op(opcodes::POP).op(opcodes::STOP);
            }),
            100_000,
        ),
    ]
}

/// Reads RETURNDATASIZE, calls every callee with no value and no data, pops each result and
/// reads RETURNDATASIZE (twice after RETURNS), then STOPs.
fn driver() -> Bytes {
    code(|a| {
        a.op(opcodes::RETURNDATASIZE).op(opcodes::POP);
        for (to, _, gas) in callees() {
            a.push0().push0().push0().push0().push0();
            a.push_addr(to).push(gas).op(opcodes::CALL).op(opcodes::POP);
            a.op(opcodes::RETURNDATASIZE).op(opcodes::POP);
            if to == RETURNS {
                a.op(opcodes::RETURNDATASIZE).op(opcodes::POP);
            }
        }
        a.op(opcodes::STOP);
    })
}

/// The block's one subblock: the driver's transaction, then a transaction straight to INVALID.
fn trace() -> &'static SubblockTrace {
    static T: OnceLock<SubblockTrace> = OnceLock::new();
    T.get_or_init(|| {
        let mut contracts: Vec<_> = callees()
            .into_iter()
            .map(|(to, code, _)| (to, code))
            .collect();
        contracts.push((DRIVER, driver()));
        let plan = BlockPlan {
            txs: vec![
                TxSpec::call(0, DRIVER, U256::ZERO, Bytes::new(), 2_000_000),
                TxSpec::call(1, INVALID, U256::ZERO, Bytes::new(), 100_000),
            ],
            withdrawals: vec![],
            expected_failures: vec![1],
        };
        crate::tests::one_subblock_trace(&contracts, plan)
    })
}

fn shard_of_all() -> Shard<F> {
    static S: OnceLock<Shard<F>> = OnceLock::new();
    S.get_or_init(|| {
        let t = trace();
        generate_shards::<F>(t, t.steps.len()).unwrap().remove(0)
    })
    .clone()
}

fn code_of(t: &SubblockTrace, i: usize) -> &[u8] {
    &t.codes[t.context_code[t.steps[i].context as usize] as usize].1
}

/// Steps that halt exceptionally, with their kinds.
fn halts(t: &SubblockTrace) -> Vec<(usize, HaltKind)> {
    (0..t.steps.len())
        .filter_map(|i| {
            classify(t, i, code_of(t, i))
                .expect("every halt is explained")
                .map(|k| (i, k))
        })
        .collect()
}

fn row(s: &Shard<F>, i: usize) -> &CpuCols<F> {
    let r = i - s.steps.start;
    s.traces[shard::CPU].values[r * NUM_CPU_COLS..(r + 1) * NUM_CPU_COLS].borrow()
}

fn row_mut(s: &mut Shard<F>, i: usize) -> &mut CpuCols<F> {
    let r = i - s.steps.start;
    s.traces[shard::CPU].values[r * NUM_CPU_COLS..(r + 1) * NUM_CPU_COLS].borrow_mut()
}

/// Moves `delta` lookups of `v` in the u16 range table (to keep a lie's range checks balanced, so
/// that only the constraint under test can reject it).
fn u16_lookups(s: &mut Shard<F>, v: u32, delta: i32) {
    let t = &mut s.traces[shard::RANGE_U16];
    let m = &mut t.values[v as usize * t.width + 1];
    *m += F::from_i32(delta);
}

/// Why a lie must be rejected: a CPU constraint on the lying step's row, or a lookup (a range
/// check or a table entry that does not exist). Constraints are checked before lookups, so a
/// lookup rejection also shows that the lie satisfies every constraint.
#[derive(Clone, Copy, Debug)]
enum Why {
    CpuRow(usize),
    /// A constraint of this table instance (any row).
    Table(usize),
    Lookup,
}

fn rejected(s: &Shard<F>, what: &str, why: Why) {
    let e = check(s);
    let ok = match (why, &e) {
        (Why::CpuRow(r), Err(ProveError::ConstraintViolation { instance, row, .. })) => {
            *instance == shard::CPU && *row == r - s.steps.start
        }
        (Why::Table(t), Err(ProveError::ConstraintViolation { instance, .. })) => *instance == t,
        (Why::Lookup, Err(ProveError::LookupImbalance(_))) => true,
        _ => false,
    };
    assert!(ok, "{what}: expected {why:?}, got {e:?}");
}

/// The step of the first halt of `kind`.
fn halt_step(kind: HaltKind) -> usize {
    halts(trace())
        .into_iter()
        .find(|&(_, k)| k == kind)
        .map(|(i, _)| i)
        .unwrap_or_else(|| panic!("no {kind:?} halt in the trace"))
}

/// For a callee's last step `i`: the caller's CALL step and its resumption (the step after `i`).
fn call_and_resume(t: &SubblockTrace, i: usize) -> (usize, usize) {
    let ctx = &t.contexts[t.steps[i].context as usize];
    (ctx.call_step as usize, i + 1)
}

#[test]
fn every_halt_kind_is_recorded_and_proves() {
    let t = trace();
    let kinds: Vec<HaltKind> = halts(t).into_iter().map(|(_, k)| k).collect();
    for k in [
        HaltKind::StackUnderflow,
        HaltKind::StackOverflow,
        HaltKind::BadJump(BadJumpDest::NotJumpdest),
        HaltKind::BadJump(BadJumpDest::PastCode),
        HaltKind::BadJump(BadJumpDest::Far),
        HaltKind::OutOfGas,
        HaltKind::Invalid,
    ] {
        assert!(kinds.contains(&k), "{k:?} missing from {kinds:?}");
    }
    // INVALID twice (nested and at the top level) and the undefined byte.
    assert_eq!(kinds.iter().filter(|&&k| k == HaltKind::Invalid).count(), 3);
    // The driver's CALLs push 0 after each failed callee and 1 after the one that STOPs.
    let results: Vec<u32> = (0..t.steps.len())
        .filter(|&i| t.steps[i].opcode == opcodes::CALL && t.steps[i].status == STEP_OK)
        .map(|i| {
            let w = t.step_words(i);
            w[w.len() - 1].0[0]
        })
        .collect();
    assert_eq!(results, [0, 0, 0, 0, 0, 0, 0, 0, 1, 1]);
    // RETURNDATASIZE changes with the calls (and the shard proves with both values).
    assert_eq!(returndatasizes(t), [0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 32, 0]);
    prove_verify(&shard_of_all());
    let share = crate::coverage::constrained_share(t);
    assert_eq!(share.exceptional_steps, 9);
    assert_eq!(share.constrained_halts, 9);
}

#[test]
fn a_halt_kind_whose_condition_fails_is_rejected() {
    let base = shard_of_all();
    let invalid = halt_step(HaltKind::Invalid);
    let underflow = halt_step(HaltKind::StackUnderflow);
    let oog = halt_step(HaltKind::OutOfGas);
    let overflow = halt_step(HaltKind::StackOverflow);
    type Flag = fn(&mut CpuCols<F>) -> &mut F;
    let flags: [(&str, Flag); 7] = [
        ("underflow", |c| &mut c.halt.underflow),
        ("overflow", |c| &mut c.halt.overflow),
        ("out of gas", |c| &mut c.halt.out_of_gas),
        ("other", |c| &mut c.halt.other),
        ("not a jumpdest", |c| &mut c.halt.dest_not_jumpdest),
        ("past the code", |c| &mut c.halt.dest_past_code),
        ("far", |c| &mut c.halt.dest_far),
    ];
    // Each real halt claims every kind but its own (and `other` where it is not allowed).
    for (step, own) in [
        (invalid, "other"),
        (underflow, "underflow"),
        (oog, "out of gas"),
        (overflow, "overflow"),
    ] {
        for (name, flag) in flags {
            if name == own {
                continue;
            }
            let mut s = base.clone();
            let c = row_mut(&mut s, step);
            for (_, f) in flags {
                *f(c) = F::ZERO;
            }
            *flag(c) = F::ONE;
            let static_gas = c.op.gas_static == F::ONE;
            // Range checks reject the stack bounds and out of gas of a static-gas opcode; a
            // constraint the other kinds.
            let why = match name {
                "underflow" | "overflow" => Why::Lookup,
                "out of gas" if static_gas => Why::Lookup,
                _ => Why::CpuRow(step),
            };
            rejected(&s, &format!("step {step} ({own}) claimed as {name}"), why);
        }
    }
}

fn nested_stop(t: &SubblockTrace) -> usize {
    (0..t.steps.len())
        .find(|&i| t.steps[i].opcode == opcodes::STOP && t.steps[i].depth == 2)
        .expect("the nested STOP")
}

/// Claims that the nested STOP halted exceptionally with the halt kind `flag`, keeping the
/// caller consistent (its CALL pushes 0, which its POP consumes).
fn stop_claimed_failed(flag: fn(&mut CpuCols<F>) -> &mut F) -> Shard<F> {
    let t = trace();
    let stop = nested_stop(t);
    let (call, resume) = call_and_resume(t, stop);
    let mut s = shard_of_all();
    let c = row_mut(&mut s, stop);
    c.exc = F::ONE;
    *flag(c) = F::ONE;
    let gas = c.gas_after.as_canonical_u32();
    c.gas_after = F::ZERO;
    c.ga_lo = F::ZERO;
    c.ga_hi = F::ZERO;
    // The gas after is now 0 (both halves), and the successful step's stack-bound checks
    // (height 0, room 1024) go.
    u16_lookups(&mut s, gas & 0xffff, -1);
    u16_lookups(&mut s, (gas >> 16) * 4, -1);
    u16_lookups(&mut s, 0, 2);
    u16_lookups(&mut s, 0, -1);
    u16_lookups(&mut s, crate::chips::cpu::air::STACK_LIMIT, -1);
    let c = row_mut(&mut s, call);
    c.callee_ok = F::ZERO;
    c.out[0] = F::ZERO;
    // The pushed result's limb check.
    u16_lookups(&mut s, 1, -1);
    u16_lookups(&mut s, 0, 1);
    let c = row_mut(&mut s, resume);
    assert_eq!(c.op.opcode, F::from_u8(opcodes::POP));
    c.resumed_ok = F::ZERO;
    c.inp[0][0] = F::ZERO;
    s
}

#[test]
fn a_halt_on_a_step_that_did_not_halt_is_rejected() {
    // STOP pops nothing, is not a jump, costs nothing and may not halt otherwise.
    let stop = nested_stop(trace());
    for (lie, what, why) in [
        (
            stop_claimed_failed(|c| &mut c.halt.underflow),
            "underflows",
            Why::Lookup,
        ),
        (
            stop_claimed_failed(|c| &mut c.halt.out_of_gas),
            "runs out of gas",
            Why::Lookup,
        ),
        (
            stop_claimed_failed(|c| &mut c.halt.other),
            "halts otherwise",
            Why::CpuRow(stop),
        ),
        (
            stop_claimed_failed(|c| &mut c.halt.dest_far),
            "jumps far",
            Why::CpuRow(stop),
        ),
    ] {
        rejected(&lie, &format!("STOP {what}"), why);
    }
}

#[test]
fn a_caller_resuming_with_the_wrong_result_is_rejected() {
    let t = trace();
    // After a failed callee the CALL pushes 1 (and the caller's POP consumes it).
    let invalid = halt_step(HaltKind::Invalid);
    let (call, resume) = call_and_resume(t, invalid);
    // The CALL pushes 1 instead of 0, which the caller's POP consumes.
    let result_one = |s: &mut Shard<F>| {
        row_mut(s, call).out[0] = F::ONE;
        row_mut(s, resume).inp[0][0] = F::ONE;
        u16_lookups(s, 0, -1);
        u16_lookups(s, 1, 1);
    };
    let mut s = shard_of_all();
    result_one(&mut s);
    row_mut(&mut s, call).callee_ok = F::ONE;
    row_mut(&mut s, resume).resumed_ok = F::ONE;
    // The transition from the callee's last row into the resumption.
    rejected(&s, "success after INVALID", Why::CpuRow(invalid));
    // The same lie without the resume token's flag: the CALL's result must equal it.
    let mut s = shard_of_all();
    result_one(&mut s);
    rejected(&s, "CALL result 1 with a failed callee", Why::CpuRow(call));
    // INVALID claimed to succeed (status flag cleared), the caller seeing success.
    let mut s = shard_of_all();
    let c = row_mut(&mut s, invalid);
    c.exc = F::ZERO;
    c.halt.other = F::ZERO;
    // A successful step's stack-bound checks (height 1 after PUSH1, room 1023).
    assert_eq!(c.sp, F::ONE);
    u16_lookups(&mut s, 1, 1);
    u16_lookups(&mut s, crate::chips::cpu::air::STACK_LIMIT - 1, 1);
    result_one(&mut s);
    row_mut(&mut s, call).callee_ok = F::ONE;
    row_mut(&mut s, resume).resumed_ok = F::ONE;
    rejected(&s, "INVALID succeeds", Why::CpuRow(invalid));
}

#[test]
fn gas_left_after_a_halt_is_rejected() {
    let step = halt_step(HaltKind::StackUnderflow);
    let mut s = shard_of_all();
    let c = row_mut(&mut s, step);
    assert_eq!(c.gas_after, F::ZERO);
    c.gas_after = F::from_u32(5);
    c.ga_lo = F::from_u32(5);
    rejected(&s, "gas after an exceptional halt", Why::CpuRow(step));
}

#[test]
fn a_bad_jump_to_a_jumpdest_is_rejected() {
    let t = trace();
    let step = halt_step(HaltKind::BadJump(BadJumpDest::NotJumpdest));
    let s0 = shard_of_all();
    let code_id = row(&s0, step).code_id;
    let target = row(&s0, step).inp[0][0];
    // The data byte 0x5b at the target flagged as a JUMPDEST in the bytecode table.
    let mut s = s0.clone();
    let bc = &mut s.traces[shard::BYTECODE];
    let r = (0..bc.values.len() / NUM_BYTECODE_COLS)
        .find(|&r| {
            let c: &BytecodeCols<F> =
                bc.values[r * NUM_BYTECODE_COLS..][..NUM_BYTECODE_COLS].borrow();
            c.code_id == code_id && c.pc == target
        })
        .expect("the target's byte");
    let c: &mut BytecodeCols<F> =
        bc.values[r * NUM_BYTECODE_COLS..][..NUM_BYTECODE_COLS].borrow_mut();
    assert_eq!(c.is_data, F::ONE);
    c.is_jumpdest = F::ONE;
    rejected(
        &s,
        "PUSH data flagged as a JUMPDEST",
        Why::Table(shard::BYTECODE),
    );
    // The same target claimed past the code (it is inside) or far (it is below 2^16).
    let mut s = s0.clone();
    let c = row_mut(&mut s, step);
    c.halt.dest_not_jumpdest = F::ZERO;
    c.halt.dest_past_code = F::ONE;
    c.halt.code_last =
        F::from_usize(code_of(t, step).len() + crate::chips::bytecode::trace::CODE_PADDING - 1);
    rejected(&s, "a target inside the code claimed past it", Why::Lookup);
    let mut s = s0.clone();
    let c = row_mut(&mut s, step);
    c.halt.dest_not_jumpdest = F::ZERO;
    c.halt.dest_far = F::ONE;
    rejected(&s, "a target below 2^16 claimed far", Why::CpuRow(step));
    // The code of a jump past its end claimed to end earlier (its last byte moved back to
    // where the target would be past it).
    let past = halt_step(HaltKind::BadJump(BadJumpDest::PastCode));
    let mut s = s0.clone();
    let past_code = row(&s, past).code_id;
    let bc = &mut s.traces[shard::BYTECODE];
    let r = (0..bc.values.len() / NUM_BYTECODE_COLS)
        .find(|&r| {
            let c: &BytecodeCols<F> =
                bc.values[r * NUM_BYTECODE_COLS..][..NUM_BYTECODE_COLS].borrow();
            c.code_id == past_code && c.pc == F::ONE
        })
        .expect("the code's second byte");
    let c: &mut BytecodeCols<F> =
        bc.values[r * NUM_BYTECODE_COLS..][..NUM_BYTECODE_COLS].borrow_mut();
    c.is_last = F::ONE;
    rejected(&s, "a code ending early", Why::Table(shard::BYTECODE));
    // A JUMPI whose condition is zero does not jump.
    let far = halt_step(HaltKind::BadJump(BadJumpDest::Far));
    let mut s = s0;
    let c = row_mut(&mut s, far);
    c.inp[1][0] = F::ZERO;
    c.cond_nz = F::ZERO;
    c.cond_inv = F::ZERO;
    c.jump = F::ZERO;
    rejected(&s, "a bad JUMPI that is not taken", Why::CpuRow(far));
}

/// (The stack bound checks themselves are isolated above, by claiming an underflow or overflow
/// on steps at other heights; a changed height also breaks the chain from the step before.)
#[test]
fn a_stack_height_that_does_not_underflow_or_overflow_is_rejected() {
    for (kind, sp) in [
        (HaltKind::StackUnderflow, 2u32),
        (HaltKind::StackOverflow, 1023),
    ] {
        let step = halt_step(kind);
        let mut s = shard_of_all();
        let c = row_mut(&mut s, step);
        let d = F::from_u32(sp) - c.sp;
        c.sp += d;
        c.sp_next += d;
        rejected(
            &s,
            &format!("{kind:?} at height {sp}"),
            Why::CpuRow(step - 1),
        );
    }
}

/// The driver's RETURNDATASIZE steps, with the values they push.
fn returndatasize_steps(t: &SubblockTrace) -> Vec<(usize, u32)> {
    (0..t.steps.len())
        .filter(|&i| t.steps[i].opcode == opcodes::RETURNDATASIZE && t.steps[i].status == STEP_OK)
        .map(|i| (i, t.step_words(i)[0].0[0]))
        .collect()
}

fn returndatasizes(t: &SubblockTrace) -> Vec<u32> {
    returndatasize_steps(t)
        .into_iter()
        .map(|(_, v)| v)
        .collect()
}

#[test]
fn returndatasize_reads_between_the_same_calls_agree() {
    let t = trace();
    let reads = returndatasize_steps(t);
    // The two reads after RETURNS: the second claims 33 (its POP consuming that).
    let (second, v) = reads[10];
    assert_eq!((reads[9].1, v), (32, 32));
    let lie = |s: &mut Shard<F>, step: usize| {
        row_mut(s, step).out[0] = F::from_u32(33);
        row_mut(s, step + 1).inp[0][0] = F::from_u32(33);
        u16_lookups(s, 32, -1);
        u16_lookups(s, 33, 1);
    };
    let mut s = shard_of_all();
    lie(&mut s, second);
    rejected(
        &s,
        "a second RETURNDATASIZE read of another value",
        Why::Lookup,
    );
    // A read claiming another call count than its context's.
    let mut s = shard_of_all();
    let c = row_mut(&mut s, second);
    c.ncalls += F::ONE;
    c.ctx_seq += F::ONE;
    rejected(
        &s,
        "a RETURNDATASIZE read after another call",
        Why::CpuRow(second - 1),
    );
    // The table's rows of one (context, opcode) must have increasing call counts: the same
    // lie with the table's row for it keyed like the row before.
    let mut s = shard_of_all();
    lie(&mut s, second);
    use crate::chips::call_context::columns::{CallContextCols, NUM_CALL_CONTEXT_COLS};
    let cc = &mut s.traces[shard::CALL_CONTEXT];
    let rows = cc.values.len() / NUM_CALL_CONTEXT_COLS;
    let r = (0..rows)
        .find(|&r| {
            let c: &CallContextCols<F> =
                cc.values[r * NUM_CALL_CONTEXT_COLS..][..NUM_CALL_CONTEXT_COLS].borrow();
            c.opcode == F::from_u8(opcodes::RETURNDATASIZE) && c.value[0] == F::from_u32(32)
        })
        .expect("the table row of the reads after RETURNS");
    // A second row of the same key holding 33, in place of the next row (the read after STOPS,
    // whose own lookup then fails too: the ordering constraint is hit first).
    let next: &mut CallContextCols<F> =
        cc.values[(r + 1) * NUM_CALL_CONTEXT_COLS..][..NUM_CALL_CONTEXT_COLS].borrow_mut();
    next.seq_lo -= F::ONE;
    next.value[0] = F::from_u32(33);
    next.mult = F::ONE;
    let e = check(&s);
    assert!(
        matches!(
            e,
            Err(ProveError::ConstraintViolation {
                instance: shard::CALL_CONTEXT,
                ..
            })
        ),
        "a repeated (context, opcode, seq) key: {e:?}"
    );
}
