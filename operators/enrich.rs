//! Enrichment: a left join of facts with a dimension table.
//!
//! In: facts `(key, fact)` and a dimension `(key, info)` holding at most one `info` per key
//! (for example the output of [`LatestByKey`](super::upsert::LatestByKey)).
//! Out: `(key, (fact, Some(info)))` for facts whose key is in the dimension and
//! `(key, (fact, None))` for the others, exactly one record per fact, so no fact is ever
//! dropped. When the dimension changes, facts already emitted are corrected.
//!
//! How: the distinct keys of the facts (pre-aggregated before they are exchanged, so cheap)
//! are completed with `None` for keys missing from the dimension, which makes the dimension
//! total over the facts; then an ordinary join finds exactly one partner for every fact.
//!
//! [`Enrich::enrich`] exchanges facts by key. [`Enrich::enrich_replicated`] keeps facts on
//! the worker that has them and copies the (small!) dimension to every worker instead: no
//! fact crosses a worker boundary, and a hot key (a candidate with half the votes) does not
//! load one worker.

use differential_dataflow::lattice::Lattice;
use differential_dataflow::operators::arrange::arrangement::arrange_core;
use differential_dataflow::trace::implementations::{ValBatcher, ValSpine};
use differential_dataflow::{ExchangeData, VecCollection};
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::vec::Broadcast;
use timely::progress::Timestamp;

/// Left join against a dimension with unique keys.
pub trait Enrich<'scope, T: Timestamp, K, V> {
    /// Attaches to each fact the dimension's value for its key, if there is one.
    ///
    /// ```
    /// use ballotflow::operators::prelude::*;
    /// use differential_dataflow::input::Input;
    ///
    /// timely::example(|scope| {
    ///     // (candidate id, vote id) and (candidate id, party)
    ///     let votes = scope.new_collection_from(vec![(1u32, 100u64), (9, 101)]).1;
    ///     let candidates = scope.new_collection_from(vec![(1u32, 'r')]).1;
    ///     votes.enrich(candidates).assert_eq(
    ///         scope.new_collection_from(vec![(1, (100, Some('r'))), (9, (101, None))]).1,
    ///     );
    /// });
    /// ```
    fn enrich<W: ExchangeData>(self, dimension: VecCollection<'scope, T, (K, W)>) -> VecCollection<'scope, T, (K, (V, Option<W>))>;

    /// As [`Enrich::enrich`], with the dimension copied to every worker and the facts left
    /// where they are. For dimensions of up to some thousands of keys.
    ///
    /// ```
    /// use ballotflow::operators::prelude::*;
    /// use differential_dataflow::input::Input;
    ///
    /// timely::example(|scope| {
    ///     let votes = scope.new_collection_from(vec![(1u32, 100u64), (9, 101)]).1;
    ///     let candidates = scope.new_collection_from(vec![(1u32, 'r')]).1;
    ///     votes.enrich_replicated(candidates).assert_eq(
    ///         scope.new_collection_from(vec![(1, (100, Some('r'))), (9, (101, None))]).1,
    ///     );
    /// });
    /// ```
    fn enrich_replicated<W: ExchangeData>(self, dimension: VecCollection<'scope, T, (K, W)>) -> VecCollection<'scope, T, (K, (V, Option<W>))>;

    /// An inner join with a small dimension copied to every worker; facts stay where they
    /// are. With a dimension that is total over the facts' keys, every fact finds its
    /// partner and none crosses a worker boundary.
    ///
    /// ```
    /// use ballotflow::operators::prelude::*;
    /// use differential_dataflow::input::Input;
    ///
    /// timely::example(|scope| {
    ///     let votes = scope.new_collection_from(vec![(1u32, 100u64), (9, 101)]).1;
    ///     let candidates = scope.new_collection_from(vec![(1u32, 'r')]).1;
    ///     votes.join_replicated(candidates).assert_eq(scope.new_collection_from(vec![(1, (100, 'r'))]).1);
    /// });
    /// ```
    fn join_replicated<W: ExchangeData>(self, dimension: VecCollection<'scope, T, (K, W)>) -> VecCollection<'scope, T, (K, (V, W))>;
}

/// The dimension completed with `None` for every key of the facts it lacks.
fn total<'scope, T, K, V, W>(facts: VecCollection<'scope, T, (K, V)>, dimension: VecCollection<'scope, T, (K, W)>) -> VecCollection<'scope, T, (K, Option<W>)>
where
    T: Timestamp + Lattice + Ord,
    K: ExchangeData + std::hash::Hash,
    V: ExchangeData,
    W: ExchangeData,
{
    let missing = facts.map(|(k, _)| (k, ())).consolidate_stream().distinct().antijoin(dimension.clone().map(|(k, _)| k)).map(|(k, ())| (k, None));
    dimension.map(|(k, w)| (k, Some(w))).concat(missing)
}

impl<'scope, T, K, V> Enrich<'scope, T, K, V> for VecCollection<'scope, T, (K, V)>
where
    T: Timestamp + Lattice + Ord,
    K: ExchangeData + std::hash::Hash,
    V: ExchangeData,
{
    fn enrich<W: ExchangeData>(self, dimension: VecCollection<'scope, T, (K, W)>) -> VecCollection<'scope, T, (K, (V, Option<W>))> {
        let total = total(self.clone(), dimension);
        self.join(total)
    }

    fn enrich_replicated<W: ExchangeData>(self, dimension: VecCollection<'scope, T, (K, W)>) -> VecCollection<'scope, T, (K, (V, Option<W>))> {
        let total = total(self.clone(), dimension);
        self.join_replicated(total)
    }

    fn join_replicated<W: ExchangeData>(self, dimension: VecCollection<'scope, T, (K, W)>) -> VecCollection<'scope, T, (K, (V, W))> {
        let everywhere = arrange_core::<_, _, ValBatcher<K, W, T, isize>, ValSpine<K, W, T, isize>>(dimension.inner.broadcast(), Pipeline, "ReplicatedDimension", ValBatcher::new);
        let here = arrange_core::<_, _, ValBatcher<K, V, T, isize>, ValSpine<K, V, T, isize>>(self.inner, Pipeline, "LocalFacts", ValBatcher::new);
        here.join_core(everywhere, |k, v, w| Some((k.clone(), (v.clone(), w.clone()))))
    }
}
