//! The Fiat–Shamir challenger, with a canonical proof-of-work witness.
//!
//! Plonky3's `DuplexChallenger::grind` searches for a proof-of-work witness in parallel and
//! returns *any* witness found first, so with more than one thread the witness (and every byte
//! after it) depends on scheduling. A proof must be a deterministic function of its inputs —
//! the CPU and a CUDA backend have to agree byte for byte — so [`CanonicalChallenger`] returns
//! the *smallest* valid witness, still searching in parallel. Everything else (absorbing,
//! squeezing, witness checks) is delegated unchanged, so the transcript, the proof format and
//! the verifier are exactly Plonky3's.

use p3_challenger::{
    CanObserve, CanSample, CanSampleBits, DuplexChallenger, FieldChallenger, GrindingChallenger,
};
use p3_field::{PackedValue, PrimeCharacteristicRing, PrimeField64};
use p3_maybe_rayon::prelude::*;
use p3_symmetric::CryptographicPermutation;

use crate::field::{HASH_RATE, PERM_WIDTH};

type Duplex<F, P> = DuplexChallenger<F, P, PERM_WIDTH, HASH_RATE>;

/// A proof-of-work search run elsewhere (a GPU backend lends one to the challenger while it
/// proves): the smallest witness for a duplex sponge state, or a message saying why not.
pub trait PowSearcher<F>: Send + Sync {
    /// The smallest `w` for which observing `w` after `buffered` on `sponge_state` and sampling
    /// `bits` bits gives zero.
    fn smallest_witness(
        &self,
        sponge_state: &[F; PERM_WIDTH],
        buffered: &[F],
        bits: usize,
    ) -> Result<F, String>;
}

/// The searcher slot (a newtype so the challenger stays `Debug`).
#[derive(Clone, Default)]
struct SearcherSlot<F>(Option<std::sync::Arc<dyn PowSearcher<F>>>);

impl<F> core::fmt::Debug for SearcherSlot<F> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Some(PowSearcher)"
        } else {
            "None"
        })
    }
}

/// A width-16, rate-8 duplex challenger whose grinding returns the smallest valid witness.
#[derive(Clone, Debug)]
pub struct CanonicalChallenger<F, P>
where
    F: Clone,
    P: CryptographicPermutation<[F; PERM_WIDTH]>,
{
    inner: Duplex<F, P>,
    searcher: SearcherSlot<F>,
}

impl<F, P> CanonicalChallenger<F, P>
where
    F: PrimeField64,
    P: CryptographicPermutation<[F; PERM_WIDTH]>
        + CryptographicPermutation<[F::Packing; PERM_WIDTH]>,
{
    pub fn new(permutation: P) -> Self {
        Self {
            inner: Duplex::new(permutation),
            searcher: SearcherSlot(None),
        }
    }

    /// Hand grinding to `searcher` (or back to the CPU with `None`); returns the previous one.
    /// A searcher's witness is used only if it passes the check on a copy of the sponge; on an
    /// error or a failed check the CPU search runs instead, so the transcript stays correct
    /// (the searcher reports its own failures to whoever installed it).
    pub fn set_pow_searcher(
        &mut self,
        searcher: Option<std::sync::Arc<dyn PowSearcher<F>>>,
    ) -> Option<std::sync::Arc<dyn PowSearcher<F>>> {
        core::mem::replace(&mut self.searcher.0, searcher)
    }

    /// The Plonky3 duplex challenger inside (its sponge state and buffered inputs are what a
    /// device grinder needs to search for the same witness).
    pub fn duplex(&self) -> &Duplex<F, P> {
        &self.inner
    }

    /// The smallest `w` such that observing `w` and sampling `bits` bits yields zero, found by
    /// evaluating `F::Packing::WIDTH` candidates per permutation call.
    ///
    /// This mirrors what `check_witness` does to a clone of the sponge: the witness is appended
    /// to the buffered inputs, the rate is zero-padded, the first capacity element absorbs the
    /// number of absorbed elements, the state is permuted and the last rate element is sampled.
    fn smallest_witness(&self, bits: usize) -> Option<F> {
        let lanes = F::Packing::WIDTH;
        let order = F::ORDER_U64;
        let mask = (1u64 << bits) - 1;
        let state = &self.inner.sponge_state;
        let buffered = &self.inner.input_buffer;
        let witness_slot = buffered.len();
        if witness_slot >= HASH_RATE {
            return None;
        }
        let tagged_capacity = state[HASH_RATE] + F::from_u8((witness_slot + 1) as u8);
        let base: [F::Packing; PERM_WIDTH] = core::array::from_fn(|i| {
            if i < witness_slot {
                F::Packing::from(buffered[i])
            } else if i < HASH_RATE {
                F::Packing::ZERO
            } else if i == HASH_RATE {
                F::Packing::from(tagged_capacity)
            } else {
                F::Packing::from(state[i])
            }
        });
        // Batches of several permutation calls keep rayon's per-item overhead small.
        const CALLS_PER_BATCH: u64 = 64;
        let per_batch = lanes as u64 * CALLS_PER_BATCH;
        (0..order.div_ceil(per_batch))
            .into_par_iter()
            .find_map_first(|batch| {
                let first = batch * per_batch;
                (0..CALLS_PER_BATCH).find_map(|call| {
                    let start = first + call * lanes as u64;
                    let candidates = F::Packing::from_fn(|lane| {
                        F::from_u64((start + lane as u64).min(order - 1))
                    });
                    let mut s = base;
                    s[witness_slot] = candidates;
                    self.inner.permutation.permute_mut(&mut s);
                    s[HASH_RATE - 1]
                        .as_slice()
                        .iter()
                        .zip(candidates.as_slice())
                        .find(|(sample, _)| sample.as_canonical_u64() & mask == 0)
                        .map(|(_, &w)| w)
                })
            })
    }
}

impl<F, P, T> CanObserve<T> for CanonicalChallenger<F, P>
where
    F: Clone,
    P: CryptographicPermutation<[F; PERM_WIDTH]>,
    Duplex<F, P>: CanObserve<T>,
{
    fn observe(&mut self, value: T) {
        self.inner.observe(value);
    }

    fn observe_slice(&mut self, values: &[T])
    where
        T: Clone,
    {
        self.inner.observe_slice(values);
    }
}

impl<F, P, T> CanSample<T> for CanonicalChallenger<F, P>
where
    F: Clone,
    P: CryptographicPermutation<[F; PERM_WIDTH]>,
    Duplex<F, P>: CanSample<T>,
{
    fn sample(&mut self) -> T {
        self.inner.sample()
    }
}

impl<F, P> CanSampleBits<usize> for CanonicalChallenger<F, P>
where
    F: Clone,
    P: CryptographicPermutation<[F; PERM_WIDTH]>,
    Duplex<F, P>: CanSampleBits<usize>,
{
    fn sample_bits(&mut self, bits: usize) -> usize {
        self.inner.sample_bits(bits)
    }
}

impl<F, P> FieldChallenger<F> for CanonicalChallenger<F, P>
where
    F: PrimeField64,
    P: CryptographicPermutation<[F; PERM_WIDTH]>,
{
}

impl<F, P> GrindingChallenger for CanonicalChallenger<F, P>
where
    F: PrimeField64,
    P: CryptographicPermutation<[F; PERM_WIDTH]>
        + CryptographicPermutation<[F::Packing; PERM_WIDTH]>,
{
    type Witness = F;

    fn grind(&mut self, bits: usize) -> F {
        // Zero difficulty: Plonky3's canonical zero witness, transcript untouched.
        if bits == 0 {
            return F::ZERO;
        }
        assert!(
            bits < 64 && (1u64 << bits) < F::ORDER_U64,
            "proof-of-work difficulty {bits} is not below the field size"
        );
        if let Some(searcher) = self.searcher.0.clone()
            && let Ok(w) =
                searcher.smallest_witness(&self.inner.sponge_state, &self.inner.input_buffer, bits)
        {
            // check_witness advances the sponge even when it fails: check on a copy.
            let mut probe = self.inner.clone();
            if probe.check_witness(bits, w) {
                self.inner = probe;
                return w;
            }
        }
        let witness = self
            .smallest_witness(bits)
            .expect("a witness exists below the field order");
        // The real check also advances the transcript past the witness.
        assert!(self.inner.check_witness(bits, witness));
        witness
    }

    fn check_witness(&mut self, bits: usize, witness: F) -> bool {
        self.inner.check_witness(bits, witness)
    }
}

#[cfg(test)]
mod tests {
    use p3_challenger::{CanObserve, GrindingChallenger};
    use p3_koala_bear::{KoalaBear, default_koalabear_poseidon2_16};

    use super::*;

    type F = KoalaBear;

    /// Reference: try witnesses 0, 1, 2, ... on clones of the plain duplex challenger.
    fn smallest_by_trial(ch: &Duplex<F, p3_koala_bear::Poseidon2KoalaBear<16>>, bits: usize) -> F {
        (0u64..)
            .map(F::from_u64)
            .find(|&w| ch.clone().check_witness(bits, w))
            .expect("some witness")
    }

    struct FixedSearcher(Result<F, String>);

    impl PowSearcher<F> for FixedSearcher {
        fn smallest_witness(&self, _: &[F; PERM_WIDTH], _: &[F], _: usize) -> Result<F, String> {
            self.0.clone()
        }
    }

    /// A searcher's valid witness is taken as is; an invalid one or an error falls back to
    /// the CPU search with the transcript intact.
    #[test]
    fn pow_searcher_is_checked() {
        let mut base = CanonicalChallenger::new(default_koalabear_poseidon2_16());
        for i in 0..11u64 {
            base.observe(F::from_u64(i));
        }
        let expected = smallest_by_trial(&base.inner, 8);
        let mut after = base.clone();
        assert_eq!(after.grind(8), expected);
        let next: F = after.sample();
        for answer in [
            Ok(expected),
            Ok(expected + F::ONE),
            Err("device lost".to_string()),
        ] {
            let mut ch = base.clone();
            ch.set_pow_searcher(Some(std::sync::Arc::new(FixedSearcher(answer.clone()))));
            let w = ch.grind(8);
            assert_eq!(w, expected, "{answer:?}");
            let s: F = ch.sample();
            assert_eq!(s, next, "{answer:?}");
        }
    }

    #[test]
    fn grinding_returns_the_smallest_witness() {
        for buffered in 0..HASH_RATE {
            let mut canonical = CanonicalChallenger::new(default_koalabear_poseidon2_16());
            for i in 0..(3 * HASH_RATE + buffered) {
                canonical.observe(F::from_u64(1000 + i as u64));
            }
            let expected = smallest_by_trial(&canonical.inner, 8);
            let mut reference = canonical.inner.clone();
            assert!(reference.check_witness(8, expected));
            assert_eq!(canonical.grind(8), expected, "{buffered} buffered inputs");
            // Both transcripts continue identically after the witness.
            let (a, b): (F, F) = (canonical.sample(), reference.sample());
            assert_eq!(a, b);
        }
    }
}
