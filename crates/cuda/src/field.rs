//! The two fields the kernels are instantiated for, and the bridge between Plonky3's element
//! types and the raw Montgomery words the device works on.

use p3_baby_bear::{
    BABYBEAR_POSEIDON2_RC_16_EXTERNAL_FINAL, BABYBEAR_POSEIDON2_RC_16_EXTERNAL_INITIAL,
    BABYBEAR_POSEIDON2_RC_16_INTERNAL, BabyBear, GenericPoseidon2LinearLayersBabyBear,
};
use p3_field::{PrimeField32, TwoAdicField};
use p3_koala_bear::{
    GenericPoseidon2LinearLayersKoalaBear, KOALABEAR_POSEIDON2_RC_16_EXTERNAL_FINAL,
    KOALABEAR_POSEIDON2_RC_16_EXTERNAL_INITIAL, KOALABEAR_POSEIDON2_RC_16_INTERNAL, KoalaBear,
};
use p3_poseidon2::GenericPoseidon2LinearLayers;

use crate::abi::{P2_HALF_FULL_ROUNDS, P2_MAX_PARTIAL_ROUNDS, P2_WIDTH, Poseidon2Constants};
use crate::error::{Error, Result};

/// Which field a kernel is instantiated for (the `_kb` / `_bb` suffix of its name).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FieldKind {
    /// p = 2^31 - 2^24 + 1.
    KoalaBear,
    /// p = 15 * 2^27 + 1.
    BabyBear,
}

impl FieldKind {
    /// Kernel name suffix.
    pub fn suffix(self) -> &'static str {
        match self {
            Self::KoalaBear => "kb",
            Self::BabyBear => "bb",
        }
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for p3_koala_bear::KoalaBear {}
    impl Sealed for p3_baby_bear::BabyBear {}
}

/// A Plonky3 MontyField31 field the kernels support.
///
/// Both types are `#[repr(transparent)]` over the u32 Montgomery word `x * 2^32 mod p`, which is
/// also the device representation, so slices convert without copying.
pub trait DeviceField:
    PrimeField32 + TwoAdicField + Copy + Send + Sync + sealed::Sealed + 'static
{
    /// Kernel instantiation.
    const KIND: FieldKind;
    /// The prime, as in `kernels/field.cuh`.
    const PRIME: u32;
    /// p^{-1} mod 2^32, as in `kernels/field.cuh`.
    const MONTY_MU: u32;
    /// Non-residue W of the degree-4 binomial extension (canonical value), as in `field.cuh`.
    const EXT4_W: u32;
    /// Poseidon2-16 partial rounds.
    const POSEIDON2_PARTIAL_ROUNDS: usize;
    /// Poseidon2 S-box degree.
    const POSEIDON2_SBOX_DEGREE: u64;

    /// Plonky3's default Poseidon2-16 round constants, in Montgomery words, plus the internal
    /// diagonal derived from Plonky3's own internal linear layer.
    fn poseidon2_constants() -> Poseidon2Constants;

    /// The Montgomery word of one element (computed from the canonical value, no transmute).
    fn to_monty_word(self) -> u32 {
        ((u64::from(self.as_canonical_u32()) << 32) % u64::from(Self::PRIME)) as u32
    }

    /// The element whose Montgomery word is `w` (`w` must be < p).
    fn from_monty_word(w: u32) -> Self {
        debug_assert!(w < Self::PRIME);
        // w = x * 2^32 mod p  =>  x = w * 2^-32 mod p; Montgomery-multiplying by 1 gives that.
        let x = crate::reference::monty_mul(w, 1, Self::PRIME, Self::MONTY_MU);
        Self::from_u32(x)
    }

    /// View a slice of elements as their device words.
    fn as_words(v: &[Self]) -> &[u32] {
        // SAFETY: KoalaBear and BabyBear are #[repr(transparent)] wrappers of a u32 (size and
        // alignment 4, asserted in tests), and every u32 is a valid u32.
        unsafe { core::slice::from_raw_parts(v.as_ptr().cast::<u32>(), v.len()) }
    }

    /// Reinterpret device words as elements, checking that every word is canonical (< p).
    fn vec_from_words(words: Vec<u32>) -> Result<Vec<Self>> {
        if let Some((index, &value)) = words.iter().enumerate().find(|(_, w)| **w >= Self::PRIME) {
            return Err(Error::NonCanonical { value, index });
        }
        let mut words = core::mem::ManuallyDrop::new(words);
        // SAFETY: same layout as u32 (repr(transparent)), and every word is a canonical
        // Montgomery value, which is exactly the set of valid representations.
        Ok(unsafe {
            Vec::from_raw_parts(
                words.as_mut_ptr().cast::<Self>(),
                words.len(),
                words.capacity(),
            )
        })
    }
}

fn constants_from<F: DeviceField, const R: usize>(
    initial: &[[F; 16]; 4],
    terminal: &[[F; 16]; 4],
    internal: &[F; R],
    internal_layer: fn(&mut [F; 16]),
) -> Poseidon2Constants {
    assert!(R <= P2_MAX_PARTIAL_ROUNDS);
    let mut c = Poseidon2Constants {
        external_initial: [[0; P2_WIDTH]; P2_HALF_FULL_ROUNDS],
        external_terminal: [[0; P2_WIDTH]; P2_HALF_FULL_ROUNDS],
        internal: [0; P2_MAX_PARTIAL_ROUNDS],
        diag: [0; P2_WIDTH],
    };
    for r in 0..P2_HALF_FULL_ROUNDS {
        for i in 0..P2_WIDTH {
            c.external_initial[r][i] = initial[r][i].to_monty_word();
            c.external_terminal[r][i] = terminal[r][i].to_monty_word();
        }
    }
    for (dst, src) in c.internal.iter_mut().zip(internal) {
        *dst = src.to_monty_word();
    }
    // The internal layer is M = J + Diag(V) (J the all-ones matrix): M e_i has 1 + V_i at i.
    for i in 0..P2_WIDTH {
        let mut e = [F::ZERO; P2_WIDTH];
        e[i] = F::ONE;
        internal_layer(&mut e);
        c.diag[i] = (e[i] - F::ONE).to_monty_word();
    }
    c
}

impl DeviceField for KoalaBear {
    const KIND: FieldKind = FieldKind::KoalaBear;
    const PRIME: u32 = 0x7f00_0001;
    const MONTY_MU: u32 = 0x8100_0001;
    const EXT4_W: u32 = 3;
    const POSEIDON2_PARTIAL_ROUNDS: usize = 20;
    const POSEIDON2_SBOX_DEGREE: u64 = 3;

    fn poseidon2_constants() -> Poseidon2Constants {
        constants_from(
            &KOALABEAR_POSEIDON2_RC_16_EXTERNAL_INITIAL,
            &KOALABEAR_POSEIDON2_RC_16_EXTERNAL_FINAL,
            &KOALABEAR_POSEIDON2_RC_16_INTERNAL,
            GenericPoseidon2LinearLayersKoalaBear::internal_linear_layer::<KoalaBear>,
        )
    }
}

impl DeviceField for BabyBear {
    const KIND: FieldKind = FieldKind::BabyBear;
    const PRIME: u32 = 0x7800_0001;
    const MONTY_MU: u32 = 0x8800_0001;
    const EXT4_W: u32 = 11;
    const POSEIDON2_PARTIAL_ROUNDS: usize = 13;
    const POSEIDON2_SBOX_DEGREE: u64 = 7;

    fn poseidon2_constants() -> Poseidon2Constants {
        constants_from(
            &BABYBEAR_POSEIDON2_RC_16_EXTERNAL_INITIAL,
            &BABYBEAR_POSEIDON2_RC_16_EXTERNAL_FINAL,
            &BABYBEAR_POSEIDON2_RC_16_INTERNAL,
            GenericPoseidon2LinearLayersBabyBear::internal_linear_layer::<BabyBear>,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The constants in kernels/field.cuh are the ones the host (and Plonky3) use.
    fn header_struct_matches<F: DeviceField>(name: &str) {
        let header = include_str!("../../../kernels/field.cuh");
        let start = header
            .find(&format!("struct {name} {{"))
            .unwrap_or_else(|| panic!("struct {name} missing from field.cuh"));
        let body = &header[start..start + header[start..].find("};").unwrap()];
        for line in [
            format!("static constexpr uint32_t P = {:#010x}u;", F::PRIME),
            format!("static constexpr uint32_t MU = {:#010x}u;", F::MONTY_MU),
            format!("static constexpr uint32_t W_CANONICAL = {}u;", F::EXT4_W),
            format!(
                "static constexpr int SBOX_DEGREE = {};",
                F::POSEIDON2_SBOX_DEGREE
            ),
            format!(
                "static constexpr int PARTIAL_ROUNDS = {};",
                F::POSEIDON2_PARTIAL_ROUNDS
            ),
        ] {
            assert!(body.contains(&line), "field.cuh {name} lacks `{line}`");
        }
    }

    #[test]
    fn field_header_constants_match_host() {
        header_struct_matches::<KoalaBear>("KoalaBear");
        header_struct_matches::<BabyBear>("BabyBear");
    }

    #[test]
    fn host_constants_match_plonky3() {
        use p3_field::extension::BinomiallyExtendable;
        assert_eq!(KoalaBear::PRIME, KoalaBear::ORDER_U32);
        assert_eq!(BabyBear::PRIME, BabyBear::ORDER_U32);
        assert_eq!(
            <KoalaBear as BinomiallyExtendable<4>>::W,
            KoalaBear::new(KoalaBear::EXT4_W)
        );
        assert_eq!(
            <BabyBear as BinomiallyExtendable<4>>::W,
            BabyBear::new(BabyBear::EXT4_W)
        );
        assert_eq!(
            KoalaBear::POSEIDON2_PARTIAL_ROUNDS,
            p3_koala_bear::KOALABEAR_POSEIDON2_PARTIAL_ROUNDS_16
        );
        assert_eq!(
            BabyBear::POSEIDON2_PARTIAL_ROUNDS,
            p3_baby_bear::BABYBEAR_POSEIDON2_PARTIAL_ROUNDS_16
        );
        assert_eq!(
            KoalaBear::POSEIDON2_SBOX_DEGREE,
            p3_koala_bear::KOALABEAR_S_BOX_DEGREE
        );
        assert_eq!(
            BabyBear::POSEIDON2_SBOX_DEGREE,
            p3_baby_bear::BABYBEAR_S_BOX_DEGREE
        );
        // Unused slots of the partial-round array stay zero; used ones are p3's constants.
        let c = KoalaBear::poseidon2_constants();
        assert!(
            c.internal[KoalaBear::POSEIDON2_PARTIAL_ROUNDS..]
                .iter()
                .all(|&w| w == 0)
        );
        assert_eq!(
            c.internal[0],
            KOALABEAR_POSEIDON2_RC_16_INTERNAL[0].to_monty_word()
        );
    }
}
