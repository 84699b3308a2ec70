//! [`Build`]: the [`Ops`] that **emit a recursion program** while computing its witness, first
//! cut. Every value is a word of the write-once memory ([`Word`]: an address and the value its
//! writer puts there):
//!
//! - constants become `Const` rows (one per distinct value), proof inputs `Hint` rows;
//! - `add`, `sub`, `mul` become `Alu` rows: `a·1 + b`, `b·(−1) + a`, `a·b + 0`; a base value
//!   is the word `(v, 0, 0, 0)`, so `lift` is free.
//!
//! - `is_zero`, `base_eq` and `inv` become **asserting** `Alu` rows, which read their result
//!   from memory instead of writing it (`a·1 + 0 = 0`; `a·a⁻¹ + 0 = 1` with `a⁻¹` hinted).
//!   The verifier's control flow follows this run's values, so a failed check is a rejection
//!   as in `Native`; running the emitted program then fails with
//!   `ProgramError::AssertionFailed` naming the operation, and the forced-through tables do not
//!   verify.
//!
//! - `select(bit, a, b)` is `bit·(a − b) + b` (one row when `a` and `b` are constants);
//! - `coefficients(a)` hints four words and asserts `Σ c_k·X^k = a`. The coefficients are
//!   consumed by the Poseidon2 table (transcript and leaf hashing), which reads them as base
//!   words `(v, 0, 0, 0)`: that read is what makes them base elements.
//!
//! The transcript ([`transcript`]) and Merkle openings ([`merkle`]) live in their own modules.
//! An operation without rows yet is reported by [`Build::finish`] as
//! [`BuildError::Unsupported`], naming the first such operation.

use std::collections::HashMap;

use p3_field::{BasedVectorSpace, PrimeCharacteristicRing};
use p3_matrix::Dimensions;
use thiserror::Error;

use crate::config::{Challenge, Commitment, InputMmcs, MultiProof, Val, input_mmcs};
use crate::log::{Event, MerkleOpening};
use crate::ops::Ops;
use crate::recording::cap_elements;
use crate::tables::decompose::DecomposeOp;
use crate::tables::horner_bus::{HORNER_LANES, HornerOp, horner_value};
use crate::tables::poseidon2::WIDTH;
use crate::tables::poseidon2_bus::{HALF, Poseidon2Op};
use crate::tables::program::{AluOp, Op, Program};
use p3_symmetric::Permutation;
use slotproof_prover::FriSettings;
use slotproof_prover::ProverField;

pub mod merkle;
pub mod transcript;

/// A memory word: its address and the value written there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Word {
    pub addr: u32,
    pub value: Challenge,
}

/// Why a build cannot become a program yet.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum BuildError {
    #[error("operation `{0}` has no recursion-table rows yet")]
    Unsupported(&'static str),
}

/// Emits a [`Program`] and its hint values from verifier code run over [`Ops`].
pub struct Build {
    program: Program,
    hint_values: Vec<Challenge>,
    /// The verified proof's public values, in the order the program reads them (the recursion
    /// proof's own public values).
    public_values: Vec<Val>,
    /// The sibling of each Merkle-mode Poseidon2 row, in order.
    sibling_values: Vec<Challenge>,
    /// Values of the base hints, in order.
    base_hint_values: Vec<Challenge>,
    constants: HashMap<[u32; 4], Word>,
    /// Addresses of constant words (a select between two constants is one row).
    constant_addrs: HashMap<u32, Challenge>,
    /// The coefficient words of words built from them (so decomposing them again is free).
    coefficient_words: HashMap<u32, [Word; 4]>,
    /// The Fiat–Shamir sponge's words.
    pub(crate) transcript: transcript::TranscriptState,
    next_addr: u32,
    unsupported: Option<&'static str>,
    /// The permutation of the MMCS and the challenger (for the witness).
    perm: Perm,
    /// The trace MMCS of the proofs verified (its cap height), to expand pruned openings.
    pub(crate) mmcs: Option<InputMmcs>,
    /// The transcript and opening events of this run, as `Native` logs them.
    log: Vec<Event>,
    /// Every check counts as passed ([`Build::shape_only`]).
    assume_accepted: bool,
}

/// The Poseidon2 permutation of the MMCS and the challenger.
type Perm = <Val as ProverField>::Perm;

impl Default for Build {
    fn default() -> Self {
        Self {
            program: Program::default(),
            hint_values: Vec::new(),
            public_values: Vec::new(),
            sibling_values: Vec::new(),
            base_hint_values: Vec::new(),
            constants: HashMap::new(),
            constant_addrs: HashMap::new(),
            coefficient_words: HashMap::new(),
            transcript: transcript::TranscriptState::default(),
            next_addr: 0,
            unsupported: None,
            perm: Val::default_poseidon2_16(),
            mmcs: None,
            log: Vec::new(),
            assume_accepted: false,
        }
    }
}

/// `X^k`, the `k`-th basis element of the extension.
pub(crate) fn basis_element(k: usize) -> Challenge {
    <Challenge as BasedVectorSpace<Val>>::ith_basis_element(k).unwrap_or(Challenge::ZERO)
}

fn key(v: Challenge) -> [u32; 4] {
    let c: &[Val] = v.as_basis_coefficients_slice();
    [c[0], c[1], c[2], c[3]].map(|x| p3_field::PrimeField32::as_canonical_u32(&x))
}

impl Build {
    /// A builder for arithmetic and the transcript only (Merkle openings need the MMCS
    /// settings: [`Self::for_settings`]).
    pub fn new() -> Self {
        Self::default()
    }

    /// A builder for proofs made under `settings` (their Merkle cap height).
    pub fn for_settings(settings: &FriSettings) -> Self {
        Self {
            mmcs: Some(input_mmcs(settings)),
            ..Self::default()
        }
    }

    /// A builder that emits the program of a proof's **shape** whatever the proof's values:
    /// every check (assertions, proofs of work, Merkle openings, inverses) counts as passed, so
    /// the verifier runs to its end on a placeholder proof of the right shape. The program does
    /// not depend on the values (only the witness does), so this is the program a real proof
    /// of that shape gives; its witness is meaningless (the failed assertions stay in it).
    pub fn shape_only(mut self) -> Self {
        self.assume_accepted = true;
        self
    }

    /// Start a fresh Fiat–Shamir transcript (the all-zero sponge), keeping the program: each
    /// proof a program verifies has a transcript of its own.
    pub fn start_transcript(&mut self) {
        self.transcript = transcript::TranscriptState::default();
    }

    /// A new address. Address 0 is never handed out: padding rows of every table carry
    /// address 0 with unconstrained values and multiplicities, so no program word may live there.
    pub(crate) fn fresh(&mut self) -> u32 {
        self.next_addr += 1;
        self.next_addr
    }

    pub(crate) fn constant_word(&mut self, value: Challenge) -> Word {
        if let Some(&w) = self.constants.get(&key(value)) {
            return w;
        }
        let w = Word {
            addr: self.fresh(),
            value,
        };
        self.program.constants.push((w.addr, value));
        self.constants.insert(key(value), w);
        self.constant_addrs.insert(w.addr, value);
        w
    }

    /// A hinted base word (the base-hint table writes it as `(v, 0, 0, 0)`).
    pub(crate) fn base_hint_word(&mut self, value: Val) -> Word {
        let w = Word {
            addr: self.fresh(),
            value: Challenge::from(value),
        };
        self.program.base_hints.push(w.addr);
        self.base_hint_values.push(w.value);
        w
    }

    pub(crate) fn hint_word(&mut self, value: Challenge) -> Word {
        let w = Word {
            addr: self.fresh(),
            value,
        };
        self.program.hints.push(w.addr);
        self.hint_values.push(value);
        w
    }

    /// `out = a·b + c` as an `Alu` row.
    pub(crate) fn alu(&mut self, a: Word, b: Word, c: Word) -> Word {
        let out = Word {
            addr: self.fresh(),
            value: a.value * b.value + c.value,
        };
        self.program.ops.push(Op::Alu(AluOp {
            a: a.addr,
            b: b.addr,
            c: c.addr,
            out: out.addr,
            assert: false,
        }));
        out
    }

    /// Assert `a·b + c = expected` with an asserting `Alu` row; returns whether it holds for
    /// this run's values (the program's execution reports a failure as its typed error).
    pub(crate) fn alu_assert(&mut self, a: Word, b: Word, c: Word, expected: Word) -> bool {
        self.program.ops.push(Op::Alu(AluOp {
            a: a.addr,
            b: b.addr,
            c: c.addr,
            out: expected.addr,
            assert: true,
        }));
        a.value * b.value + c.value == expected.value || self.assume_accepted
    }

    /// One Poseidon2 row (not Merkle mode): lane `i` reads `inputs[i]` (base words).
    /// Returns the 16 fresh output words.
    pub(crate) fn poseidon2(&mut self, inputs: [Word; WIDTH]) -> [Word; WIDTH] {
        let lanes: [Val; WIDTH] = inputs.map(|w| self.value(w));
        let outputs = self.permutation_outputs(lanes);
        self.program.ops.push(Op::Poseidon2(Poseidon2Op {
            inputs: inputs.map(|w| w.addr),
            outputs: outputs.map(|w| w.addr),
            direction: None,
            check_digest: false,
        }));
        outputs
    }

    /// One Merkle-mode Poseidon2 row: `node ‖ sibling`, swapped when the bit `direction` is 1.
    /// The node is read from memory; the sibling is a witness of the row (appended to the
    /// values [`Self::finish`] returns). Returns the 16 fresh output words.
    pub(crate) fn poseidon2_merkle(
        &mut self,
        node: [Word; HALF],
        sibling: [Val; HALF],
        direction: Word,
    ) -> [Word; WIDTH] {
        let swap = self.value(direction) == Val::ONE;
        let (left, right) = if swap {
            (sibling, node.map(|w| self.value(w)))
        } else {
            (node.map(|w| self.value(w)), sibling)
        };
        let lanes: [Val; WIDTH] =
            core::array::from_fn(|i| if i < HALF { left[i] } else { right[i - HALF] });
        let outputs = self.permutation_outputs(lanes);
        self.sibling_values
            .extend(sibling.iter().map(|&v| Challenge::from(v)));
        let mut inputs = [0; WIDTH];
        for (slot, w) in inputs.iter_mut().zip(&node) {
            *slot = w.addr;
        }
        self.program.ops.push(Op::Poseidon2(Poseidon2Op {
            inputs,
            outputs: outputs.map(|w| w.addr),
            direction: Some(direction.addr),
            check_digest: false,
        }));
        outputs
    }

    /// Assert that `digest` (the first 8 outputs of the last operation, a Poseidon2 row) equals
    /// the words `expected`: that row becomes a digest check, which reads `expected` on the bus
    /// instead of writing its outputs (one row instead of eight `Alu` assertions). Returns
    /// whether it holds for this run's values. Any other `digest` is asserted word by word.
    pub(crate) fn assert_digest(&mut self, digest: [Word; HALF], expected: [Word; HALF]) -> bool {
        let holds = digest
            .iter()
            .zip(&expected)
            .all(|(d, e)| d.value == e.value);
        if let Some(Op::Poseidon2(p)) = self.program.ops.last_mut()
            && !p.check_digest
            && p.outputs[..HALF] == digest.map(|w| w.addr)
        {
            // The outputs were fresh words of this row alone: nothing has read them.
            p.outputs = core::array::from_fn(|i| if i < HALF { expected[i].addr } else { 0 });
            p.check_digest = true;
            return holds;
        }
        let (zero, one) = (
            self.constant_word(Challenge::ZERO),
            self.constant_word(Challenge::ONE),
        );
        for (&d, &e) in digest.iter().zip(&expected) {
            // d·1 + 0 = e.
            self.alu_assert(d, one, zero, e);
        }
        holds
    }

    /// The permutation of `input` as 16 fresh words.
    fn permutation_outputs(&mut self, input: [Val; WIDTH]) -> [Word; WIDTH] {
        let output = self.perm.permute(input);
        core::array::from_fn(|i| Word {
            addr: self.fresh(),
            value: Challenge::from(output[i]),
        })
    }

    pub(crate) fn unsupported(&mut self, op: &'static str) {
        self.unsupported.get_or_insert(op);
    }

    /// The first operation run so far that has no rows yet.
    pub fn unsupported_op(&self) -> Option<&'static str> {
        self.unsupported
    }

    /// The 31 bits of a base word, least significant first: hinted, each asserted boolean,
    /// their recomposition asserted equal to `value`, and the decomposition asserted
    /// canonical (what `sample_bits` does to a sample).
    pub fn decompose(&mut self, value: Word) -> Vec<Word> {
        transcript::canonical_bits(self, value)
    }

    /// The events so far, as [`crate::Native`] logs them (the witness's transcript values and
    /// Merkle verdicts, to be compared with `Native`'s log).
    pub fn log(&self) -> &[Event] {
        &self.log
    }

    /// The program and its witness values (the hinted words in order, then the 8 sibling
    /// values of each Merkle-mode row: what `Program::run_tables` takes), or the first
    /// operation that has no rows yet.
    pub fn finish(self) -> Result<(Program, Vec<Challenge>), BuildError> {
        self.finish_with_publics()
            .map(|(program, hints, _)| (program, hints))
    }

    /// [`Self::finish`], also with the public values the program reads (in `Public`-table
    /// order).
    #[allow(clippy::type_complexity)]
    pub fn finish_with_publics(self) -> Result<(Program, Vec<Challenge>, Vec<Val>), BuildError> {
        match self.unsupported {
            Some(op) => Err(BuildError::Unsupported(op)),
            None => {
                let mut values = self.hint_values;
                values.extend(self.base_hint_values);
                values.extend(self.sibling_values);
                Ok((self.program, values, self.public_values))
            }
        }
    }
}

impl Ops for Build {
    type F = Word;
    type E = Word;

    fn phase(&mut self, name: &'static str) {
        self.program.phases.push((name, self.program.ops.len()));
    }

    fn constant(&mut self, value: Val) -> Word {
        self.constant_word(Challenge::from(value))
    }

    fn ext_constant(&mut self, value: Challenge) -> Word {
        self.constant_word(value)
    }

    fn input(&mut self, value: Val) -> Word {
        self.base_hint_word(value)
    }

    fn ext_input(&mut self, value: Challenge) -> Word {
        self.hint_word(value)
    }

    fn public_input(&mut self, value: Val) -> Word {
        let w = Word {
            addr: self.fresh(),
            value: Challenge::from(value),
        };
        self.program
            .publics
            .push((w.addr, self.public_values.len()));
        self.public_values.push(value);
        w
    }

    fn lift(&mut self, a: Word) -> Word {
        a
    }

    fn ext_from_coefficients(&mut self, coefficients: [Word; 4]) -> Word {
        // Σ_k c_k·X^k, each c_k a base word.
        let mut acc = self.constant_word(Challenge::ZERO);
        for (k, c) in coefficients.into_iter().enumerate() {
            let basis = self.constant_word(basis_element(k));
            acc = self.alu(c, basis, acc);
        }
        self.coefficient_words.insert(acc.addr, coefficients);
        acc
    }

    fn coefficients(&mut self, a: Word) -> [Word; 4] {
        if let Some(&c) = self.coefficient_words.get(&a.addr) {
            return c;
        }
        if let Some(&v) = self.constant_addrs.get(&a.addr) {
            let c: &[Val] = v.as_basis_coefficients_slice();
            return [c[0], c[1], c[2], c[3]].map(|x| self.constant_word(Challenge::from(x)));
        }
        // One row of the decompose table writes the coordinates as base words.
        let c: &[Val] = a.value.as_basis_coefficients_slice();
        let words = [c[0], c[1], c[2], c[3]].map(|x| Word {
            addr: self.fresh(),
            value: Challenge::from(x),
        });
        self.program.ops.push(Op::Decompose(DecomposeOp {
            word: a.addr,
            coordinates: words.map(|w| w.addr),
        }));
        self.coefficient_words.insert(a.addr, words);
        words
    }

    fn add(&mut self, a: Word, b: Word) -> Word {
        let one = self.constant_word(Challenge::ONE);
        self.alu(a, one, b)
    }

    fn sub(&mut self, a: Word, b: Word) -> Word {
        let minus_one = self.constant_word(Challenge::NEG_ONE);
        self.alu(b, minus_one, a)
    }

    fn mul(&mut self, a: Word, b: Word) -> Word {
        let zero = self.constant_word(Challenge::ZERO);
        self.alu(a, b, zero)
    }

    fn mul_add(&mut self, a: Word, b: Word, c: Word) -> Word {
        self.alu(a, b, c)
    }

    fn horner(&mut self, alpha: Word, values: &[Word]) -> Word {
        if values.len() < HORNER_LANES {
            // Shorter than one row: plain `mul_add` rows.
            let mut acc = self.constant_word(Challenge::ZERO);
            for &v in values {
                acc = self.alu(acc, alpha, v);
            }
            return acc;
        }
        // Zeros in front leave the sum unchanged and fill the first row.
        let zero = self.constant_word(Challenge::ZERO);
        let padding = values.len().next_multiple_of(HORNER_LANES) - values.len();
        let start = self.program.horner_values.len() as u32;
        self.program
            .horner_values
            .extend(core::iter::repeat_n(zero.addr, padding).chain(values.iter().map(|w| w.addr)));
        let base: Vec<Val> = values.iter().map(|&w| self.value(w)).collect();
        let out = Word {
            addr: self.fresh(),
            value: horner_value(alpha.value, &base),
        };
        self.program.ops.push(Op::Horner(HornerOp {
            alpha: alpha.addr,
            start,
            len: (padding + values.len()) as u32,
            out: out.addr,
        }));
        out
    }

    fn select(&mut self, bit: Word, a: Word, b: Word) -> Word {
        // bit·(a − b) + b.
        let difference = match (
            self.constant_addrs.get(&a.addr),
            self.constant_addrs.get(&b.addr),
        ) {
            (Some(&x), Some(&y)) => self.constant_word(x - y),
            _ => self.sub(a, b),
        };
        self.alu(bit, difference, b)
    }

    fn inv(&mut self, a: Word) -> Option<Word> {
        // The inverse is hinted and checked: a·a⁻¹ + 0 = 1.
        let inverse = match p3_field::Field::try_inverse(&a.value) {
            Some(inverse) => inverse,
            None if self.assume_accepted => Challenge::ONE,
            None => return None,
        };
        let h = self.hint_word(inverse);
        let (zero, one) = (
            self.constant_word(Challenge::ZERO),
            self.constant_word(Challenge::ONE),
        );
        self.alu_assert(a, h, zero, one);
        Some(h)
    }

    fn is_zero(&mut self, a: Word) -> bool {
        // a·1 + 0 = 0.
        let (zero, one) = (
            self.constant_word(Challenge::ZERO),
            self.constant_word(Challenge::ONE),
        );
        self.alu_assert(a, one, zero, zero)
    }

    fn base_eq(&mut self, a: Word, b: Word) -> bool {
        let d = self.sub(a, b);
        self.is_zero(d)
    }

    fn restart_transcript(&mut self) {
        self.start_transcript();
    }

    fn observe(&mut self, value: Word) {
        self.log.push(Event::Observe(self.value(value)));
        transcript::observe(self, value);
    }

    fn sample(&mut self) -> Word {
        let w = transcript::sample(self);
        self.log.push(Event::Sample(self.value(w)));
        w
    }

    fn sample_bits(&mut self, bits: usize) -> Vec<Word> {
        let b = transcript::sample_bits(self, bits);
        let value = self.bits_value(&b);
        self.log.push(Event::SampleBits { bits, value });
        b
    }

    fn check_witness(&mut self, bits: usize, witness: Word) -> bool {
        let accepted = transcript::check_witness(self, bits, witness);
        self.log.push(Event::Pow {
            bits,
            witness: self.value(witness),
            accepted,
        });
        accepted
    }

    fn verify_opening(
        &mut self,
        commitment: &[Word],
        native_commitment: &Commitment,
        dims: &[Dimensions],
        index_bits: &[Vec<Word>],
        rows: &[Vec<Vec<Word>>],
        proof: &MultiProof,
    ) -> bool {
        let accepted = merkle::verify_opening(
            self,
            commitment,
            native_commitment,
            dims,
            index_bits,
            rows,
            proof,
        ) || self.assume_accepted;
        let opening = MerkleOpening {
            commitment: cap_elements(native_commitment),
            dims: dims.iter().map(|d| (d.width, d.height)).collect(),
            indices: index_bits.iter().map(|b| self.bits_value(b)).collect(),
            rows: rows
                .iter()
                .map(|q| {
                    q.iter()
                        .map(|r| r.iter().map(|&w| self.value(w)).collect())
                        .collect()
                })
                .collect(),
            accepted,
        };
        self.log.push(Event::MerkleOpening(opening));
        accepted
    }

    fn value(&self, a: Word) -> Val {
        <Challenge as BasedVectorSpace<Val>>::as_basis_coefficients_slice(&a.value)[0]
    }
}
