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
//! Not emitted yet, and reported by [`Build::finish`] as [`BuildError::Unsupported`] naming the
//! first such operation: coefficient decompositions, the transcript (Poseidon2 sponge rows on
//! the bus) and Merkle openings. So today `Build` runs the
//! arithmetic parts of the verifier (e.g. [`crate::verifier::fold_constraints`]), not all of
//! [`crate::verify_generic`].

use std::collections::HashMap;

use p3_field::{BasedVectorSpace, PrimeCharacteristicRing};
use p3_matrix::Dimensions;
use thiserror::Error;

use crate::config::{Challenge, Commitment, MultiProof, Val};
use crate::ops::Ops;
use crate::tables::program::{AluOp, Program};

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
#[derive(Debug, Default)]
pub struct Build {
    program: Program,
    hint_values: Vec<Challenge>,
    constants: HashMap<[u32; 4], Word>,
    next_addr: u32,
    unsupported: Option<&'static str>,
}

fn key(v: Challenge) -> [u32; 4] {
    let c: &[Val] = v.as_basis_coefficients_slice();
    [c[0], c[1], c[2], c[3]].map(|x| p3_field::PrimeField32::as_canonical_u32(&x))
}

impl Build {
    pub fn new() -> Self {
        Self::default()
    }

    fn fresh(&mut self) -> u32 {
        self.next_addr += 1;
        self.next_addr - 1
    }

    fn constant_word(&mut self, value: Challenge) -> Word {
        if let Some(&w) = self.constants.get(&key(value)) {
            return w;
        }
        let w = Word {
            addr: self.fresh(),
            value,
        };
        self.program.constants.push((w.addr, value));
        self.constants.insert(key(value), w);
        w
    }

    fn hint_word(&mut self, value: Challenge) -> Word {
        let w = Word {
            addr: self.fresh(),
            value,
        };
        self.program.hints.push(w.addr);
        self.hint_values.push(value);
        w
    }

    /// `out = a·b + c` as an `Alu` row.
    fn alu(&mut self, a: Word, b: Word, c: Word) -> Word {
        let out = Word {
            addr: self.fresh(),
            value: a.value * b.value + c.value,
        };
        self.program.alu.push(AluOp {
            a: a.addr,
            b: b.addr,
            c: c.addr,
            out: out.addr,
            assert: false,
        });
        out
    }

    /// Assert `a·b + c = expected` with an asserting `Alu` row; returns whether it holds for
    /// this run's values (the program's execution reports a failure as its typed error).
    fn alu_assert(&mut self, a: Word, b: Word, c: Word, expected: Word) -> bool {
        self.program.alu.push(AluOp {
            a: a.addr,
            b: b.addr,
            c: c.addr,
            out: expected.addr,
            assert: true,
        });
        a.value * b.value + c.value == expected.value
    }

    fn unsupported(&mut self, op: &'static str) {
        self.unsupported.get_or_insert(op);
    }

    /// The program and the values of its hinted words, or the first operation that has no
    /// rows yet.
    pub fn finish(self) -> Result<(Program, Vec<Challenge>), BuildError> {
        match self.unsupported {
            Some(op) => Err(BuildError::Unsupported(op)),
            None => Ok((self.program, self.hint_values)),
        }
    }
}

impl Ops for Build {
    type F = Word;
    type E = Word;

    fn constant(&mut self, value: Val) -> Word {
        self.constant_word(Challenge::from(value))
    }

    fn ext_constant(&mut self, value: Challenge) -> Word {
        self.constant_word(value)
    }

    fn input(&mut self, value: Val) -> Word {
        self.hint_word(Challenge::from(value))
    }

    fn ext_input(&mut self, value: Challenge) -> Word {
        self.hint_word(value)
    }

    fn lift(&mut self, a: Word) -> Word {
        a
    }

    fn ext_from_coefficients(&mut self, coefficients: [Word; 4]) -> Word {
        // Σ_k c_k·X^k, each c_k a base word.
        let mut acc = self.constant_word(Challenge::ZERO);
        for (k, c) in coefficients.into_iter().enumerate() {
            let basis = <Challenge as BasedVectorSpace<Val>>::ith_basis_element(k)
                .unwrap_or(Challenge::ZERO);
            let basis = self.constant_word(basis);
            acc = self.alu(c, basis, acc);
        }
        acc
    }

    fn coefficients(&mut self, a: Word) -> [Word; 4] {
        self.unsupported("coefficients");
        let c: &[Val] = a.value.as_basis_coefficients_slice();
        [c[0], c[1], c[2], c[3]].map(|v| self.constant_word(Challenge::from(v)))
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

    fn inv(&mut self, a: Word) -> Option<Word> {
        // The inverse is hinted and checked: a·a⁻¹ + 0 = 1.
        let inverse = p3_field::Field::try_inverse(&a.value)?;
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

    fn observe(&mut self, _value: Word) {
        self.unsupported("observe");
    }

    fn sample(&mut self) -> Word {
        self.unsupported("sample");
        self.constant_word(Challenge::ZERO)
    }

    fn sample_bits(&mut self, _bits: usize) -> usize {
        self.unsupported("sample_bits");
        0
    }

    fn check_witness(&mut self, _bits: usize, _witness: Word) -> bool {
        self.unsupported("check_witness");
        false
    }

    fn verify_opening(
        &mut self,
        _commitment: &Commitment,
        _dims: &[Dimensions],
        _indices: &[usize],
        _rows: &[Vec<Vec<Word>>],
        _proof: &MultiProof,
    ) -> bool {
        self.unsupported("verify_opening");
        false
    }

    fn value(&self, a: Word) -> Val {
        <Challenge as BasedVectorSpace<Val>>::as_basis_coefficients_slice(&a.value)[0]
    }
}
