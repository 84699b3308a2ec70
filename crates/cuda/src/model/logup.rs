//! Model of `logup_fractions_*`, `logup_scan_block_*`, `logup_scan_add_*` and
//! `logup_accumulator` (kernels/logup.cu), and of the host sequence that launches them
//! ([`crate::CudaBackend::logup_trace`]).

use super::quotient::ColumnsView;
use super::{ext_inv, neg};
use crate::error::Result;
use crate::field::DeviceField;
use crate::logup::{
    KIND_ADDITIVE, LogUpEnv, LogUpFailure, LogUpProgram, SCAN_BLOCK, SCAN_ITEMS, SCAN_THREADS,
    STATUS_OK, check_shapes, check_status, failure_key, fraction_threads,
};
use crate::reference::{add, ext_add, ext_sub, mul, sub, to_monty};

fn times_base<F: DeviceField>(a: [u32; 4], s: u32) -> [u32; 4] {
    a.map(|c| mul::<F>(c, s))
}

fn load4(v: &[u32], at: usize) -> [u32; 4] {
    core::array::from_fn(|k| v[at + k])
}

/// Mirror of `tuple_denominator`; `value(slot)` reads the thread's value slot.
fn tuple_denominator<F: DeviceField>(
    alpha: [u32; 4],
    betas: &[u32],
    slots: &[u32],
    value: impl Fn(u32) -> u32,
) -> [u32; 4] {
    let k = slots.len();
    let mut combined = [0u32; 4];
    if k > 0 {
        combined[0] = value(slots[k - 1]);
        for (i, &slot) in slots[..k - 1].iter().enumerate() {
            let e = value(slot);
            combined = ext_add::<F>(combined, times_base::<F>(load4(betas, 4 * (k - 1 - i)), e));
        }
    }
    ext_sub::<F>(alpha, combined)
}

/// What `logup_fractions` leaves behind: the trace buffer (columns `4..` written, columns 0..3
/// still holding `poison`), the row totals and the status word.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fractions {
    pub out: Vec<u32>,
    pub totals: Vec<u32>,
    pub status: u64,
}

/// Mirror of `fraction_rows`: `threads` threads, thread t handling rows t, t + T, ..., each with
/// its `[slot][thread]` column of one scratch file.
pub fn logup_fractions<F: DeviceField>(
    program: &LogUpProgram,
    env: &LogUpEnv,
    main: ColumnsView<'_>,
    height: usize,
    threads: usize,
    poison: u32,
) -> Fractions {
    let prog = &program.program;
    let layout = &program.layout;
    let stride = program.challenge_stride();
    let nb = prog.num_base_regs;
    let one = to_monty::<F>(1);
    let mut scratch = vec![0u32; threads * program.scratch_words_per_thread()];
    let mut out = vec![poison; height * program.trace_width()];
    let mut totals = vec![poison; 4 * height];
    let mut status = STATUS_OK;
    let mut report = |row: usize, l: usize, f: LogUpFailure| {
        status = status.min(failure_key(row as u32, l as u32, f));
    };
    for t in 0..threads {
        let reg = |r: u32| r as usize * threads + t;
        let val = |s: u32| (nb + s as usize) * threads + t;
        let mut row = t;
        while row < height {
            let next = if row + 1 == height { 0 } else { row + 1 };
            let is_first = if row == 0 { one } else { 0 };
            let is_last = if row + 1 == height { one } else { 0 };
            let is_transition = if row + 1 < height { one } else { 0 };
            for &[op, dst, a, b] in &prog.instructions {
                let v = match op {
                    0 => main.data[a as usize * main.stride + if b == 0 { row } else { next }],
                    1 => env.public_values[a as usize],
                    2 => prog.base_constants[a as usize],
                    3 => is_first,
                    4 => is_last,
                    5 => is_transition,
                    6 => add::<F>(scratch[reg(a)], scratch[reg(b)]),
                    7 => sub::<F>(scratch[reg(a)], scratch[reg(b)]),
                    8 => mul::<F>(scratch[reg(a)], scratch[reg(b)]),
                    9 => neg::<F>(scratch[reg(a)]),
                    _ => {
                        // OP_STORE_VALUE
                        scratch[val(b)] = scratch[reg(a)];
                        continue;
                    }
                };
                scratch[reg(dst)] = v;
            }

            let value = |s: u32| scratch[val(s)];
            let mut total = [0u32; 4];
            let mut cursor = 0usize;
            for l in 0..program.num_lookups {
                let ch = &env.challenges[l * stride..(l + 1) * stride];
                let alpha = load4(ch, 0);
                let betas = &ch[4..];
                let (kind, tuples) = (layout[cursor], layout[cursor + 1]);
                cursor += 2;
                let mut frac = [0u32; 4];
                if kind == KIND_ADDITIVE {
                    for _ in 0..tuples {
                        let m = value(layout[cursor]);
                        let k = layout[cursor + 2] as usize;
                        if m != 0 {
                            let slots = &layout[cursor + 3..cursor + 3 + k];
                            let d = tuple_denominator::<F>(alpha, betas, slots, value);
                            if d == [0; 4] {
                                report(row, l, LogUpFailure::ZeroDenominator);
                            }
                            frac = ext_add::<F>(frac, times_base::<F>(ext_inv::<F>(d), m));
                        }
                        cursor += 3 + k;
                    }
                } else {
                    let (mut numerator, mut flag_sum) = (0u32, 0u32);
                    let mut denom = [0u32; 4];
                    for _ in 0..tuples {
                        let flag = value(layout[cursor + 1]);
                        let k = layout[cursor + 2] as usize;
                        if flag != 0 && flag != one {
                            report(row, l, LogUpFailure::NonBooleanFlag);
                        }
                        flag_sum = add::<F>(flag_sum, flag);
                        if flag != 0 {
                            let m = value(layout[cursor]);
                            numerator = add::<F>(numerator, mul::<F>(flag, m));
                            let slots = &layout[cursor + 3..cursor + 3 + k];
                            let d = tuple_denominator::<F>(alpha, betas, slots, value);
                            denom = ext_add::<F>(denom, times_base::<F>(d, flag));
                        }
                        cursor += 3 + k;
                    }
                    if flag_sum != 0 && flag_sum != one {
                        report(row, l, LogUpFailure::FlagsAboveOne);
                    }
                    denom[0] = add::<F>(denom[0], sub::<F>(one, flag_sum));
                    if denom == [0; 4] {
                        report(row, l, LogUpFailure::ZeroDenominator);
                    }
                    frac = times_base::<F>(ext_inv::<F>(denom), numerator);
                }
                for (c, &word) in frac.iter().enumerate() {
                    out[(4 * (l + 1) + c) * height + row] = word;
                }
                total = ext_add::<F>(total, frac);
            }
            totals[4 * row..4 * row + 4].copy_from_slice(&total);
            row += threads;
        }
    }
    Fractions {
        out,
        totals,
        status,
    }
}

/// Mirror of one `logup_scan_block` launch over `n` elements: every block's threads, their
/// register scans, the two shuffle scans (partner values from before each step) and the stores.
pub fn scan_block<F: DeviceField>(data: &mut [u32], n: usize, mut block_sums: Option<&mut [u32]>) {
    const WARPS: usize = SCAN_THREADS / 32;
    for block in 0..n.div_ceil(SCAN_BLOCK) {
        // 1. Per thread: its items scanned in registers.
        let mut items = vec![[[0u32; 4]; SCAN_ITEMS]; SCAN_THREADS];
        let mut run = vec![[0u32; 4]; SCAN_THREADS];
        for (t, (thread_items, run)) in items.iter_mut().zip(&mut run).enumerate() {
            let first = block * SCAN_BLOCK + t * SCAN_ITEMS;
            for (i, item) in thread_items.iter_mut().enumerate() {
                let e = first + i;
                if e < n {
                    *run = ext_add::<F>(*run, load4(data, 4 * e));
                }
                *item = *run;
            }
        }
        // 2. Shuffle scan within each warp.
        let mut incl = run.clone();
        let mut d = 1;
        while d < 32 {
            let before = incl.clone();
            for (t, v) in incl.iter_mut().enumerate() {
                if t % 32 >= d {
                    *v = ext_add::<F>(*v, before[t - d]);
                }
            }
            d <<= 1;
        }
        let mut warp_sums: Vec<[u32; 4]> = (0..WARPS).map(|w| incl[32 * w + 31]).collect();
        // 3. Warp 0 scans the warp totals.
        let mut d = 1;
        while d < WARPS {
            let before = warp_sums.clone();
            for (lane, v) in warp_sums.iter_mut().enumerate() {
                if lane >= d {
                    *v = ext_add::<F>(*v, before[lane - d]);
                }
            }
            d <<= 1;
        }
        // 4. Exclusive prefixes, stores, block total.
        for t in 0..SCAN_THREADS {
            let warp = t / 32;
            let mut prefix = ext_sub::<F>(incl[t], run[t]);
            if warp > 0 {
                prefix = ext_add::<F>(prefix, warp_sums[warp - 1]);
            }
            let first = block * SCAN_BLOCK + t * SCAN_ITEMS;
            for (i, &item) in items[t].iter().enumerate() {
                let e = first + i;
                if e < n {
                    data[4 * e..4 * e + 4].copy_from_slice(&ext_add::<F>(item, prefix));
                }
            }
            if t == SCAN_THREADS - 1
                && let Some(sums) = block_sums.as_deref_mut()
            {
                sums[4 * block..4 * block + 4]
                    .copy_from_slice(&ext_add::<F>(items[t][SCAN_ITEMS - 1], prefix));
            }
        }
    }
}

/// Mirror of `logup_scan_add`.
pub fn scan_add<F: DeviceField>(data: &mut [u32], block_sums: &[u32], n: usize) {
    for e in SCAN_BLOCK..n {
        let b = e / SCAN_BLOCK;
        let v = ext_add::<F>(load4(data, 4 * e), load4(block_sums, 4 * (b - 1)));
        data[4 * e..4 * e + 4].copy_from_slice(&v);
    }
}

/// Mirror of [`crate::CudaBackend::scan_ext`] (the host recursion).
pub fn scan_ext<F: DeviceField>(data: &mut [u32], n: usize) {
    if n == 0 {
        return;
    }
    let blocks = n.div_ceil(SCAN_BLOCK);
    if blocks == 1 {
        scan_block::<F>(data, n, None);
        return;
    }
    let mut sums = vec![0u32; 4 * blocks];
    scan_block::<F>(data, n, Some(&mut sums));
    scan_ext::<F>(&mut sums, blocks);
    scan_add::<F>(data, &sums, n);
}

/// Mirror of `logup_accumulator`: writes columns 0..3 of `out`, returns the terminal.
pub fn accumulator(totals: &[u32], out: &mut [u32], height: usize) -> [u32; 4] {
    let mut terminal = [0u32; 4];
    for r in 0..height {
        for c in 0..4 {
            out[c * height + r] = if r == 0 { 0 } else { totals[4 * (r - 1) + c] };
        }
        if r + 1 == height {
            terminal.copy_from_slice(&totals[4 * r..4 * r + 4]);
        }
    }
    terminal
}

/// Mirror of [`crate::CudaBackend::logup_trace`] on a host copy of the main trace
/// (`height x main_width`, column-major): the flattened LogUp trace (column-major words) and
/// the terminal, or the same error.
pub fn logup_trace<F: DeviceField>(
    program: &LogUpProgram,
    env: &LogUpEnv,
    main: &[u32],
    height: usize,
    main_width: usize,
    max_threads: usize,
) -> Result<(Vec<u32>, Option<[u32; 4]>)> {
    if program.num_lookups == 0 {
        return Ok((Vec::new(), None));
    }
    check_shapes(program, env, height, main_width)?;
    if main.len() < height * main_width {
        return Err(crate::Error::InvalidShape(format!(
            "{} words for a {height} x {main_width} main trace",
            main.len()
        )));
    }
    let threads = fraction_threads(height, max_threads);
    let view = ColumnsView {
        data: main,
        stride: height,
    };
    let Fractions {
        mut out,
        mut totals,
        status,
    } = logup_fractions::<F>(program, env, view, height, threads, u32::MAX);
    scan_ext::<F>(&mut totals, height);
    let terminal = accumulator(&totals, &mut out, height);
    check_status(status)?;
    Ok((out, Some(terminal)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use p3_field::{BasedVectorSpace, Field, PrimeCharacteristicRing};
    use rand::rngs::SmallRng;
    use rand::{RngExt, SeedableRng};

    fn words<F: DeviceField, EF: BasedVectorSpace<F>>(x: EF) -> [u32; 4] {
        core::array::from_fn(|k| x.as_basis_coefficients_slice()[k].to_monty_word())
    }

    macro_rules! inverse_matches {
        ($field:ty) => {{
            type F = $field;
            type E = p3_field::extension::BinomialExtensionField<F, 4>;
            let from_fn = |f: &mut dyn FnMut(usize) -> F| -> E {
                <E as BasedVectorSpace<F>>::from_basis_coefficients_fn(|k| f(k))
            };
            let mut rng = SmallRng::seed_from_u64(7);
            for i in 0..200 {
                let x: E = match i {
                    0 => E::ONE,
                    1 => E::from(F::NEG_ONE),
                    // A pure X^2 and a pure X element: half of the coefficients zero.
                    2 => from_fn(&mut |k| if k == 2 { F::TWO } else { F::ZERO }),
                    3 => from_fn(&mut |k| if k == 1 { F::TWO } else { F::ZERO }),
                    _ => from_fn(&mut |_| rng.random()),
                };
                assert_eq!(
                    ext_inv::<F>(words::<F, E>(x)),
                    words::<F, E>(x.inverse()),
                    "{x:?}"
                );
            }
            assert_eq!(ext_inv::<F>([0; 4]), [0; 4]);
        }};
    }

    #[test]
    fn ext_inverse_matches_plonky3() {
        inverse_matches!(p3_koala_bear::KoalaBear);
        inverse_matches!(p3_baby_bear::BabyBear);
    }

    /// The modelled multi-block scan equals a sequential running sum, across block boundaries
    /// and two levels of block sums.
    #[test]
    fn scan_equals_sequential_sum() {
        type F = p3_baby_bear::BabyBear;
        let mut rng = SmallRng::seed_from_u64(11);
        for n in [
            1,
            31,
            33,
            1023,
            1024,
            1025,
            5000,
            SCAN_BLOCK * SCAN_BLOCK + 3,
        ] {
            let data: Vec<u32> = (0..4 * n)
                .map(|_| rng.random::<F>().to_monty_word())
                .collect();
            let mut expected = data.clone();
            for e in 1..n {
                let v = ext_add::<F>(load4(&expected, 4 * (e - 1)), load4(&expected, 4 * e));
                expected[4 * e..4 * e + 4].copy_from_slice(&v);
            }
            let mut got = data;
            scan_ext::<F>(&mut got, n);
            assert!(got == expected, "scan of {n} elements");
        }
    }
}
