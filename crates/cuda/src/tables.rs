//! Host-computed tables the kernels read: NTT twiddles and coset-shift powers. Built with
//! Plonky3's own field arithmetic and generators, so the device uses exactly p3's roots of unity.

use crate::error::{Error, Result};
use crate::field::DeviceField;

/// `tw[k] = omega^k` for `k < 2^(log_n - 1)` (at least one entry), Montgomery words, where
/// `omega = F::two_adic_generator(log_n)` (inverted when `inverse`).
pub fn twiddles<F: DeviceField>(log_n: u32, inverse: bool) -> Result<Vec<u32>> {
    if log_n as usize > F::TWO_ADICITY {
        return Err(Error::InvalidShape(format!(
            "2^{log_n} exceeds the two-adicity 2^{} of the field",
            F::TWO_ADICITY
        )));
    }
    let mut omega = F::two_adic_generator(log_n as usize);
    if inverse {
        omega = omega.inverse();
    }
    let half = (1usize << log_n.max(1)) / 2;
    Ok(omega
        .powers()
        .take(half)
        .map(|w| w.to_monty_word())
        .collect())
}

/// Words per low table of the coset powers (`i & 4095`).
pub const COSET_LO: usize = 4096;

/// Tables for `shift^i / n = lo[i & 4095] * hi[i >> 12]`, `i < n = 2^log_n`.
pub fn coset_tables<F: DeviceField>(log_n: u32, shift: F) -> (Vec<u32>, Vec<u32>) {
    let n = 1usize << log_n;
    let lo: Vec<u32> = shift
        .powers()
        .take(COSET_LO)
        .map(|x| x.to_monty_word())
        .collect();
    let n_inv = F::from_usize(n).inverse();
    let step = shift.exp_u64(COSET_LO as u64);
    let hi: Vec<u32> = step
        .shifted_powers(n_inv)
        .take(n.div_ceil(COSET_LO))
        .map(|x| x.to_monty_word())
        .collect();
    (lo, hi)
}

/// Per-block coset tables of the LDE scatter (see `CosetScatterParams`): for each output block
/// `t < 2^log_blowup`, with `shift_t = shift * omega_N^bitrev(t)` (`N = n << log_blowup`),
/// `lo[t*4096 + j] = shift_t^j` and `hi[t*hi_len + k] = shift_t^(4096 k) / n`.
/// Returns `(lo, hi, hi_len)`.
pub fn coset_block_tables<F: DeviceField>(
    log_n: u32,
    log_blowup: u32,
    shift: F,
) -> Result<(Vec<u32>, Vec<u32>, usize)> {
    let log_big = log_n + log_blowup;
    if log_big as usize > F::TWO_ADICITY {
        return Err(Error::InvalidShape(format!(
            "LDE size 2^{log_big} exceeds the two-adicity 2^{} of the field",
            F::TWO_ADICITY
        )));
    }
    let omega = F::two_adic_generator(log_big as usize);
    let hi_len = (1usize << log_n).div_ceil(COSET_LO);
    let mut lo = Vec::with_capacity(COSET_LO << log_blowup);
    let mut hi = Vec::with_capacity(hi_len << log_blowup);
    for t in 0..1u64 << log_blowup {
        let rev = if log_blowup == 0 {
            0
        } else {
            t.reverse_bits() >> (64 - log_blowup)
        };
        let (l, h) = coset_tables::<F>(log_n, shift * omega.exp_u64(rev));
        debug_assert_eq!(h.len(), hi_len);
        lo.extend(l);
        hi.extend(h);
    }
    Ok((lo, hi, hi_len))
}
