//! Counts over capacity.
//!
//! In: counts `(key, count)`, as [`count_by`](super::count::CountBy::count_by) gives them,
//! and capacities `(key, capacity)`, at most one per key. Out: `(key, (count, capacity))` for
//! every key whose count exceeds its capacity (e.g. a polling station with more counted
//! votes than registered voters). Keys without a capacity are never over it.

use differential_dataflow::lattice::Lattice;
use differential_dataflow::{ExchangeData, Hashable, VecCollection};
use timely::progress::Timestamp;

/// Finds counts above their key's capacity.
pub trait OverCapacity<'scope, T: Timestamp, K> {
    /// `(key, (count, capacity))` for every key with `count > capacity`.
    ///
    /// ```
    /// use ballotflow::operators::prelude::*;
    /// use differential_dataflow::input::Input;
    ///
    /// timely::example(|scope| {
    ///     let counts = scope.new_collection_from(vec![('a', 3isize), ('b', 9)]).1;
    ///     let capacities = scope.new_collection_from(vec![('a', 5i64), ('b', 8)]).1;
    ///     counts.over_capacity(capacities).assert_eq(scope.new_collection_from(vec![('b', (9, 8))]).1);
    /// });
    /// ```
    fn over_capacity(self, capacities: VecCollection<'scope, T, (K, i64)>) -> VecCollection<'scope, T, (K, (i64, i64))>;
}

impl<'scope, T, K> OverCapacity<'scope, T, K> for VecCollection<'scope, T, (K, isize)>
where
    T: Timestamp + Lattice + Ord,
    K: ExchangeData + Hashable,
{
    fn over_capacity(self, capacities: VecCollection<'scope, T, (K, i64)>) -> VecCollection<'scope, T, (K, (i64, i64))> {
        self.join_map(capacities, |k, n, capacity| (k.clone(), (*n as i64, *capacity)))
            .filter(|(_, (n, capacity))| n > capacity)
    }
}
