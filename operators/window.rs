//! Event-time tumbling windows.
//!
//! In: records carrying their own event time (milliseconds). Out: `((window_start, key), count)`
//! per non-empty window of `width` milliseconds aligned to the Unix epoch. The window comes
//! from the event time inside the record, not from the timely time it travels at, so a late
//! record lands in its true window and corrects it.

use differential_dataflow::lattice::Lattice;
use differential_dataflow::{ExchangeData, VecCollection};
use timely::order::TotalOrder;
use timely::progress::Timestamp;

use super::count::CountBy;

/// Start of the `width`-millisecond window holding `time_ms` (windows are aligned to the epoch).
pub fn window_start(time_ms: i64, width_ms: i64) -> i64 {
    time_ms.div_euclid(width_ms) * width_ms
}

/// Tumbling-window aggregates.
pub trait TumblingWindow<'scope, T: Timestamp, D> {
    /// Counts records per `(window_start, key)`.
    ///
    /// ```
    /// use ballotflow::operators::prelude::*;
    /// use differential_dataflow::input::Input;
    ///
    /// timely::example(|scope| {
    ///     // (event time in ms, station)
    ///     let votes = scope.new_collection_from(vec![(1_000i64, 's'), (59_000, 's'), (61_000, 's')]).1;
    ///     votes
    ///         .count_per_window(60_000, |(t, _)| *t, |(_, s)| *s)
    ///         .assert_eq(scope.new_collection_from(vec![((0, 's'), 2), ((60_000, 's'), 1)]).1);
    /// });
    /// ```
    fn count_per_window<K, FT, FK>(self, width_ms: i64, event_time: FT, key: FK) -> VecCollection<'scope, T, ((i64, K), isize)>
    where
        K: ExchangeData + std::hash::Hash,
        FT: Fn(&D) -> i64 + 'static,
        FK: Fn(&D) -> K + 'static;
}

impl<'scope, T, D> TumblingWindow<'scope, T, D> for VecCollection<'scope, T, D>
where
    T: Timestamp + Lattice + TotalOrder + Ord,
    D: Clone + 'static,
{
    fn count_per_window<K, FT, FK>(self, width_ms: i64, event_time: FT, key: FK) -> VecCollection<'scope, T, ((i64, K), isize)>
    where
        K: ExchangeData + std::hash::Hash,
        FT: Fn(&D) -> i64 + 'static,
        FK: Fn(&D) -> K + 'static,
    {
        assert!(width_ms > 0, "window width must be positive, got {width_ms} ms");
        self.count_by(move |record| (window_start(event_time(record), width_ms), key(record)))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn window_start_floors_negative_times() {
        assert_eq!(super::window_start(-1, 10), -10);
        assert_eq!(super::window_start(10, 10), 10);
        assert_eq!(super::window_start(19, 10), 10);
    }
}
