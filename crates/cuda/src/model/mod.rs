//! **Reference models of the proving kernels** (`kernels/quotient.cu`, `pow.cu`, `fri.cu`, `opening.cu`,
//! `logup.cu`): scalar
//! Rust in the kernels' structure (same loops, same index maps, same scratch layout, same
//! arithmetic on Montgomery words, built on the field mirrors of [`crate::reference`]). Their
//! tests check them against the prover's CPU code and Plonky3 bit for bit on every machine; the
//! GPU tests then check the kernels against the same CPU code.
//!
//! When a kernel changes, change its model here in the same commit.

pub mod fri;
pub mod logup;
pub mod opening;
pub mod pow;
pub mod quotient;

use crate::field::DeviceField;
use crate::reference::{add, double, mul, sub, to_monty};

/// Mirror of `bitrev_rows` (field_ops.cu): the first `2^log_n` rows of each of `width` columns
/// (column stride `in_stride`) in bit-reversed row order, column-major.
pub fn bitrev_rows(input: &[u32], in_stride: usize, log_n: u32, width: usize) -> Vec<u32> {
    let n = 1usize << log_n;
    let mut out = vec![0u32; n * width];
    for (i, word) in out.iter_mut().enumerate() {
        let (c, r) = (i >> log_n, i & (n - 1));
        *word = input[c * in_stride + crate::reference::reverse_bits(r as u32, log_n) as usize];
    }
    out
}

/// Mirror of `f_pow` (field.cuh): square-and-multiply from the low bit.
pub fn pow<F: DeviceField>(mut base: u32, mut exp: u32) -> u32 {
    let mut acc = crate::reference::to_monty::<F>(1);
    while exp != 0 {
        if exp & 1 == 1 {
            acc = mul::<F>(acc, base);
        }
        base = mul::<F>(base, base);
        exp >>= 1;
    }
    acc
}

/// Mirror of `f_neg`.
pub fn neg<F: DeviceField>(a: u32) -> u32 {
    if a == 0 { 0 } else { F::PRIME - a }
}

/// Mirror of `f_inv` (field.cuh): `a^(p-2)`.
pub fn inv<F: DeviceField>(a: u32) -> u32 {
    pow::<F>(a, F::PRIME - 2)
}

/// Mirror of `e_scale`: every coefficient times a base element.
pub fn ext_scale<F: DeviceField>(a: [u32; 4], s: u32) -> [u32; 4] {
    a.map(|c| mul::<F>(c, s))
}

/// Mirror of `e_inv` (field.cuh): inverse in F[X]/(X^4 - W) through the tower Y = X^2.
pub fn ext_inv<F: DeviceField>(x: [u32; 4]) -> [u32; 4] {
    let w = to_monty::<F>(F::EXT4_W);
    let sq = |a: u32| mul::<F>(a, a);
    let a2_0 = add::<F>(sq(x[0]), mul::<F>(w, sq(x[2])));
    let a2_1 = double::<F>(mul::<F>(x[0], x[2]));
    let b2_0 = add::<F>(sq(x[1]), mul::<F>(w, sq(x[3])));
    let b2_1 = double::<F>(mul::<F>(x[1], x[3]));
    let n0 = sub::<F>(a2_0, mul::<F>(w, b2_1));
    let n1 = sub::<F>(a2_1, b2_0);
    let norm = sub::<F>(sq(n0), mul::<F>(w, sq(n1)));
    let ninv = inv::<F>(norm);
    let m0 = mul::<F>(n0, ninv);
    let m1 = neg::<F>(mul::<F>(n1, ninv));
    let (c0, c1, c2, c3) = (x[0], neg::<F>(x[1]), x[2], neg::<F>(x[3]));
    [
        add::<F>(mul::<F>(c0, m0), mul::<F>(w, mul::<F>(c2, m1))),
        add::<F>(mul::<F>(c1, m0), mul::<F>(w, mul::<F>(c3, m1))),
        add::<F>(mul::<F>(c2, m0), mul::<F>(c0, m1)),
        add::<F>(mul::<F>(c3, m0), mul::<F>(c1, m1)),
    ]
}
