//! **Reference model of the kernels**: a scalar Rust transcription of `kernels/*.cu(h)`, line by
//! line, on raw Montgomery words. It exists so that the kernels' arithmetic, index maps, pass
//! decomposition and tree schedule can be checked against Plonky3 on a machine without a GPU
//! (tests/cuda_tests/reference_model.rs). When a kernel changes, change its mirror here in the
//! same commit.
//!
//! Nothing here is used on the GPU path except `monty_mul` (for `DeviceField::from_monty_word`).

use crate::abi::{P2_HALF_FULL_ROUNDS, P2_WIDTH, Poseidon2Constants};
use crate::field::DeviceField;
use crate::plan::{MAX_LOG_REGS, MerklePlan, NttLimits, NttPass, plan_dif_passes};
use crate::tables::{coset_block_tables, twiddles};

// ---- field.cuh ----------------------------------------------------------------------------

/// Mirror of `f_mul`: Montgomery product with the hi/lo split the kernel uses.
pub fn monty_mul(a: u32, b: u32, p: u32, mu: u32) -> u32 {
    let x_lo = a.wrapping_mul(b);
    let x_hi = ((u64::from(a) * u64::from(b)) >> 32) as u32;
    let t = x_lo.wrapping_mul(mu);
    let u_hi = ((u64::from(t) * u64::from(p)) >> 32) as u32;
    let r = x_hi.wrapping_sub(u_hi);
    if x_hi < u_hi { r.wrapping_add(p) } else { r }
}

/// Mirror of `f_add`.
pub fn add<F: DeviceField>(a: u32, b: u32) -> u32 {
    let s = a + b;
    if s >= F::PRIME { s - F::PRIME } else { s }
}

/// Mirror of `f_sub`.
pub fn sub<F: DeviceField>(a: u32, b: u32) -> u32 {
    let d = a.wrapping_sub(b);
    if a < b { d.wrapping_add(F::PRIME) } else { d }
}

/// Mirror of `f_mul`.
pub fn mul<F: DeviceField>(a: u32, b: u32) -> u32 {
    monty_mul(a, b, F::PRIME, F::MONTY_MU)
}

/// Mirror of `f_double`.
pub fn double<F: DeviceField>(a: u32) -> u32 {
    add::<F>(a, a)
}

/// Mirror of `f_halve`.
pub fn halve<F: DeviceField>(a: u32) -> u32 {
    let half = a >> 1;
    if a & 1 == 1 {
        half + F::PRIME.div_ceil(2)
    } else {
        half
    }
}

/// Mirror of `to_monty`.
pub fn to_monty<F: DeviceField>(x: u32) -> u32 {
    ((u64::from(x) << 32) % u64::from(F::PRIME)) as u32
}

/// Mirror of `f_sbox`.
pub fn sbox<F: DeviceField>(x: u32) -> u32 {
    match F::POSEIDON2_SBOX_DEGREE {
        3 => mul::<F>(mul::<F>(x, x), x),
        7 => {
            let x2 = mul::<F>(x, x);
            let x3 = mul::<F>(x2, x);
            let x4 = mul::<F>(x2, x2);
            mul::<F>(x3, x4)
        }
        d => panic!("no S-box of degree {d} in the kernels"),
    }
}

/// Mirror of `e_add`.
pub fn ext_add<F: DeviceField>(a: [u32; 4], b: [u32; 4]) -> [u32; 4] {
    core::array::from_fn(|i| add::<F>(a[i], b[i]))
}

/// Mirror of `e_sub`.
pub fn ext_sub<F: DeviceField>(a: [u32; 4], b: [u32; 4]) -> [u32; 4] {
    core::array::from_fn(|i| sub::<F>(a[i], b[i]))
}

/// Mirror of `e_mul` (schoolbook, X^4 = W).
pub fn ext_mul<F: DeviceField>(x: [u32; 4], y: [u32; 4]) -> [u32; 4] {
    let w = to_monty::<F>(F::EXT4_W);
    let (a, m) = (add::<F>, mul::<F>);
    let hi4 = a(a(m(x[1], y[3]), m(x[2], y[2])), m(x[3], y[1]));
    let hi5 = a(m(x[2], y[3]), m(x[3], y[2]));
    let hi6 = m(x[3], y[3]);
    [
        a(m(x[0], y[0]), m(hi4, w)),
        a(a(m(x[0], y[1]), m(x[1], y[0])), m(hi5, w)),
        a(a(a(m(x[0], y[2]), m(x[1], y[1])), m(x[2], y[0])), m(hi6, w)),
        a(
            a(m(x[0], y[3]), m(x[1], y[2])),
            a(m(x[2], y[1]), m(x[3], y[0])),
        ),
    ]
}

/// Mirror of `reverse_bits`.
pub fn reverse_bits(i: u32, bits: u32) -> u32 {
    if bits == 0 {
        0
    } else {
        i.reverse_bits() >> (32 - bits)
    }
}

// ---- poseidon2.cuh --------------------------------------------------------------------------

fn mat4<F: DeviceField>(x: &mut [u32]) {
    let a = add::<F>;
    let t01 = a(x[0], x[1]);
    let t23 = a(x[2], x[3]);
    let t0123 = a(t01, t23);
    let t01123 = a(t0123, x[1]);
    let t01233 = a(t0123, x[3]);
    let y3 = a(t01233, double::<F>(x[0]));
    let y1 = a(t01123, double::<F>(x[2]));
    let y0 = a(t01123, t01);
    let y2 = a(t01233, t23);
    x[0] = y0;
    x[1] = y1;
    x[2] = y2;
    x[3] = y3;
}

/// Mirror of `p2_mds_light`.
pub fn mds_light<F: DeviceField>(s: &mut [u32; P2_WIDTH]) {
    for chunk in s.chunks_mut(4) {
        mat4::<F>(chunk);
    }
    let sums: [u32; 4] =
        core::array::from_fn(|k| add::<F>(add::<F>(s[k], s[k + 4]), add::<F>(s[k + 8], s[k + 12])));
    for (i, x) in s.iter_mut().enumerate() {
        *x = add::<F>(*x, sums[i & 3]);
    }
}

fn full_round<F: DeviceField>(s: &mut [u32; P2_WIDTH], rc: &[u32; P2_WIDTH]) {
    for (x, &c) in s.iter_mut().zip(rc) {
        *x = sbox::<F>(add::<F>(*x, c));
    }
    mds_light::<F>(s);
}

fn internal_round<F: DeviceField>(s: &mut [u32; P2_WIDTH], rc: u32, c: &Poseidon2Constants) {
    s[0] = sbox::<F>(add::<F>(s[0], rc));
    let mut sum = s[0];
    for &x in &s[1..] {
        sum = add::<F>(sum, x);
    }
    for (x, &d) in s.iter_mut().zip(&c.diag) {
        *x = add::<F>(sum, mul::<F>(d, *x));
    }
}

/// Mirror of `poseidon2_permute`.
pub fn poseidon2_permute<F: DeviceField>(s: &mut [u32; P2_WIDTH], c: &Poseidon2Constants) {
    mds_light::<F>(s);
    for r in 0..P2_HALF_FULL_ROUNDS {
        full_round::<F>(s, &c.external_initial[r]);
    }
    for r in 0..F::POSEIDON2_PARTIAL_ROUNDS {
        internal_round::<F>(s, c.internal[r], c);
    }
    for r in 0..P2_HALF_FULL_ROUNDS {
        full_round::<F>(s, &c.external_terminal[r]);
    }
}

/// Mirror of `p2_compress` (TruncatedPermutation 2 -> 1).
pub fn compress<F: DeviceField>(
    left: &[u32; 8],
    right: &[u32; 8],
    c: &Poseidon2Constants,
) -> [u32; 8] {
    let mut s = [0u32; P2_WIDTH];
    s[..8].copy_from_slice(left);
    s[8..].copy_from_slice(right);
    poseidon2_permute::<F>(&mut s, c);
    s[..8].try_into().unwrap()
}

// ---- ntt.cu -----------------------------------------------------------------------------------

/// Mirror of `PassGeometry` / `pass_geometry`: where block `bid` of a pass sits in the column.
#[derive(Clone, Copy, Debug)]
struct PassGeometry {
    l: u32,
    lane_mask: u32,
    lo_bits: u32,
    lane_base: u32,
    base: u64,
}

impl PassGeometry {
    fn new(pass: &NttPass, bid: u64) -> Self {
        let l = pass.log_lanes;
        let lo_bits = pass.stage_hi - pass.num_stages;
        let lane_blocks_log = lo_bits - l;
        let hi = bid >> lane_blocks_log;
        let lane_block = (bid & ((1u64 << lane_blocks_log) - 1)) as u32;
        let lane_base = lane_block << l;
        Self {
            l,
            lane_mask: (1u32 << l) - 1,
            lo_bits,
            lane_base,
            base: (hi << pass.stage_hi) | u64::from(lane_base),
        }
    }

    /// Mirror of `tile_to_global`.
    fn tile_to_global(&self, e: u32) -> usize {
        (self.base + (u64::from(e >> self.l) << self.lo_bits) + u64::from(e & self.lane_mask))
            as usize
    }

    /// Mirror of `twiddle_index`.
    fn twiddle_index(&self, e0: u32, b: u32, log_n: u32) -> usize {
        let k = (((e0 >> self.l) << self.lo_bits) | self.lane_base | (e0 & self.lane_mask))
            & ((1u32 << b) - 1);
        (k << (log_n - b - 1)) as usize
    }
}

/// Mirror of the `ntt_dif_pass` kernel sequence on one column of 2^log_n words: every pass,
/// every block, the tile load, the shared-memory butterflies in the kernel's order, then either
/// the tile store or the warp phase ([`dif_warp_stages`]).
pub fn ntt_dif_column(
    col: &mut [u32],
    log_n: u32,
    tw: &[u32],
    limits: NttLimits,
    mul_fn: impl Fn(u32, u32) -> u32,
    add_fn: impl Fn(u32, u32) -> u32,
    sub_fn: impl Fn(u32, u32) -> u32,
) {
    assert_eq!(col.len(), 1 << log_n);
    for pass in plan_dif_passes(log_n, limits) {
        let s = pass.num_stages;
        let l = pass.log_lanes;
        let tile_n = 1u32 << (s + l);
        let mut tile = vec![0u32; tile_n as usize];
        // Block x, tile row y (threadIdx.y) of the block: tile number x * tiles_per_block + y.
        // The rows of one block share nothing but the barriers, so they run one after another.
        let tiles = (0..u64::from(pass.blocks(log_n))).flat_map(|x| {
            (0..u64::from(pass.tiles_per_block))
                .map(move |y| x * u64::from(pass.tiles_per_block) + y)
        });
        for bid in tiles {
            let g = PassGeometry::new(&pass, bid);
            for e in 0..tile_n {
                tile[e as usize] = col[g.tile_to_global(e)];
            }
            for half_log in (pass.warp_stages..s).rev() {
                let half = 1u32 << half_log;
                let b = g.lo_bits + half_log;
                for q in 0..tile_n >> 1 {
                    let j = q & g.lane_mask;
                    let r = q >> l;
                    let m0 = ((r >> half_log) << (half_log + 1)) | (r & (half - 1));
                    let i0 = (m0 << l) | j;
                    let i1 = ((m0 + half) << l) | j;
                    let w = tw[g.twiddle_index(i0, b, log_n)];
                    let (x, y) = (tile[i0 as usize], tile[i1 as usize]);
                    tile[i0 as usize] = add_fn(x, y);
                    tile[i1 as usize] = mul_fn(sub_fn(x, y), w);
                }
            }
            if pass.warp_stages == 0 {
                for e in 0..tile_n {
                    col[g.tile_to_global(e)] = tile[e as usize];
                }
            } else {
                dif_warp_stages(&pass, &g, log_n, &tile, col, tw, &mul_fn, &add_fn, &sub_fn);
            }
        }
    }
}

/// Mirror of `dif_warp_stages<F, LOG_REGS>` for one block: every chunk of 2^(5 + log_regs) tile
/// words (the kernel's warps take them in turn; chunks are disjoint, so their order does not
/// matter), held as `v[register][lane]`; the register stages, then the shuffle stages (one word
/// per lane, or register pairs with register bit 0 and the lane bit swapping roles), where every
/// lane reads what its partner sent from before the exchange (`__shfl_xor_sync`), then the
/// stores from registers in the final (permuted) layout.
#[allow(clippy::too_many_arguments)]
fn dif_warp_stages(
    pass: &NttPass,
    g: &PassGeometry,
    log_n: u32,
    tile: &[u32],
    col: &mut [u32],
    tw: &[u32],
    mul_fn: &impl Fn(u32, u32) -> u32,
    add_fn: &impl Fn(u32, u32) -> u32,
    sub_fn: &impl Fn(u32, u32) -> u32,
) {
    const LANES: u32 = 32;
    let log_regs = pass.log_regs;
    assert!(
        log_regs <= MAX_LOG_REGS,
        "the kernel instantiates log_regs 0..=3"
    );
    assert_eq!(pass.warp_stages, 5 + log_regs - g.l);
    let regs = 1u32 << log_regs;
    let chunk_log = 5 + log_regs;
    let num_chunks = (1u32 << (pass.num_stages + g.l)) >> chunk_log;
    for chunk in 0..num_chunks {
        let chunk_base = chunk << chunk_log;
        let mut v: Vec<[u32; LANES as usize]> = (0..regs)
            .map(|i| {
                core::array::from_fn(|lane| tile[(chunk_base | (i << 5) | lane as u32) as usize])
            })
            .collect();

        // Register stages: tile bit 5 + rb pairs registers i0 and i0 | 2^rb of one thread.
        for t in 0..log_regs {
            let rb = log_regs - 1 - t;
            let b = g.lo_bits + 5 + rb - g.l;
            for lane in 0..LANES {
                for q in 0..regs / 2 {
                    let i0 = ((q >> rb) << (rb + 1)) | (q & ((1u32 << rb) - 1));
                    let i1 = i0 | (1u32 << rb);
                    let w = tw[g.twiddle_index(chunk_base | (i0 << 5) | lane, b, log_n)];
                    let (x, y) = (v[i0 as usize][lane as usize], v[i1 as usize][lane as usize]);
                    v[i0 as usize][lane as usize] = add_fn(x, y);
                    v[i1 as usize][lane as usize] = mul_fn(sub_fn(x, y), w);
                }
            }
        }

        if log_regs == 0 {
            // Shuffle stages, one word per lane: tile bit beta < 5 pairs lane and lane ^ 2^beta.
            for beta in (g.l..5).rev() {
                let bit = 1u32 << beta;
                let b = g.lo_bits + beta - g.l;
                let before = v.clone();
                for lane in 0..LANES {
                    let upper = lane & bit != 0;
                    let w = if upper {
                        tw[g.twiddle_index(lane & (bit - 1), b, log_n)]
                    } else {
                        0
                    };
                    let mine = before[0][lane as usize];
                    let other = before[0][(lane ^ bit) as usize];
                    v[0][lane as usize] = if upper {
                        mul_fn(sub_fn(other, mine), w)
                    } else {
                        add_fn(mine, other)
                    };
                }
            }
            for lane in 0..LANES {
                col[g.tile_to_global(chunk_base | lane)] = v[0][lane as usize];
            }
        } else {
            // Paired shuffle stages: register bit 0 and lane bit beta trade places; every lane
            // sends one word of each register pair (the lower lane its odd register, the upper
            // lane its even one) and does one whole butterfly.
            for beta in (g.l..5).rev() {
                let bit = 1u32 << beta;
                let b = g.lo_bits + beta - g.l;
                let before = v.clone();
                for lane in 0..LANES {
                    let upper = lane & bit != 0;
                    let w = tw[g.twiddle_index(lane & (bit - 1), b, log_n)];
                    let partner = (lane ^ bit) as usize;
                    for i0 in (0..regs as usize).step_by(2) {
                        // What the partner sends: its even register when it is the upper lane.
                        let recv = if !upper {
                            before[i0][partner]
                        } else {
                            before[i0 + 1][partner]
                        };
                        let x = if upper {
                            recv
                        } else {
                            before[i0][lane as usize]
                        };
                        let y = if upper {
                            before[i0 + 1][lane as usize]
                        } else {
                            recv
                        };
                        v[i0][lane as usize] = add_fn(x, y);
                        v[i0 + 1][lane as usize] = mul_fn(sub_fn(x, y), w);
                    }
                }
            }
            // Register bit 0 now stands for tile bit l, lane bits l..4 for tile bits l+1..5.
            // (The kernel stores register pairs as one 8-byte word when the tile is contiguous;
            // the words and addresses are the same.)
            for lane in 0..LANES {
                let lane_part = ((lane >> g.l) << (g.l + 1)) | (lane & g.lane_mask);
                for (i, regs_now) in v.iter().enumerate() {
                    let i = i as u32;
                    let e = chunk_base | ((i >> 1) << 6) | lane_part | ((i & 1) << g.l);
                    col[g.tile_to_global(e)] = regs_now[lane as usize];
                }
            }
        }
    }
}

/// Model of a forward DIF NTT of every column (natural in, bit-reversed out).
pub fn dft_bitrev<F: DeviceField>(cols: &mut [Vec<u32>], log_n: u32, limits: NttLimits) {
    let tw = twiddles::<F>(log_n, false).unwrap();
    for col in cols {
        ntt_dif_column(col, log_n, &tw, limits, mul::<F>, add::<F>, sub::<F>);
    }
}

/// The scatter as the device runs it: the tiled kernel from 2^10 rows on, else the simple one.
pub fn coset_scatter_column<F: DeviceField>(
    src: &[u32],
    log_n: u32,
    log_blowup: u32,
    pow_lo: &[u32],
    pow_hi: &[u32],
    hi_len: usize,
) -> Vec<u32> {
    if log_n >= crate::ntt::TILED_SCATTER_MIN_LOG_N {
        coset_scatter_tiled_column::<F>(src, log_n, log_blowup, pow_lo, pow_hi, hi_len)
    } else {
        coset_scatter_simple_column::<F>(src, log_n, log_blowup, pow_lo, pow_hi, hi_len)
    }
}

/// Mirror of the `coset_scatter_tiled` kernel on one column (every block m, the tile load, the
/// transposed bit-reversed read and the writes to each output block).
pub fn coset_scatter_tiled_column<F: DeviceField>(
    src: &[u32],
    log_n: u32,
    log_blowup: u32,
    pow_lo: &[u32],
    pow_hi: &[u32],
    hi_len: usize,
) -> Vec<u32> {
    assert!(log_n >= 10);
    let n = 1usize << log_n;
    let mut dst = vec![u32::MAX; n << log_blowup];
    let row_shift = log_n - 5;
    let mut tile = [[0u32; 33]; 32];
    for m in 0..1u32 << (log_n - 10) {
        for (a, row) in tile.iter_mut().enumerate() {
            for (tx, word) in row.iter_mut().take(32).enumerate() {
                *word = src[(a << row_shift) + ((m as usize) << 5) + tx];
            }
        }
        let m_rev = reverse_bits(m, log_n - 10);
        for a_out in 0..32u32 {
            for tx in 0..32u32 {
                let c = tile[reverse_bits(tx, 5) as usize][reverse_bits(a_out, 5) as usize];
                let j = (a_out << row_shift) + (m_rev << 5) + tx;
                for t in 0..1usize << log_blowup {
                    let lo = pow_lo[t * 4096 + (j & 4095) as usize];
                    let hi = pow_hi[t * hi_len + (j >> 12) as usize];
                    dst[t * n + j as usize] = mul::<F>(c, mul::<F>(lo, hi));
                }
            }
        }
    }
    dst
}

/// Mirror of the `coset_scatter` kernel on one column.
pub fn coset_scatter_simple_column<F: DeviceField>(
    src: &[u32],
    log_n: u32,
    log_blowup: u32,
    pow_lo: &[u32],
    pow_hi: &[u32],
    hi_len: usize,
) -> Vec<u32> {
    let n = 1usize << log_n;
    let big_n = n << log_blowup;
    (0..big_n)
        .map(|i| {
            let t = i >> log_n;
            let j = (i & (n - 1)) as u32;
            let c = src[reverse_bits(j, log_n) as usize];
            let lo = pow_lo[t * 4096 + (j & 4095) as usize];
            let hi = pow_hi[t * hi_len + (j >> 12) as usize];
            mul::<F>(c, mul::<F>(lo, hi))
        })
        .collect()
}

/// Model of the device coset LDE: inverse DIF, scatter (coset shift per output block, 1/n), then
/// a size-n DIF of each of the 2^log_blowup blocks. Output rows are in bit-reversed order, like
/// `coset_lde_batch(..).bit_reverse_rows()`.
pub fn coset_lde_bitrev<F: DeviceField>(
    cols: &[Vec<u32>],
    log_n: u32,
    log_blowup: u32,
    shift: F,
    limits: NttLimits,
) -> Vec<Vec<u32>> {
    let inv_tw = twiddles::<F>(log_n, true).unwrap();
    let tw = twiddles::<F>(log_n, false).unwrap();
    let (lo, hi, hi_len) = coset_block_tables::<F>(log_n, log_blowup, shift).unwrap();
    cols.iter()
        .map(|c| {
            let mut tmp = c.clone();
            ntt_dif_column(
                &mut tmp, log_n, &inv_tw, limits, mul::<F>, add::<F>, sub::<F>,
            );
            let mut out = coset_scatter_column::<F>(&tmp, log_n, log_blowup, &lo, &hi, hi_len);
            for block in out.chunks_mut(1 << log_n) {
                ntt_dif_column(block, log_n, &tw, limits, mul::<F>, add::<F>, sub::<F>);
            }
            out
        })
        .collect()
}

/// Model of the device inverse NTT: natural-order evaluations to natural-order coefficients
/// (inverse DIF, then the scatter with shift 1 and blowup 0).
pub fn idft<F: DeviceField>(cols: &[Vec<u32>], log_n: u32, limits: NttLimits) -> Vec<Vec<u32>> {
    let inv_tw = twiddles::<F>(log_n, true).unwrap();
    let (lo, hi, hi_len) = coset_block_tables::<F>(log_n, 0, F::ONE).unwrap();
    cols.iter()
        .map(|c| {
            let mut tmp = c.clone();
            ntt_dif_column(
                &mut tmp, log_n, &inv_tw, limits, mul::<F>, add::<F>, sub::<F>,
            );
            coset_scatter_column::<F>(&tmp, log_n, 0, &lo, &hi, hi_len)
        })
        .collect()
}

// ---- merkle.cu ------------------------------------------------------------------------------

/// Mirror of `hash_leaves` for one row: the concatenated row of `mats` (each a list of columns).
pub fn hash_row<F: DeviceField>(
    mats: &[&[Vec<u32>]],
    row: usize,
    c: &Poseidon2Constants,
) -> [u32; 8] {
    let mut s = [0u32; P2_WIDTH];
    let mut mi = 0usize;
    let mut col = 0usize;
    loop {
        let mut absorbed = 0;
        for (i, slot) in s.iter_mut().take(8).enumerate() {
            while mi < mats.len() && col >= mats[mi].len() {
                mi += 1;
                col = 0;
            }
            if mi < mats.len() {
                *slot = mats[mi][col][row];
                col += 1;
                absorbed = i + 1;
            }
        }
        if absorbed == 0 {
            break;
        }
        poseidon2_permute::<F>(&mut s, c);
        if absorbed < 8 {
            break;
        }
    }
    s[..8].try_into().unwrap()
}

/// Model of the whole device tree build: layer 0 from `hash_leaves`, then `compress_layer` with
/// injection, following `plan`. `mats[i]` is matrix i as a list of columns.
pub fn merkle_layers<F: DeviceField>(
    mats: &[&[Vec<u32>]],
    plan: &MerklePlan,
) -> Vec<Vec<[u32; 8]>> {
    let c = F::poseidon2_constants();
    let select = |idx: &[usize]| -> Vec<&[Vec<u32>]> { idx.iter().map(|&i| mats[i]).collect() };
    let max = 1usize << plan.log_max_height;
    let leaf_mats = select(&plan.leaves);
    let mut layers = vec![
        (0..max)
            .map(|r| hash_row::<F>(&leaf_mats, r, &c))
            .collect::<Vec<_>>(),
    ];
    for k in 1..=plan.log_max_height as usize {
        let prev = layers.last().unwrap();
        let inj = select(&plan.inject[k]);
        let layer = (0..max >> k)
            .map(|i| {
                let mut node = compress::<F>(&prev[2 * i], &prev[2 * i + 1], &c);
                if !plan.inject[k].is_empty() {
                    node = compress::<F>(&node, &hash_row::<F>(&inj, i, &c), &c);
                }
                node
            })
            .collect();
        layers.push(layer);
    }
    layers
}

/// Mirror of the `gather_rows` kernel: `out[q * width + c] = data[c * col_stride + rows[q]]`,
/// with the row of each query computed as `open_batches` does (`index >> (log_max - log_h)`).
pub fn gather_rows(
    data: &[u32],
    height: usize,
    width: usize,
    log_max_height: u32,
    indices: &[usize],
) -> Vec<u32> {
    let shift = log_max_height - height.trailing_zeros();
    let rows: Vec<usize> = indices.iter().map(|&i| i >> shift).collect();
    let mut out = vec![0u32; rows.len() * width];
    for (i, word) in out.iter_mut().enumerate() {
        let (q, c) = (i / width, i % width);
        *word = data[c * height + rows[q]];
    }
    out
}
