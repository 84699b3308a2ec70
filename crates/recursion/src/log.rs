//! The events a batch-STARK verifier's Fiat–Shamir transcript and commitment openings consist
//! of, in the order they happen. The stock verifier's log (made through
//! [`crate::recording`]) is the oracle the native mirror ([`crate::native`]) must reproduce.

use std::sync::{Arc, Mutex};

use crate::config::Val;

/// One transcript or commitment-scheme step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A base-field element absorbed into the sponge.
    Observe(Val),
    /// A base-field element squeezed from the sponge.
    Sample(Val),
    /// `bits` low bits of a squeezed element (query indices).
    SampleBits { bits: usize, value: usize },
    /// A proof-of-work check: the witness and whether it passed.
    Pow {
        bits: usize,
        witness: Val,
        accepted: bool,
    },
    /// A Merkle multi-opening checked against a commitment (base-field rows; extension rows
    /// are flattened, as `ExtensionMmcs` does).
    MerkleOpening(MerkleOpening),
}

/// The arguments and verdict of one `Mmcs::verify_multi_batch`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MerkleOpening {
    /// The commitment's cap, digest by digest, flattened.
    pub commitment: Vec<Val>,
    /// (width, height) of every committed matrix.
    pub dims: Vec<(usize, usize)>,
    pub indices: Vec<usize>,
    /// `rows[query][matrix]`.
    pub rows: Vec<Vec<Vec<Val>>>,
    pub accepted: bool,
}

/// An event log shared by the recording challenger and MMCS (which the stock verifier clones
/// freely, so the log is behind a shared handle).
#[derive(Clone, Debug, Default)]
pub struct SharedLog(Arc<Mutex<Vec<Event>>>);

impl SharedLog {
    pub fn push(&self, event: Event) {
        // A poisoned log only means another recorder panicked mid-push; keep recording.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(event);
    }

    /// The events so far.
    pub fn events(&self) -> Vec<Event> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

/// Where two logs first part: the index and both events there (`None` past a log's end).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Divergence {
    pub index: usize,
    pub left: Option<Event>,
    pub right: Option<Event>,
}

/// The first difference between two logs, if any.
pub fn first_divergence(left: &[Event], right: &[Event]) -> Option<Divergence> {
    let index = left
        .iter()
        .zip(right)
        .position(|(a, b)| a != b)
        .or_else(|| (left.len() != right.len()).then(|| left.len().min(right.len())))?;
    Some(Divergence {
        index,
        left: left.get(index).cloned(),
        right: right.get(index).cloned(),
    })
}

#[cfg(test)]
mod tests {
    use p3_field::PrimeCharacteristicRing;

    use super::*;

    #[test]
    fn divergence_names_the_first_differing_event_and_a_missing_tail() {
        let a = [Event::Observe(Val::ONE), Event::Sample(Val::TWO)];
        let b = [Event::Observe(Val::ONE), Event::Sample(Val::ONE)];
        assert_eq!(first_divergence(&a, &a), None);
        let d = first_divergence(&a, &b).expect("they differ");
        assert_eq!(d.index, 1);
        assert_eq!(d.left, Some(Event::Sample(Val::TWO)));
        let d = first_divergence(&a, &a[..1]).expect("one is shorter");
        assert_eq!((d.index, d.right), (1, None));
    }
}
