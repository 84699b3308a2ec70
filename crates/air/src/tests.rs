//! Tests on real traces from the repository's fixtures.

use std::sync::OnceLock;

use p3_field::PrimeCharacteristicRing;
use p3_koala_bear::KoalaBear;
use p3_matrix::dense::RowMajorMatrix;
use slotproof_executor::trace::SubblockTrace;
use slotproof_executor::{BlockInput, ExecuteOptions, execute_block};
use slotproof_prover::{CpuShardProver, FriSettings, ProveError, ShardProver};

use crate::shard::{self, Shard, generate_shards};

type F = KoalaBear;

pub(crate) fn fixture(name: &str) -> &'static [SubblockTrace] {
    static CACHE: OnceLock<std::sync::Mutex<Vec<(String, &'static [SubblockTrace])>>> =
        OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let mut c = cache.lock().unwrap();
    if let Some((_, t)) = c.iter().find(|(n, _)| n == name) {
        return t;
    }
    let path = format!("{}/../../fixtures/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let input = BlockInput::from_path(&path).expect("fixture parses");
    let exec = execute_block(&input, &ExecuteOptions::default()).expect("fixture executes");
    let traces: Vec<SubblockTrace> = exec.subblocks.into_iter().map(|s| s.trace).collect();
    let leaked: &'static [SubblockTrace] = Box::leak(traces.into_boxed_slice());
    c.push((name.to_string(), leaked));
    leaked
}

pub(crate) fn prover() -> CpuShardProver<F> {
    ShardProver::cpu(FriSettings::DEFAULT)
}

pub(crate) fn check(shard: &Shard<F>) -> Result<(), ProveError> {
    prover()
        .prove(&shard.airs, &shard.traces, &shard.public_values)
        .map(|_| ())
}

#[test]
fn keccak_shard_proves_and_verifies() {
    let t = &fixture("keccak")[0];
    let shards = generate_shards::<F>(t, 1024).unwrap();
    let s = &shards[0];
    let p = prover();
    let proof = p
        .prove(&s.airs, &s.traces, &s.public_values)
        .expect("proves");
    p.verify(&s.airs, &proof, &s.public_values)
        .expect("verifies");
}
