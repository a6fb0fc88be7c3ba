//! Top-k by count.
//!
//! In: `(key, count)` with one count per key (e.g. the output of
//! [`CountBy`](super::count::CountBy)). Out: `(rank, (key, count))` for ranks `1..=k`, highest
//! count first, ties broken by the smaller key. All candidates meet on one worker, so use it
//! on aggregates (thousands of keys), not on raw records.

use std::cmp::Reverse;

use differential_dataflow::{ExchangeData, VecCollection};
use timely::order::TotalOrder;
use timely::progress::Timestamp;

use super::reduce::ReduceTotal;

/// Ranks keys by count.
pub trait TopK<'scope, T: Timestamp, K, C> {
    /// The `k` keys with the highest counts, ranked from 1.
    ///
    /// ```
    /// use ballotflow::operators::prelude::*;
    /// use differential_dataflow::input::Input;
    ///
    /// timely::example(|scope| {
    ///     // (station, votes)
    ///     let counts = scope.new_collection_from(vec![(1u32, 5i64), (2, 9), (3, 5)]).1;
    ///     counts
    ///         .top_k(2)
    ///         .assert_eq(scope.new_collection_from(vec![(1, (2, 9)), (2, (1, 5))]).1);
    /// });
    /// ```
    fn top_k(self, k: usize) -> VecCollection<'scope, T, (u32, (K, C))>;
}

impl<'scope, T, K, C> TopK<'scope, T, K, C> for VecCollection<'scope, T, (K, C)>
where
    T: Timestamp + TotalOrder,
    K: ExchangeData,
    C: ExchangeData,
{
    fn top_k(self, k: usize) -> VecCollection<'scope, T, (u32, (K, C))> {
        self.map(|(key, count)| ((), (Reverse(count), key)))
            .reduce_total_named("TopK", move |_unit, sorted, output| {
                let present = sorted.iter().filter(|(_, n)| *n > 0);
                for (rank, ((Reverse(count), key), _)) in present.take(k).enumerate() {
                    output.push(((rank as u32 + 1, (key.clone(), count.clone())), 1));
                }
            })
            .map(|((), ranked)| ranked)
    }
}
