//! The Fiat–Shamir transcript in a [`Build`]: the duplex sponge as Poseidon2 rows on the
//! memory bus (not emitted yet: each operation is reported as unsupported).

use super::{Build, Word};
use crate::config::Challenge;
use p3_field::PrimeCharacteristicRing;

/// The sponge's words between operations.
#[derive(Debug, Default)]
pub struct TranscriptState {}

pub(crate) fn observe(build: &mut Build, _value: Word) {
    build.unsupported("observe");
}

pub(crate) fn sample(build: &mut Build) -> Word {
    build.unsupported("sample");
    build.constant_word(Challenge::ZERO)
}

pub(crate) fn sample_bits(build: &mut Build, bits: usize) -> Vec<Word> {
    build.unsupported("sample_bits");
    let zero = build.constant_word(Challenge::ZERO);
    vec![zero; bits]
}

pub(crate) fn check_witness(build: &mut Build, _bits: usize, _witness: Word) -> bool {
    build.unsupported("check_witness");
    false
}
