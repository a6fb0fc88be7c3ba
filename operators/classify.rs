//! Validity classification.
//!
//! In: records. Out: two collections, the records that pass every check and the records
//! that fail one, each paired with the *first* failing check. Checks are ordered, so a
//! record gets exactly one verdict; write them as one function returning `Option<verdict>`.

use timely::dataflow::operators::core::OkErr;
use timely::progress::Timestamp;

use differential_dataflow::{AsCollection, VecCollection};

/// Splits records into valid ones and ones with a verdict.
pub trait Classify<'scope, T: Timestamp, D> {
    /// `(valid, invalid)`, where `first_failure(record)` is `None` for a valid record.
    ///
    /// ```
    /// use ballotflow::operators::prelude::*;
    /// use differential_dataflow::input::Input;
    ///
    /// timely::example(|scope| {
    ///     let ages = scope.new_collection_from(vec![17, 30, 130]).1;
    ///     let (valid, invalid) = ages.classify(|a| {
    ///         if *a < 18 { Some('y') } else if *a > 120 { Some('a') } else { None }
    ///     });
    ///     valid.assert_eq(scope.new_collection_from(vec![30]).1);
    ///     invalid.assert_eq(scope.new_collection_from(vec![(17, 'y'), (130, 'a')]).1);
    /// });
    /// ```
    #[allow(clippy::type_complexity)]
    fn classify<E, F>(self, first_failure: F) -> (VecCollection<'scope, T, D>, VecCollection<'scope, T, (D, E)>)
    where
        E: Clone + 'static,
        F: FnMut(&D) -> Option<E> + 'static;
}

impl<'scope, T: Timestamp, D: Clone + 'static> Classify<'scope, T, D> for VecCollection<'scope, T, D> {
    fn classify<E, F>(self, mut first_failure: F) -> (VecCollection<'scope, T, D>, VecCollection<'scope, T, (D, E)>)
    where
        E: Clone + 'static,
        F: FnMut(&D) -> Option<E> + 'static,
    {
        let (valid, invalid) = self.inner.ok_err::<Vec<_>, _, Vec<_>, _, _>(move |(record, time, diff)| match first_failure(&record) {
            None => Ok((record, time, diff)),
            Some(verdict) => Err(((record, verdict), time, diff)),
        });
        (valid.as_collection(), invalid.as_collection())
    }
}
