//! The coverage table: what a shard proof constrains, what a verifier must check outside it,
//! and what is trusted (a witness the prover supplies and nothing checks).
//!
//! An opcode is **constrained** when, for a successful step that executes it, the AIR fixes
//! everything the step does given its inputs: the opcode is the code byte at pc (and not PUSH
//! data), pc, gas and stack height of the next step of the context, the stack items it reads
//! (equal to the items last written there) and writes, and its result. Every other opcode is
//! **trusted**: its steps are still CPU rows (so the control flow around them is constrained)
//! but its result and side effects are prover-supplied. An exceptional step is constrained when
//! the AIR checks the condition that makes it halt (see [`crate::halts`]).
//! Opcode coverage is relative to the executed code bytes, which are themselves trusted (see
//! the block-level line "bytecode").

use serde::Serialize;
use slotproof_executor::trace::{STEP_OK, SubblockTrace};

use crate::halts::{self, HaltKind};
use crate::opcodes::{self, OPCODES};

/// Version of the coverage table; bump whenever a classification changes.
pub const COVERAGE_VERSION: u32 = 14;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Coverage {
    Constrained,
    VerifierChecked,
    Trusted,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OpcodeCoverage {
    pub opcode: u8,
    pub name: &'static str,
    pub coverage: Coverage,
    /// Which chip proves it (constrained opcodes).
    pub by: &'static str,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CheckCoverage {
    pub check: &'static str,
    pub coverage: Coverage,
    pub note: &'static str,
}

/// The table a proof carries: per defined opcode and per block-level check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CoverageTable {
    pub version: u32,
    pub opcodes: Vec<OpcodeCoverage>,
    pub checks: Vec<CheckCoverage>,
}

/// How a defined opcode is covered, and by which chip.
pub fn opcode_coverage(op: u8) -> (Coverage, &'static str) {
    use Coverage::*;
    match op {
        opcodes::PUSH0..=opcodes::PUSH32 => (Constrained, "cpu+bytecode"),
        opcodes::DUP1..=opcodes::DUP16 | opcodes::SWAP1..=opcodes::SWAP16 | opcodes::POP => {
            (Constrained, "cpu (stack bus)")
        }
        opcodes::JUMP | opcodes::JUMPI | opcodes::JUMPDEST => (Constrained, "cpu+bytecode"),
        opcodes::PC | opcodes::GAS => (Constrained, "cpu"),
        opcodes::MLOAD | opcodes::MSTORE | opcodes::MSTORE8 => {
            (Constrained, "cpu+memory (offline memory, expansion gas)")
        }
        opcodes::MSIZE => (Constrained, "cpu (memory size along the context)"),
        // The result is fixed by the offset and the context's calldata table (one word per
        // index and context in a shard, zero past the length, the length = CALLDATASIZE's
        // entry); the table's contents are trusted (see the check "calldata contents"), so
        // the pushed value counts as tainted.
        opcodes::CALLDATALOAD => (
            Constrained,
            "cpu+calldata (the context's calldata words; contents trusted, result tainted)",
        ),
        opcodes::CALLDATASIZE => (
            Constrained,
            "cpu+call-context+calldata (the context's calldata length; trusted, result tainted)",
        ),
        // STOP ends its context with success (the caller's call result is 1); INVALID always
        // halts exceptionally (no gas left, the caller's call result is 0).
        opcodes::STOP | opcodes::INVALID => (Constrained, "cpu (halt)"),
        _ if opcodes::ALU_OPCODES.contains(&op) => (Constrained, "alu"),
        _ if opcodes::MULDIV_OPCODES.contains(&op) => (Constrained, "muldiv"),
        // The read is constrained (the context's row of the call-context table, one value per
        // context in a shard: see the check "call and transaction context values"), the value
        // is the prover's until calls and transactions are: the pushed item counts as tainted
        // (v13; CALLDATASIZE, the same kind of read, was counted this way since v10).
        opcodes::RETURNDATASIZE => (
            Constrained,
            "call-context (one value per context and count of the calls it made; the value \
             trusted, result tainted)",
        ),
        // v14: BLOBHASH's read is keyed by its index (below 2^16; at or above it the CPU
        // checks the push is zero); the hashes are the prover's until transactions are
        // constrained, as ORIGIN's and GASPRICE's values.
        opcodes::BLOBHASH => (
            Constrained,
            "cpu+call-context (one value per context and index below 2^16, zero at or above; \
             the value trusted, result tainted)",
        ),
        _ if opcodes::reads_call_context(op) => (
            Constrained,
            "call-context (one value per context; the value trusted, result tainted)",
        ),
        // The pushed value is the shard's public value for the opcode (BLOCKHASH: for the
        // argument consumed); the verifier derives those from the header that hashes to the
        // block hash and from the ancestor headers (see the check "block context values").
        _ if opcodes::reads_block_context(op) => (
            Constrained,
            "cpu+opcode table (block-context entries from public values; verifier-checked \
             against the header and ancestors)",
        ),
        _ => (Trusted, ""),
    }
}

const CHECKS: &[(&str, Coverage, &str)] = &[
    (
        "step control flow within a context (pc, gas, stack height, opcode = code byte at pc, \
      JUMPDEST targets, static gas, stack bounds)",
        Coverage::Constrained,
        "cpu, bytecode, opcode table",
    ),
    (
        "stack contents within a shard",
        Coverage::Constrained,
        "offline memory on the stack bus",
    ),
    (
        "call/return order and caller resumption (pc, stack height, code), and the result a \
         call pushes when its callee ran: 1 if the callee's last step is STOP, RETURN or \
         SELFDESTRUCT, 0 after REVERT or an exceptional halt (CREATE/CREATE2: 0 after a failed \
         callee)",
        Coverage::Constrained,
        "resume bus, whose tokens carry the callee's outcome from its last step; trusted: gas \
         returned by a callee, return data, a created address, and the outcome carried by a \
         resume token across a cut inside a transaction",
    ),
    (
        "whether a call runs its callee's code (rather than returning at once, as for a \
         precompile or an account without code)",
        Coverage::Trusted,
        "a call step may continue its own context with a trusted result",
    ),
    (
        "exceptional halts: the step really halts (stack height below the opcode's reads; \
         height after it above 1024; a taken JUMP/JUMPI to a byte that is not a JUMPDEST \
         opcode, past the code or at 2^16 or more; gas below a static-gas opcode's cost; \
         INVALID or an undefined byte, which always halt), leaves 0 gas and ends its context \
         as failed",
        Coverage::Constrained,
        "cpu halt kinds, bytecode JUMPDEST flags and code ends, opcode table; out of gas is \
         checked against the gas on the step's row, which is chained within a context but \
         trusted where a callee starts (the gas a call gives it)",
    ),
    (
        "exceptional halts of dynamic-gas opcodes and TSTORE (out of gas on the dynamic part, \
         memory limits, static-call violations, RETURNDATACOPY out of bounds)",
        Coverage::Trusted,
        "the halt kind `other` is allowed on these opcodes without a condition; the gas and \
         failure that follow are constrained",
    ),
    (
        "chaining shards of a subblock (start at step 0, each continues where the previous \
         ended, the last ends the subblock at its claimed step count)",
        Coverage::VerifierChecked,
        "the CPU AIR constrains its public values to the shard's first and last rows; \
         verify_block_proof checks them with shard::chains and subblock_ends",
    ),
    (
        "binding of every shard to the block's and its subblock's public values",
        Coverage::VerifierChecked,
        "opcode-table public values, observed by Fiat-Shamir and compared by \
         verify_block_proof; not derived from the execution by the AIR",
    ),
    (
        "subblocks cover the block: order, contiguous transaction ranges, cumulative gas \
         counters from 0 to the block's gas used",
        Coverage::VerifierChecked,
        "verify_block_proof, on prover-supplied values: a subblock's gas and transaction \
         count are not derived from its proven execution",
    ),
    (
        "state continuity across subblocks (every account or slot read equals the latest \
         earlier subblock's write; slots of wiped accounts read zero)",
        Coverage::VerifierChecked,
        "verify_block_proof, on the prover-supplied state boundaries",
    ),
    (
        "subblock state boundaries vs the execution (the reads and writes are those the \
         subblock made)",
        Coverage::Trusted,
        "no storage or account chip yet: bound to the shards by digest only",
    ),
    (
        "subblocks without EVM steps (e.g. plain transfers)",
        Coverage::Trusted,
        "no shard; only their public values are checked",
    ),
    (
        "transaction inclusion (transactions root) and the block's transaction count",
        Coverage::Trusted,
        "checked by the executor against the header, not proven",
    ),
    (
        "stack items and suspended calls carried across a cut inside a transaction",
        Coverage::Constrained,
        "boundary + carry chips: a shard's carried-in and carried-out tokens (stack items, resume \
         tokens with their pc, stack height, call count and memory size) are hashed by the carry \
         table (Poseidon2 chain) into public commitments; verify_block_proof (shard::carries_on) \
         and the aggregation tree (chain::merge, in-circuit) require one shard's out commitment \
         to be the next one's in commitment, and the subblock's first and last shard to carry \
         nothing",
    ),
    (
        "bytecode (executed code = code of the account, by code hash)",
        Coverage::Trusted,
        "needs a Keccak chip",
    ),
    (
        "call and transaction context values (ADDRESS, CALLER, CALLVALUE, ORIGIN, GASPRICE, \
CALLDATASIZE, CODESIZE, RETURNDATASIZE; CALLDATASIZE's is also the calldata table's length)",
        Coverage::Trusted,
        "every successful read of one of them in a context of a shard pushes the same value (the \
call-context table, one row per context and opcode); RETURNDATASIZE's rows are also keyed by the \
number of calls the context made before the read (counted along the context, through its \
resumptions; trusted where a context enters the shard already running), so reads between the \
same two calls agree; the values themselves are trusted until calls, transactions and return \
data are constrained",
    ),
    (
        "block context values (COINBASE, TIMESTAMP, NUMBER, PREVRANDAO, GASLIMIT, CHAINID, \
         BASEFEE, BLOBBASEFEE, BLOCKHASH)",
        Coverage::VerifierChecked,
        "every successful step pushes the value the opcode table's block-context entries give \
         it (BLOCKHASH: for the argument it consumed, below 2^64), and those entries are the \
         shard's public values (constrained); verify_block_proof derives the values from the \
         claim: the header (its keccak256 is the block hash) gives the header fields and, \
         with the claim's blob base-fee update fraction, BLOBBASEFEE; the ancestor headers, \
         chained from it by parent hash, give BLOCKHASH (zero outside the 256-block window). \
         CHAINID's value and the update fraction are the claim's chain configuration, which \
         the header does not commit to: the caller compares them with its chain. v3: the \
         leaf hashes the values into its digest, which the verifier recomputes",
    ),
    (
        "BLOBHASH (the transaction's blob versioned hashes)",
        Coverage::Trusted,
        "every successful BLOBHASH of one index below 2^16 in a context of a shard pushes the \
         same value (the call-context table, keyed by the index's low limb; the CPU flags an \
         index of 2^16 or more by the inverse of its higher limbs' sum and checks it pushes \
         zero with no row, so no index aliases a smaller one); the hashes themselves are \
         trusted until transactions are constrained (v14)",
    ),
    ("transaction signatures", Coverage::Trusted, ""),
    ("nonces and balances", Coverage::Trusted, ""),
    (
        "gas accounting (intrinsic gas, dynamic gas, refunds, block gas used)",
        Coverage::Trusted,
        "only static gas of single steps, EXP's dynamic gas (50 per exponent byte) and the \
         gas an exceptional halt leaves (0) are constrained",
    ),
    (
        "state reads against the pre-state root",
        Coverage::Trusted,
        "checked by the executor, not proven",
    ),
    (
        "post-state root",
        Coverage::Trusted,
        "checked by the executor, not proven",
    ),
    ("receipts", Coverage::Trusted, ""),
    ("logs", Coverage::Trusted, ""),
    (
        "system calls (EIP-2935, EIP-4788, EIP-7002, EIP-7251)",
        Coverage::Trusted,
        "",
    ),
    ("withdrawals", Coverage::Trusted, ""),
    ("precompiles", Coverage::Trusted, ""),
    (
        "memory contents within a shard (MLOAD reads the bytes the context's last write left, \
         zero where nothing wrote; MSTORE and MSTORE8 write exactly their bytes)",
        Coverage::Constrained,
        "memory chip: offline memory of 32-byte words on the memory bus, timestamps strictly \
         increasing per word, one init/final row per word; the bytes that copies \
         (CALLDATACOPY, CODECOPY, EXTCODECOPY, RETURNDATACOPY, MCOPY) and a call's output \
         write are trusted, but only inside the area their stack items give",
    ),
    (
        "memory size and the expansion gas of MLOAD, MSTORE and MSTORE8 (3 words + words^2 / \
         512 on the highest word touched)",
        Coverage::Constrained,
        "the size is chained along each context from 0 and carried by resume tokens; the \
         memory chip derives the expansion and the gas; trusted: the growth by other \
         memory-touching opcodes (copies, KECCAK256, LOG*, CALL*, CREATE*, RETURN, REVERT), \
         which may only grow it",
    ),
    (
        "memory carried across a cut inside a transaction",
        Coverage::Constrained,
        "memory + carry + CPU chips: the non-zero words of the contexts alive at the cut are \
         tokens (context, word, 32 bytes) of both shards' carry-table commitments, after the \
         stack and resume tokens; the later shard's bound rows take each in (a word not listed \
         reads zero), the earlier shard's must hand on every non-zero word unless its context \
         ended in the shard (a context-end lookup into the CPU step that ends it); equality of \
         the commitments as for the stack; the cost is the live memory image per shard",
    ),
    (
        "calldata within a shard (CALLDATALOAD pushes the 32 bytes of its context's calldata \
         from its offset, zero past the length, also for offsets of 2^32 or more; CALLDATASIZE \
         pushes that length)",
        Coverage::Constrained,
        "calldata chip: one row per (context, word) in a shard, sorted, zero at and past the \
         length, whose value is the context's one CALLDATASIZE entry in the call-context \
         table; loads read two words with a one-hot shift",
    ),
    (
        "calldata contents (each context's bytes and length)",
        Coverage::Trusted,
        "the prover's, per context and shard: an inner call's calldata is not yet bound to \
         the caller's memory at the call, nor a transaction's to its input (transaction \
         inclusion is trusted); the values CALLDATALOAD and CALLDATASIZE push count as \
         tainted. CALLDATACOPY's bytes are trusted memory writes (inside their area), not \
         read from the calldata table",
    ),
    (
        "returndata, storage, transient storage",
        Coverage::Trusted,
        "",
    ),
];

impl CoverageTable {
    pub fn current() -> Self {
        let opcodes = OPCODES
            .iter()
            .filter(|i| i.defined)
            .map(|i| {
                let (coverage, by) = opcode_coverage(i.opcode);
                OpcodeCoverage {
                    opcode: i.opcode,
                    name: i.name,
                    coverage,
                    by,
                }
            })
            .collect();
        let checks = CHECKS
            .iter()
            .map(|&(check, coverage, note)| CheckCoverage {
                check,
                coverage,
                note,
            })
            .collect();
        CoverageTable {
            version: COVERAGE_VERSION,
            opcodes,
            checks,
        }
    }

    /// Stable serialisation (field order fixed by the struct; opcodes in byte order).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("coverage table serialises")
    }

    /// Constrained opcodes.
    pub fn constrained_opcodes(&self) -> impl Iterator<Item = u8> + '_ {
        self.opcodes
            .iter()
            .filter(|o| o.coverage == Coverage::Constrained)
            .map(|o| o.opcode)
    }

    /// A short text rendering (for the CLI).
    pub fn render(&self) -> String {
        let mut s = format!("coverage table v{}\n", self.version);
        let names = |c: Coverage| -> Vec<&str> {
            self.opcodes
                .iter()
                .filter(|o| o.coverage == c)
                .map(|o| o.name)
                .collect()
        };
        s += &format!(
            "opcodes constrained: {}\n",
            names(Coverage::Constrained).join(" ")
        );
        s += &format!("opcodes trusted: {}\n", names(Coverage::Trusted).join(" "));
        for c in &self.checks {
            s += &format!("{:<17} {}", format!("{:?}", c.coverage), c.check);
            if !c.note.is_empty() {
                s += &format!(" ({})", c.note);
            }
            s += "\n";
        }
        s
    }
}

/// How much of a subblock's execution is fully constrained.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ShareReport {
    pub steps: usize,
    /// Successful steps of constrained opcodes, and exceptional steps whose halt condition is
    /// constrained.
    pub constrained_steps: usize,
    pub exceptional_steps: usize,
    /// Exceptional steps whose halt condition is constrained (also in `constrained_steps`).
    pub constrained_halts: usize,
    /// Constrained steps whose consumed stack items all come, through the stack, from
    /// untainted steps (see [`constrained_share`]).
    pub untainted_steps: usize,
    /// Trusted steps by opcode name, most frequent first.
    pub trusted_by_opcode: Vec<(&'static str, usize)>,
}

impl ShareReport {
    pub fn share(&self) -> f64 {
        if self.steps == 0 {
            0.0
        } else {
            self.constrained_steps as f64 / self.steps as f64
        }
    }

    /// The share of steps that are constrained and consume no tainted stack item: what a
    /// proof says about the execution without trusting any prover-supplied value on the stack.
    pub fn untainted_share(&self) -> f64 {
        if self.steps == 0 {
            0.0
        } else {
            self.untainted_steps as f64 / self.steps as f64
        }
    }

    pub fn add(&mut self, other: &ShareReport) {
        self.steps += other.steps;
        self.constrained_steps += other.constrained_steps;
        self.exceptional_steps += other.exceptional_steps;
        self.constrained_halts += other.constrained_halts;
        self.untainted_steps += other.untainted_steps;
        let mut m: std::collections::HashMap<&'static str, usize> =
            self.trusted_by_opcode.iter().copied().collect();
        for &(k, v) in &other.trusted_by_opcode {
            *m.entry(k).or_insert(0) += v;
        }
        self.trusted_by_opcode = m.into_iter().collect();
        self.trusted_by_opcode
            .sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    }
}

/// The share of a subblock's steps that are fully constrained, and of those that are also
/// untainted.
///
/// Taint follows the stack: an item pushed by a trusted or exceptional step is tainted, and so
/// is an item pushed by a constrained step that consumed a tainted item; DUP copies an item's
/// taint and SWAP moves it. A constrained step is untainted when none of the items it consumes
/// is tainted. Each context has its own stack (a callee starts empty; the result a call step
/// pushes is the call step's, so it is tainted while calls are trusted). Not counted: control
/// dependence (the steps a JUMPI on a tainted condition selects are not marked) and values
/// that reach the stack from storage (its opcodes are trusted, so their results are tainted
/// anyway).
///
/// Memory carries taint per byte and context: MSTORE/MSTORE8 give the bytes they write their
/// step's taint (tainted if the step is trusted or consumed a tainted item), a trusted write
/// (copies, MCOPY, a call's output area) taints its whole area, and an MLOAD is untainted only
/// if its offset is and every byte it reads is (never written: zero, untainted); so is a
/// KECCAK256 (its area's bytes; it is trusted today, so its digest is tainted anyway).
///
/// Values read from a table whose contents are trusted are tainted even where the read is
/// constrained: CALLDATALOAD, CALLDATASIZE and the other call-context reads (contents per context, see
/// [`pushes_trusted_content`]) push tainted items; the step itself is untainted when its inputs
/// are, as for any constrained step.
pub fn constrained_share(trace: &SubblockTrace) -> ShareReport {
    share_under(
        trace,
        |op| opcode_coverage(op).0 == Coverage::Constrained,
        HaltKind::is_constrained,
    )
}

/// Constrained opcodes whose pushed value comes from a table with trusted contents (the
/// context's calldata, the call-context values): their results are tainted.
pub fn pushes_trusted_content(op: u8) -> bool {
    op == opcodes::CALLDATALOAD || op == opcodes::RETURNDATASIZE || opcodes::reads_call_context(op)
}

/// A stack word's value if it fits 64 bits, else `u64::MAX` (no memory offset is that large).
fn word_u64(w: &slotproof_executor::trace::Word) -> u64 {
    if w.0[2..].iter().any(|&x| x != 0) {
        u64::MAX
    } else {
        w.0[0] as u64 | (w.0[1] as u64) << 32
    }
}

/// [`constrained_share`] under another classification (`constrained(op)` for successful
/// steps, `constrained_halt(kind)` for exceptional ones), e.g. an earlier coverage table's, to
/// compare figures before and after a change.
pub fn share_under(
    trace: &SubblockTrace,
    constrained: impl Fn(u8) -> bool,
    constrained_halt: impl Fn(HaltKind) -> bool,
) -> ShareReport {
    share_and_untainted(trace, constrained, constrained_halt).0
}

/// [`share_under`], and per step whether it counts as untainted.
pub fn share_and_untainted(
    trace: &SubblockTrace,
    constrained: impl Fn(u8) -> bool,
    constrained_halt: impl Fn(HaltKind) -> bool,
) -> (ShareReport, Vec<bool>) {
    let mut untainted = vec![false; trace.steps.len()];
    let mut trusted = [0usize; 256];
    let mut r = ShareReport {
        steps: trace.steps.len(),
        ..Default::default()
    };
    // Taint flags of each context's stack, bottom first; tainted memory bytes.
    let mut stacks: std::collections::HashMap<u32, Vec<bool>> = Default::default();
    let mut tainted_mem: std::collections::HashSet<(u32, u64)> = Default::default();
    for (i, s) in trace.steps.indexed() {
        let stack = stacks.entry(s.context).or_default();
        // The recorded height is authoritative; a mismatch (never seen in a consistent trace)
        // counts the unknown items as tainted rather than trusting them.
        stack.resize(s.stack_len as usize, true);
        if s.status != STEP_OK {
            r.exceptional_steps += 1;
            let code = trace
                .context_code
                .get(s.context as usize)
                .and_then(|&c| trace.codes.get(c as usize))
                .map(|c| &c.1[..])
                .unwrap_or(&[]);
            // An unexplained halt does not prove (the trace is rejected): count it as trusted.
            let kind = halts::classify(trace, i, code).ok().flatten();
            if let Some(k) = kind.filter(|&k| constrained_halt(k)) {
                r.constrained_halts += 1;
                r.constrained_steps += 1;
                // Only a bad jump's condition depends on stack items: its target and condition.
                let reads = match k {
                    HaltKind::BadJump(_) => opcodes::info(s.opcode).pops as usize,
                    _ => 0,
                };
                let sp = stack.len();
                if !stack[sp.saturating_sub(reads)..].iter().any(|&t| t) && sp >= reads {
                    r.untainted_steps += 1;
                    untainted[i] = true;
                }
            }
            // The frame halts: its stack is gone.
            stack.clear();
            continue;
        }
        let constrained = constrained(s.opcode);
        if constrained {
            r.constrained_steps += 1;
        } else {
            trusted[s.opcode as usize] += 1;
        }
        let sp = stack.len();
        let op = s.opcode;
        let tainted_input = if (opcodes::DUP1..=opcodes::DUP16).contains(&op) {
            let n = (op - opcodes::DUP1 + 1) as usize;
            let t = sp.checked_sub(n).map(|k| stack[k]).unwrap_or(true);
            stack.push(t || !constrained);
            t
        } else if (opcodes::SWAP1..=opcodes::SWAP16).contains(&op) {
            let n = (op - opcodes::SWAP1 + 1) as usize;
            if sp > n {
                stack.swap(sp - 1, sp - 1 - n);
                stack[sp - 1] || stack[sp - 1 - n]
            } else {
                true
            }
        } else {
            let info = opcodes::info(op);
            let pops = (info.pops as usize).min(sp);
            let mut t = stack.drain(sp - pops..).any(|t| t) || pops < info.pops as usize;
            let reads = trace.step_words(i);
            let item = |k: usize| reads.get(k).map(word_u64);
            let bytes = |o: u64, n: u64| (o..o.saturating_add(n)).map(move |a| (s.context, a));
            if op == opcodes::MLOAD {
                let o = item(0).unwrap_or(u64::MAX);
                t |= bytes(o, 32).any(|b| tainted_mem.contains(&b));
            }
            if op == opcodes::KECCAK256 {
                // The digest of tainted bytes is tainted (a zero length reads nothing; an area
                // beyond any payable memory is never hashed).
                let (o, n) = (item(0).unwrap_or(u64::MAX), item(1).unwrap_or(u64::MAX));
                if n > 0 && o.saturating_add(n) < 1 << 32 {
                    t |= bytes(o, n).any(|b| tainted_mem.contains(&b));
                }
            }
            let pushed = t || !constrained || pushes_trusted_content(op);
            for _ in 0..info.pushes {
                stack.push(pushed);
            }
            let written = match op {
                opcodes::MSTORE => Some((item(0), Some(32), t || !constrained)),
                opcodes::MSTORE8 => Some((item(0), Some(1), t || !constrained)),
                _ => opcodes::trusted_write_area(op).map(|(d, l)| (item(d), item(l), true)),
            };
            if let Some((Some(o), Some(n), taint)) = written {
                // Areas beyond any payable memory never hold a loaded byte.
                let n = if n > 0 && o.saturating_add(n) < 1 << 32 {
                    n
                } else {
                    0
                };
                for b in bytes(o, n) {
                    if taint {
                        tainted_mem.insert(b);
                    } else {
                        tainted_mem.remove(&b);
                    }
                }
            }
            t
        };
        if constrained && !tainted_input {
            r.untainted_steps += 1;
            untainted[i] = true;
        }
    }
    r.trusted_by_opcode = (0..256)
        .filter(|&o| trusted[o] > 0)
        .map(|o| (OPCODES[o].name, trusted[o]))
        .collect();
    r.trusted_by_opcode
        .sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    (r, untainted)
}
