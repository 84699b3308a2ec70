//! Openings on the device (`kernels/opening.cu`): barycentric evaluation of a committed LDE at an
//! out-of-domain point, and one (matrix, point) term of the α-reduction into a codeword that
//! stays on the device for FRI. Equal to `slotproof_prover::opening` (evaluate_at_points,
//! reduce_openings); only the opened values (`width` extension elements per point) come back.
//!
//! Matrices are committed LDEs as they sit on the device: column-major, bit-reversed coset
//! `F::GENERATOR·⟨ω_H⟩`; the first `H >> log_blowup` rows determine the polynomial.

use cudarc::driver::DeviceRepr;
use p3_field::ExtensionField;

use crate::backend::{CudaBackend, DeviceBuffer, DeviceMatrix};
use crate::error::{Error, Result};
use crate::field::DeviceField;
use crate::quotient::ext_slice_words;

/// See `OpeningWeightsParams` in kernels/prover_params.cuh.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OpeningWeightsParams {
    pub out: u64,
    pub z: [u32; 4],
    pub scale: [u32; 4],
    pub log_h: u32,
    pub shift: u32,
    pub omega: u32,
    pub _pad: u32,
}

/// See `OpeningDotParams` in kernels/prover_params.cuh.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OpeningDotParams {
    pub matrix: u64,
    pub col_stride: u64,
    pub weights: u64,
    pub out: u64,
    pub h: u32,
    pub width: u32,
}

/// See `OpeningReduceParams` in kernels/prover_params.cuh.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OpeningReduceParams {
    pub matrix: u64,
    pub col_stride: u64,
    pub alpha_powers: u64,
    pub acc: u64,
    pub z: [u32; 4],
    pub claim: [u32; 4],
    pub offset: [u32; 4],
    pub log_height: u32,
    pub width: u32,
    pub shift: u32,
    pub omega: u32,
}

// SAFETY: plain-old-data #[repr(C)] structs matching prover_params.cuh (tests below).
unsafe impl DeviceRepr for OpeningWeightsParams {}
unsafe impl DeviceRepr for OpeningDotParams {}
unsafe impl DeviceRepr for OpeningReduceParams {}

fn ext4<F: DeviceField, EF: ExtensionField<F>>(x: EF) -> Result<[u32; 4]> {
    let w = ext_slice_words::<F, EF>(&[x])?;
    Ok([w[0], w[1], w[2], w[3]])
}

/// Host-side constants of the barycentric weights at `z` over `g·⟨ω_h⟩`, `h = 2^log_h`.
pub fn weights_params<F: DeviceField, EF: ExtensionField<F>>(
    log_h: usize,
    z: EF,
) -> Result<OpeningWeightsParams> {
    let g_pow_h = F::GENERATOR.exp_power_of_2(log_h);
    let scale =
        (z.exp_power_of_2(log_h) - g_pow_h) * (F::from_usize(1 << log_h) * g_pow_h).inverse();
    Ok(OpeningWeightsParams {
        out: 0,
        z: ext4::<F, EF>(z)?,
        scale: ext4::<F, EF>(scale)?,
        log_h: log_h as u32,
        shift: F::GENERATOR.to_monty_word(),
        omega: F::two_adic_generator(log_h).to_monty_word(),
        _pad: 0,
    })
}

/// Host-side constants of one reduction term: `alpha^j` for the matrix's columns (words),
/// `offset = alpha^num_reduced` and the combined claim `Σ_j alpha^j y_j`.
pub fn reduce_params<F: DeviceField, EF: ExtensionField<F>>(
    log_height: usize,
    width: usize,
    z: EF,
    opened: &[EF],
    alpha: EF,
    num_reduced: usize,
) -> Result<(OpeningReduceParams, Vec<u32>)> {
    if opened.len() != width {
        return Err(Error::InvalidShape(format!(
            "{} opened values for a matrix of width {width}",
            opened.len()
        )));
    }
    let powers: Vec<EF> = alpha.powers().take(width).collect();
    let claim: EF = powers.iter().zip(opened).map(|(&a, &v)| a * v).sum();
    let p = OpeningReduceParams {
        matrix: 0,
        col_stride: 0,
        alpha_powers: 0,
        acc: 0,
        z: ext4::<F, EF>(z)?,
        claim: ext4::<F, EF>(claim)?,
        offset: ext4::<F, EF>(alpha.exp_u64(num_reduced as u64))?,
        log_height: log_height as u32,
        width: width as u32,
        shift: F::GENERATOR.to_monty_word(),
        omega: F::two_adic_generator(log_height).to_monty_word(),
    };
    Ok((p, ext_slice_words::<F, EF>(&powers)?))
}

fn log_height_of<F: DeviceField>(m: &DeviceMatrix<F>) -> Result<usize> {
    if !m.height().is_power_of_two() {
        return Err(Error::InvalidShape(format!("matrix height {}", m.height())));
    }
    Ok(m.height().trailing_zeros() as usize)
}

impl CudaBackend {
    /// Barycentric evaluation of every column of `m` (its first `2^log_h` rows, column stride
    /// `m.height()`) with the weights `params` describes: `4 * width` words.
    pub fn opening_evaluate_words<F: DeviceField>(
        &self,
        m: &DeviceMatrix<F>,
        params: &OpeningWeightsParams,
    ) -> Result<Vec<u32>> {
        let h = 1usize << params.log_h;
        if m.height() < h {
            return Err(Error::InvalidShape(format!(
                "matrix of {} rows for an opening over {h} points",
                m.height()
            )));
        }
        let width = m.width();
        if width == 0 {
            return Ok(Vec::new());
        }
        let weights = self.alloc(4 * h)?;
        let stream = self.stream();
        let mut wp = *params;
        wp.out = weights.ptr(stream);
        self.launch_stride(
            crate::kernels::entry("opening_weights", F::KIND)?,
            h,
            &[&wp],
        )?;
        let out = self.alloc(4 * width)?;
        let dp = OpeningDotParams {
            matrix: m.buffer().ptr(stream),
            col_stride: m.height() as u64,
            weights: weights.ptr(stream),
            out: out.ptr(stream),
            h: h as u32,
            width: width as u32,
        };
        // One block per column, of exactly OPENING_DOT_THREADS threads (its reduction's size).
        let kernel = crate::kernels::entry("opening_dot", F::KIND)?;
        let blocks = u32::try_from(width)
            .map_err(|_| Error::InvalidShape(format!("{width} columns exceed the grid")))?;
        self.launch(
            kernel,
            crate::launch::fixed(kernel, (blocks, 1, 1))?,
            &[&dp],
        )?;
        Ok(F::as_words(&F::vec_from_words(self.download_words(&out)?)?).to_vec())
    }

    /// The polynomial each column of the LDE `m` encodes, evaluated at `z` (as
    /// `slotproof_prover::opening::evaluate_at_points` does for one matrix and point).
    pub fn evaluate_at_point<F: DeviceField, EF: ExtensionField<F>>(
        &self,
        m: &DeviceMatrix<F>,
        log_blowup: usize,
        z: EF,
    ) -> Result<Vec<EF>> {
        let log_height = log_height_of(m)?;
        if log_blowup > log_height {
            return Err(Error::InvalidShape(format!(
                "LDE of 2^{log_height} rows with blowup 2^{log_blowup}"
            )));
        }
        let params = weights_params::<F, EF>(log_height - log_blowup, z)?;
        let words = self.opening_evaluate_words(m, &params)?;
        let values = F::vec_from_words(words)?;
        Ok(values
            .chunks_exact(4)
            .map(|c| EF::from_basis_coefficients_fn(|k| c[k]))
            .collect())
    }

    /// Launch one α-reduction term (`params` from [`reduce_params`]; its pointers and stride
    /// are filled here) into the device codeword `acc` of `m.height()` extension elements.
    pub fn opening_reduce_words<F: DeviceField>(
        &self,
        acc: &DeviceBuffer,
        m: &DeviceMatrix<F>,
        params: &OpeningReduceParams,
        alpha_powers: &DeviceBuffer,
    ) -> Result<()> {
        let log_height = log_height_of(m)?;
        if acc.len() != 4 * m.height()
            || params.log_height as usize != log_height
            || params.width as usize != m.width()
            || alpha_powers.len() < 4 * m.width()
        {
            return Err(Error::InvalidShape(format!(
                "reduction term for 2^{} x {} into a codeword of {} words ({} alpha-power words) \
                 for a matrix of {} x {}",
                params.log_height,
                params.width,
                acc.len(),
                alpha_powers.len(),
                m.height(),
                m.width()
            )));
        }
        let stream = self.stream();
        let mut p = *params;
        p.matrix = m.buffer().ptr(stream);
        p.col_stride = m.height() as u64;
        p.alpha_powers = alpha_powers.ptr(stream);
        p.acc = acc.ptr(stream);
        self.launch_stride(
            crate::kernels::entry("opening_reduce", F::KIND)?,
            m.height(),
            &[&p],
        )
    }

    /// Add one (matrix, point) term of the α-reduction to the device codeword `acc`
    /// (`m.height()` extension elements, interleaved): `acc[x] += alpha^num_reduced ·
    /// (Σ_j alpha^j y_j - Σ_j alpha^j f_j(x)) / (z - x)`, as `reduce_openings` does.
    pub fn reduce_opening<F: DeviceField, EF: ExtensionField<F>>(
        &self,
        acc: &DeviceBuffer,
        m: &DeviceMatrix<F>,
        z: EF,
        opened: &[EF],
        alpha: EF,
        num_reduced: usize,
    ) -> Result<()> {
        let log_height = log_height_of(m)?;
        let (p, powers) =
            reduce_params::<F, EF>(log_height, m.width(), z, opened, alpha, num_reduced)?;
        let powers = self.upload_words(&powers)?;
        self.opening_reduce_words(acc, m, &p, &powers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::{offset_of, size_of};

    #[test]
    fn params_layout_matches_header() {
        assert_eq!(size_of::<OpeningWeightsParams>(), 56);
        assert_eq!(offset_of!(OpeningWeightsParams, z), 8);
        assert_eq!(offset_of!(OpeningWeightsParams, scale), 24);
        assert_eq!(offset_of!(OpeningWeightsParams, log_h), 40);
        assert_eq!(offset_of!(OpeningWeightsParams, omega), 48);
        assert_eq!(size_of::<OpeningDotParams>(), 40);
        assert_eq!(offset_of!(OpeningDotParams, h), 32);
        assert_eq!(size_of::<OpeningReduceParams>(), 96);
        assert_eq!(offset_of!(OpeningReduceParams, z), 32);
        assert_eq!(offset_of!(OpeningReduceParams, offset), 64);
        assert_eq!(offset_of!(OpeningReduceParams, log_height), 80);
        assert_eq!(offset_of!(OpeningReduceParams, omega), 92);
        let header = include_str!("../../../kernels/prover_params.cuh");
        for expr in [
            "sizeof(OpeningWeightsParams) == 56",
            "offsetof(OpeningWeightsParams, z) == 8",
            "offsetof(OpeningWeightsParams, scale) == 24",
            "offsetof(OpeningWeightsParams, log_h) == 40",
            "offsetof(OpeningWeightsParams, omega) == 48",
            "sizeof(OpeningDotParams) == 40",
            "offsetof(OpeningDotParams, h) == 32",
            "sizeof(OpeningReduceParams) == 96",
            "offsetof(OpeningReduceParams, z) == 32",
            "offsetof(OpeningReduceParams, offset) == 64",
            "offsetof(OpeningReduceParams, log_height) == 80",
            "offsetof(OpeningReduceParams, omega) == 92",
        ] {
            assert!(header.contains(expr), "prover_params.cuh lacks `{expr}`");
        }
    }
}
