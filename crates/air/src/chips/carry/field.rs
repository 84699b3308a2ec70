//! The width-16 Poseidon2 permutation of each supported field, as the carry table uses it: its
//! AIR on the table's first columns, its trace rows and its value. KoalaBear: S-box x^3, 4 + 4
//! full and 20 partial rounds (164 columns); BabyBear: x^7 with one register, 4 + 4 and 13
//! (the constants of `default_*_poseidon2_16`, the project's Merkle and challenger
//! permutations).

use std::sync::OnceLock;

use p3_air::{Air, AirBuilder};
use p3_baby_bear::{
    BABYBEAR_POSEIDON2_RC_16_EXTERNAL_FINAL, BABYBEAR_POSEIDON2_RC_16_EXTERNAL_INITIAL,
    BABYBEAR_POSEIDON2_RC_16_INTERNAL, BabyBear, GenericPoseidon2LinearLayersBabyBear,
    default_babybear_poseidon2_16,
};
use p3_field::PrimeField32;
use p3_koala_bear::{
    GenericPoseidon2LinearLayersKoalaBear, KOALABEAR_POSEIDON2_RC_16_EXTERNAL_FINAL,
    KOALABEAR_POSEIDON2_RC_16_EXTERNAL_INITIAL, KOALABEAR_POSEIDON2_RC_16_INTERNAL, KoalaBear,
    default_koalabear_poseidon2_16,
};
use p3_matrix::dense::RowMajorMatrix;
use p3_poseidon2_air::{Poseidon2Air, RoundConstants, generate_trace_rows, num_cols};
use p3_symmetric::Permutation;
use p3_uni_stark::SubAirBuilder;

/// A field the carry table hashes in.
pub trait CarryField: PrimeField32 {
    /// The permutation's columns (its input state first, its output state last).
    const P2_WIDTH: usize;
    /// The permutation's constraints on columns `0..P2_WIDTH`.
    fn eval_permutation<AB: AirBuilder<F = Self>>(builder: &mut AB);
    /// The permutation's trace for `inputs` (a power of two of them).
    fn permutation_rows(inputs: Vec<[Self; 16]>) -> RowMajorMatrix<Self>;
    fn permute(input: [Self; 16]) -> [Self; 16];
}

/// The AIR, constants and permutation of one field: `$f`, its linear layers, S-box degree and
/// registers, partial rounds, round constants and default permutation.
macro_rules! carry_field {
    ($f:ty, $layers:ty, $deg:literal, $regs:literal, $partial:literal, [$ext_i:expr, $int:expr, $ext_f:expr], $perm:ident, $perm_ty:ty) => {
        impl CarryField for $f {
            const P2_WIDTH: usize = num_cols::<16, $deg, $regs, 4, $partial>();

            fn eval_permutation<AB: AirBuilder<F = Self>>(builder: &mut AB) {
                type P2 = Poseidon2Air<$f, $layers, 16, $deg, $regs, 4, $partial>;
                static AIR: OnceLock<P2> = OnceLock::new();
                let air = AIR.get_or_init(|| P2::new(RoundConstants::new($ext_i, $int, $ext_f)));
                let mut sub: SubAirBuilder<'_, AB, P2, AB::Var> =
                    SubAirBuilder::new(builder, 0..Self::P2_WIDTH);
                air.eval(&mut sub);
            }

            fn permutation_rows(inputs: Vec<[Self; 16]>) -> RowMajorMatrix<Self> {
                generate_trace_rows::<$f, $layers, 16, $deg, $regs, 4, $partial>(
                    inputs,
                    &RoundConstants::new($ext_i, $int, $ext_f),
                    0,
                )
            }

            fn permute(input: [Self; 16]) -> [Self; 16] {
                static PERM: OnceLock<$perm_ty> = OnceLock::new();
                PERM.get_or_init($perm).permute(input)
            }
        }
    };
}

carry_field!(
    KoalaBear,
    GenericPoseidon2LinearLayersKoalaBear,
    3,
    0,
    20,
    [
        KOALABEAR_POSEIDON2_RC_16_EXTERNAL_INITIAL,
        KOALABEAR_POSEIDON2_RC_16_INTERNAL,
        KOALABEAR_POSEIDON2_RC_16_EXTERNAL_FINAL
    ],
    default_koalabear_poseidon2_16,
    p3_koala_bear::Poseidon2KoalaBear<16>
);

carry_field!(
    BabyBear,
    GenericPoseidon2LinearLayersBabyBear,
    7,
    1,
    13,
    [
        BABYBEAR_POSEIDON2_RC_16_EXTERNAL_INITIAL,
        BABYBEAR_POSEIDON2_RC_16_INTERNAL,
        BABYBEAR_POSEIDON2_RC_16_EXTERNAL_FINAL
    ],
    default_babybear_poseidon2_16,
    p3_baby_bear::Poseidon2BabyBear<16>
);
