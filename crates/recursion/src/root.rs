//! The root of the aggregation tree: the last recursion layer, the proof a block proof carries.
//! Its circuit is [`crate::tree::build_root`]; this module holds the settings it is proven
//! under, chosen for a small proof (design §4): a higher blowup buys fewer queries, so fewer
//! Merkle paths and opened rows.

use slotproof_prover::FriSettings;

/// FRI settings of the root (design §4: log blowup 4, 21 queries, 16 bits of query grinding:
/// 4·21 + 16 = 100 conjectured bits by the toy formula, like the other layers').
pub const ROOT_SETTINGS: FriSettings = FriSettings {
    log_blowup: 4,
    num_queries: 21,
    ..crate::leaf::LEAF_SETTINGS
};
