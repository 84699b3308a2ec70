//! Model of `fri_fold_*` and `fri_leaves` (kernels/fri.cu).

use crate::field::DeviceField;
use crate::fri::FoldSchedule;
use crate::reference::{ext_add, ext_mul, ext_sub, halve, mul, reverse_bits};

use super::pow;

/// Mirror of one `fold` launch: `2^log_n` outputs from `2^(log_n+1)` inputs.
pub fn fold_step<F: DeviceField>(
    input: &[u32],
    log_n: u32,
    beta: [u32; 4],
    g_inv: u32,
    roll: Option<(&[u32], [u32; 4])>,
) -> Vec<u32> {
    let n = 1usize << log_n;
    let mut out = vec![0u32; 4 * n];
    for i in 0..n {
        let factor = halve::<F>(pow::<F>(g_inv, reverse_bits(i as u32, log_n)));
        let lo: [u32; 4] = core::array::from_fn(|k| input[8 * i + k]);
        let hi: [u32; 4] = core::array::from_fn(|k| input[8 * i + 4 + k]);
        let half_sum = ext_add::<F>(lo, hi).map(halve::<F>);
        let t = ext_mul::<F>(ext_sub::<F>(lo, hi), beta).map(|c| mul::<F>(c, factor));
        let mut r = ext_add::<F>(half_sum, t);
        if let Some((v, roll_beta)) = roll {
            let v: [u32; 4] = core::array::from_fn(|k| v[4 * i + k]);
            r = ext_add::<F>(r, ext_mul::<F>(roll_beta, v));
        }
        out[4 * i..4 * i + 4].copy_from_slice(&r);
    }
    out
}

/// The launches of `CudaBackend::fri_fold`: one `fold_step` per schedule step, the roll-in on
/// the last.
pub fn fold<F: DeviceField>(
    codeword: &[u32],
    schedule: &FoldSchedule,
    roll_in: Option<&[u32]>,
) -> Vec<u32> {
    let mut current = codeword.to_vec();
    for (s, &(log_n, g_inv, beta)) in schedule.steps.iter().enumerate() {
        let roll = if s + 1 == schedule.steps.len() {
            roll_in.map(|r| (r, schedule.roll_beta))
        } else {
            None
        };
        current = fold_step::<F>(&current, log_n, beta, g_inv, roll);
    }
    current
}

/// Mirror of `fri_leaves`.
pub fn leaves(codeword: &[u32], log_n: u32, log_arity: u32) -> Vec<u32> {
    let total = 4usize << log_n;
    let rows = 1usize << (log_n - log_arity);
    let mut out = vec![0u32; total];
    for (w, &word) in codeword.iter().enumerate().take(total) {
        let element = w >> 2;
        let k = w & 3;
        let r = element >> log_arity;
        let e = element & ((1 << log_arity) - 1);
        out[(4 * e + k) * rows + r] = word;
    }
    out
}
