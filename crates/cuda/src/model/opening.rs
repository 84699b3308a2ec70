//! Model of `opening_weights_*`, `opening_dot_*` and `opening_reduce_*` (kernels/opening.cu).

use super::{ext_inv, pow};
use crate::field::DeviceField;
use crate::opening::{OpeningReduceParams, OpeningWeightsParams};
use crate::reference::{add, ext_mul, ext_sub, mul, reverse_bits, sub};

fn sub_base<F: DeviceField>(mut z: [u32; 4], x: u32) -> [u32; 4] {
    z[0] = sub::<F>(z[0], x);
    z
}

/// Mirror of `weights`: `h` extension elements, interleaved.
pub fn weights<F: DeviceField>(p: &OpeningWeightsParams) -> Vec<u32> {
    let h = 1usize << p.log_h;
    let mut out = vec![0u32; 4 * h];
    for i in 0..h {
        let x = mul::<F>(p.shift, pow::<F>(p.omega, reverse_bits(i as u32, p.log_h)));
        let w = ext_mul::<F>(p.scale, ext_inv::<F>(sub_base::<F>(p.z, x)));
        for k in 0..4 {
            out[4 * i + k] = mul::<F>(w[k], x);
        }
    }
    out
}

/// Mirror of `dot` for every column of a column-major matrix (`col_stride` words apart).
pub fn dot<F: DeviceField>(
    matrix: &[u32],
    col_stride: usize,
    width: usize,
    h: usize,
    w: &[u32],
) -> Vec<u32> {
    let mut out = vec![0u32; 4 * width];
    for col in 0..width {
        let column = &matrix[col * col_stride..];
        let mut acc = [0u32; 4];
        for i in 0..h {
            for k in 0..4 {
                acc[k] = add::<F>(acc[k], mul::<F>(w[4 * i + k], column[i]));
            }
        }
        out[4 * col..4 * col + 4].copy_from_slice(&acc);
    }
    out
}

/// Mirror of `reduce`: updates `acc` in place.
pub fn reduce<F: DeviceField>(
    p: &OpeningReduceParams,
    matrix: &[u32],
    alpha_powers: &[u32],
    acc: &mut [u32],
) {
    let n = 1usize << p.log_height;
    let stride = p.col_stride as usize;
    for r in 0..n {
        let mut combined = [0u32; 4];
        for j in 0..p.width as usize {
            let v = matrix[j * stride + r];
            for k in 0..4 {
                combined[k] = add::<F>(combined[k], mul::<F>(alpha_powers[4 * j + k], v));
            }
        }
        let x = mul::<F>(
            p.shift,
            pow::<F>(p.omega, reverse_bits(r as u32, p.log_height)),
        );
        let d = ext_inv::<F>(sub_base::<F>(p.z, x));
        let term = ext_mul::<F>(ext_mul::<F>(p.offset, ext_sub::<F>(p.claim, combined)), d);
        for k in 0..4 {
            acc[4 * r + k] = add::<F>(acc[4 * r + k], term[k]);
        }
    }
}
