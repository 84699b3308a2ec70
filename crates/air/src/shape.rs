//! The fixed menu of shard shapes.
//!
//! A shard's tables are padded to one of a few fixed height profiles, so that the recursion
//! program verifying a shard proof (which depends on its tables' heights) is one of a few
//! known programs, not one per block. The block prover gives each shard the smallest shape
//! that fits it ([`smallest_fitting`]) and cuts a shard that fits none; a verifier accepts only
//! shard proofs of these shapes ([`menu_index`], [`off_menu_table`]).
//!
//! **The menu, and why** (measured 2026-12-06 on the natural heights, i.e. the next power of
//! two of each table's rows, of every shard of the repository's fixtures, both mainnet blocks,
//! EEST `worst_jumps`, a generated 8 Mgas block and 1 Mgas prover-killer blocks; cost = committed
//! cells, main + LogUp + quotient columns at trace height, per row: cpu 300, muldiv 602, alu
//! 268, boundary 116, bytecode 77, call context 50, bitwise 33). A shard's cost is dominated by
//! its CPU, multiplication and ALU tables and, on mainnet, its bytecode table, and the shards
//! measured fall into four families, one shape each (a fifth, for copies, came later):
//!
//! | shape | cpu | bytecode | alu | bitwise | boundary | muldiv | call ctx | cells | for |
//! |---|---|---|---|---|---|---|---|---|---|
//! | 0 small | 2^12 | 2^12 | 2^11 | 2^11 | 2^8 | 2^11 | 2^8 | 4.9 M | tests (shards of up to 2^11 steps, tables capped at 2^11 rows), system-call shards (34 steps), small blocks (`token`: 3.0 M natural) |
//! | 1 full | 2^16 | 2^14 | 2^14 | 2^16 | 2^8 | 2^14 | 2^10 | 38.9 M | full shards of generated and EEST blocks: `mixed`, `keccak`, 8 Mgas (up to 37.7 M natural: `[16, 11, 8, 14, 16, 4, 8, 16, 14, 8]`), SHL/SHR/SAR and DIV loops (35–38 M) |
//! | 2 mainnet | 2^16 | 2^18 | 2^14 | 2^13 | 2^10 | 2^13 | 2^10 | 51.1 M | mainnet shards: they run many contracts (21688509: bytecode 2^18, `[16, 18, 8, 13, 11, 7, 8, 16, 11, 8]`, 44.8 M natural) |
//! | 3 copy-heavy | 2^14 | 2^15 | 2^12 | 2^12 | 2^10 | 2^11 | 2^10 | 32.6 M (memory 2^16) | loops of memory copies (MCOPY, CALLDATACOPY: ~2 memory rows per step); added later, see below |
//! | 4 heavy | 2^16 | 2^15 | 2^15 | 2^16 | 2^12 | 2^16 | 2^10 | 73.3 M (89.8 M today, with the later memory table and columns) | EXP and MULMOD loops (muldiv 2^16 at 926 EXP steps or 65,536 MULMOD steps: 41–61 M natural), and memory-heavy loops (memory 2^15, bytecode 2^15: EEST `worst_memory_access`) |
//!
//! The opcode table (2^8) and the range tables (2^8, 2^16) keep their fixed sizes.
//!
//! The **memory** table (added later, issue 15; one row per MLOAD/MSTORE/MSTORE8, per word of a
//! trusted write and per word touched) has 2^11 rows in shape 0, 2^13 in shapes 1 and 2, 2^16 in shape 3 and 2^15 in shape 4. Its
//! natural heights (`tests_memory::memory_heights_on_fixtures`): 21688509 2^12 (2,765 rows),
//! 22615247 2^11 (1,666), 21872325 2^9..2^13 (up to 5,982 rows per 65,536-step shard), `mixed`
//! 2^13 (4,968) and 2^11, `calls` 2^13 (5,796), `keccak` 2^12, `token` 2^9: at most ~10% of a
//! shard's steps, so 2^13 fits every measured shard and 2^14 would add padding to every full
//! shard; a shard with more memory rows is cut.
//!
//! The **calldata** table (issue 15; one row per CALLDATALOAD and per calldata word one reads)
//! has 2^9 rows in shape 0 and 2^12 in the others (cell counts below were measured before it
//! came: it adds ~1.2 M to every shape but 0). Its natural heights
//! (`tests_calldata::calldata_heights_on_fixtures`): 21688509 2^10 (637 rows), 22615247 2^9
//! (382), 21872325 2^7..2^11 (up to 1,199), `mixed` 2^11 (1,217) and 2^10, `calls` 2^12
//! (3,166), `keccak` 2^2, `token` 2^9 (301): 2^12 keeps every measured shard's count (2^11
//! would cut `calls`).
//!
//! **Memory-heavy shards share the heavy shape 4** (memory 2^15, bytecode 2^15 there). A loop of
//! memory accesses needs about one memory row per two steps: EEST `worst_memory_access`
//! (659,442 steps, a 2^15 bytecode table) fitted only the mainnet shape, whose 2^13 memory rows
//! hold 16,384 such steps, so it proved as 42 shards of 59.6 M committed cells (2,451 M in all).
//! With shape 4 holding 65,536 of its steps it proves as 12 shards, 964 M cells (-61 %; CPU time
//! of `slotproof prove <F> --no-aggregate` 223 s -> 77 s, measured 2026-12-06 on a loaded 2-core
//! machine). The price: shape 4 costs 89.8 M cells instead of 80.4 M (+11.6 %), paid only by
//! multiplication-heavy shards, the one family that already chose the costliest shape. Putting
//! the memory rows in the full shape 1 instead would charge every full shard of ordinary
//! generated blocks +21 %.
//!
//! **Copy-heavy shards get a fifth shape, 3** (CPU 2^14, memory 2^16, bytecode 2^15, the ALU and
//! multiplication tables small: 32.6 M cells). A copy (MCOPY, CALLDATACOPY, RETURNDATACOPY,
//! CODECOPY) writes one memory row per word, so a loop of 256-byte copies needs about two memory
//! rows per step. Without this shape such a shard fitted only the heavy shape (the only one with 2^15
//! memory rows), which held ~8,400 of its steps under 89.8 M cells, 5.6x its natural area:
//! measured 2026-12-06 (`slotproof bench --generate-gas 2M --generate-kind mcopy`, release, a
//! loaded 2-core machine) a 2 Mgas MCOPY loop proved as **27 shards in 422 s**, and a
//! CALLDATACOPY loop as 15 shards in 249 s, 8–10x the per-gas cost of a MULMOD loop: the worst
//! prover-killers of the generator. Issue 13 asked for at most four shapes; a fifth costs one
//! more leaf program (its key is a constant of the verifier like the others). It comes before the
//! heavy shape, which is 2.7x its cost (so a copy loop's shard that also fits the heavy shape
//! takes this one), but after shapes 1 and 2 even where it is cheaper than them, so that every
//! shard that fitted those keeps its shape; ordering the whole menu by cost is a measured
//! follow-up. With it (`bench --generate-gas 2M`, release, quieter machine): MCOPY 27 -> 15
//! shards, 422 s -> 110 s.
//!
//! **A cut inside a transaction with a large live memory gets a sixth shape, 5** (the copy-heavy
//! shape with a 2^17-row carry table instead of 2^10). Every non-zero word of the contexts alive
//! at such a cut is carried into the next shard (one memory row and four carry rows each), so a
//! memory-expansion loop cut halfway carries all it stored: about 25 words fit shape 0's carry
//! table and about 250 the others', and no shorter shard carries less. With 2^17 rows about
//! 32,000 words (1 MiB, the memory-expansion prover-killer of issue 15) fit; its carry table
//! adds ~24 M committed cells to the copy shape's, paid only by such shards. A live image
//! larger than that is a typed error ([`crate::TraceError::NoShapeFits`] naming the carry table):
//! committing memory by pages, opened only where touched, would lift the limit.
//!
//! **Three shapes for shards smaller than their family's (issue 17, 2026-12-07):** shape 6,
//! **tiny** (CPU 2^10, bytecode 2^12, ALU and bitwise 2^9, multiplication 2^8, memory 2^9,
//! calldata 2^8: 2.8 M cells, of which 1.4 M are the fixed u16 range table), for small blocks
//! and most test shards; shapes 7 and 8, the **full and mainnet shapes with 2^15 CPU rows**
//! (everything else theirs), for subblock tails and for mainnet shards of up to 32,768 steps
//! (a 4 Mgas subblock of mainnet is 20–45 k steps). The CPU table is the widest per row after
//! the multiplication table and grows with the steps, so a 30 k-step shard padded to 2^16 CPU
//! rows pays 12.3 M cells for nothing. Measured (`slotproof prove <F> --no-aggregate --json`,
//! `trace_area.committed_cells`, before -> after): 22615247 (30,213 steps, shape 2 -> 8)
//! 61.8 M -> 49.4 M (-20 %); `transfers` (188 steps, shape 0 -> 6) 6.09 M -> 2.80 M (-54 %);
//! `mixed` (its 11,160-step tail, shape 1 -> 7) 96.1 M -> 83.8 M (-13 %); 21688509 (43,507
//! steps) keeps shape 2. They are appended to the menu (earlier shapes keep their indices and
//! leaf keys) and chosen in [`SELECTION_ORDER`]. Each costs one more leaf program (a constant
//! of the verifier).
//!
//! **Two lean mainnet shapes (issue 17, 2026-12-07):** shapes 9 and 10 are the mainnet shape
//! and its half-CPU form with the tables besides CPU and bytecode sized to what mainnet shards
//! use, not to what generated full shards use. Natural log heights (`slotproof prove <F>
//! --no-aggregate --json --max-rows M`, `trace_area.per_shard[].tables[].natural_height`):
//!
//! | shard | steps | alu | bitwise | boundary | muldiv | call ctx | memory | calldata |
//! |---|---|---|---|---|---|---|---|---|
//! | 21688509 | 43,507 | 13 | 11 | 7 | 11 | 9 | 12 | 10 |
//! | 21688509 (`--max-rows 32768`) | 28,185 | 13 | 10 | 7 | 11 | 8 | 11 | 9 |
//! | 21688509 (`--max-rows 32768`) | 15,322 | 12 | 10 | 6 | 10 | 7 | 10 | 8 |
//! | 22615247 | 30,213 | 13 | 10 | 7 | 10 | 8 | 11 | 9 |
//!
//! Shape 8 (22615247's) padded its ALU table 2x, its multiplication, bitwise and calldata
//! tables 8x and its memory table 4x. The lean forms leave one doubling of room over these
//! shards (the ALU none: every ALU-heavier shard falls back to shapes 8 and 2, as before):
//! shape 10 is 42.2 M committed cells against shape 8's 49.4 M (-15 %), shape 9 54.9 M
//! against shape 2's 61.8 M (-11 %). They come before their full forms in
//! [`SELECTION_ORDER`], so a shard that does not fit them keeps the shape it had.
//!
//! **The push-immediate table** (issue 17, 2026-12-07, after the lean shapes' figures above; appended last, so the other tables keep
//! their indices): one row per PUSH1..32 site a shard executes, 151 committed cells per row,
//! replacing 32 accumulator columns on every bytecode row (bytecode 83 -> 51 cells per row).
//! Natural heights (`tests_push_immediate::push_heights_on_fixtures`, distinct sites per shard
//! of 2^16 steps at most): 21688509 5,931 rows (2^13), 22615247 3,639 (2^12), 21872325 shards
//! 529..9,800 (those fitting shape 2: up to 6,829, 2^13; 4,722 in a 29,153-step shard),
//! `mixed` 139 and 105, `keccak` 59..95, `calls` 100, `token` 70 (2^7..2^8): about one site per
//! 5..10 mainnet steps, a few hundred at most in generated blocks. Heights: 2^13 in the mainnet
//! shapes 2 and 8 (a 30 k-step mainnet shard needs 2^12..2^13; 2^12 would send some to the
//! 2^16-CPU shape), 2^12 in the heavy shape 4 (bytecode 2^15), 2^11 in the full, copy and live
//! memory shapes 1, 7, 3, 5 (bytecode 2^14..2^15, while generated blocks need 2^8), 2^9 in the
//! small shape 0 and 2^8 in the tiny shape 6 (bytecode 2^12: a few hundred sites). In every
//! shape the table costs less than the accumulator columns it replaces (mainnet: 1.2 M against
//! 8.4 M cells). Measured (`slotproof prove <F> --no-aggregate --json`, release, before -> after,
//! committed / natural cells): 22615247 (shape 8) 49.4 M -> 42.3 M / 39.2 M -> 31.5 M (-14 % /
//! -20 %); 21688509 (shape 2) 61.8 M -> 54.6 M / 53.1 M -> 45.9 M; `mixed` (shapes 1, 7) 83.8 M
//! -> 83.4 M; `transfers` (shape 6) 2.80 M -> 2.71 M.
//! With the lean shapes too (this menu): 22615247 35.0 M (shape 10), 21688509 47.7 M (shape 9).
//!
//! **A micro shape, 11 (issue 17, 2026-12-07):** the tiny shape's CPU (2^10) and bytecode
//! (2^12) with every other scaling table cut to 2^6..2^8 (ALU and bitwise 2^8, memory and
//! push-immediate 2^7, boundary, multiplication, call context, calldata and carry 2^6). A
//! shard of a few hundred steps (`transfers`: 188 steps, natural ALU 2^5, memory, calldata,
//! multiplication 2^2, push-immediate 2^6) padded them 4..64x in the tiny shape, which left
//! the fixed u16 range table (1.4 M cells) as only half of its 2.7 M. `transfers`
//! (`slotproof prove <F> --no-aggregate --json`, `trace_area.committed_cells`): 2.70 M ->
//! 2.25 M (-17 %). It is the smallest shape (first in [`SELECTION_ORDER`]); a shard needing
//! more of any table takes the tiny shape as before. Many test shards take it too.
//!
//! **A multiplication-heavy shape, 12 (issue 18, 2026-12-07):** CPU and multiplication 2^16,
//! bytecode and ALU 2^12, memory, carry and push-immediate 2^10, bitwise 2^9, the rest 2^8. A
//! full shard of a MULMOD loop (a giant transaction) needs CPU and multiplication 2^16 and
//! little else (ALU 2^10, bytecode 2^8, memory 2^2), and the heavy shape 4, the only one with
//! a 2^16 multiplication table, padded its memory, ALU, bitwise and bytecode tables to 91.7 M
//! cells against 65.8 M natural. In shape 12 it commits 68.0 M; the 2 Mgas MULMOD block 644 M
//! -> 476 M cells, 49.0 -> 36.9 s end to end (`benches/results/
//! 2026-12-07-cpu-2core-window-and-multiplication-shape.md`). It is tried just before shape 4,
//! so only shards that took shape 4 can move to it.
//!
//! - **A tall bytecode table in its own shape, not a cap.** Both mainnet blocks need 2^18
//!   bytecode rows in one shard (the codes they execute). Capping it at 2^16 would cut such a
//!   shard into about four whose bytecode tables together are as tall, while each new shard
//!   adds a leaf proof to the aggregation (about as costly as a full shard proof); and giving
//!   every full shard 2^18 rows would cost 20 M cells (+50%) where generated blocks use 2^11.
//! - **Multiplication-heavy shards get their own shape** because a multiplication row is the
//!   widest (602 cells): with 2^16 of them in the full shape every ordinary full shard would
//!   pay +30 M cells, and without the shape the cutter cuts an EXP shard into 4 (x3.75 cells,
//!   4 leaves) to fit 2^14.
//! - **The small shape is what tests pay**: a 64-step test shard commits 1.5 M cells at its
//!   natural heights and 4.9 M in shape 0; a bigger small shape would slow every test, a
//!   smaller one would send 2^10–2^12-step test shards and small blocks to the full shape.
//! - **What it costs** (committed cells, padded / natural): 21688509 x1.14, 22615247 x1.49 (its
//!   one shard has 30 k steps: CPU 2^15 padded to 2^16), `mixed` x1.72 (its 11 k-step tail
//!   shard takes the full shape), generated 8 Mgas x1.36, `keccak` x1.10, EEST `worst_jumps`
//!   x2.00 (CPU-only shards carry the full shape's ALU and multiplication tables), EXP loop
//!   x1.79, MULMOD loop x1.38, DIV x1.12, shifts x1.05; no shard count changed.

use crate::EvmAir;
use crate::shard::NUM_INSTANCES;

/// Tables of a shard, in [`EvmAir::shard_airs`] order.
pub const NUM_SHARD_TABLES: usize = NUM_INSTANCES;

/// One shard shape: every table's log height, in [`EvmAir::shard_airs`] order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ShardShape {
    pub log_heights: [usize; NUM_SHARD_TABLES],
}

impl ShardShape {
    /// Whether a shard whose tables need `natural` log heights fits this shape.
    pub fn fits(&self, natural: &[usize; NUM_SHARD_TABLES]) -> bool {
        self.log_heights.iter().zip(natural).all(|(s, n)| n <= s)
    }
}

// Columns: cpu, bytecode, opcode table, alu, bitwise, boundary, range u8, range u16, muldiv,
// call context, memory, calldata, carry, push immediate.
const fn shape(log_heights: [usize; NUM_SHARD_TABLES]) -> ShardShape {
    ShardShape { log_heights }
}

/// The menu. Shapes are chosen in [`SELECTION_ORDER`], not in this order: shapes added later
/// come last here, so that earlier shapes keep their indices (and leaf keys). Shapes 2, 3 and
/// 4 are not nested: a shard needing both a tall bytecode and a tall multiplication table fits
/// neither and is cut. See the module docs for the measurements.
pub const SHARD_SHAPES: [ShardShape; 13] = [
    shape([12, 12, 8, 11, 11, 8, 8, 16, 11, 8, 11, 9, 7, 9]),
    shape([16, 14, 8, 14, 16, 8, 8, 16, 14, 10, 13, 12, 10, 11]),
    shape([16, 18, 8, 14, 13, 10, 8, 16, 13, 10, 13, 12, 10, 13]),
    shape([14, 15, 8, 12, 12, 10, 8, 16, 11, 10, 16, 12, 10, 11]),
    shape([16, 15, 8, 15, 16, 12, 8, 16, 16, 10, 15, 12, 10, 12]),
    shape([14, 15, 8, 12, 12, 10, 8, 16, 11, 10, 16, 12, 17, 11]),
    // 6: tiny (small blocks, most test shards).
    shape([10, 12, 8, 9, 9, 8, 8, 16, 8, 8, 9, 8, 7, 8]),
    // 7: the full shape with half its CPU rows (subblock tails).
    shape([15, 14, 8, 14, 16, 8, 8, 16, 14, 10, 13, 12, 10, 11]),
    // 8: the mainnet shape with half its CPU rows (mainnet shards of up to 32,768 steps).
    shape([15, 18, 8, 14, 13, 10, 8, 16, 13, 10, 13, 12, 10, 13]),
    // 9: lean mainnet (the mainnet shape's CPU and bytecode, the other tables sized to what
    // mainnet shards of up to ~45 k steps use).
    shape([16, 18, 8, 13, 12, 8, 8, 16, 12, 10, 12, 11, 10, 13]),
    // 10: lean mainnet with half its CPU rows (mainnet shards of up to 32,768 steps).
    shape([15, 18, 8, 13, 11, 8, 8, 16, 12, 9, 12, 10, 10, 13]),
    // 11: micro (the tiny shape's CPU and bytecode, every other scaling table at 2^6..2^8).
    shape([10, 12, 8, 8, 8, 6, 8, 16, 6, 6, 7, 6, 6, 7]),
    // 12: multiplication-heavy (full CPU and multiplication tables, small code and little
    // memory: a loop of MULMOD, DIV or EXP filling a giant transaction).
    shape([16, 12, 8, 12, 9, 8, 8, 16, 16, 8, 10, 8, 10, 10]),
];

/// The order in which shapes are tried, cheapest first (committed cells), so the first shape
/// that fits is the cheapest that fits, except that the copy-heavy shape 3 comes after shapes
/// 1 and 2 (and their half-CPU and lean forms 7–10) even where it is cheaper, so that every
/// shard that fitted them keeps its shape. A shape later in this order is never one an earlier one
/// holds (it would never be chosen).
pub const SELECTION_ORDER: [usize; SHARD_SHAPES.len()] = [11, 6, 0, 7, 1, 10, 8, 9, 2, 3, 12, 4, 5];

/// The smallest shape of the menu (every shape holds it): cutting a shard of this shape cannot
/// shrink what it needs.
pub const SMALLEST_SHAPE: usize = 11;

/// The menu's shape for a cut inside a transaction whose live memory is large
/// ([`SHARD_SHAPES`]' last): the copy-heavy shape with a 2^17-row carry table.
pub const LIVE_MEMORY_SHAPE: usize = 5;

/// The index of the smallest shape of the menu a shard whose tables need `natural` log heights
/// fits, `None` if it fits none (it must be cut).
pub fn smallest_fitting(natural: &[usize; NUM_SHARD_TABLES]) -> Option<usize> {
    SELECTION_ORDER
        .into_iter()
        .find(|&k| SHARD_SHAPES[k].fits(natural))
}

/// The index of the shape whose log heights are exactly `log_heights`, `None` if none is.
pub fn menu_index(log_heights: &[usize]) -> Option<usize> {
    SHARD_SHAPES
        .iter()
        .position(|s| s.log_heights.as_slice() == log_heights)
}

/// The tallest log height any shape of the menu has for table `t`.
pub fn tallest(t: usize) -> usize {
    SHARD_SHAPES
        .iter()
        .map(|s| s.log_heights[t])
        .max()
        .unwrap_or(0)
}

/// A table of a shard that keeps it out of every shape of the menu.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Overflow {
    /// Its instance index.
    pub index: usize,
    pub table: &'static str,
    /// Its log height.
    pub log_height: usize,
    /// The tallest log height the menu has for it.
    pub largest: usize,
}

/// The menu's last shape in [`SELECTION_ORDER`] (the costliest).
pub fn largest() -> &'static ShardShape {
    &SHARD_SHAPES[SELECTION_ORDER[SELECTION_ORDER.len() - 1]]
}

/// Why a shard needing `natural` log heights fits no shape: the first table (in instance
/// order) taller than any shape has it, else (each table fits some shape, no one shape all of
/// them) the first table taller than the largest shape has it; `None` if it fits a shape.
pub fn overflow(natural: &[usize; NUM_SHARD_TABLES]) -> Option<Overflow> {
    if smallest_fitting(natural).is_some() {
        return None;
    }
    let limit = |t: usize| tallest(t);
    let t = (0..NUM_SHARD_TABLES)
        .find(|&t| natural[t] > limit(t))
        .or_else(|| (0..NUM_SHARD_TABLES).find(|&t| natural[t] > largest().log_heights[t]))?;
    let largest = if natural[t] > limit(t) {
        limit(t)
    } else {
        largest().log_heights[t]
    };
    Some(Overflow {
        index: t,
        table: EvmAir::shard_airs()[t].name(),
        log_height: natural[t],
        largest,
    })
}

/// Why a proof's table heights are not a shape of the menu: the first table (index and name)
/// that differs from the nearest shape (the one differing in the fewest tables; the cheaper on
/// a tie). `None` if the heights are a shape of the menu; a wrong table count names no table
/// (`Some((NUM_SHARD_TABLES, "table count"))`).
pub fn off_menu_table(log_heights: &[usize]) -> Option<(usize, &'static str)> {
    if log_heights.len() != NUM_SHARD_TABLES {
        return Some((NUM_SHARD_TABLES, "table count"));
    }
    let differing = |s: &ShardShape| -> Vec<usize> {
        (0..NUM_SHARD_TABLES)
            .filter(|&t| s.log_heights[t] != log_heights[t])
            .collect()
    };
    let nearest = SELECTION_ORDER
        .iter()
        .map(|&k| &SHARD_SHAPES[k])
        .min_by_key(|s| differing(s).len())
        .expect("the menu is not empty");
    let t = *differing(nearest).first()?;
    Some((t, EvmAir::shard_airs()[t].name()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shard::FIXED_LOG_HEIGHTS;

    #[test]
    fn shapes_are_distinct_and_keep_the_fixed_tables() {
        let mut order = SELECTION_ORDER.to_vec();
        order.sort_unstable();
        assert_eq!(order, (0..SHARD_SHAPES.len()).collect::<Vec<_>>());
        for (i, &a) in SELECTION_ORDER.iter().enumerate() {
            for &b in &SELECTION_ORDER[i + 1..] {
                let (a, b) = (&SHARD_SHAPES[a], &SHARD_SHAPES[b]);
                assert_ne!(a, b);
                // A later shape is never one an earlier one holds (it would never be chosen).
                assert!(!a.fits(&b.log_heights), "{a:?} holds {b:?}");
            }
        }
        assert_eq!(SELECTION_ORDER[0], SMALLEST_SHAPE);
        for s in &SHARD_SHAPES {
            for (h, fixed) in s.log_heights.iter().zip(FIXED_LOG_HEIGHTS) {
                if let Some(f) = fixed {
                    assert_eq!(*h, f);
                }
            }
            // Every shape holds the smallest: a shard of that shape cannot shrink by being cut
            // (the block prover's device-memory re-cut relies on it).
            assert!(s.fits(&SHARD_SHAPES[SMALLEST_SHAPE].log_heights));
            // The prover's smallest trace is 4 rows.
            assert!(s.log_heights.iter().all(|&h| h >= 2));
        }
    }

    #[test]
    fn the_smallest_fitting_shape_is_chosen() {
        let mut tiny = [2; NUM_SHARD_TABLES];
        for (h, fixed) in tiny.iter_mut().zip(FIXED_LOG_HEIGHTS) {
            *h = fixed.unwrap_or(2);
        }
        assert_eq!(smallest_fitting(&tiny), Some(SMALLEST_SHAPE));
        let first = SHARD_SHAPES[0].log_heights;
        assert_eq!(smallest_fitting(&first), Some(0));
        // One CPU doubling past shape 0 takes the full shape's half-CPU form, one more the
        // full shape.
        let mut above_first = first;
        above_first[crate::shard::CPU] = 15;
        assert_eq!(smallest_fitting(&above_first), Some(7));
        above_first[crate::shard::CPU] = 16;
        assert_eq!(smallest_fitting(&above_first), Some(1));
        // A mainnet shard of 2^15 steps takes the mainnet shape's half-CPU form.
        let mut mainnet = SHARD_SHAPES[2].log_heights;
        mainnet[crate::shard::CPU] = 15;
        assert_eq!(smallest_fitting(&mainnet), Some(8));
        // The mainnet blocks' shards (natural heights, see the module docs) take the lean forms.
        let block_22615247 = [15, 18, 8, 13, 10, 7, 8, 16, 10, 8, 11, 9, 2, 12];
        assert_eq!(smallest_fitting(&block_22615247), Some(10));
        let block_21688509 = [16, 18, 8, 13, 11, 7, 8, 16, 11, 9, 12, 10, 2, 13];
        assert_eq!(smallest_fitting(&block_21688509), Some(9));
        let mut too_tall = largest().log_heights;
        too_tall[crate::shard::MULDIV] += 1;
        assert_eq!(smallest_fitting(&too_tall), None);
        assert_eq!(
            overflow(&too_tall),
            Some(Overflow {
                index: crate::shard::MULDIV,
                table: "muldiv",
                log_height: too_tall[crate::shard::MULDIV],
                largest: largest().log_heights[crate::shard::MULDIV],
            })
        );
        assert_eq!(overflow(&largest().log_heights), None);
    }

    #[test]
    fn off_menu_heights_name_a_table() {
        for (k, s) in SHARD_SHAPES.iter().enumerate() {
            assert_eq!(menu_index(&s.log_heights), Some(k));
            assert_eq!(off_menu_table(&s.log_heights), None);
        }
        let mut short = SHARD_SHAPES[1].log_heights;
        short[crate::shard::ALU] -= 1;
        assert_eq!(
            off_menu_table(&short),
            Some((crate::shard::ALU, "alu")),
            "a shard short of its shape's alu height"
        );
        let mut tall = largest().log_heights;
        tall[crate::shard::BYTECODE] += 1;
        assert_eq!(
            off_menu_table(&tall),
            Some((crate::shard::BYTECODE, "bytecode"))
        );
        assert_eq!(
            off_menu_table(&[16; 3]),
            Some((NUM_SHARD_TABLES, "table count"))
        );
    }
}
