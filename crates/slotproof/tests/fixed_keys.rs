//! The recursion programs' keys a verifier holds (`slotproof::tree_keys::fixed`: the internal
//! and root programs', and each menu shape's leaf program's) are the ones their circuits give
//! today. A change to the recursion circuits, the EVM chips or the shape menu changes them: this
//! test then fails and prints the new file; `SLOTPROOF_WRITE_FIXED_KEYS=1` writes it.

use slotproof::tree_keys::{FixedKeys, RootKey, derive_fixed_keys};

#[test]
fn the_fixed_keys_are_the_derived_ones() {
    let derived = derive_fixed_keys().expect("the recursion programs' keys derive");
    if derived != FixedKeys::fixed() && std::env::var_os("SLOTPROOF_WRITE_FIXED_KEYS").is_some() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/tree_keys/fixed.rs");
        std::fs::write(path, derived.to_source()).expect("write the fixed keys");
        eprintln!("wrote {path}; rebuild and rerun");
        return;
    }
    assert!(
        derived == FixedKeys::fixed(),
        "the recursion programs changed: regenerate the fixed keys with \
         `SLOTPROOF_WRITE_FIXED_KEYS=1 cargo test -p slotproof --test fixed_keys`; new file:\n{}",
        derived.to_source()
    );
    // The root key made from the constants is a well-formed key (its use is `aggregate.rs`'s).
    RootKey::fixed().expect("the fixed root key");
}

/// The rows of every menu shape's leaf and of the internal node over two nodes of the node
/// shape, per table and per verifier phase, and each EVM chip's share of the constraint fold at
/// ζ: what decides `NODE_LOG_ROWS`. Prints only; about a minute in a debug build.
/// `cargo test -p slotproof --test fixed_keys node_rows -- --ignored --nocapture`
#[test]
#[ignore = "measurement: prints the node rows"]
fn node_rows() {
    use p3_field::{BasedVectorSpace, PrimeField32};
    use slotproof::air::EvmAir;
    use slotproof::air::shape::SHARD_SHAPES;
    use slotproof::prover::{CpuShardProver, FriSettings, ShardProver};
    use slotproof::recursion::build::Build;
    use slotproof::recursion::config::{Challenge, Val};
    use slotproof::recursion::leaf::{LEAF_SETTINGS, LeafCircuit};
    use slotproof::recursion::tree::{placeholder_node, unpadded_internal_of_shape};
    use slotproof::recursion::verifier::{PlaceholderInputs, fold_constraints};
    use slotproof::tree_keys::menu_leaf_circuit;

    fn print(name: &str, circuit: &LeafCircuit) {
        let rows: Vec<String> = circuit
            .rows()
            .iter()
            .map(|r| format!("{} {}", r.table, r.rows))
            .collect();
        eprintln!("{name}: {}", rows.join(", "));
        for p in circuit.program.rows_by_phase() {
            eprintln!(
                "    {:<28} Alu {:>6}  Poseidon2 {:>6}  Horner {:>6}",
                p.phase, p.alu, p.poseidon2, p.horner
            );
        }
    }

    // Each chip's constraint fold at ζ (the row count does not depend on the values).
    let airs = EvmAir::shard_airs();
    let prover: CpuShardProver<Val> = ShardProver::cpu(FriSettings::DEFAULT);
    let programs = prover
        .instance_programs(&airs, &SHARD_SHAPES[0].log_heights)
        .expect("programs");
    let mut per_chip = Vec::new();
    for (air, program) in airs.iter().zip(&programs) {
        let program = &program.program;
        let mut build = Build::new();
        let inputs = PlaceholderInputs::zeros(&mut build, &program.inputs);
        fold_constraints(&mut build, program, &inputs.inputs())
            .expect("the inputs cover the program");
        let (p, _) = build.finish().expect("arithmetic only");
        if std::env::var_os("NODE_ROWS_CONSTANTS").is_some() {
            let c: Vec<String> = program
                .base_constants
                .iter()
                .map(|x| {
                    let v = x.as_canonical_u32();
                    if v > 0x7f000001 / 2 {
                        format!("-{}", 0x7f000001 - v)
                    } else {
                        v.to_string()
                    }
                })
                .collect();
            eprintln!("{}: {}", air.name(), c.join(" "));
        }
        per_chip.push(format!(
            "{} {} (Const {}, {} instructions, {} constraints)",
            p3_air::BaseAir::<Val>::width(air),
            p.alu().count(),
            p.constants.len(),
            program.instructions.len(),
            program.outputs.len()
        ));
    }
    eprintln!("constraint fold at zeta per chip (width, Alu rows, ...):");
    for (air, c) in airs.iter().zip(&per_chip) {
        eprintln!("    {:<16} {c}", air.name());
    }

    let fold_constants: std::collections::HashSet<Challenge> = programs
        .iter()
        .flat_map(|p| p.program.base_constants.iter().map(|&c| Challenge::from(c)))
        .collect();
    let mut first = None;
    for index in 0..SHARD_SHAPES.len() {
        let leaf = menu_leaf_circuit(index).expect("the shape's leaf");
        if std::env::var_os("NODE_ROWS_CONSTANTS").is_some() {
            let others: Vec<String> = leaf
                .program
                .constants
                .iter()
                .filter(|(_, v)| !fold_constants.contains(v))
                .map(|(_, v)| {
                    let c: Vec<String> = BasedVectorSpace::<Val>::as_basis_coefficients_slice(v)
                        .iter()
                        .map(|x| x.as_canonical_u32().to_string())
                        .collect();
                    c.join(",")
                })
                .collect();
            eprintln!(
                "{} constants not in a chip program: {}",
                others.len(),
                others.join(" ")
            );
        }
        print(&format!("leaf of shape {index}"), &leaf);
        first.get_or_insert(leaf);
    }
    let node =
        placeholder_node(LEAF_SETTINGS, first.expect("a shape")).expect("a placeholder node");
    let pv = node.instance_public_values();
    let internal =
        unpadded_internal_of_shape(&[node.child(&pv), node.child(&pv)]).expect("the node builds");
    print("internal node (unpadded)", &internal);
}
