//! The Keccak permutation and sponge tables, proven with a test source of message lanes and a
//! test consumer of digests (the stand-ins for the memory reads and the CPU's KECCAK256 row,
//! which do not exist yet): known answers against revm's Keccak-256 at the rate boundary and
//! over several blocks, and mutations of a digest limb, a padding byte, an absorbed byte and a
//! permutation output, each rejected.

use core::borrow::{Borrow, BorrowMut};

use p3_air::{Air, BaseAir, WindowAccess};
use p3_field::{PrimeCharacteristicRing, PrimeField32};
use p3_lookup::InteractionBuilder;
use p3_matrix::dense::RowMajorMatrix;
use revm::primitives::keccak256;
use slotproof_prover::{ProveError, ProverOptions};

use crate::buses;
use crate::chips::bool1;
use crate::chips::keccak::columns::{KeccakCols, NUM_KECCAK_COLS, NUM_ROUNDS};
use crate::chips::keccak::trace as perm_trace;
use crate::chips::keccak_bytes::trace as bytes_trace;
use crate::chips::keccak_sponge::columns::{NUM_SPONGE_COLS, RATE, SpongeCols};
use crate::chips::keccak_sponge::trace::{self as sponge_trace, Hash, blocks_of, digest_limbs};
use crate::chips::range::trace::RangeCounts;
use crate::chips::{bitwise, natural_height, range};
use crate::tests::{F, prover};
use crate::{BitwiseAir, EvmAir, KeccakBytesAir, KeccakPermAir, KeccakSpongeAir, RangeAir};

/// The test's stand-in for the memory chip and the CPU: one row per aligned MLOAD the word table
/// sends `(context, timestamp, MLOAD, offset limbs, 16 limbs, sizes, gas)` received, one per
/// digest `(context, timestamp, offset, length, sizes, gas, 16 limbs)` received. Its rows are
/// what the test says memory holds and what the digest (revm's), gas and sizes are; it
/// constrains nothing else.
#[repr(C)]
struct HarnessCols<T> {
    is_load: T,
    is_digest: T,
    ctx: T,
    ts: T,
    offset: T,
    len: T,
    /// Load rows: the offset's 16-bit limbs.
    off_lo: T,
    off_hi: T,
    /// The memory size before and after and the gas (loads: `w + 1`, `w + 1`, 3).
    mw: T,
    mw_next: T,
    cost: T,
    /// Loads: the word's limbs; digests: the digest's.
    data: [T; 16],
}
crate::word::impl_columns!(HarnessCols, NUM_HARNESS_COLS);

#[derive(Clone, Copy, Debug)]
enum TestAir {
    Evm(EvmAir),
    Harness,
}

impl<F: crate::CarryField> BaseAir<F> for TestAir {
    fn width(&self) -> usize {
        match self {
            TestAir::Evm(a) => BaseAir::<F>::width(a),
            TestAir::Harness => NUM_HARNESS_COLS,
        }
    }
    fn main_next_row_columns(&self) -> Vec<usize> {
        match self {
            TestAir::Evm(a) => BaseAir::<F>::main_next_row_columns(a),
            TestAir::Harness => vec![],
        }
    }
}

impl<AB: InteractionBuilder> Air<AB> for TestAir
where
    AB::F: crate::CarryField,
{
    fn eval(&self, builder: &mut AB) {
        match self {
            TestAir::Evm(a) => a.eval(builder),
            TestAir::Harness => {
                let main = builder.main();
                let l: &HarnessCols<AB::Var> = main.current_slice().borrow();
                builder.assert_bool(l.is_load);
                builder.assert_bool(l.is_digest);
                let opcode = AB::Expr::from_u32(crate::opcodes::MLOAD as u32);
                buses::MEMORY_OP.receive(
                    builder,
                    [
                        l.ctx.into(),
                        l.ts.into(),
                        opcode,
                        l.off_lo.into(),
                        l.off_hi.into(),
                    ]
                    .into_iter()
                    .chain(l.data.iter().map(|&x| x.into()))
                    .chain([l.mw.into(), l.mw_next.into(), l.cost.into()]),
                    bool1(l.is_load.into()),
                );
                buses::KECCAK_DIGEST.receive(
                    builder,
                    [l.ctx, l.ts, l.offset, l.len, l.mw, l.mw_next, l.cost]
                        .into_iter()
                        .chain(l.data)
                        .map(Into::into),
                    bool1(l.is_digest.into()),
                );
            }
        }
    }
}

const PERM: usize = 0;
const SPONGE: usize = 1;
const HARNESS: usize = 4;
const BYTES: usize = 5;

struct Batch {
    airs: Vec<TestAir>,
    traces: Vec<RowMajorMatrix<F>>,
}

fn hashes() -> Vec<Hash> {
    // Empty, one byte short of the rate, the rate, one past it, and three and a bit blocks; with
    // memory sizes (words) before the step that make the 135-, 137- and 420-byte areas expand
    // memory and the 136-byte one not.
    // The memory's bytes around each area are not zero (the lanes past the length carry them).
    [(0usize, 3u32), (135, 0), (136, 20), (137, 10), (420, 0)]
        .iter()
        .enumerate()
        .map(|(i, &(len, mw))| {
            let memory = |w: u32| -> [u8; 32] {
                core::array::from_fn(|j| ((32 * w as usize + j) * 31 + i * 7 + 1) as u8)
            };
            Hash::read(
                i as u32 % 2,
                7 + 3 * i as u32,
                64 * i as u32 + 5,
                len,
                mw,
                memory,
            )
        })
        .collect()
}

fn harness(hashes: &[Hash]) -> RowMajorMatrix<F> {
    let mut rows: Vec<HarnessCols<F>> = Vec::new();
    let blank = |h: &Hash| HarnessCols {
        is_load: F::ZERO,
        is_digest: F::ZERO,
        ctx: F::from_u32(h.ctx),
        ts: F::from_u32(h.ts),
        offset: F::from_u32(h.offset),
        len: F::from_usize(h.data.len()),
        off_lo: F::ZERO,
        off_hi: F::ZERO,
        mw: F::ZERO,
        mw_next: F::ZERO,
        cost: F::ZERO,
        data: [F::ZERO; 16],
    };
    for h in hashes {
        for (j, word) in h.words.iter().enumerate() {
            let w = h.offset / 32 + j as u32;
            let mut r = blank(h);
            r.is_load = F::ONE;
            r.off_lo = F::from_u32((32 * w) & 0xffff);
            r.off_hi = F::from_u32((32 * w) >> 16);
            r.mw = F::from_u32(w + 1);
            r.mw_next = F::from_u32(w + 1);
            r.cost = F::from_u32(3);
            for (m, d) in r.data.iter_mut().enumerate() {
                *d = F::from_u32(u32::from(word[30 - 2 * m]) << 8 | u32::from(word[31 - 2 * m]));
            }
            rows.push(r);
        }
        let mut r = blank(h);
        r.is_digest = F::ONE;
        let (mw_next, cost) = h.gas();
        r.mw = F::from_u32(h.mw);
        r.mw_next = F::from_u32(mw_next);
        r.cost = F::from_u64(cost);
        for (d, x) in r.data.iter_mut().zip(digest_limbs(&keccak256(&h.data).0)) {
            *d = F::from_u16(x);
        }
        rows.push(r);
    }
    let height = natural_height(rows.len());
    let mut values = F::zero_vec(height * NUM_HARNESS_COLS);
    for (dst, r) in values.chunks_exact_mut(NUM_HARNESS_COLS).zip(rows) {
        *BorrowMut::<HarnessCols<F>>::borrow_mut(dst) = r;
    }
    RowMajorMatrix::new(values, NUM_HARNESS_COLS)
}

fn batch() -> Batch {
    batch_of(&hashes())
}

fn batch_of(hs: &[Hash]) -> Batch {
    let blocks: usize = hs.iter().map(|h| blocks_of(h.data.len())).sum();
    let mut ands = vec![0u32; 1 << 16];
    let mut u16s = RangeCounts::new(16);
    let (sponge, rows) =
        sponge_trace::generate::<F>(hs, natural_height(blocks), &mut ands, &mut u16s)
            .expect("hashes below the length bound");
    let perm_height = natural_height(perm_trace::rows_for(rows.perms.len())).max(32);
    let perm = perm_trace::generate::<F>(&rows.perms, perm_height);
    let words: usize = hs.iter().map(|h| h.words.len()).sum();
    let bytes = bytes_trace::generate::<F>(hs, natural_height(words), &mut u16s);
    let used = ands.iter().filter(|&&c| c > 0).count();
    let bitwise = bitwise::trace::generate::<F>(&ands, natural_height(used));
    Batch {
        airs: vec![
            TestAir::Evm(EvmAir::KeccakPerm(KeccakPermAir)),
            TestAir::Evm(EvmAir::KeccakSponge(KeccakSpongeAir)),
            TestAir::Evm(EvmAir::Bitwise(BitwiseAir)),
            TestAir::Evm(EvmAir::Range(RangeAir::U16)),
            TestAir::Harness,
            TestAir::Evm(EvmAir::KeccakBytes(KeccakBytesAir)),
        ],
        traces: vec![
            perm,
            sponge,
            bitwise,
            range::trace::generate::<F>(&u16s),
            harness(hs),
            bytes,
        ],
    }
}

fn check(b: &Batch) -> Result<(), ProveError> {
    let pv = vec![vec![]; b.airs.len()];
    prover().prove(&b.airs, &b.traces, &pv).map(|_| ())
}

fn assert_rejected(b: &Batch, what: &str) {
    match check(b) {
        Err(e @ (ProveError::ConstraintViolation { .. } | ProveError::LookupImbalance(_))) => {
            eprintln!("{what}: {e}")
        }
        other => panic!("{what}: expected a constraint violation or imbalance, got {other:?}"),
    }
}

fn sponge_row(b: &mut Batch, r: usize) -> &mut SpongeCols<F> {
    b.traces[SPONGE].values[r * NUM_SPONGE_COLS..(r + 1) * NUM_SPONGE_COLS].borrow_mut()
}

/// The sponge row of block `block` of hash `h`.
fn block_row(h: usize, block: usize) -> usize {
    hashes()[..h]
        .iter()
        .map(|x| blocks_of(x.data.len()))
        .sum::<usize>()
        + block
}

#[test]
fn keccak_known_answers_prove_and_verify() {
    let b = batch();
    // The permutation rows export what Keccak-f gives (the zero state's known image).
    let zero = perm_trace::generate::<F>(&[[0; 25]], 32);
    assert_eq!(perm_trace::output_of(&zero, 0)[0], 0xF125_8F79_40E1_DDE7);
    // Every digest the harness expects is revm's; proving checks the sponge sends exactly those.
    let pv = vec![vec![]; b.airs.len()];
    let p = prover();
    let proof = p.prove(&b.airs, &b.traces, &pv).expect("proves");
    p.verify(&b.airs, &proof, &pv).expect("verifies");
}

#[test]
fn a_hash_past_the_length_bound_is_a_typed_error() {
    let h = Hash {
        ctx: 0,
        ts: 9,
        offset: 0,
        data: vec![0; sponge_trace::MAX_HASH_LEN],
        mw: 0,
        words: vec![],
    };
    let mut ands = vec![0u32; 1 << 16];
    let mut u16s = RangeCounts::new(16);
    let r = sponge_trace::generate::<F>(&[h], 4, &mut ands, &mut u16s);
    assert!(matches!(
        r,
        Err(crate::TraceError::HashTooLong { ts: 9, .. })
    ));
}

#[test]
fn a_wrong_digest_limb_is_rejected() {
    let mut b = batch();
    // The digest the consumer of the 137-byte hash is sent.
    harness_digest_row(&mut b, 3).data[3] += F::ONE;
    assert_rejected(&b, "digest limb");
    // The sponge's own digest bytes, changed in a limb-preserving way (byte + 1, next byte
    // compensated), fail their byte checks or the state they come from.
    let mut b = batch();
    let r = block_row(2, 1);
    let row = sponge_row(&mut b, r);
    row.digest[0] += F::from_u32(256);
    row.digest[1] -= F::ONE;
    assert_rejected(&b, "digest byte");
}

#[test]
fn a_wrong_padding_byte_is_rejected() {
    // 135 bytes: the last block's byte 135 is 0x01 + 0x80.
    let mut b = batch();
    let row = sponge_row(&mut b, block_row(1, 0));
    assert_eq!(row.padded[RATE - 1], F::from_u8(0x81));
    row.padded[RATE - 1] = F::from_u8(0x80);
    assert_rejected(&b, "padding byte");
    // The 0x01 moved one byte later (message ending one byte later): the padding position is
    // tied to the length.
    let mut b = batch();
    let row = sponge_row(&mut b, block_row(3, 1));
    row.pad_at[1] = F::ZERO;
    row.pad_at[2] = F::ONE;
    assert_rejected(&b, "padding position");
}

#[test]
fn a_wrong_absorbed_byte_is_rejected() {
    // A message byte other than the source's.
    let mut b = batch();
    let row = sponge_row(&mut b, block_row(4, 2));
    row.msg[10] += F::ONE;
    row.padded[10] += F::ONE;
    assert_rejected(&b, "message byte");
    // A state byte carried into the next block other than the permutation's output.
    let mut b = batch();
    let row = sponge_row(&mut b, block_row(4, 1));
    row.state_bytes[0] += F::ONE;
    assert_rejected(&b, "state byte");
}

#[test]
fn a_wrong_permutation_output_is_rejected() {
    let mut b = batch();
    let r = NUM_ROUNDS - 1;
    let row: &mut KeccakCols<F> =
        b.traces[PERM].values[r * NUM_KECCAK_COLS..(r + 1) * NUM_KECCAK_COLS].borrow_mut();
    assert_eq!(row.export, F::ONE);
    row.a_prime_prime[1][2][3] += F::ONE;
    assert_rejected(&b, "permutation output");
    // Exported from a row that is not a permutation's last.
    let mut b = batch();
    let row: &mut KeccakCols<F> = b.traces[PERM].values[..NUM_KECCAK_COLS].borrow_mut();
    row.export = F::ONE;
    assert_rejected(&b, "export flag");
}

/// The harness's digest row of hash `h` (its rows: each hash's loads, then its digest).
fn harness_digest_row(b: &mut Batch, h: usize) -> &mut HarnessCols<F> {
    let row: usize = hashes()[..=h]
        .iter()
        .map(|x| x.words.len() + 1)
        .sum::<usize>()
        - 1;
    let cols: &mut HarnessCols<F> =
        b.traces[HARNESS].values[row * NUM_HARNESS_COLS..(row + 1) * NUM_HARNESS_COLS].borrow_mut();
    assert_eq!(cols.is_digest, F::ONE);
    cols
}

#[test]
fn gas_and_memory_size_known_answers() {
    // 30 + 6 words + 3 (w' - w) + (w'^2 - w^2) / 512 (floors), revm's schedule.
    let hs = hashes();
    let got: Vec<(u32, u64)> = hs.iter().map(Hash::gas).collect();
    assert_eq!(got[0], (3, 30));
    assert_eq!(got[1], (7, 30 + 6 * 5 + 3 * 7));
    assert_eq!(got[2], (20, 30 + 6 * 5));
    assert_eq!(got[3], (11, 30 + 6 * 5 + 3));
    assert_eq!(got[4], (22, 30 + 6 * 14 + 3 * 22));
    let big = Hash::read(0, 1, 1000, 40_000, 100, |_| [1; 32]);
    // 41,000 bytes: 1,282 words.
    let w: u64 = 1282;
    assert_eq!(
        big.gas(),
        (
            w as u32,
            30 + 6 * 1250 + 3 * (w - 100) + w * w / 512 - 100 * 100 / 512
        )
    );
}

#[test]
fn a_wrong_gas_or_memory_size_is_rejected() {
    // The consumer claims one more gas (the sponge says what the step costs).
    let mut b = batch();
    harness_digest_row(&mut b, 4).cost += F::ONE;
    assert_rejected(&b, "gas claimed");
    // Both sides agree on one gas less.
    let mut b = batch();
    harness_digest_row(&mut b, 3).cost -= F::ONE;
    sponge_row(&mut b, block_row(3, 1)).gas.cost -= F::ONE;
    assert_rejected(&b, "gas");
    // No growth where the area (135 bytes from 69) ends past the memory (0 words): the size
    // and gas of no growth, on both sides; only the gap's range check is left to fail.
    let mut b = batch();
    let no_growth = F::from_u32(30 + 6 * 5);
    let d = harness_digest_row(&mut b, 1);
    d.mw_next = F::ZERO;
    d.cost = no_growth;
    let g = &mut sponge_row(&mut b, block_row(1, 0)).gas;
    g.mw_next = F::ZERO;
    g.cost = no_growth;
    g.expand = F::ZERO;
    g.sq_lo[1] = F::ZERO;
    g.sq_s[1] = F::ZERO;
    g.sq_r[1] = F::ZERO;
    let gap = F::ZERO - F::from_u32(69 + 135);
    let gap = gap.as_canonical_u32();
    g.gap_lo = F::from_u32(gap & 0xffff);
    g.gap_hi = F::from_u32(gap >> 16);
    g.grow_lo = F::ZERO;
    g.grow_hi = F::ZERO;
    assert_rejected(&b, "memory size");
    // Growth by a length-zero hash (3 words to 4, gas 30 + 3).
    let mut b = batch();
    let d = harness_digest_row(&mut b, 0);
    d.mw_next = F::from_u32(4);
    d.cost = F::from_u32(33);
    let g = &mut sponge_row(&mut b, block_row(0, 0)).gas;
    g.mw_next = F::from_u32(4);
    g.cost = F::from_u32(33);
    g.expand = F::ONE;
    g.sq_lo[1] = F::from_u32(4);
    g.sq_r[1] = F::from_u32(16);
    assert_rejected(&b, "growth without a length");
    // A word count one short: the length's padding to words wraps (its range check fails).
    let mut b = batch();
    let g = &mut sponge_row(&mut b, block_row(2, 1)).gas;
    g.words -= F::ONE;
    g.word_pad -= F::from_u32(32);
    g.cost -= F::from_u32(6);
    harness_digest_row(&mut b, 2).cost -= F::from_u32(6);
    assert_rejected(&b, "word count");
}

fn bytes_row(b: &mut Batch, r: usize) -> &mut crate::chips::keccak_bytes::columns::BytesCols<F> {
    use crate::chips::keccak_bytes::columns::NUM_BYTES_COLS;
    b.traces[BYTES].values[r * NUM_BYTES_COLS..(r + 1) * NUM_BYTES_COLS].borrow_mut()
}

/// The word-table row of word `j` of hash `h`.
fn word_row(h: usize, j: usize) -> usize {
    hashes()[..h].iter().map(|x| x.words.len()).sum::<usize>() + j
}

#[test]
fn a_wrong_memory_word_or_lane_is_rejected() {
    // The 420-byte hash at offset 261 (k = 5): its words 8.. and lanes.
    // A word byte other than memory's (lanes following it): the load differs.
    let mut b = batch();
    let r = word_row(4, 2);
    let row = bytes_row(&mut b, r);
    row.word[10] += F::ONE;
    row.lanes[5] += F::ONE;
    assert_rejected(&b, "word byte");
    // A lane byte not from the word at the offset's shift.
    let mut b = batch();
    bytes_row(&mut b, word_row(4, 1)).lanes[3] += F::ONE;
    assert_rejected(&b, "lane byte");
    // Another shift (the offset no longer 32 base + k).
    let mut b = batch();
    let row = bytes_row(&mut b, word_row(4, 0));
    row.shift[5] = F::ZERO;
    row.shift[6] = F::ONE;
    assert_rejected(&b, "shift");
    // The next word of a crossing lane not the hash's (the row claims to end the hash).
    let mut b = batch();
    bytes_row(&mut b, word_row(4, 3)).more = F::ZERO;
    assert_rejected(&b, "crossing lane without the next word");
    // Another word read for the same lanes (the next row's index follows).
    let mut b = batch();
    bytes_row(&mut b, word_row(4, 2)).i += F::ONE;
    assert_rejected(&b, "word index");
    // A lane the sponge needs not sent.
    let mut b = batch();
    bytes_row(&mut b, word_row(3, 0)).lane_on[2] = F::ZERO;
    assert_rejected(&b, "lane not sent");
}

#[test]
fn verifier_rejects_a_proof_of_a_wrong_digest() {
    let p = prover().with_options(ProverOptions {
        check_witness: false,
    });
    let mut b = batch();
    let r = block_row(0, 0);
    sponge_row(&mut b, r).digest[5] += F::ONE;
    let pv = vec![vec![]; b.airs.len()];
    if let Ok(proof) = p.prove(&b.airs, &b.traces, &pv) {
        assert!(p.verify(&b.airs, &proof, &pv).is_err());
    }
}

/// Committed cells per row of each Keccak table (main + 4 x (LogUp + quotient chunks)).
fn cells_per_row() -> Vec<(&'static str, usize)> {
    let airs = [
        EvmAir::KeccakPerm(KeccakPermAir),
        EvmAir::KeccakSponge(KeccakSpongeAir),
        EvmAir::KeccakBytes(KeccakBytesAir),
    ];
    let programs = prover()
        .instance_programs(&airs, &[10, 10, 10])
        .expect("programs");
    airs.iter()
        .zip(&programs)
        .map(|(a, p)| {
            let i = &p.program.inputs;
            let ext = i.permutation_width + (1 << p.log_quotient_chunks);
            (a.name(), i.main_width + 4 * ext)
        })
        .collect()
}

/// The same for the generated KECCAK256 prover-killer (2 Mgas, KECCAK256 over 512 bytes in a
/// loop): permutations per 65,536-step shard. `cargo test -p slotproof-air --lib
/// keccak_heights_on_the_prover_killer -- --ignored --nocapture`.
#[test]
#[ignore = "prints the Keccak tables' heights on the KECCAK256 prover-killer"]
fn keccak_heights_on_the_prover_killer() {
    use slotproof_executor::generate::giant::{GiantKind, generate_giant};
    let g = generate_giant(GiantKind::Keccak256, 2_000_000).expect("generates");
    for sb in &g.execution.subblocks {
        let t = &sb.trace;
        if t.steps.is_empty() {
            continue;
        }
        let ranges = crate::shard::plan_shards(t, 1 << 16).expect("ranges");
        let starts: Vec<usize> = ranges.iter().map(|r| r.start).collect();
        let an = crate::chips::cpu::trace::analyze(t, &starts).expect("analysis");
        for r in &ranges {
            let hs = sponge_trace::hashes_of(t, &an, r).expect("hashes");
            let blocks: usize = hs.iter().map(|h| blocks_of(h.data.len())).sum();
            println!(
                "keccak256 prover-killer steps {r:?}: {} KECCAK256, {blocks} permutations = {} \
                 rows (2^{})",
                hs.len(),
                perm_trace::rows_for(blocks),
                crate::chips::natural_log_height(perm_trace::rows_for(blocks)),
            );
        }
    }
}

/// The permutations (and sponge blocks) each shard of the fixtures would need: one block per
/// 136 bytes of each successful KECCAK256's input, plus one. `cargo test -p slotproof-air --lib
/// keccak_heights_on_fixtures -- --ignored --nocapture` (mainnet fixtures from
/// `../shared/fixtures`, or `SLOTPROOF_FIXTURES`).
#[test]
#[ignore = "prints the Keccak tables' heights on the fixtures"]
fn keccak_heights_on_fixtures() {
    use slotproof_executor::trace::STEP_OK;
    for (name, cells) in cells_per_row() {
        println!("{name}: {cells} committed cells per row");
    }
    crate::tests_shapes::for_each_fixture_subblock(|path, k, t| {
        for s in crate::shard::generate_shards::<F>(t, 1 << 16).expect("shards") {
            let (mut steps, mut blocks, mut bytes) = (0usize, 0usize, 0u64);
            for i in s.steps.clone() {
                let st = &t.steps[i];
                if st.opcode != crate::opcodes::KECCAK256 || st.status != STEP_OK {
                    continue;
                }
                let (inp, _) = crate::chips::cpu::trace::step_words(t, i);
                let len = u64::from(inp[1].0[0]);
                steps += 1;
                bytes += len;
                blocks += blocks_of(len as usize);
            }
            println!(
                "{path}[{k}] steps {:?} shape {:?}: {steps} KECCAK256, {bytes} bytes, {blocks} \
             permutations = {} rows (2^{}), sponge 2^{}",
                s.steps,
                s.shape,
                perm_trace::rows_for(blocks),
                crate::chips::natural_log_height(perm_trace::rows_for(blocks)),
                crate::chips::natural_log_height(blocks),
            );
        }
    });
}

/// Committed cells of every shape of the menu today, and what the Keccak tables would add at a
/// few heights (they are not tables of a shard yet). `cargo test -p slotproof-air --lib
/// keccak_cost_per_shape -- --ignored --nocapture`.
#[test]
#[ignore = "prints the shapes' committed cells and the Keccak tables' cost"]
fn keccak_cost_per_shape() {
    let airs = EvmAir::shard_airs();
    let programs = prover()
        .instance_programs(&airs, &vec![10; airs.len()])
        .expect("programs");
    let per_row: Vec<u64> = programs
        .iter()
        .map(|p| {
            let i = &p.program.inputs;
            (i.main_width + 4 * (i.permutation_width + (1 << p.log_quotient_chunks))) as u64
        })
        .collect();
    for (k, s) in crate::shape::SHARD_SHAPES.iter().enumerate() {
        let cells: u64 = s
            .log_heights
            .iter()
            .zip(&per_row)
            .map(|(&h, &c)| c << h)
            .sum();
        println!("shape {k}: {:.1} M committed cells", cells as f64 / 1e6);
    }
    let keccak = cells_per_row();
    for log in [10usize, 12, 13, 14, 16] {
        println!(
            "keccak-perm 2^{log} rows ({} permutations): {:.1} M cells; keccak-sponge 2^{}: {:.2} M",
            (1usize << log) / NUM_ROUNDS,
            (keccak[0].1 << log) as f64 / 1e6,
            log - 4,
            (keccak[1].1 << (log - 4)) as f64 / 1e6,
        );
    }
}

// ---- Hashes of real traces: a program revm runs ----

const HASHER: revm::primitives::Address =
    revm::primitives::address!("0x3e400000000000000000000000000000000000ac");

/// The bytes the program stores at `0..256` (eight MSTOREs).
fn stored(a: usize) -> u8 {
    if a < 256 { (a * 7 + 1) as u8 } else { 0 }
}

/// `(offset, length)` of the program's KECCAK256 steps: empty (at an offset no memory has),
/// 135/136/137 bytes, two blocks, three blocks straddling the end of the written memory, and
/// one from inside the written memory past its end (which also expands memory).
fn areas() -> Vec<(revm::primitives::U256, usize)> {
    use revm::primitives::U256;
    let mut v = vec![(U256::from(1u64) << 40, 0)];
    v.extend(
        [
            (0u64, 135),
            (3, 136),
            (5, 137),
            (1, 250),
            (10, 300),
            (240, 100),
        ]
        .map(|(o, l)| (U256::from(o), l)),
    );
    v
}

/// The one subblock of a block calling `code` at [`HASHER`] with `calldata`.
fn run(
    code: revm::primitives::Bytes,
    calldata: Vec<u8>,
) -> slotproof_executor::trace::SubblockTrace {
    use revm::primitives::{Bytes, U256};
    use slotproof_executor::generate::{BlockPlan, TxSpec};
    let plan = BlockPlan {
        txs: vec![TxSpec::call(
            0,
            HASHER,
            U256::ZERO,
            Bytes::from(calldata),
            1_000_000,
        )],
        withdrawals: vec![],
        expected_failures: vec![],
    };
    crate::tests::one_subblock_trace(&[(HASHER, code)], plan)
}

#[test]
fn a_digest_of_tainted_memory_is_tainted() {
    use slotproof_executor::generate::asm::Asm;
    // CALLDATACOPY(0, 0, 32) (trusted bytes), then KECCAK256 over them, over 32 bytes never
    // written, and over nothing.
    let mut a = Asm::new();
    a.push(32).push0().push0().op(crate::opcodes::CALLDATACOPY);
    for (o, l) in [(0u64, 32u64), (64, 32), (0, 0)] {
        a.push(l)
            .push(o)
            .op(crate::opcodes::KECCAK256)
            .op(crate::opcodes::POP);
    }
    a.op(crate::opcodes::STOP);
    let t = run(
        a.assemble("tainted hasher").expect("assembles"),
        vec![7; 32],
    );
    let constrained = |op: u8| {
        crate::coverage::opcode_coverage(op).0 == crate::coverage::Coverage::Constrained
            || op == crate::opcodes::KECCAK256
    };
    let (_, untainted) = crate::coverage::share_and_untainted(
        &t,
        constrained,
        crate::halts::HaltKind::is_constrained,
    );
    let hashes: Vec<bool> = (0..t.steps.len())
        .filter(|&i| t.steps[i].opcode == crate::opcodes::KECCAK256)
        .map(|i| untainted[i])
        .collect();
    assert_eq!(hashes, [false, true, true]);
}

fn hasher_trace() -> &'static slotproof_executor::trace::SubblockTrace {
    use slotproof_executor::generate::asm::Asm;
    static T: std::sync::OnceLock<slotproof_executor::trace::SubblockTrace> =
        std::sync::OnceLock::new();
    T.get_or_init(|| {
        let mut a = Asm::new();
        for w in 0..8 {
            let bytes: Vec<u8> = (0..32).map(|j| stored(32 * w + j)).collect();
            a.push_n(32, &bytes)
                .push(32 * w as u64)
                .op(crate::opcodes::MSTORE);
        }
        for (o, l) in areas() {
            a.push(l as u64)
                .push_word(o)
                .op(crate::opcodes::KECCAK256)
                .op(crate::opcodes::POP);
        }
        a.op(crate::opcodes::STOP);
        run(a.assemble("keccak hasher").expect("assembles"), vec![])
    })
}

/// Every hash of `t`'s steps, checked against revm: the digest it pushed (by `hashes_of`), the
/// gas it charged and the memory size after.
fn checked_hashes(t: &slotproof_executor::trace::SubblockTrace, max_rows: usize) -> Vec<Hash> {
    let ranges = crate::shard::plan_shards(t, max_rows).expect("ranges");
    let starts: Vec<usize> = ranges.iter().map(|r| r.start).collect();
    let an = crate::chips::cpu::trace::analyze(t, &starts).expect("analysis");
    let mut all = Vec::new();
    for r in &ranges {
        for h in sponge_trace::hashes_of(t, &an, r).expect("hashes") {
            let i = h.ts as usize - 1;
            let s = &t.steps[i];
            assert_eq!(h.gas().1, s.gas_before - s.gas_after, "step {i}: gas");
            assert_eq!(h.gas().0, an.aux[i].mw_next, "step {i}: memory size");
            all.push(h);
        }
    }
    all
}

#[test]
fn hashes_of_a_revm_trace_are_its_memory_bytes_and_prove() {
    let t = hasher_trace();
    let hs = checked_hashes(t, t.steps.len());
    assert_eq!(hs.len(), areas().len());
    for (h, (o, l)) in hs.iter().zip(areas()) {
        let o = if l == 0 { 0 } else { o.to::<usize>() };
        let expected: Vec<u8> = (o..o + l).map(stored).collect();
        assert_eq!(h.data, expected, "bytes at {o}..{}", o + l);
        assert_eq!(h.offset as usize, o);
    }
    // The sponge and permutation tables prove these hashes with revm's digests, gas and sizes.
    let b = batch_of(&hs);
    let pv = vec![vec![]; b.airs.len()];
    let p = prover();
    let proof = p.prove(&b.airs, &b.traces, &pv).expect("proves");
    p.verify(&b.airs, &proof, &pv).expect("verifies");
}

#[test]
fn a_digest_unlike_the_replayed_memory_is_a_trace_error() {
    let mut t = hasher_trace().clone();
    let i = t
        .steps
        .iter()
        .position(|s| s.opcode == crate::opcodes::KECCAK256)
        .expect("a KECCAK256 step");
    // The pushed digest, and the same word where the next step (POP) reads it.
    let s = &t.steps[i];
    let pushed = s.stack_words as usize + s.reads as usize;
    let popped = t.steps[i + 1].stack_words as usize;
    assert_eq!(t.steps[i + 1].opcode, crate::opcodes::POP);
    t.stack_words[pushed].0[0] ^= 1;
    t.stack_words[popped].0[0] ^= 1;
    let an = crate::chips::cpu::trace::analyze(&t, &[0]).expect("analysis");
    match sponge_trace::hashes_of(&t, &an, &(0..t.steps.len())) {
        Err(crate::TraceError::Inconsistent { step, .. }) => assert_eq!(step, i),
        other => panic!("expected an inconsistency at step {i}, got {other:?}"),
    }
}

#[test]
fn fixture_hashes_match_revm_across_shard_cuts() {
    // Every KECCAK256 of the repository's keccak and calls fixtures, whole and cut into
    // 3000-step shards (memory carried across the cuts): revm's digests, gas and sizes.
    for name in ["keccak", "calls"] {
        for t in crate::tests::fixture(name) {
            let whole = checked_hashes(t, t.steps.len());
            let cut = checked_hashes(t, 3000);
            assert!(!whole.is_empty());
            assert_eq!(whole, cut, "{name}");
        }
    }
}

/// The fully constrained and untainted shares of the mainnet fixtures today and with
/// KECCAK256 constrained (what wiring the Keccak tables to memory and the CPU would give).
/// `cargo test -p slotproof-air --lib keccak_coverage_projection -- --ignored --nocapture`.
#[test]
#[ignore = "prints coverage shares with KECCAK256 constrained"]
fn keccak_coverage_projection() {
    use crate::coverage::{Coverage, opcode_coverage, share_under};
    use crate::halts::HaltKind;
    let root = std::env::var("SLOTPROOF_FIXTURES")
        .unwrap_or_else(|_| format!("{}/../../../shared/fixtures", env!("CARGO_MANIFEST_DIR")));
    for b in ["22615247", "21688509"] {
        let p = format!("{root}/mainnet/{b}.json");
        let Ok(input) = slotproof_executor::BlockInput::from_path(&p) else {
            println!("{p}: absent");
            continue;
        };
        let exec = slotproof_executor::execute_block(&input, &Default::default()).expect("runs");
        for sb in &exec.subblocks {
            let t = &sb.trace;
            let now = |op: u8| opcode_coverage(op).0 == Coverage::Constrained;
            let before = share_under(t, now, HaltKind::is_constrained);
            let after = share_under(
                t,
                |op| now(op) || op == crate::opcodes::KECCAK256,
                HaltKind::is_constrained,
            );
            for (when, r) in [("today", &before), ("KECCAK256 constrained", &after)] {
                println!(
                    "{b}: {when}: {} steps, {} constrained ({:.2}%), {} untainted ({:.2}%)",
                    r.steps,
                    r.constrained_steps,
                    100.0 * r.constrained_steps as f64 / r.steps as f64,
                    r.untainted_steps,
                    100.0 * r.untainted_steps as f64 / r.steps as f64,
                );
            }
        }
    }
}
