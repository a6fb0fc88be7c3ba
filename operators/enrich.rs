//! Enrichment: a left join of facts with a dimension table.
//!
//! In: facts `(key, fact)` and a dimension `(key, info)` holding at most one `info` per key
//! (for example the output of [`LatestByKey`](super::upsert::LatestByKey)).
//! Out: `(key, (fact, Some(info)))` for facts whose key is in the dimension and
//! `(key, (fact, None))` for the others, so no fact is ever dropped. When the dimension
//! changes, facts already emitted are corrected.
//!
//! Cost: the facts are arranged by key once; facts without a match travel as a `+None` copy
//! and a `-None` correction that cancel in the next arrangement.

use differential_dataflow::lattice::Lattice;
use differential_dataflow::{ExchangeData, Hashable, VecCollection};
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
}

impl<'scope, T, K, V> Enrich<'scope, T, K, V> for VecCollection<'scope, T, (K, V)>
where
    T: Timestamp + Lattice + Ord,
    K: ExchangeData + Hashable,
    V: ExchangeData,
{
    fn enrich<W: ExchangeData>(self, dimension: VecCollection<'scope, T, (K, W)>) -> VecCollection<'scope, T, (K, (V, Option<W>))> {
        let matched = self.clone().join(dimension);
        let unmatched = self
            .concat(matched.clone().map(|(k, (v, _))| (k, v)).negate())
            .map(|(k, v)| (k, (v, None)));
        matched.map(|(k, (v, w))| (k, (v, Some(w)))).concat(unmatched)
    }
}
