//! Keyed counts.
//!
//! In: any records. Out: `(key, count)` for every key with a non-zero count, maintained
//! incrementally. Records are mapped to their key and consolidated within each batch on the
//! worker that produced them before they are exchanged, so a hot key (a party, a gender)
//! costs one update per batch and time rather than one per record.

use differential_dataflow::lattice::Lattice;
use differential_dataflow::operators::CountTotal;
use differential_dataflow::{ExchangeData, Hashable, VecCollection};
use timely::order::TotalOrder;
use timely::progress::Timestamp;

/// Counts records per key.
pub trait CountBy<'scope, T: Timestamp, D> {
    /// Counts records by `key(record)`.
    ///
    /// ```
    /// use ballotflow::operators::prelude::*;
    /// use differential_dataflow::input::Input;
    ///
    /// timely::example(|scope| {
    ///     // (voter, party)
    ///     let votes = scope.new_collection_from(vec![(1u32, 'r'), (2, 'r'), (3, 'b')]).1;
    ///     votes
    ///         .count_by(|(_voter, party)| *party)
    ///         .assert_eq(scope.new_collection_from(vec![('r', 2), ('b', 1)]).1);
    /// });
    /// ```
    fn count_by<K, F>(self, key: F) -> VecCollection<'scope, T, (K, isize)>
    where
        K: ExchangeData + Hashable,
        F: FnMut(&D) -> K + 'static;
}

impl<'scope, T, D> CountBy<'scope, T, D> for VecCollection<'scope, T, D>
where
    T: Timestamp + Lattice + TotalOrder + Ord,
    D: Clone + 'static,
{
    fn count_by<K, F>(self, mut key: F) -> VecCollection<'scope, T, (K, isize)>
    where
        K: ExchangeData + Hashable,
        F: FnMut(&D) -> K + 'static,
    {
        self.map(move |record| key(&record)).consolidate_stream().count_total()
    }
}
