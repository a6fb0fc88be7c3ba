//! First-wins de-duplication.
//!
//! In: `(key, value)` records, e.g. `(voter_id, (voting_time, vote_id, ..))`.
//! Out: `(key, (value, first))` once per *distinct* value, where `first` is true for the
//! least value of its key and false for every other. Re-delivered copies of a record
//! collapse into one. When an earlier value arrives late, the value that was first is
//! retracted and re-emitted with `first = false`.
//!
//! When the facts must first be checked against a per-key record (is the voter registered,
//! is this their station?), do both in one arrangement with
//! [`GroupWith`](super::group::GroupWith), as the election pipeline does.

use differential_dataflow::lattice::Lattice;
use differential_dataflow::{ExchangeData, Hashable, VecCollection};
use timely::progress::Timestamp;

/// Marks the first value of each key.
pub trait FirstWins<'scope, T: Timestamp, K, V> {
    /// Each distinct value, flagged `true` if it is its key's least value.
    ///
    /// ```
    /// use ballotflow::operators::prelude::*;
    /// use differential_dataflow::input::Input;
    ///
    /// timely::example(|scope| {
    ///     // (voter, voting time); the repeated (1, 4) is one re-delivered vote
    ///     let votes = scope.new_collection_from(vec![(1u32, 9u64), (1, 4), (1, 4), (2, 5)]).1;
    ///     votes.first_wins().assert_eq(
    ///         scope.new_collection_from(vec![(1, (4, true)), (1, (9, false)), (2, (5, true))]).1,
    ///     );
    /// });
    /// ```
    fn first_wins(self) -> VecCollection<'scope, T, (K, (V, bool))>;
    /// As [`FirstWins::first_wins`], with a name for logs.
    fn first_wins_named(self, name: &str) -> VecCollection<'scope, T, (K, (V, bool))>;
}

impl<'scope, T, K, V> FirstWins<'scope, T, K, V> for VecCollection<'scope, T, (K, V)>
where
    T: Timestamp + Lattice + Ord,
    K: ExchangeData + Hashable,
    V: ExchangeData,
{
    fn first_wins(self) -> VecCollection<'scope, T, (K, (V, bool))> {
        self.first_wins_named("FirstWins")
    }

    fn first_wins_named(self, name: &str) -> VecCollection<'scope, T, (K, (V, bool))> {
        self.reduce_named(name, |_key, values, output| {
            // `values` is sorted; only values present (positive multiplicity) take part.
            let present = values.iter().filter(|(_, count)| *count > 0);
            for (index, (value, _)) in present.enumerate() {
                output.push((((*value).clone(), index == 0), 1));
            }
        })
    }
}
