//! The transcript's duplex sponge (width 16, rate 8) replayed as a list of permutation calls:
//! what the Poseidon2 table must prove for a verifier's Fiat–Shamir transcript. Absorbing and
//! squeezing follow `DuplexChallenger` exactly (inputs overwrite the rate, the absorbed count
//! is added to the first capacity element, samples are taken from the end of the output
//! buffer), so replaying a verifier's log must reproduce every sample it drew.

use p3_field::{PrimeCharacteristicRing, PrimeField64};
use p3_symmetric::Permutation;
use slotproof_prover::ProverField;
use thiserror::Error;

use crate::config::Val;
use crate::log::Event;
use crate::tables::poseidon2::WIDTH;

/// Sponge rate.
const RATE: usize = 8;

/// The sponge, with every permutation input it applied.
pub struct SpongeReplay {
    state: [Val; WIDTH],
    input: Vec<Val>,
    output: Vec<Val>,
    perm: <Val as ProverField>::Perm,
    /// The input state of every permutation call, in order (one Poseidon2-table row each).
    pub calls: Vec<[Val; WIDTH]>,
    /// How many elements each call absorbed (0: a squeeze).
    pub absorbed: Vec<usize>,
}

/// A logged transcript event the replay does not reproduce.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("transcript event {index}: the log has {logged:?}, the replay gives {replayed:?}")]
pub struct ReplayError {
    pub index: usize,
    // Boxed: an event can carry a whole Merkle opening.
    pub logged: Box<Event>,
    pub replayed: Box<Event>,
}

impl Default for SpongeReplay {
    fn default() -> Self {
        Self {
            state: [Val::ZERO; WIDTH],
            input: Vec::new(),
            output: Vec::new(),
            perm: Val::default_poseidon2_16(),
            calls: Vec::new(),
            absorbed: Vec::new(),
        }
    }
}

impl SpongeReplay {
    fn duplex(&mut self) {
        let absorbed = self.input.len();
        for (slot, v) in self.state.iter_mut().zip(self.input.drain(..)) {
            *slot = v;
        }
        if absorbed > 0 {
            self.state[absorbed..RATE].fill(Val::ZERO);
            self.state[RATE] += Val::from_u8(absorbed as u8);
        }
        self.calls.push(self.state);
        self.absorbed.push(absorbed);
        self.perm.permute_mut(&mut self.state);
        self.output.clear();
        self.output.extend_from_slice(&self.state[..RATE]);
    }

    pub fn observe(&mut self, value: Val) {
        self.output.clear();
        self.input.push(value);
        if self.input.len() == RATE {
            self.duplex();
        }
    }

    pub fn sample(&mut self) -> Val {
        if !self.input.is_empty() || self.output.is_empty() {
            self.duplex();
        }
        self.output.pop().unwrap_or(Val::ZERO)
    }

    /// The low `bits` bits of the canonical form of a sample.
    pub fn sample_bits(&mut self, bits: usize) -> usize {
        let v = self.sample().as_canonical_u64() as usize;
        v & ((1usize << bits) - 1)
    }

    /// Proof of work: nothing at zero bits; else absorb the witness and test `bits` zero bits.
    pub fn check_witness(&mut self, bits: usize, witness: Val) -> bool {
        if bits == 0 {
            return true;
        }
        self.observe(witness);
        self.sample_bits(bits) == 0
    }

    /// Replay the transcript events of `log` (Merkle openings are not sponge steps) and check
    /// that each squeezed value and PoW verdict is the logged one.
    pub fn replay(log: &[Event]) -> Result<Self, ReplayError> {
        let mut sponge = Self::default();
        for (index, logged) in log.iter().enumerate() {
            let replayed = match *logged {
                Event::Observe(v) => {
                    sponge.observe(v);
                    Event::Observe(v)
                }
                Event::Sample(_) => Event::Sample(sponge.sample()),
                Event::SampleBits { bits, .. } => Event::SampleBits {
                    bits,
                    value: sponge.sample_bits(bits),
                },
                Event::Pow { bits, witness, .. } => Event::Pow {
                    bits,
                    witness,
                    accepted: sponge.check_witness(bits, witness),
                },
                Event::MerkleOpening(_) => continue,
            };
            if replayed != *logged {
                return Err(ReplayError {
                    index,
                    logged: Box::new(logged.clone()),
                    replayed: Box::new(replayed),
                });
            }
        }
        Ok(sponge)
    }
}
