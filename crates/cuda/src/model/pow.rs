//! Model of `pow_grind_*` (kernels/pow.cu).

use crate::abi::Poseidon2Constants;
use crate::field::DeviceField;
use crate::pow::{NO_WITNESS, PowSearch};
use crate::reference::{mul, poseidon2_permute};

/// Whether candidate `w` is a witness: the permuted state's last rate word, canonical, has
/// `bits` zero low bits.
pub fn is_witness<F: DeviceField>(
    search: &PowSearch,
    c: &Poseidon2Constants,
    w: u32,
    bits: u32,
) -> bool {
    // 2^64 mod p as a Montgomery word: mul(w, R2) = w * 2^32 mod p.
    let r2 = ((u64::from(crate::reference::to_monty::<F>(1)) << 32) % u64::from(F::PRIME)) as u32;
    let mut s = search.state;
    s[search.witness_slot as usize] = mul::<F>(w, r2);
    poseidon2_permute::<F>(&mut s, c);
    let sample = mul::<F>(s[7], 1);
    sample & ((1u32 << bits) - 1) == 0
}

/// Mirror of `pow_search` with `threads` threads over `[start, end)`: threads take candidates
/// `start + t, start + t + T, ...`; a thread stops once the result is at most its candidate or it
/// has recorded a witness (atomicMin). Threads are stepped in rounds, which is one of the
/// schedules the device may run; the result does not depend on the schedule.
pub fn pow_search<F: DeviceField>(
    search: &PowSearch,
    bits: u32,
    start: u32,
    end: u32,
    threads: u32,
) -> u32 {
    let c = F::poseidon2_constants();
    let mut result = NO_WITNESS;
    let mut done = vec![false; threads as usize];
    let mut round = 0u64;
    loop {
        let mut active = false;
        for t in 0..threads {
            let w = u64::from(start) + round * u64::from(threads) + u64::from(t);
            if done[t as usize] || w >= u64::from(end) {
                continue;
            }
            active = true;
            if u64::from(result) <= w {
                done[t as usize] = true;
                continue;
            }
            if is_witness::<F>(search, &c, w as u32, bits) {
                result = result.min(w as u32);
                done[t as usize] = true;
            }
        }
        if !active {
            return result;
        }
        round += 1;
    }
}
