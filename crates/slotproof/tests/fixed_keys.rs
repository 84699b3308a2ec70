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
