//! CPU evaluation of compiled constraint programs over whole domains.
//!
//! [`quotient_values`] is the CPU reference of the quotient kernel: for every point of the
//! quotient domain it runs the program on the (current, next) rows of the committed LDEs,
//! folds the constraints with powers of `alpha` and multiplies by `1 / Z_H`. Rows are processed
//! `F::Packing::WIDTH` at a time and distributed over rayon workers.
//!
//! [`first_violation`] runs a program on the trace itself (the trace domain, where every
//! constraint must vanish) so that a bad witness is reported before any proving work is done.

use p3_commit::PolynomialSpace;
use p3_field::{BasedVectorSpace, ExtensionField, Field, PackedFieldExtension, PackedValue};
use p3_matrix::Matrix;
use p3_matrix::dense::RowMajorMatrix;
use p3_maybe_rayon::prelude::*;
use p3_util::log2_strict_usize;

use crate::interpreter::{ConstraintFolder, ProgramEnv, Registers, RowWindow, execute};
use crate::program::{ConstraintProgram, OutputKind};

/// Quotient values `C_alpha(x) / Z_H(x)` for every `x` of `quotient_domain`, in natural order,
/// for an instance without preprocessed columns (see [`quotient_values_with_preprocessed`]).
pub fn quotient_values<F, EF, D, M>(
    program: &ConstraintProgram<F, EF>,
    env: &ProgramEnv<'_, F, EF>,
    alpha: EF,
    trace_domain: D,
    quotient_domain: D,
    main: &M,
    permutation: Option<&M>,
) -> Vec<EF>
where
    F: Field,
    EF: ExtensionField<F>,
    D: PolynomialSpace<Val = F>,
    M: Matrix<F>,
{
    quotient_values_with_preprocessed(
        program,
        env,
        alpha,
        trace_domain,
        quotient_domain,
        main,
        None,
        permutation,
    )
}

/// Quotient values `C_alpha(x) / Z_H(x)` for every `x` of `quotient_domain`, in natural order.
///
/// `main`, `preprocessed` and `permutation` are the instance's committed LDEs viewed on the
/// quotient domain (natural order); the program reads the row `[main | preprocessed]`;
/// `permutation` holds extension-field columns flattened to base coordinates.
#[allow(clippy::too_many_arguments)]
pub fn quotient_values_with_preprocessed<F, EF, D, M>(
    program: &ConstraintProgram<F, EF>,
    env: &ProgramEnv<'_, F, EF>,
    alpha: EF,
    trace_domain: D,
    quotient_domain: D,
    main: &M,
    preprocessed: Option<&M>,
    permutation: Option<&M>,
) -> Vec<EF>
where
    F: Field,
    EF: ExtensionField<F>,
    D: PolynomialSpace<Val = F>,
    M: Matrix<F>,
{
    type P<F> = <F as Field>::Packing;
    let width = P::<F>::WIDTH;
    let quotient_size = quotient_domain.size();
    let next_step =
        1 << (log2_strict_usize(quotient_size) - log2_strict_usize(trace_domain.size()));

    // Selectors padded (cyclically, like the trace reads) to a whole number of packed chunks.
    let mut sels = trace_domain.selectors_on_coset(quotient_domain);
    let padded = quotient_size.next_multiple_of(width);
    for v in [
        &mut sels.is_first_row,
        &mut sels.is_last_row,
        &mut sels.is_transition,
        &mut sels.inv_vanishing,
    ] {
        for i in quotient_size..padded {
            v.push(v[i % quotient_size]);
        }
    }

    let folder = ConstraintFolder::new(program, alpha);
    let ext_dim = EF::DIMENSION;
    let perm_cols = permutation.map_or(0, |m| m.width() / ext_dim);
    let main_width = main.width() + preprocessed.map_or(0, |m| m.width());

    let mut result = EF::zero_vec(quotient_size);
    result.par_chunks_mut(width).enumerate().for_each_init(
        || {
            (
                Registers::<P<F>, EF::ExtensionPacking>::for_program(program),
                Vec::with_capacity(2 * main_width),
                Vec::with_capacity(2 * perm_cols * ext_dim),
                Vec::with_capacity(2 * perm_cols),
            )
        },
        |(regs, main_rows, perm_base, perm_rows), (chunk, out)| {
            let i = chunk * width;
            main_rows.clear();
            for at in [i, i + next_step] {
                main_rows.extend(main.vertically_packed_row::<P<F>>(at));
                if let Some(prep) = preprocessed {
                    main_rows.extend(prep.vertically_packed_row::<P<F>>(at));
                }
            }

            perm_rows.clear();
            if let Some(perm) = permutation {
                perm_base.clear();
                perm_base.extend(perm.vertically_packed_row::<P<F>>(i));
                perm_base.extend(perm.vertically_packed_row::<P<F>>(i + next_step));
                perm_rows.extend(
                    perm_base.chunks_exact(ext_dim).map(|coords| {
                        EF::ExtensionPacking::from_basis_coefficients_fn(|k| coords[k])
                    }),
                );
            }

            let sel = |v: &[F]| *P::<F>::from_slice(&v[i..i + width]);
            let row = RowWindow {
                main_local: &main_rows[..main_width],
                main_next: &main_rows[main_width..],
                permutation_local: &perm_rows[..perm_cols],
                permutation_next: &perm_rows[perm_cols..],
                is_first_row: sel(&sels.is_first_row),
                is_last_row: sel(&sels.is_last_row),
                is_transition: sel(&sels.is_transition),
            };
            execute(program, env, &row, regs);
            let q = folder.fold(regs) * sel(&sels.inv_vanishing);
            for (lane, slot) in out.iter_mut().enumerate() {
                *slot = q.extract(lane);
            }
        },
    );
    result
}

/// The first (row, constraint) at which a base-field-only program does not vanish on `trace`,
/// scanning rows in order. Rows wrap (the last row's "next" is row 0), and the selectors take
/// their trace-domain values: `is_first_row = [i = 0]`, `is_last_row = [i = n-1]`,
/// `is_transition = [i != n-1]`. The program reads `[trace | preprocessed]` rows.
pub fn first_violation<F, EF>(
    program: &ConstraintProgram<F, EF>,
    env: &ProgramEnv<'_, F, EF>,
    trace: &RowMajorMatrix<F>,
    preprocessed: Option<&RowMajorMatrix<F>>,
) -> Option<(usize, usize)>
where
    F: Field,
    EF: ExtensionField<F>,
{
    let height = trace.height();
    let width = trace.width();
    // Borrowed rows when there is nothing to append (the common case).
    let row_of = |i: usize| -> std::borrow::Cow<'_, [F]> {
        let main = &trace.values[i * width..(i + 1) * width];
        match preprocessed {
            None => std::borrow::Cow::Borrowed(main),
            Some(prep) => {
                let mut row = main.to_vec();
                row.extend_from_slice(&prep.values[i * prep.width..(i + 1) * prep.width]);
                std::borrow::Cow::Owned(row)
            }
        }
    };
    (0..height)
        .into_par_iter()
        .map_init(
            || Registers::<F, EF>::for_program(program),
            |regs, i| {
                let next = (i + 1) % height;
                let (local, next) = (row_of(i), row_of(next));
                let row = RowWindow {
                    main_local: &local,
                    main_next: &next,
                    permutation_local: &[],
                    permutation_next: &[],
                    is_first_row: F::from_bool(i == 0),
                    is_last_row: F::from_bool(i == height - 1),
                    is_transition: F::from_bool(i != height - 1),
                };
                execute(program, env, &row, regs);
                program
                    .outputs
                    .iter()
                    .position(|out| match out.kind {
                        OutputKind::Base => !regs.base[out.register as usize].is_zero(),
                        OutputKind::Ext => !regs.ext[out.register as usize].is_zero(),
                    })
                    .map(|c| (i, c))
            },
        )
        .find_first(|hit| hit.is_some())
        .flatten()
}
