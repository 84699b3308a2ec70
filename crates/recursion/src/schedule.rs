//! The aggregation tree's pairing computed as nodes are proven, in any order: what lets a
//! prover start a leaf as soon as its shard proof exists and an internal node as soon as both
//! children exist, while the tree's shape stays [`crate::chain::fold_tree`]'s.
//!
//! A node sits at `(layer, index)`: layer 0 holds the leaves in shard order. `fold_tree` pairs
//! `2i` with `2i + 1` in every layer and moves an odd last node up unchanged, so node `j` of
//! layer `l + 1` is the parent of `(l, 2j)` and `(l, 2j + 1)`, or `(l, 2j)` moved up. Two
//! siblings that both exist always pair, whatever the shard count; only moving a node up, and
//! knowing which node is the top, need the count, which a streaming prover learns only when
//! its last shard is cut ([`TreeSchedule::set_leaf_count`]). The shape therefore depends on the
//! number of shards alone, never on which proof finishes first.

use std::collections::BTreeMap;

/// A node's place in the tree: layer 0 holds the leaves, in shard order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeAt {
    pub layer: usize,
    pub index: usize,
}

impl NodeAt {
    /// Leaf `shard` (layer 0).
    pub fn leaf(shard: usize) -> Self {
        Self {
            layer: 0,
            index: shard,
        }
    }

    fn parent(self) -> Self {
        Self {
            layer: self.layer + 1,
            index: self.index / 2,
        }
    }
}

/// What became provable when a node arrived.
#[derive(Debug, PartialEq, Eq)]
pub enum Ready<T> {
    /// The internal node at `at` over its two children, left then right.
    Internal { at: NodeAt, left: T, right: T },
    /// The top node: the root goes over it.
    Root { top: T },
}

/// Proven nodes waiting for a sibling (or for the shard count), by place.
#[derive(Debug)]
pub struct TreeSchedule<T> {
    waiting: BTreeMap<NodeAt, T>,
    /// The number of leaves, once known.
    leaves: Option<usize>,
}

impl<T> Default for TreeSchedule<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> TreeSchedule<T> {
    pub fn new() -> Self {
        Self {
            waiting: BTreeMap::new(),
            leaves: None,
        }
    }

    /// How many nodes `layer` has (`None` until the leaf count is known).
    fn layer_len(&self, layer: usize) -> Option<usize> {
        let mut len = self.leaves?;
        for _ in 0..layer {
            len = len.div_ceil(2);
        }
        Some(len)
    }

    /// Node `node` at `at` is proven; what became provable (at most one node).
    pub fn insert(&mut self, mut at: NodeAt, node: T) -> Option<Ready<T>> {
        loop {
            let len = self.layer_len(at.layer);
            if len == Some(1) {
                return Some(Ready::Root { top: node });
            }
            let sibling = NodeAt {
                layer: at.layer,
                index: at.index ^ 1,
            };
            if let Some(other) = self.waiting.remove(&sibling) {
                let (left, right) = if at.index.is_multiple_of(2) {
                    (node, other)
                } else {
                    (other, node)
                };
                return Some(Ready::Internal {
                    at: at.parent(),
                    left,
                    right,
                });
            }
            // The odd last node of its layer moves up unchanged.
            if len.is_some_and(|len| at.index.is_multiple_of(2) && at.index + 1 == len) {
                at = at.parent();
                continue;
            }
            self.waiting.insert(at, node);
            return None;
        }
    }

    /// The tree has `leaves` leaves; what became provable (nodes that move up, the top).
    pub fn set_leaf_count(&mut self, leaves: usize) -> Vec<Ready<T>> {
        self.leaves = Some(leaves);
        // A waiting node has no sibling yet; with the count known it may move up or be the top.
        let waiting = std::mem::take(&mut self.waiting);
        waiting
            .into_iter()
            .filter_map(|(at, node)| self.insert(at, node))
            .collect()
    }

    /// Nodes still waiting (none once the top has been handed out).
    pub fn waiting(&self) -> usize {
        self.waiting.len()
    }
}

/// How many internal nodes layers below `at.layer` hold, plus `at`'s place in its layer: the
/// position of the internal node `at` in [`crate::chain::fold_tree`]'s order (layer by layer,
/// left to right), for `leaves` leaves.
pub fn internal_order(leaves: usize, at: NodeAt) -> usize {
    // Layer `l + 1` has `floor(len_l / 2)` internal nodes (the rest moved up), first in order.
    let mut len = leaves;
    let mut before = 0;
    for _ in 1..at.layer {
        before += len / 2;
        len = len.div_ceil(2);
    }
    before + at.index
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::fold_tree;

    /// A small deterministic generator (xorshift), for arrival orders.
    struct Rng(u64);
    impl Rng {
        fn below(&mut self, n: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % n as u64) as usize
        }
    }

    /// Proves a tree of `n` leaves by the schedule, nodes finishing in a random order and the
    /// count told after `count_after` arrivals: the tree as an expression, and each internal
    /// node's place in fold order.
    fn scheduled(n: usize, count_after: usize, rng: &mut Rng) -> (String, Vec<usize>) {
        let mut schedule = TreeSchedule::new();
        // Proven nodes not yet handed to the schedule (in flight), in any order.
        let mut pending: Vec<(NodeAt, String)> =
            (0..n).map(|k| (NodeAt::leaf(k), k.to_string())).collect();
        let mut top = None;
        let mut arrived = 0;
        let mut internal = Vec::new();
        let mut ready = Vec::new();
        loop {
            if arrived == count_after || (pending.is_empty() && schedule.leaves.is_none()) {
                ready.extend(schedule.set_leaf_count(n));
            }
            for r in ready.drain(..) {
                match r {
                    Ready::Internal { at, left, right } => {
                        internal.push(internal_order(n, at));
                        pending.push((at, format!("({left} {right})")));
                    }
                    Ready::Root { top: t } => {
                        assert!(top.is_none(), "two tops");
                        top = Some(t);
                    }
                }
            }
            if pending.is_empty() {
                break;
            }
            let (at, node) = pending.swap_remove(rng.below(pending.len()));
            arrived += 1;
            ready.extend(schedule.insert(at, node));
        }
        assert_eq!(schedule.waiting(), 0);
        (top.expect("a top"), internal)
    }

    #[test]
    fn any_arrival_order_gives_fold_trees_shape() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for n in 1..=33 {
            let folded = fold_tree((0..n).map(|k| k.to_string()).collect(), |l, r| {
                Ok::<_, ()>(format!("({l} {r})"))
            })
            .unwrap()
            .unwrap();
            for trial in 0..20 {
                let count_after = [0, n / 2, 2 * n][trial % 3];
                let (top, mut internal) = scheduled(n, count_after, &mut rng);
                assert_eq!(top, folded, "{n} leaves, trial {trial}");
                internal.sort_unstable();
                assert_eq!(internal, (0..n - 1).collect::<Vec<_>>(), "{n} leaves");
            }
        }
    }

    #[test]
    fn nothing_moves_up_before_the_count_is_known() {
        let mut s = TreeSchedule::new();
        assert_eq!(s.insert(NodeAt::leaf(2), 'c'), None);
        assert_eq!(s.insert(NodeAt::leaf(0), 'a'), None);
        assert_eq!(
            s.insert(NodeAt::leaf(1), 'b'),
            Some(Ready::Internal {
                at: NodeAt { layer: 1, index: 0 },
                left: 'a',
                right: 'b'
            })
        );
        // Three leaves: leaf 2 moves up to (1, 1), the sibling of (1, 0).
        assert_eq!(s.set_leaf_count(3), vec![]);
        assert_eq!(s.waiting(), 1);
        assert_eq!(
            s.insert(NodeAt { layer: 1, index: 0 }, 'd'),
            Some(Ready::Internal {
                at: NodeAt { layer: 2, index: 0 },
                left: 'd',
                right: 'c'
            })
        );
        assert_eq!(
            s.insert(NodeAt { layer: 2, index: 0 }, 'e'),
            Some(Ready::Root { top: 'e' })
        );
    }
}
