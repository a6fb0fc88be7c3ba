//! Grouped enrichment: all the facts of a key, together with the key's dimension record.
//!
//! In: facts `(key, fact)` and a dimension `(key, info)` with at most one `info` per key.
//! Out: `(key, output)`, whatever `logic(key, Option<&info>, facts, output)` says for the key's
//! current facts (distinct facts in order, with their multiplicities) and its current info.
//!
//! This is a left join and a per-key reduce in one arrangement: use it when the facts of a key
//! must be judged together (e.g. "the voter's earliest valid vote") and the judgement needs the
//! key's record. When a fact or the key's record changes, the key's output is recomputed and
//! corrected.

use differential_dataflow::lattice::Lattice;
use differential_dataflow::{ExchangeData, Hashable, VecCollection};
use serde::{Deserialize, Serialize};
use timely::progress::Timestamp;

/// A dimension record or a fact; dimension records sort first.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
enum Side<W, V> {
    Dimension(W),
    Fact(V),
}

/// Reduces each key's facts together with the key's dimension record.
pub trait GroupWith<'scope, T: Timestamp, K, V> {
    /// Calls `logic(key, info, facts, output)` for every key with facts.
    ///
    /// ```
    /// use ballotflow::operators::prelude::*;
    /// use differential_dataflow::input::Input;
    ///
    /// timely::example(|scope| {
    ///     // (voter, vote time) and (voter, opening minute of their station)
    ///     let votes = scope.new_collection_from(vec![(1u32, 30u32), (1, 5), (2, 9)]).1;
    ///     let opens = scope.new_collection_from(vec![(1u32, 10u32)]).1;
    ///     // Each voter's earliest vote at or after opening; voters without a record count nothing.
    ///     votes
    ///         .group_with("FirstOpen", opens, |_voter, opens, votes, out| {
    ///             if let Some(opens) = opens {
    ///                 if let Some((t, _)) = votes.iter().find(|(t, _)| **t >= *opens) {
    ///                     out.push((**t, 1));
    ///                 }
    ///             }
    ///         })
    ///         .assert_eq(scope.new_collection_from(vec![(1, 30)]).1);
    /// });
    /// ```
    fn group_with<W, O, L>(self, name: &str, dimension: VecCollection<'scope, T, (K, W)>, logic: L) -> VecCollection<'scope, T, (K, O)>
    where
        W: ExchangeData,
        O: ExchangeData,
        L: FnMut(&K, Option<&W>, &[(&V, isize)], &mut Vec<(O, isize)>) + 'static;
}

impl<'scope, T, K, V> GroupWith<'scope, T, K, V> for VecCollection<'scope, T, (K, V)>
where
    T: Timestamp + Lattice + Ord,
    K: ExchangeData + Hashable,
    V: ExchangeData,
{
    fn group_with<W, O, L>(self, name: &str, dimension: VecCollection<'scope, T, (K, W)>, mut logic: L) -> VecCollection<'scope, T, (K, O)>
    where
        W: ExchangeData,
        O: ExchangeData,
        L: FnMut(&K, Option<&W>, &[(&V, isize)], &mut Vec<(O, isize)>) + 'static,
    {
        self.map(|(k, v)| (k, Side::Fact(v))).concat(dimension.map(|(k, w)| (k, Side::Dimension(w)))).reduce_named(name, move |key, input, output| {
            let mut info = None;
            let mut facts = Vec::with_capacity(input.len());
            for (side, count) in input.iter().filter(|(_, count)| *count > 0) {
                match side {
                    Side::Dimension(w) => {
                        assert!(info.is_none(), "the dimension has two values for key {key:?}");
                        info = Some(w);
                    }
                    Side::Fact(v) => facts.push((v, *count)),
                }
            }
            if !facts.is_empty() {
                logic(key, info, &facts, output);
            }
        })
    }
}
