//! Tests on real traces from the repository's fixtures.

use std::sync::OnceLock;

use core::borrow::{Borrow, BorrowMut};

use p3_field::{PrimeCharacteristicRing, PrimeField32};
use p3_koala_bear::KoalaBear;
use slotproof_executor::trace::SubblockTrace;
use slotproof_executor::{BlockInput, ExecuteOptions, execute_block};
use slotproof_prover::{CpuShardProver, FriSettings, ProveError, ProverOptions, ShardProver};

use crate::chips::cpu::columns::{CpuCols, NUM_CPU_COLS};
use crate::opcodes;
use crate::shard::{self, Shard, chains, generate_shards};

pub(crate) type F = KoalaBear;

/// Fixture traces executed once per test binary, by name.
type TraceCache = std::sync::Mutex<Vec<(String, &'static [SubblockTrace])>>;

pub(crate) fn fixture(name: &str) -> &'static [SubblockTrace] {
    static CACHE: OnceLock<TraceCache> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let mut c = cache.lock().unwrap();
    if let Some((_, t)) = c.iter().find(|(n, _)| n == name) {
        return t;
    }
    let path = format!("{}/../../fixtures/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let input = BlockInput::from_path(&path).expect("fixture parses");
    let exec = execute_block(&input, &ExecuteOptions::default()).expect("fixture executes");
    let traces: Vec<SubblockTrace> = exec.subblocks.into_iter().map(|s| s.trace).collect();
    let leaked: &'static [SubblockTrace] = Box::leak(traces.into_boxed_slice());
    c.push((name.to_string(), leaked));
    leaked
}

/// The one subblock of a block the generator assembles from `plan` over a genesis that also
/// holds `contracts` (nonce 1, no balance): the chip tests' hand-written programs.
pub(crate) fn one_subblock_trace(
    contracts: &[(revm::primitives::Address, revm::primitives::Bytes)],
    plan: slotproof_executor::generate::BlockPlan,
) -> SubblockTrace {
    use slotproof_executor::generate::Genesis;
    use slotproof_executor::generate::block::assemble;
    use slotproof_executor::generate::genesis::GenesisAccount;
    let mut genesis = Genesis::build().expect("genesis");
    for (to, code) in contracts {
        let account = GenesisAccount {
            nonce: 1,
            code: code.clone(),
            ..Default::default()
        };
        genesis.accounts.insert(*to, account);
    }
    let block = assemble(&genesis, &plan).expect("the block executes as planned");
    let mut subblocks = block.execution.subblocks;
    assert_eq!(subblocks.len(), 1);
    subblocks.remove(0).trace
}

pub(crate) fn prover() -> CpuShardProver<F> {
    ShardProver::cpu(FriSettings::DEFAULT)
}

pub(crate) fn check(shard: &Shard<F>) -> Result<(), ProveError> {
    prover()
        .prove(&shard.airs, &shard.traces, &shard.public_values)
        .map(|_| ())
}

#[test]
fn keccak_shard_proves_and_verifies() {
    let t = &fixture("keccak")[0];
    let shards = generate_shards::<F>(t, 1024).unwrap();
    let s = &shards[0];
    let p = prover();
    let proof = p
        .prove(&s.airs, &s.traces, &s.public_values)
        .expect("proves");
    p.verify(&s.airs, &proof, &s.public_values)
        .expect("verifies");
}

#[test]
#[ignore = "prints fixture statistics"]
fn fixture_stats() {
    for a in crate::EvmAir::shard_airs() {
        println!("{}: {} columns", a.name(), p3_air::BaseAir::<F>::width(&a));
    }
    for name in ["keccak", "calls", "token", "mixed", "transfers"] {
        for (i, t) in fixture(name).iter().enumerate() {
            let share = crate::coverage::constrained_share(t);
            println!(
                "{name}[{i}]: {} steps, {} contexts, {} codes ({} bytes), constrained {:.1}% top trusted {:?}",
                t.steps.len(),
                t.contexts.len(),
                t.codes.len(),
                t.codes.iter().map(|c| c.1.len()).sum::<usize>(),
                100.0 * share.share(),
                &share.trusted_by_opcode[..share.trusted_by_opcode.len().min(6)]
            );
        }
    }
}

/// Prove and verify `s`.
pub(crate) fn prove_verify(s: &Shard<F>) {
    let p = prover();
    let proof = p
        .prove(&s.airs, &s.traces, &s.public_values)
        .expect("proves");
    p.verify(&s.airs, &proof, &s.public_values)
        .expect("verifies");
}

#[test]
fn every_fixture_subblock_proves_and_verifies() {
    // The first 1024 steps of every subblock of every fixture (later shards: see the chaining
    // tests).
    for name in ["keccak", "calls", "token", "mixed", "transfers"] {
        for t in fixture(name) {
            let shards = generate_shards::<F>(t, 1024).unwrap();
            prove_verify(&shards[0]);
        }
    }
}

#[test]
fn calls_shards_prove_and_chain() {
    // 40k steps, 727 contexts: fixed-size shards cut through calls and returns, so stack items
    // and suspended calls are carried across the cuts.
    let t = &fixture("calls")[0];
    let shards =
        shard::generate_shards_in::<F>(t, shard::fixed_ranges(t.steps.len(), 1 << 13)).unwrap();
    assert!(shards.len() >= 4);
    assert!(
        shards[1..]
            .iter()
            .any(|s| s.public_values[shard::BOUNDARY][0] == F::ONE),
        "some cut carries state"
    );
    for s in &shards {
        check(s).expect("shard proves");
    }
    for w in shards.windows(2) {
        assert!(chains(&w[0].cpu_public, &w[1].cpu_public));
    }
    // The chaining check is not vacuous: a gap or a changed pc breaks it.
    let (a, mut b) = (shards[0].cpu_public, shards[1].cpu_public);
    b.first_step += F::ONE;
    assert!(!chains(&a, &b));
    let mut b = shards[1].cpu_public;
    b.first_pc += F::ONE;
    b.first_entry = F::ONE;
    assert!(!chains(&a, &b) || a.last_cont == F::ZERO);
    // A context's call count and memory size carry over a cut inside it.
    let w = shards
        .windows(2)
        .find(|w| w[0].cpu_public.last_cont == F::ONE)
        .expect("a cut inside a context");
    let a = w[0].cpu_public;
    for tamper in [
        |b: &mut crate::CpuPublic<F>| b.first_ncalls += F::ONE,
        |b: &mut crate::CpuPublic<F>| b.first_mw += F::ONE,
    ] {
        let mut b = w[1].cpu_public;
        assert!(chains(&a, &b));
        tamper(&mut b);
        assert!(!chains(&a, &b));
    }
    assert!(shard::subblock_ends(&shards[0], shards.last().unwrap()));
    assert!(!shard::subblock_ends(&shards[1], shards.last().unwrap()));
}

#[test]
fn shards_are_cut_between_transactions_and_carry_nothing() {
    // `generate_shards` cuts on segment starts wherever one falls within the shard size; such
    // shards take no carried stack items or suspended calls, and the shards still prove and chain.
    let t = &fixture("calls")[0];
    let max = 1 << 13;
    let ranges = shard::plan_shards(t, max).unwrap();
    let starts: std::collections::HashSet<usize> =
        t.segments.iter().map(|s| s.first_step as usize).collect();
    assert!(ranges.len() >= 4);
    for w in ranges.windows(2) {
        assert!(w[0].len() <= max);
        if !starts.contains(&w[1].start) {
            // A forced cut: the window held no segment start.
            assert_eq!(w[0].len(), max);
            assert!(!starts.iter().any(|&c| c > w[0].start && c <= w[0].end));
        }
    }
    let shards = generate_shards::<F>(t, max).unwrap();
    let mut clean = 0;
    for s in &shards {
        if starts.contains(&s.steps.start) {
            assert_eq!(s.public_values[shard::BOUNDARY][0], F::ZERO);
            clean += 1;
        }
        if s.steps.end == t.steps.len() || starts.contains(&s.steps.end) {
            assert_eq!(s.public_values[shard::BOUNDARY][1], F::ZERO);
        }
        check(s).expect("shard proves");
    }
    assert!(clean >= 2, "cuts on segment starts exist");
    for w in shards.windows(2) {
        assert!(chains(&w[0].cpu_public, &w[1].cpu_public));
    }
    assert!(shard::subblock_ends(&shards[0], shards.last().unwrap()));
    assert!(matches!(
        shard::generate_shards_in::<F>(t, std::iter::once(0..10).collect()),
        Err(crate::TraceError::BadShardRanges { .. })
    ));
}

#[test]
fn shards_of_any_size_prove_and_chain() {
    // 3000 steps per shard: the last row of a shard is followed by padding rows.
    let t = &fixture("token")[0];
    let shards =
        shard::generate_shards_in::<F>(t, shard::fixed_ranges(t.steps.len(), 3000)).unwrap();
    assert_eq!(shards.len(), 2);
    for s in &shards {
        check(s).expect("shard proves");
    }
    assert!(chains(&shards[0].cpu_public, &shards[1].cpu_public));
    assert!(shard::subblock_ends(&shards[0], &shards[1]));
}

#[test]
fn mutated_resumption_is_rejected() {
    let t = &fixture("calls")[0];
    let base = shard::generate_shards_in::<F>(t, shard::fixed_ranges(t.steps.len(), 2048))
        .unwrap()
        .remove(0);
    let r = (1..base.steps.len())
        .find(|&r| cpu_row(&base, r).resume == F::ONE)
        .expect("a caller resuming");
    // Claiming the caller starts afresh instead.
    let mut s = base.clone();
    let row = cpu_row_mut(&mut s, r);
    row.resume = F::ZERO;
    row.fresh = F::ONE;
    assert_rejected(&s, "resume as fresh");
    // Resuming in another code.
    let mut s = base.clone();
    cpu_row_mut(&mut s, r).code_id += F::ONE;
    assert_rejected(&s, "resume in another code");
    // Resuming after a different callee.
    let mut s = base;
    cpu_row_mut(&mut s, r).prev_ctx += F::ONE;
    assert_rejected(&s, "resume after another callee");
}

// ---------------------------------------------------------------------------------------------
// Mutation tests: a changed cell or public value must make proving (or verifying) fail.

/// A keccak shard with calls to every kind of row we mutate.
fn base_shard() -> Shard<F> {
    static S: OnceLock<Shard<F>> = OnceLock::new();
    S.get_or_init(|| {
        let t = &fixture("keccak")[0];
        shard::generate_shards_in::<F>(t, shard::fixed_ranges(t.steps.len(), 1024))
            .unwrap()
            .remove(0)
    })
    .clone()
}

fn cpu_row(s: &Shard<F>, r: usize) -> &CpuCols<F> {
    s.traces[shard::CPU].values[r * NUM_CPU_COLS..(r + 1) * NUM_CPU_COLS].borrow()
}

fn cpu_row_mut(s: &mut Shard<F>, r: usize) -> &mut CpuCols<F> {
    s.traces[shard::CPU].values[r * NUM_CPU_COLS..(r + 1) * NUM_CPU_COLS].borrow_mut()
}

/// First CPU row (after row 0) of a successful step of an opcode satisfying `pred`.
fn find_row(s: &Shard<F>, pred: impl Fn(u8) -> bool) -> usize {
    (1..s.steps.len())
        .find(|&r| {
            let c = cpu_row(s, r);
            c.exc == F::ZERO && pred(c.op.opcode.as_canonical_u32() as u8)
        })
        .expect("row with that opcode")
}

fn assert_rejected(s: &Shard<F>, what: &str) {
    match check(s) {
        Err(ProveError::ConstraintViolation { .. }) | Err(ProveError::LookupImbalance(_)) => {}
        other => panic!("{what}: expected a constraint violation or imbalance, got {other:?}"),
    }
}

#[test]
fn base_shard_is_valid() {
    check(&base_shard()).expect("unmutated shard proves");
}

#[test]
fn mutated_opcode_is_rejected() {
    let mut s = base_shard();
    let r = find_row(&s, |o| o == opcodes::ADD);
    cpu_row_mut(&mut s, r).op.opcode = F::from_u8(opcodes::SUB);
    assert_rejected(&s, "opcode");
}

#[test]
fn mutated_opcode_with_its_properties_is_rejected() {
    // Consistent with the opcode table, but not the byte at pc.
    let mut s = base_shard();
    let r = find_row(&s, |o| o == opcodes::ADD);
    let props = crate::chips::opcode_table::props_of(opcodes::SUB).map(F::from_u32);
    cpu_row_mut(&mut s, r).op = props;
    assert_rejected(&s, "opcode and properties");
}

#[test]
fn mutated_pc_is_rejected() {
    let mut s = base_shard();
    let r = find_row(&s, |o| o == opcodes::ADD);
    cpu_row_mut(&mut s, r).pc += F::ONE;
    assert_rejected(&s, "pc");
}

#[test]
fn mutated_jump_target_is_rejected() {
    let mut s = base_shard();
    let r = find_row(&s, |o| o == opcodes::JUMP);
    let row = cpu_row_mut(&mut s, r);
    row.npc += F::ONE;
    assert_rejected(&s, "jump target");
}

#[test]
fn mutated_gas_is_rejected() {
    let mut s = base_shard();
    let r = find_row(&s, |o| o == opcodes::ADD);
    let row = cpu_row_mut(&mut s, r);
    row.gas_after += F::ONE;
    row.ga_lo += F::ONE;
    assert_rejected(&s, "gas");
}

#[test]
fn mutated_stack_value_is_rejected() {
    // The value an ADD pops differs from the value last pushed to that slot.
    let mut s = base_shard();
    let r = find_row(&s, |o| o == opcodes::ADD);
    cpu_row_mut(&mut s, r).inp[0][0] += F::ONE;
    assert_rejected(&s, "stack value");
}

#[test]
fn mutated_swap_operand_is_rejected() {
    let mut s = base_shard();
    let r = find_row(&s, |o| (opcodes::SWAP1..=opcodes::SWAP16).contains(&o));
    cpu_row_mut(&mut s, r).inp[1][3] += F::ONE;
    assert_rejected(&s, "swap operand");
}

#[test]
fn mutated_dup_copy_is_rejected() {
    let mut s = base_shard();
    let r = find_row(&s, |o| (opcodes::DUP1..=opcodes::DUP16).contains(&o));
    cpu_row_mut(&mut s, r).out[0] += F::ONE;
    assert_rejected(&s, "dup copy");
}

#[test]
fn mutated_stack_timestamp_is_rejected() {
    let mut s = base_shard();
    let r = find_row(&s, |o| o == opcodes::ADD);
    let row = cpu_row_mut(&mut s, r);
    row.ts_old[0] += F::ONE;
    row.tsd_lo[0] -= F::ONE;
    assert_rejected(&s, "timestamp");
}

#[test]
fn mutated_push_immediate_is_rejected() {
    let mut s = base_shard();
    let r = find_row(&s, |o| (opcodes::PUSH1..=opcodes::PUSH32).contains(&o));
    cpu_row_mut(&mut s, r).out[0] += F::ONE;
    assert_rejected(&s, "push immediate");
}

#[test]
fn mutated_limb_out_of_range_is_rejected() {
    // gas_after = lo + 2^16 hi: lo + 2^16, hi - 1 keeps the sum; only the u16 lookup catches it.
    let mut s = base_shard();
    let r = find_row(&s, |o| o == opcodes::ADD);
    let row = cpu_row_mut(&mut s, r);
    assert_ne!(row.ga_hi, F::ZERO);
    row.ga_lo += F::from_u32(1 << 16);
    row.ga_hi -= F::ONE;
    assert_rejected(&s, "gas limb range");
    // The same for a timestamp gap (hi becomes -1: the gap would be negative).
    let mut s = base_shard();
    let r = find_row(&s, |o| o == opcodes::ADD);
    let row = cpu_row_mut(&mut s, r);
    row.tsd_lo[0] += F::from_u32(1 << 16);
    row.tsd_hi[0] -= F::ONE;
    assert_rejected(&s, "timestamp gap range");
}

#[test]
fn mutated_alu_result_is_rejected() {
    // CPU and ALU agree on a wrong sum: the ALU's adder rejects it.
    let mut s = base_shard();
    let r = find_row(&s, |o| o == opcodes::ADD);
    let alu_rows = s.traces[shard::ALU].values.len() / crate::chips::alu::columns::NUM_ALU_COLS;
    let cpu = *cpu_row(&s, r);
    let w = crate::chips::alu::columns::NUM_ALU_COLS;
    let target = (0..alu_rows)
        .find(|&i| {
            let a: &crate::chips::alu::columns::AluCols<F> =
                s.traces[shard::ALU].values[i * w..(i + 1) * w].borrow();
            a.flags[0] == F::ONE && a.a == cpu.inp[0] && a.b == cpu.inp[1] && a.c == cpu.out
        })
        .expect("the ALU row of that ADD");
    let a: &mut crate::chips::alu::columns::AluCols<F> =
        s.traces[shard::ALU].values[target * w..(target + 1) * w].borrow_mut();
    a.c[5] += F::ONE;
    assert_rejected(&s, "alu result");
}

#[test]
fn mutated_multiplicity_is_rejected() {
    let mut s = base_shard();
    // The u16 table's rows are its range columns and the byte-pair columns after them: the
    // multiplicity of value 7 is row 7's second cell.
    let w = s.traces[shard::RANGE_U16].width;
    assert!(w > crate::chips::range::columns::NUM_RANGE_COLS);
    s.traces[shard::RANGE_U16].values[7 * w + 1] += F::ONE;
    assert_rejected(&s, "u16 multiplicity");
    let mut s = base_shard();
    let w = crate::chips::opcode_table::columns::NUM_OPCODE_TABLE_COLS;
    let mult = w - 2;
    s.traces[shard::OPCODE_TABLE].values[opcodes::ADD as usize * w + mult] += F::ONE;
    assert_rejected(&s, "opcode multiplicity");
}

/// The AND table holds only the pairs its shard looks up; each row is a correct AND by its bits,
/// so a changed bit (another pair), a non-boolean bit, a dropped row or a changed multiplicity
/// leaves the lookups unbalanced or breaks a constraint.
#[test]
fn mutated_and_table_is_rejected() {
    use crate::chips::bitwise::columns::{BitwiseCols, NUM_BITWISE_COLS as W};
    let base = base_shard();
    let rows = base.traces[shard::BITWISE].values.len() / W;
    assert!(rows < 1 << 16, "the AND table is sparse ({rows} rows)");
    let used = (0..rows)
        .find(|&r| base.traces[shard::BITWISE].values[r * W + W - 1] != F::ZERO)
        .expect("the keccak shard looks up an AND");
    fn row(s: &mut Shard<F>, used: usize) -> &mut BitwiseCols<F> {
        s.traces[shard::BITWISE].values[used * W..(used + 1) * W].borrow_mut()
    }
    let mut s = base.clone();
    let bit = &mut row(&mut s, used).x_bits[3];
    *bit = F::ONE - *bit;
    assert_rejected(&s, "AND table pair");
    let mut s = base.clone();
    row(&mut s, used).y_bits[0] = F::TWO;
    assert_rejected(&s, "AND table bit");
    let mut s = base.clone();
    row(&mut s, used).mult = F::ZERO;
    assert_rejected(&s, "AND table row dropped");
    let mut s = base;
    row(&mut s, used).mult += F::ONE;
    assert_rejected(&s, "AND table multiplicity");
}

#[test]
fn mutated_bytecode_is_rejected() {
    let mut s = base_shard();
    let w = crate::chips::bytecode::columns::NUM_BYTECODE_COLS;
    // Turn the first JUMPDEST of the first code into a STOP: jumps there are no longer valid.
    let rows = s.traces[shard::BYTECODE].values.len() / w;
    let r = (0..rows)
        .find(|&i| {
            let c: &crate::chips::bytecode::columns::BytecodeCols<F> =
                s.traces[shard::BYTECODE].values[i * w..(i + 1) * w].borrow();
            c.is_jumpdest == F::ONE && c.mult_exec != F::ZERO
        })
        .expect("an executed JUMPDEST");
    let c: &mut crate::chips::bytecode::columns::BytecodeCols<F> =
        s.traces[shard::BYTECODE].values[r * w..(r + 1) * w].borrow_mut();
    c.byte = F::ZERO;
    c.is_jumpdest = F::ZERO;
    assert_rejected(&s, "bytecode");
}

#[test]
fn mutated_flags_are_rejected() {
    let mut s = base_shard();
    let r = find_row(&s, |o| o == opcodes::ADD);
    cpu_row_mut(&mut s, r).exc = F::ONE;
    assert_rejected(&s, "exceptional flag on a successful step");
    let mut s = base_shard();
    let r = find_row(&s, |o| o == opcodes::ADD);
    cpu_row_mut(&mut s, r).cont = F::ZERO;
    assert_rejected(&s, "leaving a context on an ADD");
}

#[test]
fn mutated_public_values_are_rejected() {
    use core::mem::offset_of;
    type P = crate::CpuPublic<u8>;
    for i in [
        0,
        1,
        2,
        offset_of!(P, first_ncalls),
        offset_of!(P, first_mw),
        offset_of!(P, last_step),
        offset_of!(P, last_npc),
        offset_of!(P, last_gas_after),
        offset_of!(P, last_ncalls_next),
        offset_of!(P, last_mw_next),
    ] {
        let mut s = base_shard();
        s.public_values[shard::CPU][i] += F::ONE;
        assert_rejected(&s, "cpu public value");
    }
    let mut s = base_shard();
    s.public_values[shard::BOUNDARY][1] = F::ONE;
    s.public_values[shard::BOUNDARY][0] = F::from_u32(2);
    assert_rejected(&s, "boundary public value");
}

#[test]
fn verifier_rejects_a_proof_of_a_mutated_trace() {
    // With the prover's witness check off, the proof is made anyway; the verifier rejects it.
    let p = prover().with_options(ProverOptions {
        check_witness: false,
    });
    let mut s = base_shard();
    let r = find_row(&s, |o| o == opcodes::ADD);
    cpu_row_mut(&mut s, r).gas_after += F::ONE;
    if let Ok(proof) = p.prove(&s.airs, &s.traces, &s.public_values) {
        assert!(p.verify(&s.airs, &proof, &s.public_values).is_err());
    }
    let s = base_shard();
    let proof = p.prove(&s.airs, &s.traces, &s.public_values).unwrap();
    let mut pv = s.public_values.clone();
    pv[shard::CPU][0] += F::ONE;
    assert!(p.verify(&s.airs, &proof, &pv).is_err());
}

#[test]
fn coverage_share_and_table() {
    let t = &fixture("keccak")[0];
    let r = crate::coverage::constrained_share(t);
    assert_eq!(r.steps, t.steps.len());
    // Counted by hand from the records: successful steps of constrained opcodes.
    let by_hand = t
        .steps
        .iter()
        .filter(|s| {
            s.status == slotproof_executor::trace::STEP_OK
                && crate::coverage::opcode_coverage(s.opcode).0 == crate::Coverage::Constrained
        })
        .count();
    assert_eq!(r.constrained_steps, by_hand + r.constrained_halts);
    assert!(r.share() > 0.5 && r.share() < 1.0, "share {}", r.share());
    let trusted: usize = r.trusted_by_opcode.iter().map(|x| x.1).sum();
    assert_eq!(
        trusted + r.constrained_steps + r.exceptional_steps - r.constrained_halts,
        r.steps
    );

    let table = crate::CoverageTable::current();
    let json = table.to_json();
    assert!(json.starts_with(&format!(
        "{{\"version\":{}",
        crate::coverage::COVERAGE_VERSION
    )));
    assert_eq!(json, crate::CoverageTable::current().to_json());
    // Nothing block-level is called constrained except what the AIR proves.
    assert!(
        table
            .opcodes
            .iter()
            .any(|o| o.name == "SSTORE" && o.coverage == crate::Coverage::Trusted)
    );
    assert!(
        table
            .checks
            .iter()
            .any(|c| c.check == "post-state root" && c.coverage == crate::Coverage::Trusted)
    );
}

#[test]
fn babybear_shard_proves_and_verifies() {
    use slotproof_prover::BabyBear;
    let t = &fixture("calls")[0];
    let s = generate_shards::<BabyBear>(t, 1024).unwrap().remove(0);
    let p: CpuShardProver<BabyBear> = ShardProver::cpu(FriSettings::DEFAULT);
    let proof = p
        .prove(&s.airs, &s.traces, &s.public_values)
        .expect("proves");
    p.verify(&s.airs, &proof, &s.public_values)
        .expect("verifies");
}

#[test]
fn plan_shards_in_recuts_one_range_the_same_way() {
    // Re-cutting one planned shard: parts cover exactly its range, each within the new size,
    // cut on segment starts where one falls in the window; over the whole trace it is
    // `plan_shards`. Ranges outside the trace or empty are errors.
    let t = &fixture("calls")[0];
    let n = t.steps.len();
    assert_eq!(
        shard::plan_shards_in(t, 0..n, 1 << 13).unwrap(),
        shard::plan_shards(t, 1 << 13).unwrap()
    );
    let starts: std::collections::HashSet<usize> =
        t.segments.iter().map(|s| s.first_step as usize).collect();
    let whole = shard::plan_shards(t, 1 << 13).unwrap();
    let target = whole.iter().max_by_key(|r| r.len()).unwrap().clone();
    let max = target.len().div_ceil(4);
    let parts = shard::plan_shards_in(t, target.clone(), max).unwrap();
    assert!(parts.len() >= 4);
    assert_eq!(parts[0].start, target.start);
    assert_eq!(parts.last().unwrap().end, target.end);
    for w in parts.windows(2) {
        assert_eq!(w[0].end, w[1].start);
        assert!(w[0].len() <= max);
        if !starts.contains(&w[1].start) {
            assert_eq!(w[0].len(), max);
        }
    }
    // The subblock with that shard replaced by its parts is a valid set of shards.
    let ranges: Vec<_> = whole
        .iter()
        .flat_map(|r| {
            if *r == target {
                parts.clone()
            } else {
                vec![r.clone()]
            }
        })
        .collect();
    let shards = shard::generate_shards_in::<F>(t, ranges).unwrap();
    for w in shards.windows(2) {
        assert!(chains(&w[0].cpu_public, &w[1].cpu_public));
    }
    for bad in [n..n + 1, 5..5, 0..n + 1] {
        assert!(matches!(
            shard::plan_shards_in(t, bad, 8),
            Err(crate::TraceError::BadShardRanges { .. })
        ));
    }
}

#[test]
#[ignore = "prints coverage figures of the mainnet fixtures (../shared/fixtures) and mixed"]
fn coverage_figures_of_each_table() {
    let root = env!("CARGO_MANIFEST_DIR");
    for path in [
        format!("{root}/../../../shared/fixtures/mainnet/21688509.json"),
        format!("{root}/../../../shared/fixtures/mainnet/22615247.json"),
        format!("{root}/../../fixtures/mixed.json"),
    ] {
        let Ok(input) = BlockInput::from_path(&path) else {
            println!("{path}: absent, skipped");
            continue;
        };
        let exec = execute_block(&input, &ExecuteOptions::default()).expect("executes");
        let (mut v3, mut v4, mut v5, mut v7, mut v8, mut after) = (
            crate::coverage::ShareReport::default(),
            crate::coverage::ShareReport::default(),
            crate::coverage::ShareReport::default(),
            crate::coverage::ShareReport::default(),
            crate::coverage::ShareReport::default(),
            crate::coverage::ShareReport::default(),
        );
        // Coverage table v8: the current one less the memory and block-context opcodes; v7: v8
        // less STOP, INVALID and the exceptional halts.
        let memory_op = |op: u8| {
            [
                opcodes::MLOAD,
                opcodes::MSTORE,
                opcodes::MSTORE8,
                opcodes::MSIZE,
            ]
            .contains(&op)
                || opcodes::reads_block_context(op)
        };
        let v8_constrained = |op: u8| {
            crate::coverage::opcode_coverage(op).0 == crate::Coverage::Constrained && !memory_op(op)
        };
        let constrained =
            |op: u8| v8_constrained(op) && op != opcodes::STOP && op != opcodes::INVALID;
        let no_halts = |_| false;
        for s in &exec.subblocks {
            // v3: v7 less the multiplication chip's opcodes; v4: less MULMOD and EXP; v5: less
            // EXP; v6 has v7's shares.
            v3.add(&crate::coverage::share_under(
                &s.trace,
                |op| constrained(op) && !opcodes::MULDIV_OPCODES.contains(&op),
                no_halts,
            ));
            v4.add(&crate::coverage::share_under(
                &s.trace,
                |op| constrained(op) && op != opcodes::MULMOD && op != opcodes::EXP,
                no_halts,
            ));
            v5.add(&crate::coverage::share_under(
                &s.trace,
                |op| constrained(op) && op != opcodes::EXP,
                no_halts,
            ));
            v7.add(&crate::coverage::share_under(
                &s.trace,
                constrained,
                no_halts,
            ));
            v8.add(&crate::coverage::share_under(
                &s.trace,
                v8_constrained,
                crate::halts::HaltKind::is_constrained,
            ));
            after.add(&crate::coverage::constrained_share(&s.trace));
        }
        println!(
            "{path}: v7 constrained {:.2}% untainted {:.2}%; v8 constrained {:.2}% untainted {:.2}%; v9 (current) constrained {:.2}% untainted {:.2}% ({} exceptional steps, {} of them constrained)",
            100.0 * v7.share(),
            100.0 * v7.untainted_share(),
            100.0 * v8.share(),
            100.0 * v8.untainted_share(),
            100.0 * after.share(),
            100.0 * after.untainted_share(),
            after.exceptional_steps,
            after.constrained_halts,
        );
        println!(
            "{path}: {} steps; v3 constrained {:.2}% untainted {:.2}%; v4 constrained {:.2}% untainted {:.2}%; v5 constrained {:.2}% untainted {:.2}%; v6 and v7 constrained {:.2}% untainted {:.2}%; ALU II opcodes still trusted {:?}",
            after.steps,
            100.0 * v3.share(),
            100.0 * v3.untainted_share(),
            100.0 * v4.share(),
            100.0 * v4.untainted_share(),
            100.0 * v5.share(),
            100.0 * v5.untainted_share(),
            100.0 * v7.share(),
            100.0 * v7.untainted_share(),
            after
                .trusted_by_opcode
                .iter()
                .filter(|(n, _)| [
                    "SDIV",
                    "SMOD",
                    "ADDMOD",
                    "MULMOD",
                    "EXP",
                    "SIGNEXTEND",
                    "BYTE",
                    "SAR"
                ]
                .contains(n))
                .collect::<Vec<_>>()
        );
    }
}

#[test]
fn streamed_shards_are_the_ones_generated_at_once() {
    // Cuts inside calls (fixed ranges), so carried stack items and resume tokens are involved.
    let t = &fixture("calls")[0];
    let ranges = shard::fixed_ranges(t.steps.len(), 700);
    let at_once = shard::generate_shards_in::<F>(t, ranges.clone()).unwrap();
    let mut stream = shard::ShardStream::new(t, &ranges).unwrap();
    for (r, whole) in ranges.iter().zip(&at_once) {
        let s = stream.generate::<F>(r.clone()).unwrap();
        assert_eq!(s.traces, whole.traces);
        assert_eq!(s.public_values, whole.public_values);
    }
    // Re-cutting the first shard in two: its parts are the ones generated at once with that cut.
    let first = ranges[0].clone();
    let mid = first.start + first.len() / 2;
    let parts = vec![first.start..mid, mid..first.end];
    stream.recut(first, &parts).unwrap();
    let recut_ranges: Vec<_> = parts
        .iter()
        .cloned()
        .chain(ranges[1..].iter().cloned())
        .collect();
    let recut = shard::generate_shards_in::<F>(t, recut_ranges).unwrap();
    for (r, whole) in parts.iter().zip(&recut) {
        assert_eq!(
            stream.generate::<F>(r.clone()).unwrap().traces,
            whole.traces
        );
    }
    // Ranges that do not start and end at the stream's boundaries are errors, not panics.
    assert!(matches!(
        stream.generate::<F>(1..mid),
        Err(crate::TraceError::BadShardRanges { .. })
    ));
    assert!(matches!(
        shard::ShardStream::new(t, std::slice::from_ref(&(0..10))),
        Err(crate::TraceError::BadShardRanges { .. })
    ));
}
