//! Small AIRs for tests and benches: three tables, two of them joined by a LogUp bus.
//!
//! - [`MainAir`]: `BYTE_COLUMNS` byte columns looked up in the range table, a running sum of
//!   byte column 0 (next-row constraint) whose final value is a public value, and a degree-3
//!   chain `c[i] = c[i-1]^3 + c[i-2]` filling the remaining columns.
//! - [`RangeAir`]: 256 rows `[value, multiplicity]`, `value` counting 0..=255; provides every
//!   byte on the bus with its multiplicity.
//! - [`FibonacciAir`]: no lookups; `(a, b) -> (b, a + b)` with the first pair and the last `b`
//!   as public values. It sits between the two bus tables so that instance indices of LogUp
//!   traces differ from instance indices.
//! - [`FixedRangeAir`]: the range table with its values as a **preprocessed** column (fixed by
//!   the verifying key) and only the multiplicities in the main trace, the realistic shape of a
//!   lookup table. With `counts` set it also constrains the fixed column to count up, which
//!   makes the proof open the preprocessed trace at the next row too.

use p3_air::{Air, AirBuilder, BaseAir, WindowAccess};
use p3_field::{Field, PrimeCharacteristicRing, PrimeField64};
use p3_lookup::{InteractionBuilder, LookupBus};
use p3_matrix::dense::RowMajorMatrix;

/// The bus between the byte columns and the range table.
pub const RANGE_BUS: LookupBus<'static> = LookupBus::new("range8");
/// Byte columns of the main table, each looked up once per row.
pub const BYTE_COLUMNS: usize = 2;
/// Column of the running sum of byte column 0.
pub const SUM_COLUMN: usize = BYTE_COLUMNS;
/// Narrowest main table: bytes, running sum and at least one chain column.
pub const MIN_MAIN_WIDTH: usize = BYTE_COLUMNS + 2;
/// Rows of the range table.
pub const RANGE_ROWS: usize = 256;

#[derive(Clone, Copy, Debug)]
pub struct MainAir {
    pub width: usize,
}

#[derive(Clone, Copy, Debug)]
pub struct RangeAir;

#[derive(Clone, Copy, Debug)]
pub struct FibonacciAir;

#[derive(Clone, Copy, Debug)]
pub struct FixedRangeAir {
    /// Constrain the preprocessed values to count up (reads the next preprocessed row).
    pub counts: bool,
}

/// One AIR type for the whole batch (the batch prover takes a slice of one type).
#[derive(Clone, Copy, Debug)]
pub enum ShardAir {
    Main(MainAir),
    Fibonacci(FibonacciAir),
    Range(RangeAir),
    FixedRange(FixedRangeAir),
}

impl<F: Field> BaseAir<F> for ShardAir {
    fn width(&self) -> usize {
        match self {
            Self::Main(a) => a.width,
            Self::Fibonacci(_) => 2,
            Self::Range(_) => 2,
            Self::FixedRange(_) => 1,
        }
    }

    fn preprocessed_width(&self) -> usize {
        match self {
            Self::FixedRange(_) => 1,
            _ => 0,
        }
    }

    fn preprocessed_trace(&self) -> Option<RowMajorMatrix<F>> {
        match self {
            Self::FixedRange(_) => Some(RowMajorMatrix::new_col(
                (0..RANGE_ROWS).map(F::from_usize).collect(),
            )),
            _ => None,
        }
    }

    fn preprocessed_next_row_columns(&self) -> Vec<usize> {
        match self {
            Self::FixedRange(FixedRangeAir { counts: true }) => vec![0],
            _ => vec![],
        }
    }

    fn num_public_values(&self) -> usize {
        match self {
            Self::Main(_) => 1,
            Self::Fibonacci(_) => 3,
            Self::Range(_) | Self::FixedRange(_) => 0,
        }
    }
}

impl<AB: InteractionBuilder> Air<AB> for ShardAir
where
    AB::F: Field,
{
    fn eval(&self, builder: &mut AB) {
        match self {
            Self::Main(a) => eval_main(a.width, builder),
            Self::Fibonacci(_) => eval_fibonacci(builder),
            Self::Range(_) => eval_range(builder),
            Self::FixedRange(a) => eval_fixed_range(a.counts, builder),
        }
    }
}

fn eval_main<AB: InteractionBuilder>(width: usize, builder: &mut AB) {
    let main = builder.main();
    let (local, next) = (main.current_slice(), main.next_slice());
    let total: AB::Expr = builder.public_values()[0].into();

    builder
        .when_first_row()
        .assert_eq(local[SUM_COLUMN], local[0]);
    builder
        .when_transition()
        .assert_eq(next[SUM_COLUMN], local[SUM_COLUMN].into() + next[0].into());
    builder.when_last_row().assert_eq(local[SUM_COLUMN], total);

    for i in (SUM_COLUMN + 1)..width {
        let prev: AB::Expr = local[i - 1].into();
        let prev2: AB::Expr = local[i - 2].into();
        builder.assert_eq(local[i], prev.clone() * prev.clone() * prev + prev2);
    }
    for &byte in &local[..BYTE_COLUMNS] {
        RANGE_BUS.lookup_key(builder, [byte], 1);
    }
}

fn eval_range<AB: InteractionBuilder>(builder: &mut AB) {
    let main = builder.main();
    let (local, next) = (main.current_slice(), main.next_slice());
    builder.when_first_row().assert_zero(local[0]);
    builder
        .when_transition()
        .assert_eq(next[0], local[0].into() + AB::Expr::ONE);
    RANGE_BUS.table_entry(builder, [local[0]], local[1]);
}

fn eval_fixed_range<AB: InteractionBuilder>(counts: bool, builder: &mut AB) {
    let prep = builder.preprocessed();
    let (value, next_value) = (prep.current_slice()[0], prep.next_slice()[0]);
    let multiplicity = builder.main().current_slice()[0];
    if counts {
        builder
            .when_transition()
            .assert_eq(next_value, value.into() + AB::Expr::ONE);
    }
    RANGE_BUS.table_entry(builder, [value], multiplicity);
}

fn eval_fibonacci<AB: AirBuilder>(builder: &mut AB) {
    let main = builder.main();
    let (local, next) = (main.current_slice(), main.next_slice());
    let pv = builder.public_values();
    let (a0, b0, last): (AB::Expr, AB::Expr, AB::Expr) = (pv[0].into(), pv[1].into(), pv[2].into());
    builder.when_first_row().assert_eq(local[0], a0);
    builder.when_first_row().assert_eq(local[1], b0);
    builder.when_transition().assert_eq(next[0], local[1]);
    builder
        .when_transition()
        .assert_eq(next[1], local[0].into() + local[1].into());
    builder.when_last_row().assert_eq(local[1], last);
}

/// A deterministic byte stream (splitmix64), so traces need no RNG dependency.
struct ByteStream(u64);

impl ByteStream {
    fn next_byte(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (z ^ (z >> 31)) & 0xff
    }
}

/// Fill row `r` of a main trace from its byte columns (running sum from the previous row).
fn complete_main_row<F: Field>(values: &mut [F], width: usize, r: usize) {
    let sum = if r == 0 {
        values[0]
    } else {
        values[(r - 1) * width + SUM_COLUMN] + values[r * width]
    };
    let row = &mut values[r * width..(r + 1) * width];
    row[SUM_COLUMN] = sum;
    for i in (SUM_COLUMN + 1)..width {
        row[i] = row[i - 1].cube() + row[i - 2];
    }
}

/// A valid main trace of `2^log_height` rows and `width` columns, and its public value.
pub fn main_trace<F: Field>(log_height: usize, width: usize, seed: u64) -> RowMajorMatrix<F> {
    assert!(
        width >= MIN_MAIN_WIDTH,
        "main table needs {MIN_MAIN_WIDTH} columns"
    );
    let height = 1 << log_height;
    let mut bytes = ByteStream(seed);
    let mut values = F::zero_vec(height * width);
    for r in 0..height {
        for c in 0..BYTE_COLUMNS {
            values[r * width + c] = F::from_u64(bytes.next_byte());
        }
        complete_main_row(&mut values, width, r);
    }
    RowMajorMatrix::new(values, width)
}

/// Recompute the derived columns (running sum, chain) of a main trace after editing bytes.
pub fn recompute_main_trace<F: Field>(trace: &mut RowMajorMatrix<F>) {
    let width = trace.width;
    let height = trace.values.len() / width;
    for r in 0..height {
        complete_main_row(&mut trace.values, width, r);
    }
}

/// The main table's public value: the final running sum.
pub fn main_public_values<F: Field>(trace: &RowMajorMatrix<F>) -> Vec<F> {
    let width = trace.width;
    let last = trace.values.len() / width - 1;
    vec![trace.values[last * width + SUM_COLUMN]]
}

/// The range table providing every byte with its number of uses in `main`.
pub fn range_trace<F: PrimeField64>(main: &RowMajorMatrix<F>) -> RowMajorMatrix<F> {
    let mut counts = [0u64; RANGE_ROWS];
    for row in main.values.chunks_exact(main.width) {
        for byte in &row[..BYTE_COLUMNS] {
            let v = byte.as_canonical_u64() as usize;
            // Out-of-range values have no row to be counted in (a tamper test relies on this).
            if v < RANGE_ROWS {
                counts[v] += 1;
            }
        }
    }
    let values = (0..RANGE_ROWS)
        .flat_map(|v| [F::from_usize(v), F::from_u64(counts[v])])
        .collect();
    RowMajorMatrix::new(values, 2)
}

/// A Fibonacci trace of `2^log_height` rows and its public values `[a0, b0, last b]`.
pub fn fibonacci_trace<F: Field>(log_height: usize) -> (RowMajorMatrix<F>, Vec<F>) {
    let height = 1 << log_height;
    let (mut a, mut b) = (F::ZERO, F::ONE);
    let mut values = Vec::with_capacity(2 * height);
    for _ in 0..height {
        values.extend([a, b]);
        (a, b) = (b, a + b);
    }
    let last = values[2 * height - 1];
    (RowMajorMatrix::new(values, 2), vec![F::ZERO, F::ONE, last])
}

/// A complete batch: AIRs, traces and public values, in instance order.
#[derive(Clone, Debug)]
pub struct Shard<F> {
    pub airs: Vec<ShardAir>,
    pub traces: Vec<RowMajorMatrix<F>>,
    pub public_values: Vec<Vec<F>>,
}

impl<F: PrimeField64> Shard<F> {
    /// Main table (`2^log_main` x `width`) + range table (256 rows), joined by the bus.
    pub fn two_tables(log_main: usize, width: usize, seed: u64) -> Self {
        let main = main_trace::<F>(log_main, width, seed);
        let range = range_trace(&main);
        Self {
            airs: vec![ShardAir::Main(MainAir { width }), ShardAir::Range(RangeAir)],
            public_values: vec![main_public_values(&main), vec![]],
            traces: vec![main, range],
        }
    }

    /// Main table (`2^log_main` x `width`) + the range table with preprocessed values.
    pub fn fixed_range(log_main: usize, width: usize, seed: u64, counts: bool) -> Self {
        let main = main_trace::<F>(log_main, width, seed);
        let multiplicities = range_trace(&main)
            .values
            .into_iter()
            .skip(1)
            .step_by(2)
            .collect();
        Self {
            airs: vec![
                ShardAir::Main(MainAir { width }),
                ShardAir::FixedRange(FixedRangeAir { counts }),
            ],
            public_values: vec![main_public_values(&main), vec![]],
            traces: vec![main, RowMajorMatrix::new_col(multiplicities)],
        }
    }

    /// Main table, then a Fibonacci table without lookups, then the range table.
    pub fn three_tables(log_main: usize, width: usize, log_fibonacci: usize, seed: u64) -> Self {
        let main = main_trace::<F>(log_main, width, seed);
        let range = range_trace(&main);
        let (fib, fib_pv) = fibonacci_trace::<F>(log_fibonacci);
        Self {
            airs: vec![
                ShardAir::Main(MainAir { width }),
                ShardAir::Fibonacci(FibonacciAir),
                ShardAir::Range(RangeAir),
            ],
            public_values: vec![main_public_values(&main), fib_pv, vec![]],
            traces: vec![main, fib, range],
        }
    }
}

/// Backend conformance: a device backend must produce the CPU backend's bytes on the test shards.
///
/// `conformance_koala_bear` / `conformance_baby_bear` prove a set of shards (several heights,
/// a lookup-free table between two bus tables) with the given backend and with the CPU backend
/// and report the first shard whose proof bytes differ, or that the stock verifier rejects.
pub mod conformance {
    use super::Shard;
    use crate::{Backend, CpuShardProver, FriSettings, ProverConfig, ShardProver, proof_to_bytes};

    /// The shards every backend is checked on: (description, shard).
    fn shards<F: p3_field::PrimeField64>() -> Vec<(&'static str, Shard<F>)> {
        vec![
            ("2^8 x 8 + range", Shard::two_tables(8, 8, 1)),
            ("2^10 x 16 + range", Shard::two_tables(10, 16, 2)),
            ("2^6 x 5 + range (main shorter)", Shard::two_tables(6, 5, 3)),
            ("2^9 x 6 + fib 2^5 + range", Shard::three_tables(9, 6, 5, 4)),
            (
                "2^7 x 6 + preprocessed range (zeta only)",
                Shard::fixed_range(7, 6, 5, false),
            ),
            (
                "2^9 x 5 + preprocessed range (zeta, next)",
                Shard::fixed_range(9, 5, 6, true),
            ),
        ]
    }

    macro_rules! conformance_for {
        ($name:ident, $field:ty) => {
            /// Check `make_backend`'s proofs against the CPU backend's, byte for byte.
            pub fn $name<B>(
                make_backend: impl Fn(&ProverConfig<$field>, &FriSettings) -> B,
            ) -> Result<(), String>
            where
                B: Backend<ProverConfig<$field>>,
            {
                let cpu: CpuShardProver<$field> = ShardProver::cpu(FriSettings::DEFAULT);
                let device = ShardProver::with_backend(FriSettings::DEFAULT, make_backend);
                for (what, shard) in shards::<$field>() {
                    let reference = cpu
                        .prove(&shard.airs, &shard.traces, &shard.public_values)
                        .map_err(|e| format!("{what}: CPU backend: {e}"))?;
                    let proof = device
                        .prove(&shard.airs, &shard.traces, &shard.public_values)
                        .map_err(|e| format!("{what}: backend under test: {e}"))?;
                    let (a, b) = (
                        proof_to_bytes(&proof).map_err(|e| e.to_string())?,
                        proof_to_bytes(&reference).map_err(|e| e.to_string())?,
                    );
                    if a != b {
                        let at = a
                            .iter()
                            .zip(&b)
                            .position(|(x, y)| x != y)
                            .unwrap_or(a.len().min(b.len()));
                        return Err(format!(
                            "{what}: proofs differ at byte {at} ({} vs {} bytes)",
                            a.len(),
                            b.len()
                        ));
                    }
                    cpu.verify(&shard.airs, &proof, &shard.public_values)
                        .map_err(|e| format!("{what}: {e}"))?;
                }
                Ok(())
            }
        };
    }

    conformance_for!(conformance_koala_bear, p3_koala_bear::KoalaBear);
    conformance_for!(conformance_baby_bear, p3_baby_bear::BabyBear);
}
