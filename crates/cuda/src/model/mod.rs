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
use crate::reference::mul;

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

/// Mirror of `f_inv` (quotient.cu): `a^(p-2)`.
pub fn inv<F: DeviceField>(a: u32) -> u32 {
    pow::<F>(a, F::PRIME - 2)
}

/// Mirror of `e_scale`: every coefficient times a base element.
pub fn ext_scale<F: DeviceField>(a: [u32; 4], s: u32) -> [u32; 4] {
    a.map(|c| mul::<F>(c, s))
}
