//! The permutation's row layout is `p3_keccak_air::KeccakCols`; here, where the bus finds the
//! input and output states in it.

use core::borrow::Borrow;

pub use p3_keccak_air::{KeccakCols, NUM_KECCAK_COLS, NUM_ROUNDS, U64_LIMBS};

/// Lanes of the state.
pub const LANES: usize = 25;
/// 16-bit limbs of the state (`LANES * U64_LIMBS`).
pub const STATE_LIMBS: usize = LANES * U64_LIMBS;

/// The column index of every field of [`KeccakCols`].
pub fn col_map() -> KeccakCols<usize> {
    let idx: Vec<usize> = (0..NUM_KECCAK_COLS).collect();
    let m: &KeccakCols<usize> = idx[..].borrow();
    KeccakCols {
        step_flags: m.step_flags,
        export: m.export,
        preimage: m.preimage,
        a: m.a,
        c: m.c,
        c_prime: m.c_prime,
        a_prime: m.a_prime,
        a_prime_prime: m.a_prime_prime,
        a_prime_prime_0_0_bits: m.a_prime_prime_0_0_bits,
        a_prime_prime_prime_0_0_limbs: m.a_prime_prime_prime_0_0_limbs,
    }
}

/// The input state's limbs of a row, in lane order (lane `x + 5 y`, limbs little-endian).
pub fn input_limbs<T: Copy>(row: &KeccakCols<T>) -> [T; STATE_LIMBS] {
    core::array::from_fn(|i| {
        let (lane, limb) = (i / U64_LIMBS, i % U64_LIMBS);
        row.preimage[lane / 5][lane % 5][limb]
    })
}

/// The output state's limbs of a last-round row, in lane order.
pub fn output_limbs<T: Copy>(row: &KeccakCols<T>) -> [T; STATE_LIMBS] {
    core::array::from_fn(|i| {
        let (lane, limb) = (i / U64_LIMBS, i % U64_LIMBS);
        row.a_prime_prime_prime(lane / 5, lane % 5, limb)
    })
}
