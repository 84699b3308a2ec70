//! The fixed tables are bound by the verifying key: a prover that commits another range table
//! or opcode table (a key of its own) makes a proof that verifies against its own tables but is
//! rejected against the real ones.

use p3_air::{Air, BaseAir};
use p3_field::PrimeCharacteristicRing;
use p3_lookup::InteractionBuilder;
use p3_matrix::Matrix;
use p3_matrix::dense::RowMajorMatrix;
use slotproof_prover::VerifyError;

use crate::EvmAir;
use crate::chips::opcode_table::columns::{NUM_OPCODE_TABLE_COLS, NUM_PROPS};
use crate::shard::{self, Shard};
use crate::tests::{F, fixture, prover};

/// A chip whose fixed (preprocessed) table the prover replaced.
#[derive(Clone, Debug)]
struct AlteredFixed {
    air: EvmAir,
    fixed: Option<RowMajorMatrix<F>>,
}

impl BaseAir<F> for AlteredFixed {
    fn width(&self) -> usize {
        BaseAir::<F>::width(&self.air)
    }
    fn preprocessed_trace(&self) -> Option<RowMajorMatrix<F>> {
        self.fixed
            .clone()
            .or_else(|| BaseAir::<F>::preprocessed_trace(&self.air))
    }
    fn preprocessed_width(&self) -> usize {
        BaseAir::<F>::preprocessed_width(&self.air)
    }
    fn preprocessed_next_row_columns(&self) -> Vec<usize> {
        BaseAir::<F>::preprocessed_next_row_columns(&self.air)
    }
    fn num_public_values(&self) -> usize {
        BaseAir::<F>::num_public_values(&self.air)
    }
    fn main_next_row_columns(&self) -> Vec<usize> {
        BaseAir::<F>::main_next_row_columns(&self.air)
    }
}

impl<AB: InteractionBuilder<F = F>> Air<AB> for AlteredFixed {
    fn eval(&self, builder: &mut AB) {
        self.air.eval(builder)
    }
}

fn small_shard() -> Shard<F> {
    let t = &fixture("transfers")[0];
    shard::generate_shards::<F>(t, 1 << 10).unwrap().remove(0)
}

/// Proves `s` with instance `instance`'s fixed table replaced by `fixed`: the proof must verify
/// against the altered tables (so it is a valid proof of its own key) and be rejected against
/// the real chips.
fn assert_altered_table_rejected(s: &Shard<F>, instance: usize, fixed: RowMajorMatrix<F>) {
    let altered: Vec<AlteredFixed> = s
        .airs
        .iter()
        .enumerate()
        .map(|(i, &air)| AlteredFixed {
            air,
            fixed: (i == instance).then(|| fixed.clone()),
        })
        .collect();
    let p = prover();
    let proof = p
        .prove(&altered, &s.traces, &s.public_values)
        .expect("the lookups still balance with the altered table");
    p.verify(&altered, &proof, &s.public_values)
        .expect("valid against the altered table");
    match p.verify(&s.airs, &proof, &s.public_values) {
        Err(VerifyError::Rejected(_)) => {}
        other => panic!("instance {instance}: expected rejection, got {other:?}"),
    }
    // Keys made from the altered key do not take over its fixed tables: their traces differ,
    // so the real tables are committed again (prover and verifier side alike).
    let heights = &proof.degree_bits;
    let altered_vk = p.verifying_key(&altered, heights, None).expect("key");
    let vk = p
        .verifying_key(&s.airs, heights, Some(&altered_vk))
        .expect("key");
    match p.verify_with_key(&s.airs, &proof, &s.public_values, &vk.common) {
        Err(VerifyError::Rejected(_)) => {}
        other => panic!("instance {instance}: shared key: expected rejection, got {other:?}"),
    }
    let altered_key = p.keygen(&altered, heights).expect("key");
    let key = p
        .keygen_shared(&s.airs, heights, Some(&altered_key))
        .expect("key");
    assert!(!key.shares_preprocessed_round(&altered_key));
}

/// A row no chip looks up (its multiplicities zero), so altering it keeps the lookups balanced.
fn unused_row(s: &Shard<F>, instance: usize) -> usize {
    let t = &s.traces[instance];
    (0..t.height())
        .rev()
        .find(|&r| t.row_slice(r).unwrap().iter().all(|m| *m == F::ZERO))
        .expect("an unused row")
}

#[test]
fn altered_range_table_is_rejected() {
    let s = small_shard();
    for instance in [shard::RANGE_U8, shard::RANGE_U16] {
        let EvmAir::Range(range) = s.airs[instance] else {
            panic!("instance {instance} is a range table")
        };
        let r = unused_row(&s, instance);
        let mut values = range.values::<F>();
        // A value outside the range, on a row nothing looks up.
        values.values[r] = F::from_usize(range.rows() + r);
        assert_altered_table_rejected(&s, instance, values);
    }
}

#[test]
fn altered_opcode_table_row_is_rejected() {
    let s = small_shard();
    assert_eq!(s.traces[shard::OPCODE_TABLE].width(), NUM_OPCODE_TABLE_COLS);
    let r = unused_row(&s, shard::OPCODE_TABLE);
    let mut props = crate::OpcodeTableAir::properties::<F>();
    // Another static gas for an opcode the shard does not execute.
    let static_gas = core::mem::offset_of!(crate::chips::opcode_table::OpcodeProps<u8>, static_gas);
    props.values[r * NUM_PROPS + static_gas] += F::ONE;
    assert_altered_table_rejected(&s, shard::OPCODE_TABLE, props);
}
