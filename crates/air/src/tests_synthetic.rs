//! Every opcode the coverage table calls constrained, on a synthetic program: the honest trace
//! proves, and a trace where that one step lies (its result, its gas, or where it jumps) while
//! every later step stays consistent with the lie is rejected by the AIR.

use revm::primitives::{B256, Bytes, U256};
use slotproof_executor::trace::{ContextRecord, STEP_OK, StepRecord, SubblockTrace, Word};

use crate::coverage::{Coverage, CoverageTable};
use crate::opcodes::{self, info};
use crate::shard::generate_shards;
use crate::tests::{F, check};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fault {
    /// The step's result (top of stack afterwards) is off by one.
    Value,
    /// The step charges one gas more than it should.
    Gas,
    /// A jump goes to the other JUMPDEST of its segment.
    Control,
}

/// One segment of the program: code around one opcode under test; `op_at` is the offset of the
/// opcode, `alt` (jumps) the offset of the alternative JUMPDEST a control fault goes to.
struct Segment {
    op: u8,
    code: Vec<u8>,
    op_at: usize,
    alt: Option<usize>,
}

fn push32(v: U256) -> Vec<u8> {
    let mut c = vec![opcodes::PUSH32];
    c.extend_from_slice(&v.to_be_bytes::<32>());
    c
}

fn word_pattern(seed: u64) -> U256 {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut limbs = [0u64; 4];
    for l in &mut limbs {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *l = x;
    }
    U256::from_limbs(limbs)
}

/// Segments covering every constrained opcode, laid out from offset `base`.
fn segments() -> Vec<Segment> {
    let mut out = Vec::new();
    let simple = |op: u8, pre: Vec<u8>, post: Vec<u8>| {
        let mut code = pre.clone();
        code.push(op);
        code.extend(post);
        Segment {
            op,
            code,
            op_at: pre.len(),
            alt: None,
        }
    };
    for n in 0..=32u8 {
        let op = opcodes::PUSH0 + n;
        let mut code = vec![op];
        code.extend((0..n).map(|k| 0x11u8.wrapping_mul(k + 1) | 0x80));
        code.push(opcodes::POP);
        out.push(Segment {
            op,
            code,
            op_at: 0,
            alt: None,
        });
    }
    for n in 1..=16u8 {
        let pre: Vec<u8> = (0..n).flat_map(|k| [opcodes::PUSH1, 0x20 + k]).collect();
        out.push(simple(
            opcodes::DUP1 + n - 1,
            pre,
            vec![opcodes::POP; n as usize + 1],
        ));
        let pre: Vec<u8> = (0..=n).flat_map(|k| [opcodes::PUSH1, 0x40 + k]).collect();
        out.push(simple(
            opcodes::SWAP1 + n - 1,
            pre,
            vec![opcodes::POP; n as usize + 1],
        ));
    }
    out.push(simple(opcodes::POP, vec![opcodes::PUSH1, 7], vec![]));
    out.push(simple(opcodes::JUMPDEST, vec![], vec![]));
    out.push(simple(opcodes::PC, vec![], vec![opcodes::POP]));
    out.push(simple(opcodes::GAS, vec![], vec![opcodes::POP]));
    // Binary ALU operands: random, equal, zero, signs that differ.
    let pairs = [
        (word_pattern(1), word_pattern(2)),
        (word_pattern(3), word_pattern(3)),
        (U256::ZERO, word_pattern(4)),
        (U256::MAX, U256::from(5u8)),
        (U256::from(5u8), U256::MAX - U256::from(3u8)),
    ];
    for op in opcodes::ALU_OPCODES {
        let unary = info(op).pops == 1;
        for (a, b) in pairs {
            let mut pre = Vec::new();
            if !unary {
                pre.extend(push32(b));
            }
            pre.extend(push32(a));
            out.push(simple(op, pre, vec![opcodes::POP]));
        }
        if unary {
            out.push(simple(op, vec![opcodes::PUSH0], vec![opcodes::POP]));
        }
    }
    // Multiplication chip: the same pairs, then small shifts and a zero divisor.
    let extra = [
        (U256::from(3u8), word_pattern(5)),
        (U256::from(255u8), word_pattern(6)),
        (U256::from(256u16), word_pattern(7)),
        (U256::from(30u8), word_pattern(9)),
        (word_pattern(8), U256::ZERO),
    ];
    let moduli = [
        word_pattern(10),
        U256::from(1u8),
        U256::ZERO,
        U256::from(7u8),
    ];
    for op in opcodes::MULDIV_OPCODES {
        for (i, (a, b)) in pairs.iter().chain(&extra).enumerate() {
            let mut pre = if op == opcodes::ADDMOD || op == opcodes::MULMOD {
                push32(moduli[i % moduli.len()])
            } else {
                Vec::new()
            };
            pre.extend(push32(*b));
            pre.extend(push32(*a));
            out.push(simple(op, pre, vec![opcodes::POP]));
        }
    }
    out
}

/// A segment's opcode, the absolute offset of that opcode and of its alternative destination.
type SegmentAt = (u8, usize, Option<usize>);

/// Lay the segments out; jumps get their destinations. Returns the code and, per segment, the
/// absolute offsets of its opcode and alternative destination.
fn assemble(segs: &[Segment]) -> (Vec<u8>, Vec<SegmentAt>) {
    let mut code = Vec::new();
    let mut at = Vec::new();
    for s in segs {
        at.push((s.op, code.len() + s.op_at, s.alt.map(|a| code.len() + a)));
        code.extend_from_slice(&s.code);
    }
    // Jumps: [PUSH1 cond,] PUSH2 dest, JUMP(I), JUMPDEST (fall-through), JUMPDEST (dest).
    for (op, cond) in [
        (opcodes::JUMP, None),
        (opcodes::JUMPI, Some(1u8)),
        (opcodes::JUMPI, Some(0u8)),
    ] {
        let start = code.len();
        let mut seg = Vec::new();
        if let Some(c) = cond {
            seg.extend([opcodes::PUSH1, c]);
        }
        let dest = start + seg.len() + 3 + 1 + 1;
        seg.extend([opcodes::PUSH2, (dest >> 8) as u8, dest as u8]);
        let op_at = start + seg.len();
        seg.extend([op, opcodes::JUMPDEST, opcodes::JUMPDEST]);
        // A control fault goes where the jump should not: the fall-through JUMPDEST when the
        // jump is taken, the destination when it is not.
        let alt = if cond == Some(0) {
            op_at + 2
        } else {
            op_at + 1
        };
        at.push((op, op_at, Some(alt)));
        code.extend(seg);
    }
    code.push(opcodes::STOP);
    (code, at)
}

/// `(a + b) mod n` over 257 bits (0 for n = 0).
fn addmod(a: U256, b: U256, n: U256) -> U256 {
    if n.is_zero() {
        return U256::ZERO;
    }
    let (sum, carry) = a.overflowing_add(b);
    if !carry {
        return sum % n;
    }
    // 2^256 + sum = (2^256 mod n) + sum (mod n); 2^256 mod n = (MAX mod n + 1) mod n.
    let wrap = (U256::MAX % n).add_mod(U256::from(1u8), n);
    (sum % n).add_mod(wrap, n)
}

fn alu(op: u8, a: U256, b: U256) -> U256 {
    let sign = U256::from(1u8) << 255;
    let bit = |x: bool| U256::from(x as u8);
    match op {
        opcodes::ADD => a.wrapping_add(b),
        opcodes::SUB => a.wrapping_sub(b),
        opcodes::LT => bit(a < b),
        opcodes::GT => bit(a > b),
        opcodes::SLT => bit((a ^ sign) < (b ^ sign)),
        opcodes::SGT => bit((a ^ sign) > (b ^ sign)),
        opcodes::EQ => bit(a == b),
        opcodes::ISZERO => bit(a.is_zero()),
        opcodes::AND => a & b,
        opcodes::OR => a | b,
        opcodes::XOR => a ^ b,
        opcodes::NOT => !a,
        opcodes::MUL => a.wrapping_mul(b),
        opcodes::EXP => a.wrapping_pow(b),
        opcodes::DIV => a.checked_div(b).unwrap_or_default(),
        opcodes::MOD => a.checked_rem(b).unwrap_or_default(),
        opcodes::SHL if a < U256::from(256u16) => b << a.to::<usize>(),
        opcodes::SHR if a < U256::from(256u16) => b >> a.to::<usize>(),
        opcodes::SHL | opcodes::SHR => U256::ZERO,
        opcodes::SDIV | opcodes::SMOD => {
            let neg = |v: U256| v.bit(255);
            let abs = |v: U256| if neg(v) { v.wrapping_neg() } else { v };
            let (q, r) = match (abs(a).checked_div(abs(b)), abs(a).checked_rem(abs(b))) {
                (Some(q), Some(r)) => (q, r),
                _ => (U256::ZERO, U256::ZERO),
            };
            match op {
                opcodes::SDIV if neg(a) != neg(b) => q.wrapping_neg(),
                opcodes::SDIV => q,
                _ if neg(a) => r.wrapping_neg(),
                _ => r,
            }
        }
        opcodes::BYTE if a < U256::from(32u8) => U256::from(b.byte(31 - a.to::<usize>())),
        opcodes::BYTE => U256::ZERO,
        opcodes::SIGNEXTEND if a < U256::from(31u8) => {
            let bits = 8 * a.to::<usize>() + 7;
            let low = b & ((U256::from(1u8) << (bits + 1)) - U256::from(1u8));
            if b.bit(bits) {
                low | (U256::MAX << (bits + 1))
            } else {
                low
            }
        }
        opcodes::SIGNEXTEND => b,
        opcodes::SAR => {
            let s = if a < U256::from(256u16) {
                a.to::<usize>()
            } else {
                256
            };
            match (b.bit(255), s) {
                (true, 256) => U256::MAX,
                (false, 256) => U256::ZERO,
                (true, s) => !((!b) >> s),
                (false, s) => b >> s,
            }
        }
        _ => unreachable!("not an ALU opcode"),
    }
}

/// Run `code` from pc 0, recording a trace; the step at `fault.0` lies as `fault.1` says,
/// jumping to `alt` for a control fault.
fn run(code: &[u8], fault: Option<(usize, Fault, Option<usize>)>) -> SubblockTrace {
    let mut t = SubblockTrace {
        contexts: vec![ContextRecord::default()],
        context_code: vec![0],
        codes: vec![(B256::ZERO, Bytes::copy_from_slice(code))],
        ..Default::default()
    };
    let mut stack: Vec<U256> = Vec::new();
    let (mut pc, mut gas) = (0usize, 1_000_000u64);
    loop {
        let i = t.steps.len();
        let op = code.get(pc).copied().unwrap_or(opcodes::STOP);
        let inf = info(op);
        let lie = fault.filter(|f| f.0 == i).map(|f| (f.1, f.2));
        let static_gas = match inf.gas.fixed() {
            Some(g) => g as u64,
            // EXP: 50 per byte of the exponent (the second item) on top of 10.
            None if op == opcodes::EXP => {
                10 + 50 * stack[stack.len() - 2].bit_len().div_ceil(8) as u64
            }
            None => panic!("static gas"),
        };
        let cost = static_gas + (lie.map(|l| l.0) == Some(Fault::Gas)) as u64;
        let gas_after = gas - cost;
        let len = stack.len();
        let stack_words = t.stack_words.len() as u32;
        for k in 0..inf.pops as usize {
            t.stack_words.push(Word::from(stack[len - 1 - k]));
        }
        let mut next_pc = pc + 1 + inf.immediate as usize;
        match op {
            opcodes::STOP => {}
            opcodes::PUSH0..=opcodes::PUSH32 => {
                let n = inf.immediate as usize;
                let mut be = [0u8; 32];
                for k in 0..n {
                    be[32 - n + k] = code.get(pc + 1 + k).copied().unwrap_or(0);
                }
                stack.push(U256::from_be_bytes(be));
            }
            opcodes::DUP1..=opcodes::DUP16 => {
                stack.push(stack[len - (op - opcodes::DUP1 + 1) as usize])
            }
            opcodes::SWAP1..=opcodes::SWAP16 => {
                stack.swap(len - 1, len - 2 - (op - opcodes::SWAP1) as usize)
            }
            opcodes::POP => {
                stack.pop();
            }
            opcodes::JUMP | opcodes::JUMPI => {
                let dest = stack.pop().unwrap();
                let taken = op == opcodes::JUMP || !stack.pop().unwrap().is_zero();
                if taken {
                    next_pc = dest.to::<usize>();
                }
            }
            opcodes::JUMPDEST => {}
            opcodes::PC => stack.push(U256::from(pc)),
            // A fixed value per call-context opcode (the same for every read).
            op if opcodes::reads_call_context(op) => {
                stack.push((U256::from(op) << 160) | U256::from(0xc0ffee_u32))
            }
            opcodes::GAS => stack.push(U256::from(gas_after)),
            _ => {
                let a = stack.pop().unwrap();
                let b = if inf.pops >= 2 {
                    stack.pop().unwrap()
                } else {
                    U256::ZERO
                };
                if inf.pops == 3 {
                    let n = stack.pop().unwrap();
                    stack.push(if op == opcodes::MULMOD {
                        // ruint: zero for a zero modulus, as the EVM.
                        a.mul_mod(b, n)
                    } else {
                        addmod(a, b, n)
                    });
                } else {
                    stack.push(alu(op, a, b));
                }
            }
        }
        match lie {
            Some((Fault::Value, _)) => {
                let top = stack.last_mut().expect("a result");
                *top = top.wrapping_add(U256::from(1u8));
            }
            Some((Fault::Control, Some(alt))) => next_pc = alt,
            _ => {}
        }
        let writes = inf.pushes as usize;
        for k in 0..writes {
            t.stack_words.push(Word::from(stack[stack.len() - 1 - k]));
        }
        t.steps.push(StepRecord {
            gas_before: gas,
            gas_after,
            pc: pc as u32,
            context: 0,
            stack_words,
            segment: 0,
            stack_len: len as u16,
            depth: 1,
            opcode: op,
            reads: inf.pops,
            writes: writes as u8,
            status: STEP_OK,
        });
        if op == opcodes::STOP {
            return t;
        }
        pc = next_pc;
        gas = gas_after;
    }
}

/// The honest trace of `code` (static-gas opcodes and EXP of this file's interpreter only).
pub(crate) fn run_program(code: &[u8]) -> SubblockTrace {
    run(code, None)
}

fn shard_of(t: &SubblockTrace) -> crate::shard::Shard<F> {
    generate_shards::<F>(t, 1 << 16).unwrap().remove(0)
}

#[test]
fn every_constrained_opcode_rejects_a_lying_step() {
    let table = CoverageTable::current();
    let (code, at) = assemble(&segments());
    let honest = run(&code, None);
    check(&shard_of(&honest)).expect("the honest program proves");

    // Each opcode's lies are proven independently, so they run in parallel (a few hundred
    // small shard proofs, each too small to keep both cores busy alone).
    use rayon::prelude::*;
    let covered: std::collections::BTreeSet<u8> = at
        .par_iter()
        .map(|&(op, op_at, alt)| {
            assert_eq!(
                table
                    .opcodes
                    .iter()
                    .find(|o| o.opcode == op)
                    .unwrap()
                    .coverage,
                Coverage::Constrained
            );
            let step = honest
                .steps
                .iter()
                .position(|s| s.pc as usize == op_at)
                .expect("segment runs");
            let mut faults = vec![Fault::Gas];
            // A wrong PUSH immediate always fails the same lookup (and costs a commitment to
            // find): check it on a few sizes.
            let push_sample = [
                opcodes::PUSH1,
                opcodes::PUSH1 + 1,
                opcodes::PUSH1 + 15,
                opcodes::PUSH32,
            ];
            let is_pushn = (opcodes::PUSH1..=opcodes::PUSH32).contains(&op);
            if info(op).pushes > 0
                && !(opcodes::SWAP1..=opcodes::SWAP16).contains(&op)
                && (!is_pushn || push_sample.contains(&op))
            {
                faults.push(Fault::Value);
            }
            if alt.is_some() {
                faults.push(Fault::Control);
            }
            for f in faults {
                let lying = run(&code, Some((step, f, alt)));
                let shard = shard_of(&lying);
                assert!(
                    check(&shard).is_err(),
                    "{} with a {f:?} fault at step {step} was not rejected",
                    info(op).name
                );
            }
            op
        })
        .collect();
    // Every opcode the table calls constrained was exercised here, but for the halts STOP and
    // INVALID (their lies are in `tests_halts`, on a trace revm records), the memory opcodes
    // (this interpreter has no memory; their lies are in `tests_memory`, also on revm's trace)
    // the block-context opcodes (`tests_block_context`, on a revm trace: their values are
    // the block's), the calldata opcodes (`tests_calldata`, on a revm trace: this
    // interpreter has no calldata) and the other call-context reads (constrained to one value
    // per context, the value itself trusted: a single read may lie, two reads may not disagree,
    // `call_context_reads_agree_within_a_context`; BLOBHASH in `tests_blobhash`, on a blob
    // transaction revm runs).
    let memory = [
        opcodes::MLOAD,
        opcodes::MSTORE,
        opcodes::MSTORE8,
        opcodes::MSIZE,
    ];
    let constrained: std::collections::BTreeSet<u8> = table
        .constrained_opcodes()
        .filter(|&op| op != opcodes::STOP && op != opcodes::INVALID && !memory.contains(&op))
        .filter(|&op| !opcodes::reads_block_context(op))
        .filter(|&op| op != opcodes::CALLDATALOAD && op != opcodes::CALLDATASIZE)
        .filter(|&op| !opcodes::reads_call_context(op) && op != opcodes::RETURNDATASIZE)
        .collect();
    assert_eq!(covered, constrained);
}

#[test]
fn taint_follows_the_stack_through_dup_and_swap() {
    // (opcode, stack height before); SELFBALANCE is trusted, everything else constrained.
    let mut program = [
        (opcodes::PUSH0 + 1, 0), // [p]                      untainted
        (0x47, 1),               // [p, C]                   trusted: C tainted
        (opcodes::DUP1 + 1, 2),  // [p, C, p]                copies p: untainted
        (opcodes::DUP1 + 1, 3),  // [p, C, p, C]             copies C: tainted
        (opcodes::ADD, 4),       // [p, C, C+p]              tainted input
        (opcodes::SWAP1 + 1, 3), // [C+p, C, p]              moves a tainted item
        (opcodes::ISZERO, 3),    // [C+p, C, z]              reads p: untainted
        (opcodes::POP, 3),       // [C+p, C]                 pops z: untainted
        (opcodes::POP, 2),       // [C+p]                    pops C: tainted
        (opcodes::JUMPDEST, 1),  //                          untainted
    ];
    let trace = |program: &[(u8, u16)]| SubblockTrace {
        steps: program
            .iter()
            .enumerate()
            .map(|(i, &(op, sp))| StepRecord {
                gas_before: 100,
                gas_after: 100,
                pc: i as u32,
                context: 0,
                stack_words: 0,
                segment: 0,
                stack_len: sp,
                depth: 1,
                opcode: op,
                reads: 0,
                writes: 0,
                status: STEP_OK,
            })
            .collect(),
        ..Default::default()
    };
    let r = crate::coverage::constrained_share(&trace(&program));
    assert_eq!(r.steps, 10);
    assert_eq!(r.constrained_steps, 9);
    assert_eq!(r.untainted_steps, 5);
    assert!(r.untainted_share() < r.share());
    // CALLER instead: a constrained read (v13) whose pushed value is trusted, so it taints the
    // same items; only the read itself counts as constrained and untainted.
    program[1].0 = opcodes::CALLER;
    let r = crate::coverage::constrained_share(&trace(&program));
    assert_eq!(r.constrained_steps, 10);
    assert_eq!(r.untainted_steps, 6);
}

/// Reads of the call context: within a context every read of an opcode pushes the value of the
/// shard's one table row. A lie on any read of an opcode read twice fails; a lie on an opcode
/// read once proves (the values themselves are trusted), as the coverage table says.
#[test]
fn call_context_reads_agree_within_a_context() {
    use opcodes::{ADDRESS, CALLDATASIZE, CALLER, CALLVALUE, CODESIZE, GASPRICE, ORIGIN};
    let reads = [
        CALLER,
        ADDRESS,
        CALLER,
        CALLDATASIZE,
        CODESIZE,
        CALLVALUE,
        ORIGIN,
        GASPRICE,
        CALLDATASIZE,
    ];
    let mut code = Vec::new();
    for op in reads {
        code.extend([op, opcodes::POP]);
    }
    code.push(opcodes::STOP);
    let honest = run(&code, None);
    check(&shard_of(&honest)).expect("the honest program proves");
    for (i, &op) in reads.iter().enumerate() {
        let lying = run(&code, Some((2 * i, Fault::Value, None)));
        let twice = reads.iter().filter(|&&o| o == op).count() > 1;
        assert_eq!(
            check(&shard_of(&lying)).is_err(),
            twice,
            "a lying read of {} (read {}): proved {}",
            info(op).name,
            if twice { "twice" } else { "once" },
            !twice
        );
    }
    // Two table rows of one key: the keys must strictly increase.
    use crate::chips::call_context::columns::{CallContextCols, NUM_CALL_CONTEXT_COLS};
    let mut s = shard_of(&honest);
    let t = &mut s.traces[crate::shard::CALL_CONTEXT].values;
    let first_opcode = t[core::mem::offset_of!(CallContextCols<u8>, opcode)];
    let second: &mut CallContextCols<F> = core::borrow::BorrowMut::borrow_mut(
        &mut t[NUM_CALL_CONTEXT_COLS..2 * NUM_CALL_CONTEXT_COLS],
    );
    second.opcode = first_opcode;
    assert!(check(&s).is_err(), "a repeated key proved");
}
