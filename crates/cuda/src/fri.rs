//! FRI on the device (`kernels/fri.cu`): folding bit-identical to p3-fri's
//! `TwoAdicFriFolding::fold_matrix` (any arity: `log_arity` arity-2 folds with `beta`, `beta^2`,
//! ...), the roll-in of shorter reduced codewords (`+ beta^arity * v`), and the commit of a
//! round's codeword with the device Merkle kernels, laid out as p3's `ExtensionMmcs` commits
//! `RowMajorMatrix::new(codeword, arity)` (flattened to `4 * arity` base columns).
//!
//! Codewords are extension elements in bit-reversed order, 4 interleaved words each.

use cudarc::driver::DeviceRepr;
use p3_field::ExtensionField;

use crate::backend::{CudaBackend, DeviceBuffer, DeviceMatrix};
use crate::error::{Error, Result};
use crate::field::DeviceField;
use crate::merkle::DeviceMerkleTree;
use crate::quotient::ext_slice_words;

/// See `FriFoldParams` in kernels/prover_params.cuh.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FriFoldParams {
    pub input: u64,
    pub out: u64,
    pub roll_in: u64,
    pub beta: [u32; 4],
    pub roll_beta: [u32; 4],
    pub log_n: u32,
    pub g_inv: u32,
}

/// See `FriLeavesParams` in kernels/prover_params.cuh.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FriLeavesParams {
    pub codeword: u64,
    pub out: u64,
    pub log_n: u32,
    pub log_arity: u32,
}

// SAFETY: plain-old-data #[repr(C)] structs matching prover_params.cuh (tests below).
unsafe impl DeviceRepr for FriFoldParams {}
unsafe impl DeviceRepr for FriLeavesParams {}

/// The per-step constants of folding a codeword of `2^log_len` elements by `2^log_arity`:
/// for step s, (log2 of the output length, the inverse generator of the input's subgroup,
/// `beta^(2^s)`), plus `beta^arity` for the roll-in. Shared by the launcher and the model.
pub struct FoldSchedule {
    pub steps: Vec<(u32, u32, [u32; 4])>,
    pub roll_beta: [u32; 4],
}

impl FoldSchedule {
    pub fn new<F: DeviceField, EF: ExtensionField<F>>(
        log_len: usize,
        log_arity: usize,
        beta: EF,
    ) -> Result<Self> {
        if log_arity == 0 || log_arity > log_len || log_len > F::TWO_ADICITY {
            return Err(Error::InvalidShape(format!(
                "FRI fold of a codeword of 2^{log_len} by arity 2^{log_arity}"
            )));
        }
        let mut steps = Vec::with_capacity(log_arity);
        let mut b = beta;
        for s in 0..log_arity {
            let log_in = log_len - s;
            let g_inv = F::two_adic_generator(log_in).inverse();
            let words = ext_slice_words::<F, EF>(&[b])?;
            steps.push((
                (log_in - 1) as u32,
                g_inv.to_monty_word(),
                [words[0], words[1], words[2], words[3]],
            ));
            b = b.square();
        }
        let rb = ext_slice_words::<F, EF>(&[beta.exp_power_of_2(log_arity)])?;
        Ok(Self {
            steps,
            roll_beta: [rb[0], rb[1], rb[2], rb[3]],
        })
    }
}

pub(crate) fn log_len_of(words: usize) -> Result<usize> {
    if !words.is_multiple_of(4) || !(words / 4).is_power_of_two() {
        return Err(Error::InvalidShape(format!(
            "codeword of {words} words (need 4 words per element and a power-of-two length)"
        )));
    }
    Ok((words / 4).trailing_zeros() as usize)
}

/// The checks of one scheduled fold of `codeword_words` words (with a roll-in of
/// `roll_in_words`): a power-of-two codeword, a schedule made for its length, a roll-in of the
/// folded length. Returns `log2` of the codeword's length. Shared by the launcher and the
/// reference engine.
pub(crate) fn check_fold(
    codeword_words: usize,
    schedule: &FoldSchedule,
    roll_in_words: Option<usize>,
) -> Result<usize> {
    let log_len = log_len_of(codeword_words)?;
    let log_arity = schedule.steps.len();
    if schedule.steps.first().map(|s| s.0 as usize + 1) != Some(log_len) {
        return Err(Error::InvalidShape(format!(
            "fold schedule for another length than 2^{log_len}"
        )));
    }
    if let Some(r) = roll_in_words
        && r != 4 << (log_len - log_arity)
    {
        return Err(Error::InvalidShape(format!(
            "roll-in codeword of {r} words for a folded length of {}",
            1usize << (log_len - log_arity)
        )));
    }
    Ok(log_len)
}

/// The checks of a FRI leaf matrix of `codeword_words` words by `2^log_arity`; returns `log2`
/// of the codeword's length.
pub(crate) fn check_leaves(codeword_words: usize, log_arity: usize) -> Result<usize> {
    let log_len = log_len_of(codeword_words)?;
    if log_arity > log_len {
        return Err(Error::InvalidShape(format!(
            "arity 2^{log_arity} above the codeword length 2^{log_len}"
        )));
    }
    Ok(log_len)
}

impl CudaBackend {
    /// Fold a codeword by `2^log_arity` with challenge `beta`; with `roll_in`, add
    /// `beta^arity * roll_in` (a reduced codeword of the folded length).
    pub fn fri_fold<F: DeviceField, EF: ExtensionField<F>>(
        &self,
        codeword: &DeviceBuffer,
        log_arity: usize,
        beta: EF,
        roll_in: Option<&DeviceBuffer>,
    ) -> Result<DeviceBuffer> {
        let log_len = log_len_of(codeword.len())?;
        let schedule = FoldSchedule::new::<F, EF>(log_len, log_arity, beta)?;
        self.fri_fold_scheduled::<F>(codeword, &schedule, roll_in)
    }

    /// [`CudaBackend::fri_fold`] with its per-step constants already computed.
    pub fn fri_fold_scheduled<F: DeviceField>(
        &self,
        codeword: &DeviceBuffer,
        schedule: &FoldSchedule,
        roll_in: Option<&DeviceBuffer>,
    ) -> Result<DeviceBuffer> {
        check_fold(codeword.len(), schedule, roll_in.map(DeviceBuffer::len))?;
        let kernel = crate::kernels::entry("fri_fold", F::KIND)?;
        let mut current: Option<DeviceBuffer> = None;
        for (s, &(log_n, g_inv, beta_words)) in schedule.steps.iter().enumerate() {
            let n = 1usize << log_n;
            let out = self.alloc(4 * n)?;
            let last = s + 1 == schedule.steps.len();
            let stream = self.stream();
            let input = current.as_ref().unwrap_or(codeword);
            let p = FriFoldParams {
                input: input.ptr(stream),
                out: out.ptr(stream),
                roll_in: match (last, roll_in) {
                    (true, Some(r)) => r.ptr(stream),
                    _ => 0,
                },
                beta: beta_words,
                roll_beta: schedule.roll_beta,
                log_n,
                g_inv,
            };
            self.launch_stride(kernel, n, &[&p])?;
            current = Some(out);
        }
        Ok(current.expect("log_arity >= 1 steps"))
    }

    /// The leaf matrix of a FRI commit round: the codeword as `len / arity` rows of `arity`
    /// elements, flattened to `4 * arity` base columns (column-major).
    pub fn fri_leaves<F: DeviceField>(
        &self,
        codeword: &DeviceBuffer,
        log_arity: usize,
    ) -> Result<DeviceMatrix<F>> {
        let log_len = check_leaves(codeword.len(), log_arity)?;
        let out = self.alloc(codeword.len())?;
        let stream = self.stream();
        let p = FriLeavesParams {
            codeword: codeword.ptr(stream),
            out: out.ptr(stream),
            log_n: log_len as u32,
            log_arity: log_arity as u32,
        };
        self.launch_stride(
            crate::kernels::entry_any("fri_leaves")?,
            codeword.len(),
            &[&p],
        )?;
        DeviceMatrix::from_buffer(out, 1 << (log_len - log_arity), 4 << log_arity)
    }

    /// Commit one FRI round's codeword: its leaf matrix and the Merkle tree over it (the same
    /// cap as p3's `ExtensionMmcs::commit_matrix(RowMajorMatrix::new(codeword, arity))`).
    pub fn fri_commit_round<F: DeviceField>(
        &self,
        codeword: &DeviceBuffer,
        log_arity: usize,
        cap_height: usize,
    ) -> Result<(DeviceMatrix<F>, DeviceMerkleTree<F>)> {
        let leaves = self.fri_leaves::<F>(codeword, log_arity)?;
        let tree = self.merkle_commit(&[&leaves], cap_height)?;
        Ok((leaves, tree))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::{align_of, offset_of, size_of};

    #[test]
    fn params_layout_matches_header() {
        assert_eq!(size_of::<FriFoldParams>(), 64);
        assert_eq!(align_of::<FriFoldParams>(), 8);
        assert_eq!(offset_of!(FriFoldParams, roll_in), 16);
        assert_eq!(offset_of!(FriFoldParams, beta), 24);
        assert_eq!(offset_of!(FriFoldParams, roll_beta), 40);
        assert_eq!(offset_of!(FriFoldParams, log_n), 56);
        assert_eq!(offset_of!(FriFoldParams, g_inv), 60);
        assert_eq!(size_of::<FriLeavesParams>(), 24);
        assert_eq!(offset_of!(FriLeavesParams, log_arity), 20);
        let header = include_str!("../../../kernels/prover_params.cuh");
        for expr in [
            "sizeof(FriFoldParams) == 64",
            "offsetof(FriFoldParams, roll_in) == 16",
            "offsetof(FriFoldParams, beta) == 24",
            "offsetof(FriFoldParams, roll_beta) == 40",
            "offsetof(FriFoldParams, log_n) == 56",
            "offsetof(FriFoldParams, g_inv) == 60",
            "sizeof(FriLeavesParams) == 24",
            "offsetof(FriLeavesParams, log_arity) == 20",
        ] {
            assert!(header.contains(expr), "prover_params.cuh lacks `{expr}`");
        }
    }
}
