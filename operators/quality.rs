//! Checks over running totals (data-quality rules).
//!
//! In: measures, one record per unit of a measure (a measure's total is its multiplicity;
//! [`explode`] adds several units at once). Out: whatever `checks(totals)` returns for the
//! current totals of every measure, e.g. one pass/fail row per rule. The totals are gathered
//! on one worker after each worker has summed its own share, so the checks see a consistent
//! snapshot: every total at the same time.
//!
//! [`explode`]: differential_dataflow::collection::Collection::explode

use std::collections::BTreeMap;

use differential_dataflow::{ExchangeData, VecCollection};
use timely::order::TotalOrder;
use timely::progress::Timestamp;

use super::reduce::ReduceTotal;

/// Runs checks over the totals of measures.
pub trait CheckTotals<'scope, T: Timestamp, M> {
    /// Calls `checks(totals)` whenever a total changes; its rows are the output.
    ///
    /// ```
    /// use ballotflow::operators::prelude::*;
    /// use differential_dataflow::input::Input;
    ///
    /// timely::example(|scope| {
    ///     // Two good records ('g') and one bad ('b'); the rule: at most a third bad.
    ///     let measures = scope.new_collection_from(vec!['g', 'g', 'b']).1;
    ///     measures
    ///         .check_totals("Quality", |totals| {
    ///             let (good, bad) = (totals.get(&'g').copied().unwrap_or(0), totals.get(&'b').copied().unwrap_or(0));
    ///             vec![(bad, 3 * bad <= good + bad)]
    ///         })
    ///         .assert_eq(scope.new_collection_from(vec![(1, true)]).1);
    /// });
    /// ```
    fn check_totals<O, F>(self, name: &str, checks: F) -> VecCollection<'scope, T, O>
    where
        O: ExchangeData,
        F: Fn(&BTreeMap<M, i64>) -> Vec<O> + 'static;
}

impl<'scope, T, M> CheckTotals<'scope, T, M> for VecCollection<'scope, T, M>
where
    T: Timestamp + TotalOrder + differential_dataflow::lattice::Lattice,
    M: ExchangeData + std::hash::Hash,
{
    fn check_totals<O, F>(self, name: &str, checks: F) -> VecCollection<'scope, T, O>
    where
        O: ExchangeData,
        F: Fn(&BTreeMap<M, i64>) -> Vec<O> + 'static,
    {
        self.map(|m| ((), m))
            .consolidate_stream()
            .reduce_total_named(name, move |_, input, output| {
                let totals = input.iter().map(|(m, n)| ((*m).clone(), *n as i64)).collect();
                output.extend(checks(&totals).into_iter().map(|row| (row, 1)));
            })
            .map(|((), row)| row)
    }
}
