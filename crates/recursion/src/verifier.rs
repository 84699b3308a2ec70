//! A batch-STARK verifier written once over [`Ops`]: the steps of
//! `p3_batch_stark::verify_batch` (0.9.0-rc.2) for the project's configuration, in its order.
//!
//! 1. Shape checks that precede the transcript.
//! 2. The batch transcript: domain-separator seed, degree bits, main commitment, public values,
//!    preprocessed commitment, lookup proof of work and challenges, LogUp commitment and
//!    terminals, constraint challenge, quotient commitment, out-of-domain proof of work and ζ.
//! 3. The opening argument (`TwoAdicFriPcs::verify`): claimed evaluations, batch proof of work
//!    and challenge, then FRI: commit rounds, final polynomial, query proof of work, query
//!    indices, input openings and their α-reduction, folding, final-polynomial checks, and the
//!    commit-phase openings.
//! 4. Per instance, the constraints at ζ (from the compiled constraint program) against the
//!    recomposed quotient; then the lookup terminal sum.
//!
//! Domain-separator seeds, domains, fold schedules and bus layouts depend only on the shape and
//! the configuration; they enter as constants.

use std::collections::BTreeMap;

use p3_batch_stark::BatchShape;
use p3_challenger::CanObserve;
use p3_commit::PolynomialSpace;
use p3_field::coset::TwoAdicMultiplicativeCoset;
use p3_field::{BasedVectorSpace, Field, PrimeCharacteristicRing, TwoAdicField};
use p3_fri::{FriShape, PcsShape, fold_schedule};
use p3_lookup::Kind;
use p3_matrix::Dimensions;

use crate::config::{Challenge, Commitment, ShardProof, Val, fri_parameters};
use crate::error::{MirrorError, OpenedCommitment, PowStep};
use crate::key::{InstanceShape, MirrorKey};
use crate::ops::Ops;
use crate::recording::cap_elements;

type Domain = TwoAdicMultiplicativeCoset<Val>;

/// Collects what a domain separator absorbs: the seed is a constant of the shape.
#[derive(Default)]
struct SeedCollector(Vec<Val>);

impl CanObserve<Val> for SeedCollector {
    fn observe(&mut self, value: Val) {
        self.0.push(value);
    }
}

/// Whether a proof-of-work witness of a zero-bit grind is zero (a builder asserts it: a free
/// witness observed into the transcript would let a prover grind its challenges).
fn pinned_to_zero<O: Ops>(ops: &mut O, witness: O::F) -> bool {
    let zero = ops.constant(Val::ZERO);
    ops.base_eq(witness, zero)
}

fn shape_err(what: impl Into<String>) -> MirrorError {
    MirrorError::Shape(what.into())
}

fn observe_constants<O: Ops>(ops: &mut O, values: &[Val]) {
    for &v in values {
        let c = ops.constant(v);
        ops.observe(c);
    }
}

/// Observe a commitment read from the proof; its handles (for the Merkle checks against it).
fn observe_commitment<O: Ops>(ops: &mut O, commitment: &Commitment) -> Vec<O::F> {
    cap_elements(commitment)
        .into_iter()
        .map(|v| {
            let x = ops.input(v);
            ops.observe(x);
            x
        })
        .collect()
}

fn ext_inputs<O: Ops>(ops: &mut O, values: &[Challenge]) -> Vec<O::E> {
    values.iter().map(|&v| ops.ext_input(v)).collect()
}

/// `Σ_k chunk[k]·X^k`: an extension element from its coordinates, each itself an extension
/// element (how LogUp columns and quotient chunks are opened).
fn recompose<O: Ops>(ops: &mut O, chunk: &[O::E]) -> O::E {
    // One `mul_add` row a coordinate past the first (whose basis element is 1).
    let mut acc: Option<O::E> = None;
    for (k, &c) in chunk.iter().enumerate() {
        let basis =
            <Challenge as BasedVectorSpace<Val>>::ith_basis_element(k).unwrap_or(Challenge::ZERO);
        acc = Some(match acc {
            None if basis == Challenge::ONE => c,
            None => {
                let basis = ops.ext_constant(basis);
                ops.mul(c, basis)
            }
            Some(acc) => {
                let basis = ops.ext_constant(basis);
                ops.mul_add(c, basis, acc)
            }
        });
    }
    acc.unwrap_or_else(|| ops.ext_zero())
}

/// `ζ^(2^k)` for every `k` asked for, from one chain of squarings.
struct ZetaPowers<E> {
    powers: Vec<E>,
}

impl<E: Copy> ZetaPowers<E> {
    fn new(zeta: E) -> Self {
        Self { powers: vec![zeta] }
    }

    fn get<O: Ops<E = E>>(&mut self, ops: &mut O, k: usize) -> E {
        while self.powers.len() <= k {
            let last = self.powers[self.powers.len() - 1];
            self.powers.push(ops.mul(last, last));
        }
        self.powers[k]
    }

    /// `Z_D(ζ) = (ζ/s)^|D| − 1 = ζ^|D|·s^(−|D|) − 1`, one row past the chain.
    fn vanishing_at<O: Ops<E = E>>(&mut self, ops: &mut O, domain: &Domain) -> E {
        let power = self.get(ops, domain.log_size());
        let shift = domain.shift().inverse().exp_power_of_2(domain.log_size());
        if shift == Val::ONE {
            let one = ops.ext_constant(Challenge::ONE);
            ops.sub(power, one)
        } else {
            let shift = ops.ext_constant(Challenge::from(shift));
            let minus_one = ops.ext_constant(Challenge::NEG_ONE);
            ops.mul_add(power, shift, minus_one)
        }
    }
}

/// The selectors of a trace domain at ζ, and `1/Z_H(ζ)`.
#[derive(Clone, Copy)]
struct Selectors<E> {
    is_first_row: E,
    is_last_row: E,
    is_transition: E,
    inv_vanishing: E,
}

/// [`Selectors`] of `domain`; `None` if ζ lies in it (a vanishing value is not invertible).
fn selectors_at<O: Ops>(
    ops: &mut O,
    zeta_powers: &mut ZetaPowers<O::E>,
    domain: &Domain,
    zeta: O::E,
) -> Option<Selectors<O::E>> {
    let z_h = zeta_powers.vanishing_at(ops, domain);
    // ζ outside the trace domain: Z_H(ζ) is invertible. (Not `is_zero`, which a builder
    // asserts to be zero: here the accepting outcome is nonzero.)
    let inv_vanishing = ops.inv(z_h)?;
    let one = ops.ext_constant(Challenge::ONE);
    let zeta_minus_one = ops.sub(zeta, one);
    let g_inv = ops.ext_constant(Challenge::from(domain.subgroup_generator().inverse()));
    let is_transition = ops.sub(zeta, g_inv);
    let inv_first = ops.inv(zeta_minus_one)?;
    let inv_last = ops.inv(is_transition)?;
    let is_first_row = ops.mul(z_h, inv_first);
    let is_last_row = ops.mul(z_h, inv_last);
    Some(Selectors {
        is_first_row,
        is_last_row,
        is_transition,
        inv_vanishing,
    })
}

/// One opened matrix of the opening argument: its domain and its (point, values) claims.
struct MatrixClaim<E> {
    domain: Domain,
    points: Vec<(E, Vec<E>)>,
}

/// One commitment round of the opening argument.
struct RoundClaim<'a, F, E> {
    commitment: &'a Commitment,
    /// The commitment's cap as the handles the transcript observed.
    commitment_words: Vec<F>,
    matrices: Vec<MatrixClaim<E>>,
}

/// Bus ids per (instance, lookup), the widest tuple, and the number of buses: the layout of
/// the lookup challenges (global buses share an id by name, local lookups get their own).
fn bus_layout(instances: &[InstanceShape]) -> (Vec<Vec<usize>>, usize, usize) {
    let mut names: Vec<String> = Vec::new();
    let mut next_bus = 0;
    let mut max_width = 1;
    let mut global_ids: Vec<usize> = Vec::new();
    let ids = instances
        .iter()
        .map(|inst| {
            inst.lookups
                .iter()
                .map(|lookup| {
                    let width = lookup.elements.first().map_or(0, Vec::len);
                    max_width = max_width.max(width);
                    match &lookup.kind {
                        Kind::Global(name) => match names.iter().position(|n| n == name) {
                            Some(p) => global_ids[p],
                            None => {
                                names.push(name.clone());
                                global_ids.push(next_bus);
                                next_bus += 1;
                                next_bus - 1
                            }
                        },
                        Kind::Local => {
                            next_bus += 1;
                            next_bus - 1
                        }
                    }
                })
                .collect()
        })
        .collect();
    (ids, max_width, next_bus)
}

/// Verify `proof` of the statement `key` with `public_values`, through `ops`. The public values
/// enter as [`Ops::public_input`]: the verified proof's public values become the verifier's own.
pub fn verify_generic<O: Ops>(
    ops: &mut O,
    key: &MirrorKey,
    proof: &ShardProof,
    public_values: &[Vec<Val>],
) -> Result<(), MirrorError> {
    verify_generic_with(
        ops,
        key,
        proof,
        public_values,
        KeyEntry::Constant,
        |ops, v| ops.public_input(v),
    )
    .map(|_| ())
}

/// How the verified proof's preprocessed commitment (the verifying key of its program) enters
/// a verifier's program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyEntry {
    /// As constants: the program verifies proofs of this one program.
    Constant,
    /// As inputs: the program verifies a proof of any program of the key's shape (the same
    /// tables at the same heights), and the caller decides which keys it accepts (the
    /// aggregation tree's nodes: [`crate::tree`]).
    Input,
}

/// What a verification hands on: the handles of the public values per instance, and of the
/// preprocessed commitment (empty without one).
#[derive(Clone, Debug)]
pub struct Verified<F> {
    pub public_values: Vec<Vec<F>>,
    pub key: Vec<F>,
}

/// [`verify_generic`], with the public values entering through `public_handle` (e.g.
/// [`Ops::input`], for a verifier that checks them and publishes something else, as the
/// aggregation tree's nodes do) and the key as `key_entry` says.
pub fn verify_generic_with<O: Ops>(
    ops: &mut O,
    key: &MirrorKey,
    proof: &ShardProof,
    public_values: &[Vec<Val>],
    key_entry: KeyEntry,
    mut public_handle: impl FnMut(&mut O, Val) -> O::F,
) -> Result<Verified<O::F>, MirrorError> {
    let settings = &key.settings;
    let log_blowup = settings.log_blowup;
    let instances = &key.instances;
    let n = instances.len();
    let opened = &proof.opened_values.instances;
    let ext_d = <Challenge as BasedVectorSpace<Val>>::DIMENSION;

    ops.phase("transcript");
    // 1. Shape checks, in verify_batch's order.
    if opened.len() != n
        || public_values.len() != n
        || proof.degree_bits.len() != n
        || proof.lookup_terminals.len() != n
        || key
            .preprocessed
            .as_ref()
            .is_some_and(|p| p.instances.len() != n)
    {
        return Err(shape_err("instance counts differ"));
    }
    if proof.commitments.random.is_some()
        || opened.iter().any(|o| o.base_opened_values.random.is_some())
    {
        return Err(shape_err("randomization values in a non-hiding proof"));
    }
    let max_log_height = Val::TWO_ADICITY - log_blowup;
    for (i, &bits) in proof.degree_bits.iter().enumerate() {
        if bits > max_log_height {
            return Err(shape_err(format!("instance {i}: degree bits {bits}")));
        }
    }
    for (i, (inst, o)) in instances.iter().zip(opened).enumerate() {
        let base = &o.base_opened_values;
        if public_values[i].len() != inst.num_public_values {
            return Err(shape_err(format!("instance {i}: public value count")));
        }
        if base.trace_local.len() != inst.width {
            return Err(shape_err(format!("instance {i}: trace_local width")));
        }
        match (&base.trace_next, inst.opens_next_row) {
            (Some(v), true) if v.len() == inst.width => {}
            (None, false) => {}
            _ => return Err(shape_err(format!("instance {i}: trace_next"))),
        }
        let chunks = 1usize << inst.log_quotient_chunks;
        if base.quotient_chunks.len() != chunks
            || base.quotient_chunks.iter().any(|c| c.len() != ext_d)
        {
            return Err(shape_err(format!("instance {i}: quotient chunks")));
        }
        let pre_w = key
            .preprocessed
            .as_ref()
            .and_then(|p| p.instances[i].as_ref().map(|m| m.width))
            .unwrap_or(0);
        match &base.preprocessed {
            Some(_) if pre_w == 0 => {
                return Err(shape_err(format!(
                    "instance {i}: unexpected preprocessed values"
                )));
            }
            Some(p) => {
                let next_len = p.next.as_ref().map_or(0, Vec::len);
                let expected_next = if inst.opens_preprocessed_next_row {
                    pre_w
                } else {
                    0
                };
                if p.local.len() != pre_w
                    || next_len != expected_next
                    || (!inst.opens_preprocessed_next_row && p.next.is_some())
                {
                    return Err(shape_err(format!("instance {i}: preprocessed width")));
                }
            }
            None if pre_w > 0 => {
                return Err(shape_err(format!("instance {i}: preprocessed width")));
            }
            None => {}
        }
        let perm_len = if inst.lookups.is_empty() {
            0
        } else {
            (inst.lookups.len() + 1) * ext_d
        };
        if o.permutation_local.len() != perm_len || o.permutation_next.len() != perm_len {
            return Err(shape_err(format!("instance {i}: permutation width")));
        }
        if proof.lookup_terminals[i].is_some() == inst.lookups.is_empty() {
            return Err(shape_err(format!("instance {i}: lookup terminal presence")));
        }
    }
    let num_lookup_instances = instances.iter().filter(|i| !i.lookups.is_empty()).count();
    if proof.commitments.permutation.is_some() != (num_lookup_instances > 0) {
        return Err(shape_err("LogUp commitment presence"));
    }

    // 2. The batch transcript.
    let preprocessed_widths: Vec<usize> = (0..n)
        .map(|i| {
            key.preprocessed
                .as_ref()
                .and_then(|p| p.instances[i].as_ref().map(|m| m.width))
                .unwrap_or(0)
        })
        .collect();
    let shape = BatchShape {
        trace_widths: instances.iter().map(|i| i.width).collect(),
        public_value_counts: instances.iter().map(|i| i.num_public_values).collect(),
        preprocessed_widths: preprocessed_widths.clone(),
        has_preprocessed_commitment: key.preprocessed.is_some(),
        num_lookup_instances,
        lookup_pow_bits: settings.lookup_pow_bits,
        has_randomization_commitment: false,
        ood_pow_bits: settings.ood_pow_bits,
    };
    let mut seed = SeedCollector::default();
    shape.domain_separator::<Val, Challenge>().seed(&mut seed);
    observe_constants(ops, &seed.0);

    // The degree bits fix the shape (domains, the program itself), so they are constants.
    for &bits in &proof.degree_bits {
        let b = ops.constant(Val::from_usize(bits));
        let zero = ops.constant(Val::ZERO);
        for c in [b, zero, zero, zero] {
            ops.observe(c);
        }
    }
    let main_words = observe_commitment(ops, &proof.commitments.main);
    let public_handles: Vec<Vec<O::F>> = public_values
        .iter()
        .map(|pv| pv.iter().map(|&v| public_handle(ops, v)).collect())
        .collect();
    for pv in &public_handles {
        for &v in pv {
            ops.observe(v);
        }
    }
    let preprocessed_words: Vec<O::F> = match &key.preprocessed {
        Some(p) => cap_elements(&p.commitment)
            .into_iter()
            .map(|v| {
                let c = match key_entry {
                    KeyEntry::Constant => ops.constant(v),
                    KeyEntry::Input => ops.input(v),
                };
                ops.observe(c);
                c
            })
            .collect(),
        None => Vec::new(),
    };
    let key_handles = preprocessed_words.clone();

    // Lookup proof of work and challenges.
    let challenges: Vec<Vec<O::E>> = if num_lookup_instances == 0 {
        if proof.lookup_pow_witness.is_some() {
            return Err(shape_err("lookup proof-of-work witness without lookups"));
        }
        vec![Vec::new(); n]
    } else {
        let witness = proof
            .lookup_pow_witness
            .ok_or_else(|| shape_err("missing lookup proof-of-work witness"))?;
        let w = ops.input(witness);
        if settings.lookup_pow_bits == 0 && !pinned_to_zero(ops, w) {
            return Err(MirrorError::NonCanonicalPow(PowStep::Lookup));
        }
        if !ops.check_witness(settings.lookup_pow_bits, w) {
            return Err(MirrorError::Pow(PowStep::Lookup));
        }
        let alpha = ops.sample_ext();
        let beta = ops.sample_ext();
        let (bus_ids, max_width, num_buses) = bus_layout(instances);
        let gamma = ops.exp_u64(beta, max_width as u64);
        let mut prefixes = Vec::with_capacity(num_buses);
        let mut prefix = alpha;
        for _ in 0..num_buses {
            prefix = ops.add(prefix, gamma);
            prefixes.push(prefix);
        }
        bus_ids
            .iter()
            .map(|ids| ids.iter().flat_map(|&b| [prefixes[b], beta]).collect())
            .collect()
    };

    let permutation_words = proof
        .commitments
        .permutation
        .as_ref()
        .map(|c| observe_commitment(ops, c));
    let terminals: Vec<Option<O::E>> = proof
        .lookup_terminals
        .iter()
        .map(|t| t.as_ref().map(|t| ops.ext_input(t.0)))
        .collect();
    for t in terminals.iter().flatten() {
        ops.observe_ext(*t);
    }
    let alpha = ops.sample_ext();
    let quotient_words = observe_commitment(ops, &proof.commitments.quotient_chunks);

    let w = ops.input(proof.ood_pow_witness);
    if settings.ood_pow_bits == 0 && !pinned_to_zero(ops, w) {
        return Err(MirrorError::NonCanonicalPow(PowStep::OutOfDomain));
    }
    if !ops.check_witness(settings.ood_pow_bits, w) {
        return Err(MirrorError::Pow(PowStep::OutOfDomain));
    }
    let zeta = ops.sample_ext();

    // The claims of the opening argument, round by round (main, quotient, preprocessed, LogUp).
    let trace_domains: Vec<Domain> = proof
        .degree_bits
        .iter()
        .map(|&b| Domain::new(Val::ONE, b).ok_or_else(|| shape_err("trace domain")))
        .collect::<Result<_, _>>()?;
    let zeta_next: Vec<O::E> = trace_domains
        .iter()
        .map(|d| {
            let g = ops.ext_constant(Challenge::from(d.subgroup_generator()));
            ops.mul(zeta, g)
        })
        .collect();
    let mut rounds: Vec<RoundClaim<'_, O::F, O::E>> = Vec::new();
    let mut opened_handles = Vec::with_capacity(n);
    for (i, o) in opened.iter().enumerate() {
        let base = &o.base_opened_values;
        let local = ext_inputs(ops, &base.trace_local);
        let next = base.trace_next.as_ref().map(|v| ext_inputs(ops, v));
        let chunks: Vec<Vec<O::E>> = base
            .quotient_chunks
            .iter()
            .map(|c| ext_inputs(ops, c))
            .collect();
        let pre_local = base
            .preprocessed
            .as_ref()
            .map(|p| ext_inputs(ops, &p.local));
        let pre_next = base
            .preprocessed
            .as_ref()
            .and_then(|p| p.next.as_ref())
            .map(|v| ext_inputs(ops, v));
        let perm_local = ext_inputs(ops, &o.permutation_local);
        let perm_next = ext_inputs(ops, &o.permutation_next);
        let _ = i;
        opened_handles.push((
            local, next, chunks, pre_local, pre_next, perm_local, perm_next,
        ));
    }
    rounds.push(RoundClaim {
        commitment: &proof.commitments.main,
        commitment_words: main_words,
        matrices: (0..n)
            .map(|i| {
                let (local, next, ..) = &opened_handles[i];
                let mut points = vec![(zeta, local.clone())];
                if let Some(next) = next {
                    points.push((zeta_next[i], next.clone()));
                }
                MatrixClaim {
                    domain: trace_domains[i],
                    points,
                }
            })
            .collect(),
    });
    let mut quotient_domains: Vec<Vec<Domain>> = Vec::with_capacity(n);
    for (i, inst) in instances.iter().enumerate() {
        let size = 1usize << (proof.degree_bits[i] + inst.log_quotient_chunks);
        if proof.degree_bits[i] + inst.log_quotient_chunks > Val::TWO_ADICITY {
            return Err(shape_err(format!(
                "instance {i}: quotient domain too large"
            )));
        }
        let qdom = trace_domains[i].create_disjoint_domain(size);
        quotient_domains.push(qdom.split_domains(1 << inst.log_quotient_chunks));
    }
    rounds.push(RoundClaim {
        commitment: &proof.commitments.quotient_chunks,
        commitment_words: quotient_words,
        matrices: (0..n)
            .flat_map(|i| {
                quotient_domains[i]
                    .iter()
                    .zip(&opened_handles[i].2)
                    .map(|(d, c)| MatrixClaim {
                        domain: *d,
                        points: vec![(zeta, c.clone())],
                    })
                    .collect::<Vec<_>>()
            })
            .collect(),
    });
    if let Some(p) = &key.preprocessed {
        let mut matrices = Vec::new();
        for (matrix_index, &i) in p.matrix_to_instance.iter().enumerate() {
            let meta = p.instances[i]
                .as_ref()
                .filter(|m| {
                    m.matrix_index == matrix_index
                        && m.degree_bits == proof.degree_bits[i]
                        && preprocessed_widths[i] > 0
                })
                .ok_or_else(|| shape_err(format!("instance {i}: preprocessed metadata")))?;
            let (_, _, _, pre_local, pre_next, ..) = &opened_handles[i];
            let local = pre_local
                .clone()
                .ok_or_else(|| shape_err(format!("instance {i}: missing preprocessed values")))?;
            let mut points = vec![(zeta, local)];
            if instances[i].opens_preprocessed_next_row {
                let next = pre_next.clone().ok_or_else(|| {
                    shape_err(format!("instance {i}: missing preprocessed values"))
                })?;
                points.push((zeta_next[i], next));
            }
            matrices.push(MatrixClaim {
                domain: Domain::new(Val::ONE, meta.degree_bits)
                    .ok_or_else(|| shape_err("preprocessed domain"))?,
                points,
            });
        }
        rounds.push(RoundClaim {
            commitment: &p.commitment,
            commitment_words: preprocessed_words,
            matrices,
        });
    }
    if let (Some(c), Some(words)) = (&proof.commitments.permutation, permutation_words) {
        rounds.push(RoundClaim {
            commitment: c,
            commitment_words: words,
            matrices: (0..n)
                .filter(|&i| !opened_handles[i].5.is_empty())
                .map(|i| MatrixClaim {
                    domain: trace_domains[i],
                    points: vec![
                        (zeta, opened_handles[i].5.clone()),
                        (zeta_next[i], opened_handles[i].6.clone()),
                    ],
                })
                .collect(),
        });
    }

    // 3. The opening argument.
    verify_opening_argument(ops, key, proof, &rounds)?;

    ops.phase("constraints at zeta");
    // 4. Constraints at ζ, per instance, then the terminal sum. Every vanishing polynomial at
    // ζ is `ζ^(2^n)·s^(−2^n) − 1` (one row) from one chain of squarings of ζ; the selectors
    // are shared by instances of one height.
    let mut zeta_powers = ZetaPowers::new(zeta);
    let mut selectors: BTreeMap<usize, Selectors<O::E>> = BTreeMap::new();
    for (i, inst) in instances.iter().enumerate() {
        let (local, next, chunks, pre_local, pre_next, perm_local, perm_next) = &opened_handles[i];
        // Quotient recomposed from its chunks: Σ_c zp_c(ζ)·chunk_c with
        // zp_c(ζ) = Π_{j≠c} Z_j(ζ) / Z_j(first point of chunk c's domain).
        let domains = &quotient_domains[i];
        let at_zeta: Vec<O::E> = domains
            .iter()
            .map(|d| zeta_powers.vanishing_at(ops, d))
            .collect();
        let mut quotient = ops.ext_zero();
        for (c, domain) in domains.iter().enumerate() {
            let mut product: Option<O::E> = None;
            let mut scale = Challenge::ONE;
            for (j, other) in domains.iter().enumerate() {
                if j == c {
                    continue;
                }
                let first = Challenge::from(domain.first_point());
                let at_first = {
                    let unshifted = first * other.shift().inverse();
                    unshifted.exp_power_of_2(other.log_size()) - Challenge::ONE
                };
                scale *= at_first.inverse();
                product = Some(match product {
                    None => at_zeta[j],
                    Some(p) => ops.mul(p, at_zeta[j]),
                });
            }
            let chunk = recompose(ops, &chunks[c]);
            let scale = ops.ext_constant(scale);
            let zp = match product {
                None => scale,
                Some(p) => ops.mul(p, scale),
            };
            quotient = ops.mul_add(zp, chunk, quotient);
        }

        let log_n = trace_domains[i].log_size();
        let sel = match selectors.get(&log_n) {
            Some(&sel) => sel,
            None => {
                let sel = selectors_at(ops, &mut zeta_powers, &trace_domains[i], zeta)
                    .ok_or(MirrorError::OutOfDomainPointInDomain { instance: i })?;
                selectors.insert(log_n, sel);
                sel
            }
        };
        let Selectors {
            is_first_row,
            is_last_row,
            is_transition,
            inv_vanishing,
        } = sel;

        // The row `[main | preprocessed]` at ζ and at the next point (zeros where not opened).
        let zero = ops.ext_zero();
        let mut row_local = local.clone();
        row_local.extend(pre_local.iter().flatten().copied());
        let mut row_next = next.clone().unwrap_or_else(|| vec![zero; inst.width]);
        match pre_next {
            Some(v) => row_next.extend(v.iter().copied()),
            None => row_next.extend(std::iter::repeat_n(zero, preprocessed_widths[i])),
        }
        let perm_local_ext: Vec<O::E> = perm_local
            .chunks_exact(ext_d)
            .map(|c| recompose(ops, c))
            .collect();
        let perm_next_ext: Vec<O::E> = perm_next
            .chunks_exact(ext_d)
            .map(|c| recompose(ops, c))
            .collect();
        let terminal_values: Vec<O::E> = terminals[i].iter().copied().collect();

        let folded = fold_constraints(
            ops,
            &inst.program,
            &ConstraintInputs {
                row_local: &row_local,
                row_next: &row_next,
                public_values: &public_handles[i],
                permutation_local: &perm_local_ext,
                permutation_next: &perm_next_ext,
                challenges: &challenges[i],
                terminals: &terminal_values,
                is_first_row,
                is_last_row,
                is_transition,
                alpha,
            },
        )
        .map_err(|what| shape_err(format!("instance {i}: program reads a missing {what}")))?;
        let lhs = ops.mul(folded, inv_vanishing);
        let diff = ops.sub(lhs, quotient);
        if !ops.is_zero(diff) {
            return Err(MirrorError::OutOfDomainEvaluation { instance: i });
        }
    }

    let mut sum = ops.ext_zero();
    for t in terminals.iter().flatten() {
        sum = ops.add(sum, *t);
    }
    if !ops.is_zero(sum) {
        return Err(MirrorError::LookupTerminalSum);
    }
    Ok(Verified {
        public_values: public_handles,
        key: key_handles,
    })
}

pub use crate::fold::{ConstraintInputs, PlaceholderInputs, fold_constraints};

/// `TwoAdicFriPcs::verify` on the claims of `rounds`.
fn verify_opening_argument<O: Ops>(
    ops: &mut O,
    key: &MirrorKey,
    proof: &ShardProof,
    rounds: &[RoundClaim<'_, O::F, O::E>],
) -> Result<(), MirrorError> {
    let settings = &key.settings;
    let log_blowup = settings.log_blowup;
    let fri = &proof.opening_proof;
    let params = fri_parameters(settings, ());

    ops.phase("fri transcript");
    // Zero-difficulty witnesses must be the canonical zero (checked before the transcript, and
    // asserted in a circuit: the stock verifier refuses any other).
    if settings.batch_pow_bits == 0 {
        let w = ops.input(fri.batch_pow_witness);
        if !pinned_to_zero(ops, w) {
            return Err(MirrorError::NonCanonicalPow(PowStep::Batch));
        }
    }
    if settings.commit_pow_bits == 0 {
        for (r, &witness) in fri.commit_pow_witnesses.iter().enumerate() {
            let w = ops.input(witness);
            if !pinned_to_zero(ops, w) {
                return Err(MirrorError::NonCanonicalPow(PowStep::Commit(r)));
            }
        }
    }
    if settings.query_pow_bits == 0 {
        let w = ops.input(fri.query_pow_witness);
        if !pinned_to_zero(ops, w) {
            return Err(MirrorError::NonCanonicalPow(PowStep::Query));
        }
    }

    let pcs_shape = PcsShape {
        claimed_evaluation_counts: rounds
            .iter()
            .map(|r| {
                r.matrices
                    .iter()
                    .map(|m| m.points.iter().map(|(_, v)| v.len()).collect())
                    .collect()
            })
            .collect(),
        batch_pow_bits: settings.batch_pow_bits,
    };
    let mut seed = SeedCollector::default();
    pcs_shape
        .domain_separator::<Val, Challenge>()
        .seed(&mut seed);
    observe_constants(ops, &seed.0);
    for r in rounds {
        for m in &r.matrices {
            for (_, values) in &m.points {
                for &v in values {
                    ops.observe_ext(v);
                }
            }
        }
    }
    if settings.batch_pow_bits > 0 {
        let w = ops.input(fri.batch_pow_witness);
        if !ops.check_witness(settings.batch_pow_bits, w) {
            return Err(MirrorError::Pow(PowStep::Batch));
        }
    }
    let alpha = ops.sample_ext();

    // FRI.
    if settings.num_queries == 0 || log_blowup == 0 || settings.max_log_arity == 0 {
        return Err(shape_err("FRI parameters"));
    }
    if rounds.iter().all(|r| r.matrices.is_empty()) {
        return Err(shape_err("no committed matrices"));
    }
    let mut input_log_heights: Vec<usize> = rounds
        .iter()
        .flat_map(|r| r.matrices.iter().map(|m| m.domain.log_size() + log_blowup))
        .collect();
    input_log_heights.sort_unstable_by(|a, b| b.cmp(a));
    input_log_heights.dedup();
    let log_max = input_log_heights[0];
    if log_max > Val::TWO_ADICITY {
        return Err(shape_err("global height above the two-adicity"));
    }
    let log_final_height = log_blowup + settings.log_final_poly_len;
    let log_arities = fold_schedule(&input_log_heights, log_final_height, settings.max_log_arity);
    let num_rounds = log_arities.len();
    if fri.commit_phase_openings.len() != num_rounds {
        return Err(shape_err(format!(
            "{} FRI commit-phase openings for {num_rounds} rounds",
            fri.commit_phase_openings.len()
        )));
    }
    for (opening, &log_arity) in fri.commit_phase_openings.iter().zip(&log_arities) {
        if opening.sibling_values.len() != settings.num_queries
            || opening
                .sibling_values
                .iter()
                .any(|s| s.len() != (1 << log_arity) - 1)
        {
            return Err(shape_err("FRI sibling values"));
        }
    }
    if fri.final_poly.len() != 1 << settings.log_final_poly_len {
        return Err(shape_err("final polynomial length"));
    }

    let fri_shape = FriShape::with_schedule(&params, log_arities.clone(), log_max);
    let mut seed = SeedCollector::default();
    fri_shape
        .domain_separator::<Val, Challenge>()
        .seed(&mut seed);
    observe_constants(ops, &seed.0);
    if fri.commit_phase_commits.len() != num_rounds || fri.commit_pow_witnesses.len() != num_rounds
    {
        return Err(shape_err("FRI commitment or witness count"));
    }
    let mut betas = Vec::with_capacity(num_rounds);
    let mut commit_words = Vec::with_capacity(num_rounds);
    for (r, (commit, &witness)) in fri
        .commit_phase_commits
        .iter()
        .zip(&fri.commit_pow_witnesses)
        .enumerate()
    {
        commit_words.push(observe_commitment(ops, commit));
        if settings.commit_pow_bits > 0 {
            let w = ops.input(witness);
            if !ops.check_witness(settings.commit_pow_bits, w) {
                return Err(MirrorError::Pow(PowStep::Commit(r)));
            }
        }
        betas.push(ops.sample_ext());
    }
    let final_poly = ext_inputs(ops, &fri.final_poly);
    for &c in &final_poly {
        ops.observe_ext(c);
    }
    if settings.query_pow_bits > 0 {
        let w = ops.input(fri.query_pow_witness);
        if !ops.check_witness(settings.query_pow_bits, w) {
            return Err(MirrorError::Pow(PowStep::Query));
        }
    }
    // Query indices as bits, least significant first. Everything that depends on an index is
    // computed from these bits, never branched on, so the verifier's program is the same for
    // every proof of a shape.
    ops.phase("query index bits");
    let index_bits: Vec<Vec<O::F>> = (0..settings.num_queries)
        .map(|_| ops.sample_bits(log_max))
        .collect();

    ops.phase("input merkle paths");
    // Input openings: one Merkle multi-opening per round.
    if fri.input_openings.len() != rounds.len() {
        return Err(shape_err("input opening count"));
    }
    let mut opened_rows: Vec<Vec<Vec<Vec<O::F>>>> = Vec::with_capacity(rounds.len());
    for (r, (batch, round)) in fri.input_openings.iter().zip(rounds).enumerate() {
        if batch.opened_values.len() != index_bits.len()
            || batch
                .opened_values
                .iter()
                .any(|q| q.len() != round.matrices.len())
        {
            return Err(shape_err(format!("input round {r}: opened value counts")));
        }
        let heights: Vec<usize> = round
            .matrices
            .iter()
            .map(|m| m.domain.size() << log_blowup)
            .collect();
        let dims = round
            .matrices
            .iter()
            .zip(&heights)
            .map(|(m, &height)| {
                let (_, values) = m
                    .points
                    .first()
                    .ok_or_else(|| shape_err("matrix without opening points"))?;
                Ok(Dimensions {
                    width: values.len(),
                    height,
                })
            })
            .collect::<Result<Vec<_>, MirrorError>>()?;
        // The tallest matrix of the round is indexed by the query index's high bits.
        let bits_reduced = heights
            .iter()
            .max()
            .map_or(log_max, |&h| log_max - h.trailing_zeros() as usize);
        let reduced: Vec<Vec<O::F>> = index_bits
            .iter()
            .map(|b| b[bits_reduced..].to_vec())
            .collect();
        let rows: Vec<Vec<Vec<O::F>>> = batch
            .opened_values
            .iter()
            .map(|q| {
                q.iter()
                    .map(|row| row.iter().map(|&v| ops.input(v)).collect())
                    .collect()
            })
            .collect();
        if !ops.verify_opening(
            &round.commitment_words,
            round.commitment,
            &dims,
            &reduced,
            &rows,
            &batch.opening_proof,
        ) {
            return Err(MirrorError::MerkleOpening(OpenedCommitment::Input(r)));
        }
        opened_rows.push(rows);
    }

    ops.phase("query reductions and folds");
    // α ladders per height, in (round, matrix, point) order.
    let mut ladder_lens = BTreeMap::<usize, usize>::new();
    for round in rounds {
        for m in &round.matrices {
            for (_, v) in &m.points {
                *ladder_lens
                    .entry(m.domain.log_size() + log_blowup)
                    .or_insert(0) += v.len();
            }
        }
    }
    let max_ladder = ladder_lens.values().copied().max().unwrap_or(0);
    let mut alpha_powers = Vec::with_capacity(max_ladder);
    let mut p = ops.ext_constant(Challenge::ONE);
    for _ in 0..max_ladder {
        alpha_powers.push(p);
        p = ops.mul(p, alpha);
    }
    // Σ_k α^(offset+k)·v_k per (round, matrix, point): the claimed side, the same for every
    // query.
    let mut offsets = BTreeMap::<usize, usize>::new();
    // Summed per (height, opening point): the query side only needs `Σ α^offset·row_sum` per
    // (height, point), so each (matrix, point) costs it one `mul_add`, and each (height, point)
    // one subtraction and one `mul_add` by 1/(z − x).
    let mut point_offsets = Vec::new();
    let mut claims: Vec<(usize, O::E, O::E)> = Vec::new();
    for round in rounds {
        for m in &round.matrices {
            let log_height = m.domain.log_size() + log_blowup;
            for (z, values) in &m.points {
                let offset = offsets.entry(log_height).or_insert(0);
                let start = *offset;
                *offset += values.len();
                let mut sum = ops.ext_zero();
                for (k, &v) in values.iter().enumerate() {
                    sum = ops.mul_add(alpha_powers[start + k], v, sum);
                }
                point_offsets.push(start);
                match claims
                    .iter_mut()
                    .find(|(h, point, _)| *h == log_height && point == z)
                {
                    Some((_, _, claim)) => *claim = ops.add(*claim, sum),
                    None => claims.push((log_height, *z, sum)),
                }
            }
        }
    }

    let generator = ops.ext_constant(Challenge::from(Val::GENERATOR));
    let mut group_bits: Vec<Vec<Vec<O::F>>> = vec![Vec::new(); num_rounds];
    let mut group_rows: Vec<Vec<Vec<Vec<O::F>>>> = vec![Vec::new(); num_rounds];
    for (query, bits) in index_bits.iter().enumerate() {
        let points = query_points(ops, bits, log_max);
        // 1/x at every height, for the pair folds: one inverse, then squares.
        let mut inverse_points = Vec::with_capacity(points.len());
        if log_arities.contains(&1) {
            let mut inv = ops
                .inv(points[0])
                .ok_or_else(|| shape_err("a query point is zero"))?;
            inverse_points.push(inv);
            for _ in 1..points.len() {
                inv = ops.mul(inv, inv);
                inverse_points.push(inv);
            }
        }
        // Σ_m α^offset·(Σ_k α^k·f_k) of the opened rows, per (height, opening point), in the
        // order of `claims`.
        let mut row_sums: Vec<Option<O::E>> = vec![None; claims.len()];
        let mut offsets_iter = point_offsets.iter();
        for (r, round) in rounds.iter().enumerate() {
            for (mi, m) in round.matrices.iter().enumerate() {
                let log_height = m.domain.log_size() + log_blowup;
                let row = &opened_rows[r][query][mi];
                // Σ_k α^k·f_k of the opened row, by Horner from the last value.
                let reversed: Vec<O::F> = row.iter().rev().copied().collect();
                let row_sum = ops.horner(alpha, &reversed);
                for (z, values) in &m.points {
                    if row.len() != values.len() {
                        return Err(shape_err("opened row width"));
                    }
                    let &offset = offsets_iter
                        .next()
                        .ok_or_else(|| shape_err("reduction count"))?;
                    let c = claims
                        .iter()
                        .position(|(h, point, _)| *h == log_height && point == z)
                        .ok_or_else(|| shape_err("reduction point"))?;
                    let acc = match row_sums[c] {
                        Some(acc) => acc,
                        None => ops.ext_zero(),
                    };
                    row_sums[c] = Some(ops.mul_add(alpha_powers[offset], row_sum, acc));
                }
            }
        }
        // reduced opening at height h = Σ_z (claim_{h,z} − row side_{h,z}) / (z − x), x the
        // query's point at that height.
        let mut reduced_openings = BTreeMap::<usize, O::E>::new();
        for (&(log_height, z, claim), row_sum) in claims.iter().zip(&row_sums) {
            let Some(row_sum) = *row_sum else { continue };
            let x = ops.mul(generator, points[log_max - log_height]);
            let d = ops.sub(z, x);
            let inv = ops.inv(d).ok_or(MirrorError::OpeningPointIsQueryPoint)?;
            let diff = ops.sub(claim, row_sum);
            let ro = match reduced_openings.get(&log_height) {
                Some(&v) => v,
                None => ops.ext_zero(),
            };
            reduced_openings.insert(log_height, ops.mul_add(diff, inv, ro));
        }
        if let Some(&ro) = reduced_openings.get(&log_blowup)
            && !ops.is_zero(ro)
        {
            return Err(MirrorError::ReducedOpeningAtBlowup { query });
        }
        let mut ro_iter = reduced_openings.into_iter().rev().peekable();

        // Fold this query through every round.
        let (first_height, mut folded) = ro_iter
            .next()
            .ok_or_else(|| shape_err("no reduced opening"))?;
        if first_height != log_max {
            return Err(shape_err("initial reduced opening height"));
        }
        let mut shift = 0;
        let mut log_height = log_max;
        for (r, (&log_arity, opening)) in log_arities
            .iter()
            .zip(&fri.commit_phase_openings)
            .enumerate()
        {
            let siblings = ext_inputs(ops, &opening.sibling_values[query]);
            let in_group = &bits[shift..shift + log_arity];
            let log_folded = log_height - log_arity;
            let (evals, next) = if log_arity == 1 {
                // A pair: the line through (x, folded) and (−x, sibling), whatever their order
                // in the group; the order only matters for the committed leaf.
                let sibling = siblings[0];
                let evals = place_pair(ops, in_group[0], folded, sibling);
                let inv_x = inverse_points[shift];
                (evals, fold_pair(ops, folded, sibling, inv_x, betas[r]))
            } else {
                let evals = place_in_group(ops, in_group, folded, &siblings);
                let next = fold_group(
                    ops,
                    &FoldPoint {
                        log_max,
                        shift,
                        log_arity,
                        query_point: points[shift],
                        in_group,
                    },
                    betas[r],
                    &evals,
                )?;
                (evals, next)
            };
            folded = next;
            shift += log_arity;
            group_bits[r].push(bits[shift..].to_vec());
            // The commit-phase leaf is this group, flattened to base coordinates.
            let mut leaf = Vec::with_capacity(evals.len() * 4);
            for &e in &evals {
                leaf.extend(ops.coefficients(e));
            }
            group_rows[r].push(vec![leaf]);
            log_height = log_folded;
            if let Some((_, ro)) = ro_iter.next_if(|(h, _)| *h == log_folded) {
                let beta_pow = ops.exp_power_of_2(betas[r], log_arity);
                folded = ops.mul_add(beta_pow, ro, folded);
            }
        }
        if log_height != log_final_height {
            return Err(shape_err("final fold height"));
        }
        if ro_iter.next().is_some() {
            return Err(shape_err("unconsumed reduced openings"));
        }
        // The final polynomial at ω^rev(index >> shift) over log_max bits, which is the
        // query's point after `shift` squarings.
        let x = points[shift];
        let mut eval = ops.ext_zero();
        for &c in final_poly.iter().rev() {
            eval = ops.mul_add(eval, x, c);
        }
        let diff = ops.sub(eval, folded);
        if !ops.is_zero(diff) {
            return Err(MirrorError::FinalPolynomial { query });
        }
    }

    ops.phase("fri merkle paths");
    // Commit-phase openings, round by round.
    let mut log_height = log_max;
    for (r, (((commit, words), opening), &log_arity)) in fri
        .commit_phase_commits
        .iter()
        .zip(&commit_words)
        .zip(&fri.commit_phase_openings)
        .zip(&log_arities)
        .enumerate()
    {
        let log_folded = log_height - log_arity;
        let dims = [Dimensions {
            width: (1 << log_arity) * 4,
            height: 1 << log_folded,
        }];
        if !ops.verify_opening(
            words,
            commit,
            &dims,
            &group_bits[r],
            &group_rows[r],
            &opening.opening_proof,
        ) {
            return Err(MirrorError::MerkleOpening(OpenedCommitment::Fri(r)));
        }
        log_height = log_folded;
    }
    Ok(())
}

/// The query's point at every height, from its index bits (least significant first):
/// `points[j] = ω^(2^j · rev(i >> j))` over `log_max − j` bits, ω generating the subgroup of
/// size `2^log_max`. `points[0]` is a product of selects; folding squares points, so
/// `points[j + 1] = points[j]²`. (Input openings add the coset shift.)
fn query_points<O: Ops>(ops: &mut O, bits: &[O::F], log_max: usize) -> Vec<O::E> {
    let one = ops.ext_constant(Challenge::ONE);
    let omega = Val::two_adic_generator(log_max);
    let mut x = one;
    for (k, &bit) in bits.iter().enumerate() {
        let factor = ops.ext_constant(Challenge::from(omega.exp_power_of_2(log_max - 1 - k)));
        let t = ops.select(bit, factor, one);
        x = ops.mul(x, t);
    }
    let mut points = Vec::with_capacity(log_max + 1);
    points.push(x);
    for _ in 0..log_max {
        x = ops.mul(x, x);
        points.push(x);
    }
    points
}

/// The group of one FRI fold in order: the folded value at the place its in-group bits name,
/// the siblings, in order, around it.
fn place_in_group<O: Ops>(
    ops: &mut O,
    in_group: &[O::F],
    folded: O::E,
    siblings: &[O::E],
) -> Vec<O::E> {
    let arity = 1usize << in_group.len();
    let one = ops.ext_constant(Challenge::ONE);
    let zero = ops.ext_zero();
    // One-hot: is_at[g] = [in-group index = g].
    let is_at: Vec<O::E> = (0..arity)
        .map(|g| {
            let mut product: Option<O::E> = None;
            for (t, &bit) in in_group.iter().enumerate() {
                let factor = if g >> t & 1 == 1 {
                    ops.select(bit, one, zero)
                } else {
                    ops.select(bit, zero, one)
                };
                product = Some(match product {
                    Some(p) => ops.mul(p, factor),
                    None => factor,
                });
            }
            product.unwrap_or(one)
        })
        .collect();
    let mut before = zero; // [in-group index < j]
    let mut evals = Vec::with_capacity(arity);
    for j in 0..arity {
        // [index > j] = 1 − [index < j] − [index = j].
        let not_after = ops.add(before, is_at[j]);
        let after = ops.sub(one, not_after);
        let mut e = ops.mul(is_at[j], folded);
        if j + 1 < arity {
            e = ops.mul_add(after, siblings[j], e);
        }
        if j > 0 {
            e = ops.mul_add(before, siblings[j - 1], e);
        }
        evals.push(e);
        before = not_after;
    }
    evals
}

/// The pair `[e₀, e₁]` of an arity-2 group: the folded value at the place its in-group bit
/// names, the sibling at the other (`e₀ = bit·(sibling − folded) + folded`, `e₁ = folded +
/// sibling − e₀`).
fn place_pair<O: Ops>(ops: &mut O, bit: O::F, folded: O::E, sibling: O::E) -> Vec<O::E> {
    let bit = ops.lift(bit);
    let d = ops.sub(sibling, folded);
    let first = ops.mul_add(bit, d, folded);
    let both = ops.add(folded, sibling);
    let second = ops.sub(both, first);
    vec![first, second]
}

/// `TwoAdicFriFolding::fold_row` for arity 2: the line through `(x, folded)` and
/// `(−x, sibling)` at β, `((folded + sibling) + β·(folded − sibling)/x) / 2`.
fn fold_pair<O: Ops>(ops: &mut O, folded: O::E, sibling: O::E, inv_x: O::E, beta: O::E) -> O::E {
    let half = ops.ext_constant(Challenge::from(Val::TWO.inverse()));
    let sum = ops.add(folded, sibling);
    let difference = ops.sub(folded, sibling);
    let slope = ops.mul(difference, inv_x);
    let t = ops.mul_add(beta, slope, sum);
    ops.mul(t, half)
}

/// Where a fold happens: the query's place before it.
struct FoldPoint<'a, F, E> {
    log_max: usize,
    /// Index bits consumed before this fold.
    shift: usize,
    log_arity: usize,
    /// The point of the folded value (`points[shift]` of [`query_points`]).
    query_point: E,
    in_group: &'a [F],
}

/// `TwoAdicFriFolding::fold_row`: the polynomial through the group's points, at β. The group's
/// points are `s·μ_i` (μ the bit-reversed powers of the arity's root of unity); `s` is the
/// query's point with its in-group bits cleared, computed from them.
fn fold_group<O: Ops>(
    ops: &mut O,
    at: &FoldPoint<'_, O::F, O::E>,
    beta: O::E,
    evals: &[O::E],
) -> Result<O::E, MirrorError> {
    let arity = 1usize << at.log_arity;
    // s = x · Π_k ω^(−2^(shift + log_max − 1 − k))^bit_k over the in-group bits.
    let omega = Val::two_adic_generator(at.log_max);
    let one = ops_one(ops);
    let mut s = at.query_point;
    for (t, &bit) in at.in_group.iter().enumerate() {
        let k = at.shift + t;
        let factor = omega
            .inverse()
            .exp_power_of_2(at.shift + at.log_max - 1 - k);
        let factor = ops.ext_constant(Challenge::from(factor));
        let f = ops.select(bit, factor, one);
        s = ops.mul(s, f);
    }
    let mut mu: Vec<Val> = Val::two_adic_generator(at.log_arity)
        .powers()
        .take(arity)
        .collect();
    p3_util::reverse_slice_index_bits(&mut mu);
    let s_inv = ops
        .inv(s)
        .ok_or_else(|| shape_err("FRI fold point is zero"))?;
    let s_inv_power = ops.exp_u64(s_inv, arity as u64 - 1);
    let points: Vec<O::E> = mu
        .iter()
        .map(|&m| {
            let m = ops.ext_constant(Challenge::from(m));
            ops.mul(s, m)
        })
        .collect();
    let mut result = ops.ext_zero();
    for (i, &mi) in mu.iter().enumerate() {
        let mut denominator = Val::ONE;
        let mut numerator = one;
        for (j, &mj) in mu.iter().enumerate() {
            if i == j {
                continue;
            }
            denominator *= mi - mj;
            let factor = ops.sub(beta, points[j]);
            numerator = ops.mul(numerator, factor);
        }
        let weight = ops.ext_constant(Challenge::from(denominator.inverse()));
        let term = ops.mul(numerator, weight);
        let term = ops.mul(term, evals[i]);
        result = ops.add(result, term);
    }
    Ok(ops.mul(result, s_inv_power))
}

fn ops_one<O: Ops>(ops: &mut O) -> O::E {
    ops.ext_constant(Challenge::ONE)
}
