//! The Fiat–Shamir transcript in a [`Build`]: the project's duplex challenger
//! (`DuplexChallenger<KoalaBear, Poseidon2, 16, 8>` inside `CanonicalChallenger`) as memory
//! words and Poseidon2 rows.
//!
//! The sponge is 16 state words (zero constants at first) and input and output buffers of
//! words. A duplex is one Poseidon2 row whose 16 outputs are fresh words. The rules are
//! `DuplexChallenger::duplexing`: the buffered inputs overwrite the leading rate lanes; after a
//! non-empty absorb the rest of the rate is zero and the absorbed count is added to the first
//! capacity element (one `Alu` row); a squeeze permutes the state as it is. Observing clears the
//! output buffer and duplexes at 8 buffered inputs; sampling duplexes when inputs are buffered
//! or the outputs are used up, then pops the **last** output.
//!
//! `sample_bits` decomposes a sample into 31 hinted bits, each asserted boolean, asserts their
//! recomposition, and checks that the decomposition is **canonical** (KoalaBear
//! `p = 2^31 − 2^24 + 1`: bits 24..30 all one forces bits 0..23 to zero), so the index is the
//! sample's one canonical form, as `as_canonical_u64` gives it natively.

use p3_field::{PrimeCharacteristicRing, PrimeField32};

use super::{Build, Word};
use crate::config::{Challenge, Val};
use crate::ops::Ops;
use crate::tables::poseidon2::WIDTH;

/// Sponge rate.
const RATE: usize = 8;
/// Bits of a KoalaBear element.
const FIELD_BITS: usize = 31;
/// `p − 1 = 2^31 − 2^24`: the top `FIELD_BITS − TWO_ADICITY` bits all one leave only zero below.
const TWO_ADICITY: usize = 24;

/// The sponge's words between operations.
#[derive(Debug, Default)]
pub struct TranscriptState {
    /// `None` until the first duplex: the all-zero state.
    state: Option<[Word; WIDTH]>,
    input: Vec<Word>,
    output: Vec<Word>,
}

fn duplex(build: &mut Build) {
    let zero = build.constant_word(Challenge::ZERO);
    let mut state = build.transcript.state.unwrap_or([zero; WIDTH]);
    let input = core::mem::take(&mut build.transcript.input);
    let absorbed = input.len();
    state[..absorbed].copy_from_slice(&input);
    if absorbed > 0 {
        for lane in &mut state[absorbed..RATE] {
            *lane = zero;
        }
        let one = build.constant_word(Challenge::ONE);
        let count = build.constant_word(Challenge::from(Val::from_usize(absorbed)));
        state[RATE] = build.alu(state[RATE], one, count);
    }
    let output = build.poseidon2(state);
    build.transcript.state = Some(output);
    build.transcript.output = output[..RATE].to_vec();
}

pub(crate) fn observe(build: &mut Build, value: Word) {
    build.transcript.output.clear();
    build.transcript.input.push(value);
    if build.transcript.input.len() == RATE {
        duplex(build);
    }
}

pub(crate) fn sample(build: &mut Build) -> Word {
    if !build.transcript.input.is_empty() || build.transcript.output.is_empty() {
        duplex(build);
    }
    match build.transcript.output.pop() {
        Some(w) => w,
        // A duplex always refills the rate.
        None => build.constant_word(Challenge::ZERO),
    }
}

/// The 31 bits of a base word, hinted, each asserted boolean, their recomposition asserted
/// equal to the word and the decomposition asserted canonical. Least significant first.
pub(crate) fn canonical_bits(build: &mut Build, value: Word) -> Vec<Word> {
    let v = build.value(value).as_canonical_u32();
    let zero = build.constant_word(Challenge::ZERO);
    let bits: Vec<Word> = (0..FIELD_BITS)
        .map(|k| build.base_hint_word(Val::from_bool(v >> k & 1 == 1)))
        .collect();
    for &b in &bits {
        // b·b + 0 = b.
        build.alu_assert(b, b, zero, b);
    }
    // Σ b_k·2^k, the low 24 bits kept apart for the canonicity check.
    let mut acc = zero;
    let mut low = zero;
    for (k, &b) in bits.iter().enumerate() {
        let power = build.constant_word(Challenge::from(Val::from_u32(1 << k)));
        if k == FIELD_BITS - 1 {
            build.alu_assert(b, power, acc, value);
        } else {
            acc = build.alu(b, power, acc);
        }
        if k + 1 == TWO_ADICITY {
            low = acc;
        }
    }
    // (Π bits 24..30)·(bits 0..23) = 0.
    let mut high = bits[TWO_ADICITY];
    for &b in &bits[TWO_ADICITY + 1..] {
        high = build.alu(high, b, zero);
    }
    build.alu_assert(high, low, zero, zero);
    bits
}

pub(crate) fn sample_bits(build: &mut Build, bits: usize) -> Vec<Word> {
    let s = sample(build);
    let mut all = canonical_bits(build, s);
    all.truncate(bits);
    all
}

pub(crate) fn check_witness(build: &mut Build, bits: usize, witness: Word) -> bool {
    let zero = build.constant_word(Challenge::ZERO);
    let one = build.constant_word(Challenge::ONE);
    if bits == 0 {
        // The challenger accepts without touching the transcript. The witness is pinned to
        // zero by an assertion (the verifier refuses any other before it gets here).
        build.alu_assert(witness, one, zero, zero);
        return true;
    }
    observe(build, witness);
    let sampled = sample_bits(build, bits);
    let mut accepted = true;
    for b in sampled {
        // b·1 + 0 = 0.
        accepted &= build.alu_assert(b, one, zero, zero);
    }
    accepted
}
