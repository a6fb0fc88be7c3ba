//! Upserts: versioned records in, the latest version per key out.
//!
//! In: `(key, (seq, Option<value>))`, every version ever seen of every key, where `seq` is the
//! record's position in its source (a line number, a Kafka offset) and `None` is a tombstone.
//! Out: `(key, value)` for the version with the highest `seq` of each key, unless that version
//! is a tombstone. A later version replaces the earlier one wherever it flows downstream
//! (retract old, add new), which is how registry changes correct results already computed.
//!
//! Two versions of one key must not share a `seq`; the operator asserts this.

use differential_dataflow::{ExchangeData, Hashable, VecCollection};
use timely::order::TotalOrder;
use timely::progress::Timestamp;

use super::reduce::ReduceTotal;

/// Keeps the latest version of each key.
pub trait LatestByKey<'scope, T: Timestamp, K, V> {
    /// The latest non-tombstone version of each key.
    ///
    /// ```
    /// use ballotflow::operators::prelude::*;
    /// use differential_dataflow::input::Input;
    ///
    /// timely::example(|scope| {
    ///     // (voter, (sequence number, Some(station) or None to delete))
    ///     let versions = scope.new_collection_from(vec![
    ///         (1u32, (1u64, Some('L'))),
    ///         (1, (7, Some('Y'))),   // a later registration wins
    ///         (2, (3, Some('H'))),
    ///         (2, (9, None)),        // a tombstone deletes voter 2
    ///     ]).1;
    ///     versions
    ///         .latest_by_key()
    ///         .assert_eq(scope.new_collection_from(vec![(1, 'Y')]).1);
    /// });
    /// ```
    fn latest_by_key(self) -> VecCollection<'scope, T, (K, V)>;
    /// As [`LatestByKey::latest_by_key`], with a name for logs.
    fn latest_by_key_named(self, name: &str) -> VecCollection<'scope, T, (K, V)>;
}

impl<'scope, T, K, V> LatestByKey<'scope, T, K, V> for VecCollection<'scope, T, (K, (u64, Option<V>))>
where
    T: Timestamp + TotalOrder,
    K: ExchangeData + Hashable + std::hash::Hash,
    V: ExchangeData,
{
    fn latest_by_key(self) -> VecCollection<'scope, T, (K, V)> {
        self.latest_by_key_named("LatestByKey")
    }

    fn latest_by_key_named(self, name: &str) -> VecCollection<'scope, T, (K, V)> {
        self.reduce_total_named(name, |key, versions, output| {
            // Values arrive sorted, so the last one has the highest sequence number.
            let (latest, _) = versions[versions.len() - 1];
            if let [.., (before, _), _] = versions {
                assert!(before.0 != latest.0, "two versions of key {key:?} share sequence number {}", latest.0);
            }
            if let Some(value) = &latest.1 {
                output.push((value.clone(), 1));
            }
        })
    }
}
