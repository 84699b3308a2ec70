//! Model of `quotient_eval_*` and `quotient_split` (kernels/quotient.cu).

use super::{ext_scale, inv, neg, pow};
use crate::field::DeviceField;
use crate::quotient::{DeviceProgram, OP_ACC_BASE, OP_ACC_EXT, QuotientDomain, QuotientEnv};
use crate::reference::{add, ext_add, ext_mul, ext_sub, mul, reverse_bits, sub, to_monty};

/// A column-major matrix of device words as the kernel sees it: `data[c * stride + r]`.
#[derive(Clone, Copy, Debug)]
pub struct ColumnsView<'a> {
    pub data: &'a [u32],
    pub stride: usize,
}

/// Mirror of `quotient_rows`: `threads` threads, thread t handling storage rows t, t + T, ...,
/// each with its `[register][thread]` slice of one scratch file. Returns the kernel's output:
/// 4 coefficient columns of `2^log_quotient` words.
pub fn quotient_eval<F: DeviceField>(
    program: &DeviceProgram,
    env: &QuotientEnv,
    domain: &QuotientDomain,
    main: ColumnsView<'_>,
    perm: Option<ColumnsView<'_>>,
    threads: usize,
) -> Vec<u32> {
    let q_size = 1usize << domain.log_quotient;
    let q_mask = q_size - 1;
    let next_step = 1usize << (domain.log_quotient - domain.log_trace);
    let zh_mask = next_step - 1;
    let one = to_monty::<F>(1);
    let nb = program.num_base_regs;
    let mut scratch = vec![0u32; threads * program.scratch_words_per_thread()];
    let mut out = vec![0u32; 4 * q_size];
    for t in 0..threads {
        let base_at = |r: u32| r as usize * threads + t;
        let ext_at = |r: u32, k: usize| (nb + 4 * r as usize + k) * threads + t;
        let mut j = t;
        while j < q_size {
            let i = reverse_bits(j as u32, domain.log_quotient) as usize;
            let row_next =
                reverse_bits(((i + next_step) & q_mask) as u32, domain.log_quotient) as usize;
            let x = mul::<F>(domain.shift, pow::<F>(domain.g_quotient, i as u32));
            let z_h = domain.zh[i & zh_mask];
            let inv_z_h = domain.zh[next_step + (i & zh_mask)];
            let is_transition = sub::<F>(x, domain.h_inv);
            let is_first = mul::<F>(z_h, inv::<F>(sub::<F>(x, one)));
            let is_last = mul::<F>(z_h, inv::<F>(is_transition));

            let mut acc = [0u32; 4];
            for &[op, dst, a, b] in &program.instructions {
                let ext_get =
                    |s: &[u32], r: u32| -> [u32; 4] { core::array::from_fn(|k| s[ext_at(r, k)]) };
                let ext4 =
                    |v: &[u32], at: usize| -> [u32; 4] { core::array::from_fn(|k| v[at + k]) };
                let row = if b == 0 { j } else { row_next };
                match op {
                    0 => scratch[base_at(dst)] = main.data[a as usize * main.stride + row],
                    1 => scratch[base_at(dst)] = env.public_values[a as usize],
                    2 => scratch[base_at(dst)] = program.base_constants[a as usize],
                    3 => scratch[base_at(dst)] = is_first,
                    4 => scratch[base_at(dst)] = is_last,
                    5 => scratch[base_at(dst)] = is_transition,
                    6..=8 => {
                        let (x0, x1) = (scratch[base_at(a)], scratch[base_at(b)]);
                        scratch[base_at(dst)] = match op {
                            6 => add::<F>(x0, x1),
                            7 => sub::<F>(x0, x1),
                            _ => mul::<F>(x0, x1),
                        };
                    }
                    9 => scratch[base_at(dst)] = neg::<F>(scratch[base_at(a)]),
                    10 => {
                        let p = perm.expect("program reads the permutation trace");
                        for k in 0..4 {
                            scratch[ext_at(dst, k)] = p.data[(4 * a as usize + k) * p.stride + row];
                        }
                    }
                    11..=13 => {
                        let v = match op {
                            11 => ext4(&env.challenges, 4 * a as usize),
                            12 => ext4(&env.permutation_values, 4 * a as usize),
                            _ => ext4(&program.ext_constants, 4 * a as usize),
                        };
                        for k in 0..4 {
                            scratch[ext_at(dst, k)] = v[k];
                        }
                    }
                    14 => {
                        let v = [scratch[base_at(a)], 0, 0, 0];
                        for k in 0..4 {
                            scratch[ext_at(dst, k)] = v[k];
                        }
                    }
                    15..=17 => {
                        let (x0, x1) = (ext_get(&scratch, a), ext_get(&scratch, b));
                        let r = match op {
                            15 => ext_add::<F>(x0, x1),
                            16 => ext_sub::<F>(x0, x1),
                            _ => ext_mul::<F>(x0, x1),
                        };
                        for k in 0..4 {
                            scratch[ext_at(dst, k)] = r[k];
                        }
                    }
                    18 => {
                        let r = ext_get(&scratch, a).map(neg::<F>);
                        for k in 0..4 {
                            scratch[ext_at(dst, k)] = r[k];
                        }
                    }
                    OP_ACC_BASE => {
                        let v = scratch[base_at(a)];
                        acc = ext_add::<F>(
                            acc,
                            ext_scale::<F>(ext4(&env.weights, 4 * b as usize), v),
                        );
                    }
                    _ => {
                        debug_assert_eq!(op, OP_ACC_EXT);
                        acc = ext_add::<F>(
                            acc,
                            ext_mul::<F>(ext4(&env.weights, 4 * b as usize), ext_get(&scratch, a)),
                        );
                    }
                }
            }
            let q = ext_scale::<F>(acc, inv_z_h);
            for k in 0..4 {
                out[k * q_size + i] = q[k];
            }
            j += threads;
        }
    }
    out
}

/// Mirror of `quotient_split`.
pub fn quotient_split(quotient: &[u32], log_quotient: u32, log_chunks: u32) -> Vec<u32> {
    let q_size = 1usize << log_quotient;
    let chunk_rows = q_size >> log_chunks;
    let chunk_mask = (1usize << log_chunks) - 1;
    let mut out = vec![0u32; 4 * q_size];
    for (w, &word) in quotient.iter().enumerate().take(4 * q_size) {
        let k = w >> log_quotient;
        let i = w & (q_size - 1);
        let chunk = i & chunk_mask;
        let row = i >> log_chunks;
        out[chunk * 4 * chunk_rows + k * chunk_rows + row] = word;
    }
    out
}
