//! Why an exceptional step halted: the condition the CPU chip checks for it.
//!
//! The executor records only that a step halted exceptionally; the AIR needs to know which
//! condition to constrain. [`classify`] derives it from the step record, the stack items it
//! would read and its code, in the order the checks are listed in [`HaltKind`]. A step may meet
//! several conditions (e.g. a JUMP with too little gas and an empty stack); any one that holds
//! proves the halt, so the order only picks one.

use slotproof_executor::trace::{STEP_OK, SubblockTrace};

use crate::chips::bytecode::trace::CODE_PADDING;
use crate::chips::cpu::air::STACK_LIMIT;
use crate::chips::opcode_table::props_of;
use crate::error::TraceError;
use crate::opcodes::{self, info};
use crate::word::limbs;

/// The condition that makes an exceptional step halt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HaltKind {
    /// The stack holds fewer items than the opcode reads.
    StackUnderflow,
    /// The stack would exceed 1024 items.
    StackOverflow,
    /// INVALID (0xFE) or a byte that is not an opcode (the CPU chip marks it as `other`: the
    /// opcode table forces every such step to halt).
    Invalid,
    /// Less gas left than the opcode's static cost (opcodes with static gas only).
    OutOfGas,
    /// A taken JUMP/JUMPI whose target (the stack top) is not a JUMPDEST.
    BadJump(BadJumpDest),
    /// A condition the AIR does not derive (dynamic gas, static-call violations, ...); allowed
    /// only on the opcodes that can halt that way (`may_halt_other` in the opcode table).
    Other,
}

/// Where a bad jump's target lies (each case has its own check in the CPU chip).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BadJumpDest {
    /// Below 2^16 and within the code and its zero padding but before the padding's last
    /// byte, on a byte that is not a JUMPDEST opcode (PUSH data included): the bytecode table's
    /// JUMPDEST flag is 0 there.
    NotJumpdest,
    /// Below 2^16 and at or past the last byte of the padded code (a zero byte).
    PastCode,
    /// 2^16 or more.
    Far,
}

impl HaltKind {
    /// Whether the AIR constrains that this halt happens.
    pub fn is_constrained(self) -> bool {
        self != HaltKind::Other
    }
}

/// Positions of the JUMPDEST opcodes of `code` (PUSH data excluded).
pub fn jumpdests(code: &[u8]) -> Vec<bool> {
    let mut d = vec![false; code.len()];
    let mut pc = 0;
    while pc < code.len() {
        let op = code[pc];
        d[pc] = op == opcodes::JUMPDEST;
        pc += 1 + info(op).immediate as usize;
    }
    d
}

/// Why step `i` halted, `None` for a successful step. `code` is the step's code. An exceptional
/// step that meets no condition the AIR can express (and whose opcode cannot halt for another
/// reason) is an error.
pub fn classify(
    trace: &SubblockTrace,
    i: usize,
    code: &[u8],
) -> Result<Option<HaltKind>, TraceError> {
    let s = &trace.steps[i];
    if s.status == STEP_OK {
        return Ok(None);
    }
    let p = props_of(s.opcode);
    let sp = s.stack_len as u32;
    if sp < p.pops {
        return Ok(Some(HaltKind::StackUnderflow));
    }
    if sp - p.pops + p.pushes > STACK_LIMIT {
        return Ok(Some(HaltKind::StackOverflow));
    }
    if p.is_invalid == 1 {
        return Ok(Some(HaltKind::Invalid));
    }
    if p.gas_static == 1 && s.gas_before < p.static_gas as u64 {
        return Ok(Some(HaltKind::OutOfGas));
    }
    if p.is_jump == 1 || p.is_jumpi == 1 {
        let words = trace.step_words(i);
        let reads = &words[..(s.reads as usize).min(words.len())];
        let taken = p.is_jump == 1 || reads.get(1).is_some_and(|c| c.0 != [0; 8]);
        if let (true, Some(target)) = (taken, reads.first()) {
            let l = limbs(target);
            let dest = if l[1..].iter().any(|&x| x != 0) {
                Some(BadJumpDest::Far)
            } else {
                let t = l[0] as usize;
                if t + 1 >= code.len() + CODE_PADDING {
                    Some(BadJumpDest::PastCode)
                } else if !jumpdests(code).get(t).copied().unwrap_or(false) {
                    Some(BadJumpDest::NotJumpdest)
                } else {
                    None
                }
            };
            if let Some(d) = dest {
                return Ok(Some(HaltKind::BadJump(d)));
            }
        }
    }
    if p.may_halt_other == 1 {
        return Ok(Some(HaltKind::Other));
    }
    Err(TraceError::UnexplainedHalt {
        step: i,
        opcode: s.opcode,
    })
}
