//! Top-k by count.
//!
//! [`TopK::top_k`] — In: `(key, count)` with one count per key (e.g. the output of
//! [`CountBy`](super::count::CountBy)). [`MostFrequent::most_frequent`] — In: the keys
//! themselves, one per event, their multiplicities the counts (nothing counts them first).
//! Out, for both: `(rank, (key, count))` for ranks `1..=k`, highest count first, ties broken
//! by the smaller key. All candidates meet on one worker, so use them on aggregates
//! (thousands of keys), not on raw records (pre-aggregate per time upstream).
//!
//! For totally ordered time each operator keeps what it ranks in a hash map and the ranking
//! it last emitted in a vector: once the input frontier has passed a time, it applies the
//! time's updates, ranks again only if one of them could enter the ranking or touches a
//! ranked entry, and emits the ranks that changed. Ranking again selects the top `k` of the
//! present entries in linear time; a sorted tree of every key, updated for each change, cost
//! ten times more where most keys change at most times (every station's count, every minute).
//! Taking the keys rather than their counts halves the updates: a count that changes is one
//! update, not the retraction of the old count and the insertion of the new.

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

/// Ranks keys by their multiplicity.
pub trait MostFrequent<'scope, T: Timestamp, K> {
    /// The `k` keys with the highest multiplicities, ranked from 1, with their
    /// multiplicities: as `count` followed by [`TopK::top_k`], without the counts in between.
    ///
    /// ```
    /// use ballotflow::operators::prelude::*;
    /// use differential_dataflow::input::Input;
    ///
    /// timely::example(|scope| {
    ///     // the station of every vote
    ///     let stations = scope.new_collection_from(vec![1u32, 2, 2, 3, 2, 1]).1;
    ///     stations
    ///         .most_frequent(2)
    ///         .assert_eq(scope.new_collection_from(vec![(1, (2, 3)), (2, (1, 2))]).1);
    /// });
    /// ```
    fn most_frequent(self, k: usize) -> VecCollection<'scope, T, (u32, (K, isize))>;

    /// As [`MostFrequent::most_frequent`], with a name for logs.
    fn most_frequent_named(self, name: &str, k: usize) -> VecCollection<'scope, T, (u32, (K, isize))>;
}

/// Ranking order: highest count first, then the smaller key.
fn order<K: Ord, C: Ord>(a: &(K, C), b: &(K, C)) -> Ordering {
    (Reverse(&a.1), &a.0).cmp(&(Reverse(&b.1), &b.0))
}

/// The ranking an operator last emitted.
struct Ranking<K, C> {
    k: usize,
    ranked: Vec<(K, C)>,
}

impl<K: ExchangeData, C: ExchangeData> Ranking<K, C> {
    /// Whether `entry` (present or gone) could enter the ranking or is in it.
    fn touches(&self, entry: (&K, &C)) -> bool {
        self.ranked.len() < self.k || self.ranked.last().is_some_and(|(k, c)| order(&(entry.0, entry.1), &(k, c)).is_le())
    }

    /// Ranks `present` again and calls `emit` with each change of the ranking.
    fn rerank<'a>(&mut self, present: impl Iterator<Item = (&'a K, &'a C)>, mut emit: impl FnMut((u32, (K, C)), isize))
    where
        K: 'a,
        C: 'a,
    {
        let k = self.k;
        let mut top: Vec<(&K, &C)> = present.collect();
        if top.len() > k && k > 0 {
            top.select_nth_unstable_by(k - 1, order);
        }
        top.truncate(k);
        top.sort_unstable_by(order);
        for rank in 0..self.ranked.len().max(top.len()) {
            let (old, new) = (self.ranked.get(rank), top.get(rank).copied());
            if old.map(|(k, c)| (k, c)) == new {
                continue;
            }
            if let Some(old) = old {
                emit((rank as u32 + 1, old.clone()), -1);
            }
            if let Some((key, count)) = new {
                emit((rank as u32 + 1, (key.clone(), count.clone())), 1);
            }
        }
        self.ranked = top.into_iter().map(|(k, c)| (k.clone(), c.clone())).collect();
    }
}

/// What a ranking operator keeps, and how a time's updates of `D` change it.
trait Held<D, K: 'static, C: 'static>: Default + 'static {
    /// Applies a time's updates; whether one of them touches `ranking`.
    fn apply(&mut self, updates: Vec<(D, isize)>, ranking: &Ranking<K, C>) -> bool;
    /// The entries to rank.
    fn present(&self) -> impl Iterator<Item = (&K, &C)>;
}

/// [`TopK`]'s: every `(key, count)` with its multiplicity.
struct Entries<K, C>(HashMap<(K, C), isize, foldhash::fast::FixedState>);

impl<K, C> Default for Entries<K, C> {
    fn default() -> Self {
        Entries(HashMap::default())
    }
}

impl<K: ExchangeData + Hash, C: ExchangeData + Hash> Held<(K, C), K, C> for Entries<K, C> {
    fn apply(&mut self, updates: Vec<((K, C), isize)>, ranking: &Ranking<K, C>) -> bool {
        // Multiplicities add up in the map: no need to consolidate first.
        let mut touched = false;
        for (entry, diff) in updates {
            touched |= ranking.touches((&entry.0, &entry.1));
            super::add_to(&mut self.0, entry, diff);
        }
        touched
    }

    fn present(&self) -> impl Iterator<Item = (&K, &C)> {
        self.0.iter().filter(|(_, m)| **m > 0).map(|((key, count), _)| (key, count))
    }
}

/// [`MostFrequent`]'s: every key's multiplicity.
struct Counts<K>(HashMap<K, isize, foldhash::fast::FixedState>);

impl<K> Default for Counts<K> {
    fn default() -> Self {
        Counts(HashMap::default())
    }
}

impl<K: ExchangeData + Hash> Held<K, K, isize> for Counts<K> {
    fn apply(&mut self, updates: Vec<(K, isize)>, ranking: &Ranking<K, isize>) -> bool {
        let mut touched = false;
        for (key, diff) in updates {
            match self.0.entry(key) {
                Entry::Occupied(mut held) => {
                    let old = *held.get();
                    *held.get_mut() += diff;
                    touched |= ranking.touches((held.key(), &old)) || ranking.touches((held.key(), held.get()));
                    if *held.get() == 0 {
                        held.remove();
                    }
                }
                Entry::Vacant(new) => {
                    touched |= ranking.touches((new.key(), &diff));
                    new.insert(diff);
                }
            }
        }
        touched
    }

    fn present(&self) -> impl Iterator<Item = (&K, &isize)> {
        self.0.iter().filter(|(_, n)| **n > 0)
    }
}

/// The operator both rankings share: `D` records gathered on one worker, a time's updates
/// applied to `H` once complete, and ranked again if they touch the ranking.
fn ranking<'scope, T, D, K, C, H>(collection: VecCollection<'scope, T, D>, name: &str, k: usize) -> VecCollection<'scope, T, (u32, (K, C))>
where
    T: Timestamp + TotalOrder,
    D: ExchangeData,
    K: ExchangeData,
    C: ExchangeData,
    H: Held<D, K, C>,
{
    let mut builder = OperatorBuilder::new(name.to_string(), collection.inner.scope());
    let home = super::home_worker(name);
    let mut input = builder.new_input(collection.inner, Exchange::new(move |_: &(D, T, isize)| home));
    let (output, stream) = builder.new_output::<Vec<((u32, (K, C)), T, isize)>>();
    let mut output = OutputBuilder::from(output);
    builder.build(move |_capabilities| {
        let mut batches: TimeBatches<T, Vec<(D, isize)>> = TimeBatches::new(1);
        let mut held = H::default();
        let mut ranking = Ranking { k, ranked: Vec::new() };
        move |frontiers| {
            input.for_each(|cap, data| {
                batches.hold(&cap);
                for (record, time, diff) in data.drain(..) {
                    batches.at(time).push((record, diff));
                }
            });
            while let Some((time, updates)) = batches.next_complete(frontiers) {
                if !held.apply(updates, &ranking) {
                    continue;
                }
                let mut output = output.activate();
                let mut session = output.session(batches.caps(0));
                ranking.rerank(held.present(), |change, diff| session.give((change, time.clone(), diff)));
            }
            batches.downgrade();
        }
    });
    stream.as_collection()
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
        ranking::<_, _, _, _, Entries<K, C>>(self, name, k)
    }
}

impl<'scope, T, K> MostFrequent<'scope, T, K> for VecCollection<'scope, T, K>
where
    T: Timestamp + TotalOrder,
    K: ExchangeData + Hash,
{
    fn most_frequent(self, k: usize) -> VecCollection<'scope, T, (u32, (K, isize))> {
        self.most_frequent_named("MostFrequent", k)
    }

    fn most_frequent_named(self, name: &str, k: usize) -> VecCollection<'scope, T, (u32, (K, isize))> {
        ranking::<_, _, _, _, Counts<K>>(self, name, k)
    }
}
