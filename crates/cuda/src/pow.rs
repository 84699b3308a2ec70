//! Proof-of-work grinding on the device (`kernels/pow.cu`): the smallest witness, the one
//! `slotproof_prover::challenger::CanonicalChallenger::grind` finds, so GPU and CPU proofs are
//! byte-identical. One launch searches the whole field with early exit; one word comes back.

use cudarc::driver::DeviceRepr;
use p3_challenger::DuplexChallenger;
use p3_symmetric::CryptographicPermutation;

use crate::backend::CudaBackend;
use crate::error::{Error, Result};
use crate::field::DeviceField;

/// Duplex sponge width and rate of the prover's challenger.
const WIDTH: usize = 16;
const RATE: usize = 8;

/// Word the result starts from (no witness found).
pub const NO_WITNESS: u32 = u32::MAX;

/// See `PowParams` in kernels/prover_params.cuh.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PowParams {
    pub state: [u32; WIDTH],
    pub result: u64,
    pub start: u32,
    pub end: u32,
    pub witness_slot: u32,
    pub bits: u32,
}

// SAFETY: plain-old-data #[repr(C)] struct matching prover_params.cuh (tests below).
unsafe impl DeviceRepr for PowParams {}

/// The sponge state `check_witness` permutes for a candidate witness, minus the witness: the
/// buffered inputs, zero padding to the rate, the first capacity word plus the number of
/// absorbed elements (`DuplexChallenger`'s domain separation), the rest of the capacity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PowSearch {
    /// Montgomery words; word `witness_slot` is replaced by each candidate.
    pub state: [u32; WIDTH],
    pub witness_slot: u32,
}

impl PowSearch {
    /// From a duplex challenger's sponge state and its buffered (not yet absorbed) inputs.
    pub fn new<F: DeviceField>(sponge_state: &[F; WIDTH], buffered: &[F]) -> Result<Self> {
        let slot = buffered.len();
        if slot >= RATE {
            return Err(Error::InvalidShape(format!(
                "{slot} buffered challenger inputs (a full rate is absorbed before grinding)"
            )));
        }
        let tagged = sponge_state[RATE] + F::from_u8((slot + 1) as u8);
        let state = core::array::from_fn(|i| {
            let x = if i < slot {
                buffered[i]
            } else if i < RATE {
                F::ZERO
            } else if i == RATE {
                tagged
            } else {
                sponge_state[i]
            };
            x.to_monty_word()
        });
        Ok(Self {
            state,
            witness_slot: slot as u32,
        })
    }

    /// The search for the next witness of a Plonky3 duplex challenger (the prover's
    /// `CanonicalChallenger::duplex()`).
    pub fn for_challenger<F: DeviceField, P: CryptographicPermutation<[F; WIDTH]>>(
        challenger: &DuplexChallenger<F, P, WIDTH, RATE>,
    ) -> Result<Self> {
        Self::new(&challenger.sponge_state, &challenger.input_buffer)
    }
}

/// Checks a difficulty the way the CPU grinder does: `bits < 64` and `2^bits < p`.
pub fn check_difficulty<F: DeviceField>(bits: usize) -> Result<()> {
    if bits >= 32 || (1u64 << bits) >= u64::from(F::PRIME) {
        return Err(Error::PowDifficulty {
            bits,
            prime: F::PRIME,
        });
    }
    Ok(())
}

/// Blocks of a proof-of-work search: enough threads to fill an H100 several times over.
pub const POW_BLOCKS: u32 = 1024;

impl CudaBackend {
    /// The smallest `w` in `[0, p)` that passes `check_witness(bits, w)` for the challenger state
    /// `search` describes; `bits == 0` gives zero without a launch (Plonky3's convention).
    pub fn grind_smallest<F: DeviceField>(&self, search: &PowSearch, bits: usize) -> Result<F> {
        if bits == 0 {
            return Ok(F::ZERO);
        }
        check_difficulty::<F>(bits)?;
        let result = self.upload_words(&[NO_WITNESS])?;
        let stream = self.stream();
        let p = PowParams {
            state: search.state,
            result: result.ptr(stream),
            start: 0,
            end: F::PRIME,
            witness_slot: search.witness_slot,
            bits: bits as u32,
        };
        let c = F::poseidon2_constants();
        // Enough threads to fill the device; each one stops as soon as a smaller witness exists.
        let kernel = crate::kernels::entry("pow_grind", F::KIND)?;
        self.launch(
            kernel,
            crate::launch::fixed(kernel, (POW_BLOCKS, 1, 1))?,
            &[&p, &c],
        )?;
        let w = self.download_words(&result)?[0];
        if w == NO_WITNESS {
            return Err(Error::NoPowWitness { bits });
        }
        Ok(F::from_u32(w))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::{align_of, offset_of, size_of};

    #[test]
    fn params_layout_matches_header() {
        assert_eq!(size_of::<PowParams>(), 88);
        assert_eq!(align_of::<PowParams>(), 8);
        assert_eq!(offset_of!(PowParams, result), 64);
        assert_eq!(offset_of!(PowParams, witness_slot), 80);
        assert_eq!(offset_of!(PowParams, bits), 84);
        let header = include_str!("../../../kernels/prover_params.cuh");
        for expr in [
            "sizeof(PowParams) == 88",
            "offsetof(PowParams, result) == 64",
            "offsetof(PowParams, witness_slot) == 80",
            "offsetof(PowParams, bits) == 84",
        ] {
            assert!(header.contains(expr), "prover_params.cuh lacks `{expr}`");
        }
    }

    #[test]
    fn difficulty_at_or_above_the_field_size_is_rejected() {
        use p3_koala_bear::KoalaBear;
        assert!(check_difficulty::<KoalaBear>(30).is_ok());
        assert!(matches!(
            check_difficulty::<KoalaBear>(31),
            Err(Error::PowDifficulty { bits: 31, .. })
        ));
        assert!(check_difficulty::<KoalaBear>(64).is_err());
    }
}
