//! The root of the aggregation tree: the last recursion layer, the proof a block proof carries.
//! Its circuit is [`crate::tree::build_root`]; this module holds the settings it is proven
//! under, chosen for a small proof (design §4): a higher blowup buys fewer queries, so fewer
//! Merkle paths and opened rows. The root is only ever verified natively, so it can also take
//! what the recursion layers avoid because they cost circuit rows: FRI folds of arity 8, a
//! final polynomial of 64 coefficients and Merkle caps of 16 digests (measured on
//! `fixtures/mixed.json`: root proof 171,955 → 150,400 bytes with a final polynomial of 8; 64
//! saves the last folding round, whose opened group and Merkle path every query carried; the
//! conjectured bits do not depend on them).

use slotproof_prover::FriSettings;

/// FRI settings of the root (design §4: log blowup 4, 20 queries, 20 bits of query grinding:
/// 4·20 + 20 = 100 conjectured bits by the toy formula, like the other layers'; arity 8, final
/// polynomial 64, Merkle cap height 4). The root is proven once per block, so it grinds 4 bits
/// more than the recursion layers (about a second on 2 cores) to carry one query fewer (about
/// 7 KB of the proof).
pub const ROOT_SETTINGS: FriSettings = FriSettings {
    log_blowup: 4,
    num_queries: 20,
    query_pow_bits: 20,
    max_log_arity: 3,
    log_final_poly_len: 6,
    merkle_cap_height: 4,
    ..crate::leaf::LEAF_SETTINGS
};

#[cfg(test)]
mod tests {
    use crate::leaf::LEAF_SETTINGS;
    use crate::tables::MIN_TABLE_ROWS;

    /// Every program table is taller than each layer's FRI final polynomial (Plonky3's FRI
    /// refuses an input that is not).
    #[test]
    fn min_rows_cover_every_layer() {
        for settings in [LEAF_SETTINGS, super::ROOT_SETTINGS] {
            assert!(1 << settings.log_final_poly_len < MIN_TABLE_ROWS);
        }
    }
}
