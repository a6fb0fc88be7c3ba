//! Splitting a collection into parts.
//!
//! In: any records. Out: one collection per part, each record in the part `route` names.
//! Where several consumers each want a slice of one collection, splitting it once moves each
//! record to the one consumer that wants it; filtering it once per consumer would clone every
//! record for every consumer.

use differential_dataflow::{AsCollection, Data, VecCollection};
use timely::container::CapacityContainerBuilder;
use timely::dataflow::operators::core::Partition;
use timely::progress::Timestamp;

/// Splits a collection into parts.
pub trait Split<'scope, T: Timestamp, D> {
    /// `N` collections; record `d` goes to part `route(&d)`, which must be below `N`.
    ///
    /// ```
    /// use ballotflow::operators::prelude::*;
    /// use differential_dataflow::input::Input;
    ///
    /// timely::example(|scope| {
    ///     let numbers = scope.new_collection_from(vec![1u32, 2, 3, 4, 5]).1;
    ///     let [even, odd] = numbers.split(|n| (n % 2) as usize);
    ///     even.assert_eq(scope.new_collection_from(vec![2, 4]).1);
    ///     odd.assert_eq(scope.new_collection_from(vec![1, 3, 5]).1);
    /// });
    /// ```
    fn split<const N: usize, F>(self, route: F) -> [VecCollection<'scope, T, D>; N]
    where
        F: FnMut(&D) -> usize + 'static;
}

impl<'scope, T: Timestamp, D: Data> Split<'scope, T, D> for VecCollection<'scope, T, D> {
    fn split<const N: usize, F>(self, mut route: F) -> [VecCollection<'scope, T, D>; N]
    where
        F: FnMut(&D) -> usize + 'static,
    {
        let streams = self.inner.partition::<CapacityContainerBuilder<Vec<(D, T, isize)>>, _, _>(N as u64, move |update: (D, T, isize)| (route(&update.0) as u64, update));
        let mut streams = streams.into_iter();
        std::array::from_fn(|_| streams.next().expect("one stream per part").as_collection())
    }
}
