//! Batched NTT and coset LDE on device matrices.

use cudarc::driver::LaunchConfig;

use crate::abi::{CosetScatterParams, NttPassParams};
use crate::backend::{CudaBackend, DeviceBuffer, DeviceMatrix, TableKey};
use crate::error::{Error, Result};
use crate::field::DeviceField;
use crate::tables::{coset_block_tables, twiddles};

/// Smallest log2 height that uses `coset_scatter_tiled` (one 32 x 32 tile per block).
pub const TILED_SCATTER_MIN_LOG_N: u32 = 10;

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

    /// Radix-2 DIF in place over `width` columns of `height` words each, stored back to back
    /// in `buf` (natural-order input, bit-reversed output), with
    /// `omega = two_adic_generator(log2(height))`, inverted when `inverse`.
    fn dif_raw<F: DeviceField>(
        &self,
        buf: &DeviceBuffer,
        height: usize,
        width: usize,
        inverse: bool,
    ) -> Result<()> {
        let log_n = log2_exact(height, "matrix height")?;
        if buf.len() < height * width {
            return Err(Error::InvalidShape(format!(
                "buffer of {} words for {width} columns of {height}",
                buf.len()
            )));
        }
        if log_n == 0 || width == 0 {
            return Ok(());
        }
        let tw = self.twiddle_table::<F>(log_n, inverse)?;
        let kernel = crate::kernels::entry("ntt_dif_pass", F::KIND)?;
        let stream = self.stream();
        let data = buf.ptr(stream);
        let tw_ptr = tw.ptr(stream);
        for pass in self.ntt_plan(log_n) {
            let blocks = pass.blocks(log_n);
            for first in (0..width).step_by(MAX_GRID_Y) {
                let cols = (width - first).min(MAX_GRID_Y);
                let p = NttPassParams {
                    data: data + (first * height * 4) as u64,
                    twiddles: tw_ptr,
                    col_stride: height as u64,
                    log_n,
                    num_cols: cols as u32,
                    stage_hi: pass.stage_hi,
                    num_stages: pass.num_stages,
                    log_lanes: pass.log_lanes,
                    warp_stages: pass.warp_stages,
                    log_regs: pass.log_regs,
                    _pad: 0,
                };
                // A contiguous pass stores pairs of words as uint2: every column start must
                // be 8-byte aligned (heights here are powers of two >= 2, so the base decides).
                crate::launch::check_aligned(kernel, "data", p.data, 8)?;
                let cfg = LaunchConfig {
                    grid_dim: (blocks, cols as u32, 1),
                    block_dim: (pass.threads, pass.tiles_per_block, 1),
                    shared_mem_bytes: pass.shared_bytes() as u32,
                };
                self.launch(kernel, cfg, &[&p])?;
            }
        }
        Ok(())
    }

    /// The LDE scatter (see `CosetScatterParams`): block t of each output column is
    /// `src[bitrev(j)] * (shift * omega_N^bitrev(t))^j / n`; with `log_blowup = 0` and
    /// `shift = 1` this is the last step of the inverse NTT.
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
        let (lo, hi, hi_len) = coset_block_tables::<F>(log_n, log_blowup, shift)?;
        let lo = self.upload_words(&lo)?;
        let hi = self.upload_words(&hi)?;
        // From 2^10 rows on, the tiled kernel (coalesced reads of the bit-reversed source).
        let tiled = log_n >= TILED_SCATTER_MIN_LOG_N;
        let kernel = if tiled {
            crate::kernels::entry("coset_scatter_tiled", F::KIND)?
        } else {
            crate::kernels::entry("coset_scatter", F::KIND)?
        };
        let stream = self.stream();
        let (grid_x, block) = if tiled {
            let block = crate::launch::SCATTER_TILE_BLOCK;
            (1u32 << (log_n - 10), block)
        } else {
            let threads = crate::launch::STRIDE_THREADS as usize;
            (
                big_n.div_ceil(threads).min(1 << 16) as u32,
                (threads as u32, 1, 1),
            )
        };
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
                hi_len: hi_len as u32,
            };
            let cfg = LaunchConfig {
                grid_dim: (grid_x, cols as u32, 1),
                block_dim: block,
                shared_mem_bytes: 0,
            };
            self.launch(kernel, cfg, &[&p])?;
        }
        // The tables are freed when this function returns: cudarc frees asynchronously on the
        // same stream, so after the scatter has read them.
        Ok(out)
    }

    /// Forward NTT of every column in place: column holds coefficients (natural order) on input
    /// and evaluations on the subgroup of size `height` in **bit-reversed** order on output
    /// (= p3 `dft_batch(..).bit_reverse_rows()`).
    pub fn dft_bitrev_in_place<F: DeviceField>(&self, m: &mut DeviceMatrix<F>) -> Result<()> {
        self.dif_raw::<F>(&m.buf, m.height, m.width, false)
    }

    /// Inverse NTT of every column: natural-order evaluations to natural-order coefficients
    /// (= p3 `idft_batch`).
    pub fn idft<F: DeviceField>(&self, m: &DeviceMatrix<F>) -> Result<DeviceMatrix<F>> {
        let tmp = DeviceMatrix::from_buffer(self.copy(&m.buf)?, m.height, m.width)?;
        self.dif_raw::<F>(&tmp.buf, m.height, m.width, true)?;
        self.coset_scatter(&tmp, 0, F::ONE)
    }

    /// Coset low-degree extension of every column, in the row order TwoAdicFriPcs commits:
    /// row i of the output is the column's polynomial at `shift * omega^bitrev(i)`, omega of
    /// order `height << log_blowup` (= p3 `coset_lde_batch(m, log_blowup, shift).bit_reverse_rows()`).
    /// TwoAdicFriPcs uses `shift = F::GENERATOR`. `m` is kept (one scratch copy of it is made);
    /// [`CudaBackend::coset_lde_bitrev_owned`] avoids the copy.
    pub fn coset_lde_bitrev<F: DeviceField>(
        &self,
        m: &DeviceMatrix<F>,
        log_blowup: u32,
        shift: F,
    ) -> Result<DeviceMatrix<F>> {
        let scratch = DeviceMatrix::from_buffer(self.copy(&m.buf)?, m.height, m.width)?;
        self.coset_lde_bitrev_owned(scratch, log_blowup, shift)
    }

    /// As [`CudaBackend::coset_lde_bitrev`], consuming `m`: its buffer holds the inverse
    /// transform and is freed before the forward transform runs (peak memory: input + output).
    pub fn coset_lde_bitrev_owned<F: DeviceField>(
        &self,
        m: DeviceMatrix<F>,
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
        let (height, width) = (m.height, m.width);
        self.dif_raw::<F>(&m.buf, height, width, true)?;
        let out = self.coset_scatter(&m, log_blowup, shift)?;
        drop(m);
        // Each column of the output is 2^log_blowup blocks of n words; the first log_blowup
        // stages of the size-N DIF are already folded into the scatter, the rest is a size-n
        // DIF of every block.
        self.dif_raw::<F>(&out.buf, height, width << log_blowup, false)?;
        Ok(out)
    }
}
