//! Top-k by count.
//!
//! In: `(key, count)` with one count per key (e.g. the output of
//! [`CountBy`](super::count::CountBy)). Out: `(rank, (key, count))` for ranks `1..=k`, highest
//! count first, ties broken by the smaller key. All candidates meet on one worker, so use it
//! on aggregates (thousands of keys), not on raw records.
//!
//! For totally ordered time the operator keeps each `(key, count)` present and the ranking it
//! last emitted, in a hash map and a vector: once the input frontier has passed a time, it
//! applies the time's updates, ranks again only if one of them could enter the ranking or
//! touches a ranked entry, and emits the ranks that changed. Ranking again selects the top
//! `k` of the present entries in linear time; a sorted tree of every key, updated for each
//! change, cost ten times more where most keys change at most times (every station's count,
//! every minute).

use std::cmp::{Ordering, Reverse};
use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::hash::Hash;

use differential_dataflow::{AsCollection, ExchangeData, VecCollection};
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::generic::builder_rc::OperatorBuilder;
use timely::dataflow::operators::generic::OutputBuilder;
use timely::order::TotalOrder;
use timely::progress::Timestamp;

use super::batches::TimeBatches;

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

    /// As [`TopK::top_k`], with a name for logs.
    fn top_k_named(self, name: &str, k: usize) -> VecCollection<'scope, T, (u32, (K, C))>;
}

/// A time's updates of `(key, count)`s.
type Updates<K, C> = Vec<((K, C), isize)>;

/// Ranking order: highest count first, then the smaller key.
fn order<K: Ord, C: Ord>(a: &(K, C), b: &(K, C)) -> Ordering {
    (Reverse(&a.1), &a.0).cmp(&(Reverse(&b.1), &b.0))
}

impl<'scope, T, K, C> TopK<'scope, T, K, C> for VecCollection<'scope, T, (K, C)>
where
    T: Timestamp + TotalOrder,
    K: ExchangeData + Hash,
    C: ExchangeData + Hash,
{
    fn top_k(self, k: usize) -> VecCollection<'scope, T, (u32, (K, C))> {
        self.top_k_named("TopK", k)
    }

    fn top_k_named(self, name: &str, k: usize) -> VecCollection<'scope, T, (u32, (K, C))> {
        let mut builder = OperatorBuilder::new(name.to_string(), self.inner.scope());
        let home = super::home_worker(name);
        let mut input = builder.new_input(self.inner, Exchange::new(move |_: &((K, C), T, isize)| home));
        let (output, stream) = builder.new_output::<Vec<((u32, (K, C)), T, isize)>>();
        let mut output = OutputBuilder::from(output);
        builder.build(move |_capabilities| {
            let mut batches: TimeBatches<T, Updates<K, C>> = TimeBatches::new(1);
            // Every (key, count) with its multiplicity, and the ranking last emitted.
            let mut present: HashMap<(K, C), isize, foldhash::fast::FixedState> = HashMap::default();
            let mut ranked: Vec<(K, C)> = Vec::new();
            move |frontiers| {
                input.for_each(|cap, data| {
                    batches.hold(&cap);
                    for (entry, time, diff) in data.drain(..) {
                        batches.at(time).push((entry, diff));
                    }
                });
                while let Some((time, updates)) = batches.next_complete(frontiers) {
                    // Multiplicities add up in `present`: no need to consolidate first.
                    let mut affected = false;
                    for (entry, diff) in updates {
                        affected |= ranked.len() < k || ranked.last().is_some_and(|last| order(&entry, last).is_le());
                        match present.entry(entry) {
                            Entry::Occupied(mut held) => {
                                *held.get_mut() += diff;
                                if *held.get() == 0 {
                                    held.remove();
                                }
                            }
                            Entry::Vacant(new) => {
                                new.insert(diff);
                            }
                        }
                    }
                    if !affected {
                        continue;
                    }
                    let mut top: Vec<&(K, C)> = present.iter().filter(|(_, m)| **m > 0).map(|(entry, _)| entry).collect();
                    if top.len() > k && k > 0 {
                        top.select_nth_unstable_by(k - 1, |a, b| order(a, b));
                    }
                    top.truncate(k);
                    top.sort_unstable_by(|a, b| order(a, b));
                    let mut output = output.activate();
                    let mut session = output.session(batches.caps(0));
                    for rank in 0..ranked.len().max(top.len()) {
                        let (old, new) = (ranked.get(rank), top.get(rank).copied());
                        if old == new {
                            continue;
                        }
                        if let Some(old) = old {
                            session.give(((rank as u32 + 1, old.clone()), time.clone(), -1));
                        }
                        if let Some(new) = new {
                            session.give(((rank as u32 + 1, new.clone()), time.clone(), 1));
                        }
                    }
                    ranked = top.into_iter().cloned().collect();
                }
                batches.downgrade();
            }
        });
        stream.as_collection()
    }
}
