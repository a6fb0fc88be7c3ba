//! Keyed counts.
//!
//! In: any records. Out: `(key, count)` for every key with a non-zero count, maintained
//! incrementally.
//!
//! * [`CountBy::count_by`] maps records to their key and consolidates them within each batch
//!   on the worker that produced them before they are exchanged, so a hot key (a party, a
//!   gender) costs one update per batch and time rather than one per record; then
//!   differential's `count_total` counts them, over an arrangement of the keys.
//! * [`CountKeys::count_keys`] counts the records themselves, for totally ordered time, with
//!   nothing but a count per key in a hash map, as [`crate::operators::reduce`] does for
//!   `reduce`: a time's updates are applied once the input frontier has passed it, and each
//!   changed count goes out as the retraction of the old and the insertion of the new. Its
//!   state is a key and a count, where an arrangement holds batches of history; use it for
//!   many keys (millions of station windows) whose records were already added up upstream.

use std::collections::hash_map::Entry;
use std::collections::HashMap;

use differential_dataflow::lattice::Lattice;
use differential_dataflow::operators::CountTotal;
use differential_dataflow::{AsCollection, ExchangeData, Hashable, VecCollection};
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::generic::builder_rc::OperatorBuilder;
use timely::dataflow::operators::generic::OutputBuilder;
use timely::order::TotalOrder;
use timely::progress::Timestamp;

use super::batches::TimeBatches;

/// A count per key.
type Counts<K> = HashMap<K, isize, foldhash::fast::FixedState>;

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

/// Counts each distinct record, for totally ordered time (see the module docs).
pub trait CountKeys<'scope, T: Timestamp, K> {
    /// `(record, count)` for every record with a non-zero count.
    ///
    /// ```
    /// use ballotflow::operators::prelude::*;
    /// use differential_dataflow::input::Input;
    ///
    /// timely::example(|scope| {
    ///     // a station number per counted vote
    ///     let stations = scope.new_collection_from(vec![1u32, 2, 1]).1;
    ///     stations.count_keys().assert_eq(scope.new_collection_from(vec![(1, 2), (2, 1)]).1);
    /// });
    /// ```
    fn count_keys(self) -> VecCollection<'scope, T, (K, isize)>;

    /// As [`CountKeys::count_keys`], with a name for logs.
    fn count_keys_named(self, name: &str) -> VecCollection<'scope, T, (K, isize)>;
}

impl<'scope, T, K> CountKeys<'scope, T, K> for VecCollection<'scope, T, K>
where
    T: Timestamp + TotalOrder,
    K: ExchangeData + Hashable + std::hash::Hash,
{
    fn count_keys(self) -> VecCollection<'scope, T, (K, isize)> {
        self.count_keys_named("CountKeys")
    }

    fn count_keys_named(self, name: &str) -> VecCollection<'scope, T, (K, isize)> {
        let mut builder = OperatorBuilder::new(name.to_string(), self.inner.scope());
        let by_key = Exchange::new(|(key, _, _): &(K, T, isize)| key.hashed().into());
        let mut input = builder.new_input(self.inner, by_key);
        let (output, stream) = builder.new_output::<Vec<((K, isize), T, isize)>>();
        let mut output = OutputBuilder::from(output);
        builder.build(move |_capabilities| {
            // A time's updates are added up on arrival, in a map per time.
            let mut batches: TimeBatches<T, Counts<K>> = TimeBatches::new(1);
            let mut counts: Counts<K> = HashMap::default();
            move |frontiers| {
                input.for_each(|cap, data| {
                    batches.hold(&cap);
                    for (key, time, diff) in data.drain(..) {
                        *batches.at(time).entry(key).or_default() += diff;
                    }
                });
                while let Some((time, updates)) = batches.next_complete(frontiers) {
                    let mut output = output.activate();
                    let mut session = output.session(batches.caps(0));
                    for (key, diff) in updates.into_iter().filter(|(_, diff)| *diff != 0) {
                        // One lookup per key: the entry is read, then updated or removed.
                        match counts.entry(key) {
                            Entry::Occupied(mut entry) => {
                                let (old, new) = (*entry.get(), *entry.get() + diff);
                                session.give(((entry.key().clone(), old), time.clone(), -1));
                                if new != 0 {
                                    session.give(((entry.key().clone(), new), time.clone(), 1));
                                    *entry.get_mut() = new;
                                } else {
                                    entry.remove();
                                }
                            }
                            Entry::Vacant(entry) => {
                                session.give(((entry.key().clone(), diff), time.clone(), 1));
                                entry.insert(diff);
                            }
                        }
                    }
                }
                batches.downgrade();
            }
        });
        stream.as_collection()
    }
}
