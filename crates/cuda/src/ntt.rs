//! Batched NTT and coset LDE on device matrices.

use cudarc::driver::LaunchConfig;

use crate::abi::{CosetScatterParams, NttPassParams};
use crate::backend::{CudaBackend, DeviceMatrix, TableKey};
use crate::error::{Error, Result};
use crate::field::DeviceField;
use crate::plan::{NttLimits, plan_dif_passes};
use crate::tables::{coset_tables, twiddles};

/// Grid y-dimension limit: columns are processed in chunks of at most this many.
const MAX_GRID_Y: usize = 65_535;

fn log2_exact(n: usize, what: &str) -> Result<u32> {
    if n == 0 || !n.is_power_of_two() {
        return Err(Error::InvalidShape(format!(
            "{what} {n} is not a power of two"
        )));
    }
    Ok(n.trailing_zeros())
}

impl CudaBackend {
    fn twiddle_table<F: DeviceField>(
        &self,
        log_n: u32,
        inverse: bool,
    ) -> Result<std::sync::Arc<crate::backend::DeviceBuffer>> {
        self.table(
            TableKey::Twiddles {
                field: F::KIND,
                log_n,
                inverse,
            },
            || twiddles::<F>(log_n, inverse),
        )
    }

    /// Radix-2 DIF over every column of `m` in place (natural-order input, bit-reversed output),
    /// with `omega = two_adic_generator(log2(height))`, inverted when `inverse`.
    fn dif_in_place<F: DeviceField>(&self, m: &mut DeviceMatrix<F>, inverse: bool) -> Result<()> {
        let log_n = log2_exact(m.height, "matrix height")?;
        if log_n == 0 || m.width == 0 {
            return Ok(());
        }
        let tw = self.twiddle_table::<F>(log_n, inverse)?;
        let kernel = crate::kernels::entry("ntt_dif_pass", F::KIND)?;
        let stream = self.stream();
        let data = m.buf.ptr(stream);
        let tw_ptr = tw.ptr(stream);
        for pass in plan_dif_passes(log_n, NttLimits::DEVICE) {
            let tile = pass.tile_words();
            let threads = (tile / 2).clamp(32, 256) as u32;
            let blocks = (m.height / tile) as u32;
            for first in (0..m.width).step_by(MAX_GRID_Y) {
                let cols = (m.width - first).min(MAX_GRID_Y);
                let p = NttPassParams {
                    data: data + (first * m.height * 4) as u64,
                    twiddles: tw_ptr,
                    col_stride: m.height as u64,
                    log_n,
                    num_cols: cols as u32,
                    stage_hi: pass.stage_hi,
                    num_stages: pass.num_stages,
                    log_lanes: pass.log_lanes,
                    _pad: 0,
                };
                let cfg = LaunchConfig {
                    grid_dim: (blocks, cols as u32, 1),
                    block_dim: (threads, 1, 1),
                    shared_mem_bytes: (tile * 4) as u32,
                };
                self.launch(kernel, cfg, &[&p])?;
            }
        }
        Ok(())
    }

    /// `dst[i] = src[bitrev(i)] * shift^i / n` (i < n), 0 above, per column.
    fn coset_scatter<F: DeviceField>(
        &self,
        src: &DeviceMatrix<F>,
        log_blowup: u32,
        shift: F,
    ) -> Result<DeviceMatrix<F>> {
        let log_n = log2_exact(src.height, "matrix height")?;
        let big_n = src.height << log_blowup;
        let out = DeviceMatrix::from_buffer(self.alloc(big_n * src.width)?, big_n, src.width)?;
        if src.width == 0 {
            return Ok(out);
        }
        let (lo, hi) = coset_tables::<F>(log_n, shift);
        let lo = self.upload_words(&lo)?;
        let hi = self.upload_words(&hi)?;
        let kernel = crate::kernels::entry("coset_scatter", F::KIND)?;
        let stream = self.stream();
        let blocks = big_n.div_ceil(256).min(1 << 16) as u32;
        for first in (0..src.width).step_by(MAX_GRID_Y) {
            let cols = (src.width - first).min(MAX_GRID_Y);
            let p = CosetScatterParams {
                src: src.buf.ptr(stream) + (first * src.height * 4) as u64,
                dst: out.buf.ptr(stream) + (first * big_n * 4) as u64,
                pow_lo: lo.ptr(stream),
                pow_hi: hi.ptr(stream),
                log_n,
                log_blowup,
                num_cols: cols as u32,
                _pad: 0,
            };
            let cfg = LaunchConfig {
                grid_dim: (blocks, cols as u32, 1),
                block_dim: (256, 1, 1),
                shared_mem_bytes: 0,
            };
            self.launch(kernel, cfg, &[&p])?;
        }
        // The shift tables are freed when this function returns; the stream is in order and
        // cudarc frees asynchronously on the same stream, after the scatter has read them.
        Ok(out)
    }

    /// Forward NTT of every column in place: column holds coefficients (natural order) on input
    /// and evaluations on the subgroup of size `height` in **bit-reversed** order on output
    /// (= p3 `dft_batch(..).bit_reverse_rows()`).
    pub fn dft_bitrev_in_place<F: DeviceField>(&self, m: &mut DeviceMatrix<F>) -> Result<()> {
        self.dif_in_place(m, false)
    }

    /// Inverse NTT of every column: natural-order evaluations to natural-order coefficients
    /// (= p3 `idft_batch`).
    pub fn idft<F: DeviceField>(&self, m: &DeviceMatrix<F>) -> Result<DeviceMatrix<F>> {
        let mut tmp = DeviceMatrix::from_buffer(self.copy(&m.buf)?, m.height, m.width)?;
        self.dif_in_place(&mut tmp, true)?;
        self.coset_scatter(&tmp, 0, F::ONE)
    }

    /// Coset low-degree extension of every column, in the row order TwoAdicFriPcs commits:
    /// row i of the output is the column's polynomial at `shift * omega^bitrev(i)`, omega of
    /// order `height << log_blowup` (= p3 `coset_lde_batch(m, log_blowup, shift).bit_reverse_rows()`).
    /// TwoAdicFriPcs uses `shift = F::GENERATOR`.
    pub fn coset_lde_bitrev<F: DeviceField>(
        &self,
        m: &DeviceMatrix<F>,
        log_blowup: u32,
        shift: F,
    ) -> Result<DeviceMatrix<F>> {
        let log_n = log2_exact(m.height, "matrix height")?;
        if (log_n + log_blowup) as usize > F::TWO_ADICITY {
            return Err(Error::InvalidShape(format!(
                "LDE size 2^{} exceeds the field's two-adicity {}",
                log_n + log_blowup,
                F::TWO_ADICITY
            )));
        }
        let mut coeffs = DeviceMatrix::from_buffer(self.copy(&m.buf)?, m.height, m.width)?;
        self.dif_in_place(&mut coeffs, true)?;
        let mut out = self.coset_scatter(&coeffs, log_blowup, shift)?;
        drop(coeffs);
        self.dif_in_place(&mut out, false)?;
        Ok(out)
    }
}
