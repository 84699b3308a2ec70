//! The LogUp trace on the CPU: the values `p3_lookup::LogUpGadget::generate_permutation`
//! computes (so proofs stay byte for byte `prove_batch`'s), with each lookup's expressions
//! expanded once into polynomials over the row window instead of walking their expression
//! trees at every row and tuple (that walk was about two thirds of the phase on a
//! multiplication-heavy shard: `benches/results/2026-12-07-cpu-2core-logup-trace.md`).
//!
//! Layout, as Plonky3's: column 0 is the accumulator (the exclusive prefix sum of the row
//! totals, 0 on row 0), column `i + 1` lookup `i`'s fraction `sum_j m_j / (alpha - combine_j)`
//! with `combine = e_0 beta^(k-1) + ... + e_(k-1)`; a tuple whose multiplicity is zero gets
//! the denominator 1 (its term vanishes either way). The terminal is the sum of every row's
//! fractions. A table whose lookups this module does not expand (mutually exclusive columns,
//! periodic columns, a product of many sums) is handed to Plonky3's gadget whole.

use p3_air::symbolic::{BaseEntry, BaseLeaf, SymbolicExpr, SymbolicExpression};
use p3_field::{ExtensionField, Field, batch_multiplicative_inverse};
use p3_lookup::{LogUpGadget, Lookup, LookupProtocol, LookupTerminal};
use p3_matrix::dense::RowMajorMatrix;
use p3_maybe_rayon::prelude::*;

/// Monomials above this count make an expression "too large to expand": the gadget takes the
/// table (no EVM or recursion lookup comes near it).
const MAX_TERMS: usize = 64;

/// Rows per batch inversion (a chunk's denominators stay in cache).
const CHUNK_ROWS: usize = 1024;

/// A value of the row window an expression reads.
#[derive(Clone, Copy, Debug)]
enum Var {
    Local(usize),
    Next(usize),
    PrepLocal(usize),
    PrepNext(usize),
    Public(usize),
    IsFirstRow,
    IsLastRow,
    IsTransition,
}

/// `sum_t coefficient_t * prod(vars_t)`, the monomials' variables in one list.
#[derive(Clone, Debug)]
struct Poly<C> {
    /// (coefficient, start, length) into `vars`.
    terms: Vec<(C, usize, usize)>,
    vars: Vec<Var>,
}

impl<C: Copy> Poly<C> {
    fn constant(c: C) -> Self {
        Self {
            terms: vec![(c, 0, 0)],
            vars: Vec::new(),
        }
    }

    fn monomials(&self) -> impl Iterator<Item = (C, &[Var])> + '_ {
        self.terms
            .iter()
            .map(|&(c, s, n)| (c, &self.vars[s..s + n]))
    }

    fn from_monomials<'a>(monomials: impl IntoIterator<Item = (C, &'a [Var])>) -> Self {
        let mut p = Self {
            terms: Vec::new(),
            vars: Vec::new(),
        };
        for (c, vars) in monomials {
            p.terms.push((c, p.vars.len(), vars.len()));
            p.vars.extend_from_slice(vars);
        }
        p
    }
}

/// The row window of one row.
struct Window<'a, F> {
    local: &'a [F],
    next: &'a [F],
    prep_local: &'a [F],
    prep_next: &'a [F],
    public: &'a [F],
    row: usize,
    height: usize,
}

impl<F: Field> Window<'_, F> {
    #[inline]
    fn value(&self, v: Var) -> F {
        match v {
            Var::Local(i) => self.local[i],
            Var::Next(i) => self.next[i],
            Var::PrepLocal(i) => self.prep_local[i],
            Var::PrepNext(i) => self.prep_next[i],
            Var::Public(i) => self.public[i],
            Var::IsFirstRow => F::from_bool(self.row == 0),
            Var::IsLastRow => F::from_bool(self.row + 1 == self.height),
            Var::IsTransition => F::from_bool(self.row + 1 < self.height),
        }
    }

    #[inline]
    fn monomial(&self, vars: &[Var]) -> F {
        match vars {
            [] => F::ONE,
            [v] => self.value(*v),
            [v, rest @ ..] => rest.iter().fold(self.value(*v), |p, &w| p * self.value(w)),
        }
    }

    fn base(&self, p: &Poly<F>) -> F {
        p.terms
            .iter()
            .map(|&(c, s, n)| c * self.monomial(&p.vars[s..s + n]))
            .sum()
    }

    fn ext<EF: ExtensionField<F>>(&self, p: &Poly<EF>) -> EF {
        p.terms.iter().fold(EF::ZERO, |acc, &(c, s, n)| {
            acc + c * self.monomial(&p.vars[s..s + n])
        })
    }
}

/// `e` as a polynomial over the window, if it has no periodic column and stays small.
fn expand<F: Field>(e: &SymbolicExpression<F>) -> Option<Poly<F>> {
    let p = match e {
        SymbolicExpr::Leaf(leaf) => match leaf {
            BaseLeaf::Constant(c) => Poly::constant(*c),
            BaseLeaf::IsFirstRow => Poly::from_monomials([(F::ONE, &[Var::IsFirstRow][..])]),
            BaseLeaf::IsLastRow => Poly::from_monomials([(F::ONE, &[Var::IsLastRow][..])]),
            BaseLeaf::IsTransition => Poly::from_monomials([(F::ONE, &[Var::IsTransition][..])]),
            BaseLeaf::Variable(v) => {
                let var = match (v.entry, v.index) {
                    (BaseEntry::Main { offset: 0 }, i) => Var::Local(i),
                    (BaseEntry::Main { offset: 1 }, i) => Var::Next(i),
                    (BaseEntry::Preprocessed { offset: 0 }, i) => Var::PrepLocal(i),
                    (BaseEntry::Preprocessed { offset: 1 }, i) => Var::PrepNext(i),
                    (BaseEntry::Public, i) => Var::Public(i),
                    _ => return None,
                };
                Poly::from_monomials([(F::ONE, &[var][..])])
            }
        },
        SymbolicExpr::Add { x, y, .. } => {
            let (x, y) = (expand(x)?, expand(y)?);
            Poly::from_monomials(x.monomials().chain(y.monomials()))
        }
        SymbolicExpr::Sub { x, y, .. } => {
            let (x, y) = (expand(x)?, expand(y)?);
            Poly::from_monomials(x.monomials().chain(y.monomials().map(|(c, v)| (-c, v))))
        }
        SymbolicExpr::Neg { x, .. } => {
            let x = expand(x)?;
            Poly::from_monomials(x.monomials().map(|(c, v)| (-c, v)))
        }
        SymbolicExpr::Mul { x, y, .. } => {
            let (x, y) = (expand(x)?, expand(y)?);
            if x.terms.len() * y.terms.len() > MAX_TERMS {
                return None;
            }
            let mut p = Poly {
                terms: Vec::new(),
                vars: Vec::new(),
            };
            for (a, va) in x.monomials() {
                for (b, vb) in y.monomials() {
                    p.terms.push((a * b, p.vars.len(), va.len() + vb.len()));
                    p.vars.extend_from_slice(va);
                    p.vars.extend_from_slice(vb);
                }
            }
            p
        }
    };
    (p.terms.len() <= MAX_TERMS).then_some(p)
}

/// One tuple of a lookup: its multiplicity, and its denominator `alpha - combine` as a
/// polynomial with extension-field coefficients.
struct Tuple<F, EF> {
    multiplicity: Poly<F>,
    denominator: Poly<EF>,
}

/// Every lookup's tuples expanded, or `None` where one is not expandable.
fn expand_lookups<F: Field, EF: ExtensionField<F>>(
    lookups: &[Lookup<F>],
    challenges: &[EF],
) -> Option<Vec<Vec<Tuple<F, EF>>>> {
    lookups
        .iter()
        .map(|lookup| {
            if lookup.flags.is_some() {
                return None;
            }
            let base = 2 * lookup.column;
            let (alpha, beta) = (*challenges.get(base)?, *challenges.get(base + 1)?);
            lookup
                .elements
                .iter()
                .zip(&lookup.multiplicities)
                .map(|(fields, m)| {
                    let multiplicity = expand(m)?;
                    // combine = sum_j e_j beta^(k-1-j); the denominator is alpha - combine.
                    let k = fields.len();
                    let mut terms: Vec<(EF, Vec<Var>)> = vec![(alpha, Vec::new())];
                    for (j, field) in fields.iter().enumerate() {
                        let power = beta.exp_u64((k - 1 - j) as u64);
                        for (c, vars) in expand(field)?.monomials() {
                            terms.push((-(power * c), vars.to_vec()));
                        }
                    }
                    let denominator =
                        Poly::from_monomials(terms.iter().map(|(c, v)| (*c, v.as_slice())));
                    Some(Tuple {
                        multiplicity,
                        denominator,
                    })
                })
                .collect()
        })
        .collect()
}

/// Row `i` of `m` (`w` wide), or nothing without `m`.
fn row_of<F>(m: Option<&RowMajorMatrix<F>>, w: usize, i: usize) -> &[F] {
    m.map_or(&[], |m| &m.values[i * w..(i + 1) * w])
}

/// The LogUp trace of one table (extension-field columns) and its terminal, as
/// `LogUpGadget::generate_permutation` makes them.
pub fn logup_trace<F: Field, EF: ExtensionField<F>>(
    main: &RowMajorMatrix<F>,
    preprocessed: Option<&RowMajorMatrix<F>>,
    public_values: &[F],
    lookups: &[Lookup<F>],
    challenges: &[EF],
) -> (RowMajorMatrix<EF>, Option<LookupTerminal<EF>>) {
    // Tables without lookups, or with lookups this module does not expand, are the gadget's
    // (which also checks that each lookup's slot is its position).
    let positions_match = lookups.iter().enumerate().all(|(i, l)| l.column == i);
    let tuples = if lookups.is_empty() || !positions_match {
        None
    } else {
        expand_lookups(lookups, challenges)
    };
    let Some(tuples) = tuples else {
        return LogUpGadget::new().generate_permutation::<F, EF>(
            main,
            &preprocessed.cloned(),
            public_values,
            lookups,
            challenges,
        );
    };

    let height = p3_matrix::Matrix::height(main);
    let width = lookups.len() + 1;
    let main_width = main.width;
    let prep_width = preprocessed.map_or(0, |p| p.width);
    let per_row: usize = tuples.iter().map(Vec::len).sum();

    let mut aux = EF::zero_vec(height * width);
    let mut row_totals = EF::zero_vec(height);
    aux.par_chunks_mut(CHUNK_ROWS * width)
        .zip(row_totals.par_chunks_mut(CHUNK_ROWS))
        .enumerate()
        .for_each(|(chunk, (aux, totals))| {
            let first = chunk * CHUNK_ROWS;
            let rows = totals.len();
            let mut denominators = Vec::with_capacity(rows * per_row);
            let mut multiplicities = Vec::with_capacity(rows * per_row);
            for r in first..first + rows {
                let next = (r + 1) % height;
                let window = Window {
                    local: &main.values[r * main_width..(r + 1) * main_width],
                    next: &main.values[next * main_width..(next + 1) * main_width],
                    prep_local: row_of(preprocessed, prep_width, r),
                    prep_next: row_of(preprocessed, prep_width, next),
                    public: public_values,
                    row: r,
                    height,
                };
                // A tuple with multiplicity zero adds nothing: only the others' denominators
                // are inverted (most of a wide chip's lookups are off on most rows).
                for tuple in tuples.iter().flatten() {
                    let m = window.base(&tuple.multiplicity);
                    multiplicities.push(m);
                    if !m.is_zero() {
                        denominators.push(window.ext(&tuple.denominator));
                    }
                }
            }
            let inverses = batch_multiplicative_inverse(&denominators);
            drop(denominators);
            let mut inverses = inverses.into_iter();
            let mut m = multiplicities.into_iter();
            for (local, total) in totals.iter_mut().enumerate() {
                let row = &mut aux[local * width..(local + 1) * width];
                *total = EF::ZERO;
                for (i, lookup) in tuples.iter().enumerate() {
                    let mut fraction = EF::ZERO;
                    for m in m.by_ref().take(lookup.len()) {
                        if !m.is_zero() {
                            let inverse = inverses.next().expect("one inverse per non-zero term");
                            fraction += inverse * m;
                        }
                    }
                    row[i + 1] = fraction;
                    *total += fraction;
                }
            }
        });

    // Column 0: the exclusive prefix sum of the row totals; the terminal is their sum.
    let mut sum = EF::ZERO;
    for (r, total) in row_totals.iter().enumerate() {
        aux[r * width] = sum;
        sum += *total;
    }
    (RowMajorMatrix::new(aux, width), Some(LookupTerminal(sum)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_airs::Shard;
    use p3_field::PrimeCharacteristicRing;
    use p3_koala_bear::KoalaBear;
    use p3_lookup::Lookups;

    type F = KoalaBear;
    type EF = p3_field::extension::BinomialExtensionField<F, 4>;

    /// Byte for byte Plonky3's gadget, on the test shards' tables (main, range and
    /// preprocessed-range tables, lookups packed as the prover packs them and unpacked).
    #[test]
    fn logup_trace_is_the_gadgets() {
        let gadget = LogUpGadget::new();
        let mut compared = 0;
        for shard in [
            Shard::<F>::three_tables(6, 5, 5, 7),
            Shard::<F>::fixed_range(6, 4, 3, true),
        ] {
            for (i, air) in shard.airs.iter().enumerate() {
                let unpacked = Lookups::<F>::from_air::<EF, _>(air);
                for lookups in [unpacked.clone(), unpacked.pack_same_bus(&gadget, 3)] {
                    let lookups: &[Lookup<F>] = &lookups;
                    let challenges: Vec<EF> = (0..2 * lookups.len())
                        .map(|k| EF::from_u32(1_000_003 * (k as u32 + 1) + 17))
                        .collect();
                    let prep = p3_air::BaseAir::<F>::preprocessed_trace(air);
                    let ours = logup_trace(
                        &shard.traces[i],
                        prep.as_ref(),
                        &shard.public_values[i],
                        lookups,
                        &challenges,
                    );
                    let theirs = gadget.generate_permutation::<F, EF>(
                        &shard.traces[i],
                        &prep,
                        &shard.public_values[i],
                        lookups,
                        &challenges,
                    );
                    assert_eq!(ours.0.values, theirs.0.values, "table {i}");
                    assert_eq!(ours.0.width, theirs.0.width, "table {i}");
                    assert_eq!(
                        ours.1.map(|t| t.0),
                        theirs.1.map(|t| t.0),
                        "table {i}'s terminal"
                    );
                    compared += usize::from(!lookups.is_empty());
                }
            }
        }
        assert!(compared >= 4, "the shards have lookups to compare");
    }
}
