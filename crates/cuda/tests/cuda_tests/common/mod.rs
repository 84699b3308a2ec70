//! Shared helpers of the integration tests: Plonky3 reference computations, random inputs,
//! configurable sizes. Plonky3 itself is the reference everywhere.
#![allow(dead_code)]

use p3_baby_bear::{BabyBear, default_babybear_poseidon2_16};
use p3_commit::Mmcs;
use p3_dft::{Radix2DitParallel, TwoAdicSubgroupDft};
use p3_field::Field;
use p3_koala_bear::{KoalaBear, default_koalabear_poseidon2_16};
use p3_matrix::Matrix;
use p3_matrix::bitrev::BitReversibleMatrix;
use p3_matrix::dense::RowMajorMatrix;
use p3_merkle_tree::MerkleTreeMmcs;
use p3_symmetric::{PaddingFreeSponge, Permutation, TruncatedPermutation};
use rand::SeedableRng;
use rand::rngs::SmallRng;
use slotproof_cuda::DeviceField;

/// p3 `BatchOpening`: (opened rows per matrix, sibling path).
pub type P3Opening<F> = (Vec<Vec<F>>, Vec<[F; 8]>);

/// A field with everything the tests need from Plonky3.
pub trait TestField: DeviceField
where
    rand::distr::StandardUniform: rand::distr::Distribution<Self>,
{
    type Perm: Permutation<[Self; 16]>
        + p3_symmetric::CryptographicPermutation<[Self; 16]>
        + Clone
        + Sync;
    fn default_perm() -> Self::Perm;
    const NAME: &'static str;
    /// p3: the cap of one commitment and `open_batch` at leaves `indices` from the same tree:
    /// (opened rows per matrix, sibling path). Element k of a path is layer k's digest at
    /// `(index >> k) ^ 1`, up to the cap.
    fn p3_cap_and_openings(
        mats: Vec<RowMajorMatrix<Self>>,
        cap_height: usize,
        indices: &[usize],
    ) -> (Vec<[Self; 8]>, Vec<P3Opening<Self>>);
}

macro_rules! p3_merkle_impls {
    ($f:ty) => {
        fn p3_cap_and_openings(
            mats: Vec<RowMajorMatrix<$f>>,
            cap_height: usize,
            indices: &[usize],
        ) -> (Vec<[$f; 8]>, Vec<P3Opening<$f>>) {
            let mmcs = mmcs_for::<$f>(cap_height);
            let (cap, tree) = mmcs.commit(mats);
            let openings = indices
                .iter()
                .map(|&i| {
                    let o = mmcs.open_batch(i, &tree);
                    (o.opened_values, o.opening_proof)
                })
                .collect();
            (cap.roots().to_vec(), openings)
        }
    };
}

type Mmcs16<F, P> = MerkleTreeMmcs<
    <F as Field>::Packing,
    <F as Field>::Packing,
    PaddingFreeSponge<P, 16, 8, 8>,
    TruncatedPermutation<P, 2, 8, 16>,
    2,
    8,
>;

fn mmcs_for<F: TestField>(cap_height: usize) -> Mmcs16<F, F::Perm>
where
    rand::distr::StandardUniform: rand::distr::Distribution<F>,
{
    let perm = F::default_perm();
    MerkleTreeMmcs::new(
        PaddingFreeSponge::new(perm.clone()),
        TruncatedPermutation::new(perm),
        cap_height,
    )
}

impl TestField for KoalaBear {
    type Perm = p3_koala_bear::Poseidon2KoalaBear<16>;
    fn default_perm() -> Self::Perm {
        default_koalabear_poseidon2_16()
    }
    const NAME: &'static str = "KoalaBear";
    p3_merkle_impls!(KoalaBear);
}

impl TestField for BabyBear {
    type Perm = p3_baby_bear::Poseidon2BabyBear<16>;
    fn default_perm() -> Self::Perm {
        default_babybear_poseidon2_16()
    }
    const NAME: &'static str = "BabyBear";
    p3_merkle_impls!(BabyBear);
}

/// Seed for this run: `SLOTPROOF_TEST_SEED` or fresh from the clock; printed so a failure can
/// be replayed.
pub fn rng(tag: &str) -> SmallRng {
    let seed = std::env::var("SLOTPROOF_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    eprintln!("[{tag}] seed {seed} (replay with SLOTPROOF_TEST_SEED={seed})");
    SmallRng::seed_from_u64(seed)
}

/// Environment variable as usize, or a default.
pub fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// Column-major words of a row-major matrix.
pub fn columns<F: DeviceField>(m: &RowMajorMatrix<F>) -> Vec<Vec<u32>> {
    (0..m.width())
        .map(|c| {
            (0..m.height())
                .map(|r| m.values[r * m.width() + c].to_monty_word())
                .collect()
        })
        .collect()
}

/// Row-major matrix from column-major words.
pub fn from_columns<F: DeviceField>(cols: &[Vec<u32>], height: usize) -> RowMajorMatrix<F> {
    let w = cols.len();
    let mut v = vec![F::ZERO; height * w];
    for (c, col) in cols.iter().enumerate() {
        for r in 0..height {
            v[r * w + c] = F::from_monty_word(col[r]);
        }
    }
    RowMajorMatrix::new(v, w)
}

/// p3: coset LDE in the row order TwoAdicFriPcs commits.
pub fn p3_lde<F: DeviceField>(
    m: RowMajorMatrix<F>,
    log_blowup: usize,
    shift: F,
) -> RowMajorMatrix<F> {
    Radix2DitParallel::<F>::default()
        .coset_lde_batch(m, log_blowup, shift)
        .bit_reverse_rows()
        .to_row_major_matrix()
}

/// p3: forward DFT, bit-reversed rows.
pub fn p3_dft_bitrev<F: DeviceField>(m: RowMajorMatrix<F>) -> RowMajorMatrix<F> {
    Radix2DitParallel::<F>::default()
        .dft_batch(m)
        .bit_reverse_rows()
        .to_row_major_matrix()
}

/// p3: inverse DFT.
pub fn p3_idft<F: DeviceField>(m: RowMajorMatrix<F>) -> RowMajorMatrix<F> {
    Radix2DitParallel::<F>::default().idft_batch(m)
}

/// Random matrix.
pub fn rand_matrix<F: DeviceField>(
    rng: &mut SmallRng,
    height: usize,
    width: usize,
) -> RowMajorMatrix<F>
where
    rand::distr::StandardUniform: rand::distr::Distribution<F>,
{
    RowMajorMatrix::rand(rng, height, width)
}

pub fn words_to_digest<F: DeviceField>(d: &[u32; 8]) -> [F; 8] {
    d.map(F::from_monty_word)
}

/// Print a skip line that the test harness does not capture (it captures only the print
/// macros), so `cargo test` shows it even for passing tests.
pub fn skip(test: &str, why: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "SKIP {test}: {why}");
}

/// Device 0 with every allocation poisoned (0xFFFF_FFFF, so unwritten outputs fail the
/// download check) and every launch synchronized and checked; `None` (with a `SKIP` line)
/// without a usable GPU or a build without kernels.
pub fn checked_backend(test: &str) -> Option<slotproof_cuda::CudaBackend> {
    backend_with(
        test,
        slotproof_cuda::BackendOptions {
            poison: Some(0xFFFF_FFFF),
            sync_each_launch: true,
            ..Default::default()
        },
    )
}

/// The driver the GPU tests run on, chosen once per process before any backend opens: a real
/// CUDA driver when the machine has one (or the library `SLOTPROOF_CUDA_DRIVER` names), else
/// the stand-in driver (`slotproof-cuda-standin`: the real kernels run on the CPU), so that
/// every GPU test runs in CI. Later probes return the same driver.
pub fn driver() -> slotproof_cuda::Result<slotproof_cuda::DriverInfo> {
    match slotproof_cuda::probe_driver() {
        Err(slotproof_cuda::Error::DriverNotFound { .. }) => {
            slotproof_cuda::probe_driver_file(slotproof_cuda_standin::LIBRARY_PATH)
        }
        other => other,
    }
}

/// Whether the tests run on the stand-in driver (kernels on the CPU, far slower than a GPU).
pub fn on_standin() -> bool {
    driver().is_ok_and(|info| info.is_standin())
}

/// `gpu` on a real device, `standin` under the stand-in driver: the sizes a test can afford on
/// the CPU. On a GPU every test runs its sizes unchanged.
pub fn gpu_or_standin<T>(gpu: T, standin: T) -> T {
    if on_standin() { standin } else { gpu }
}

/// `name`'s value from the environment, else `gpu_or_standin(gpu, standin)`.
pub fn env_size(name: &str, gpu: usize, standin: usize) -> usize {
    env_usize(name, gpu_or_standin(gpu, standin))
}

/// Device 0 with `options`, naming the device; `None` (with a `SKIP` line) without a usable
/// GPU or a build without kernels.
pub fn backend_with(
    test: &str,
    options: slotproof_cuda::BackendOptions,
) -> Option<slotproof_cuda::CudaBackend> {
    if let Err(e) = driver() {
        skip(test, &format!("no usable CUDA driver: {e}"));
        return None;
    }
    match slotproof_cuda::CudaBackend::with_options(0, options) {
        Ok(b) => {
            eprintln!(
                "[{test}] running on {}",
                b.device_description().unwrap_or_default()
            );
            Some(b)
        }
        Err(e) => {
            skip(test, &format!("no usable CUDA device/kernels: {e}"));
            None
        }
    }
}

/// The first shard (at most `max_rows` steps) of the generated `token` block's first subblock
/// (executed, every check passing): every EVM chip, the CPU and ALU chips with more quotient
/// chunks than the blowup.
pub fn first_token_shard<F: p3_field::PrimeField32 + slotproof_air::CarryField>(
    max_rows: usize,
) -> slotproof_air::Shard<F> {
    let generated = slotproof_executor::generate::generate_checked(
        slotproof_executor::generate::FixtureKind::Token,
    )
    .expect("generated block");
    slotproof_air::generate_shards::<F>(&generated.execution.subblocks[0].trace, max_rows)
        .expect("shards")
        .into_iter()
        .next()
        .expect("a shard")
}
