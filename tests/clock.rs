//! The event-time guards do not depend on where absurd timestamps appear: random streams
//! of good events (several partitions, out of order, some late), with up to five absurd
//! events inserted anywhere, or first in every partition, must admit every good event,
//! refuse every absurd one, and admit every good event at the same time, late or not, as
//! the same stream without the absurd ones.

use std::time::Instant;

use ballotflow::connectors::clock::{Admission, ClockConfig, EventClock, EventGate};
use proptest::prelude::*;

const DAY: i64 = 1_778_112_000_000; // 2026-05-07T00:00Z
const HOUR: i64 = 3_600_000;

/// An event: partition, time, and whether it is absurd.
type Event = (u32, i64, bool);

/// Every event's verdict, by its index in `events`.
fn judge(config: ClockConfig, partitions: u32, events: &[Event]) -> Vec<Result<Admission, String>> {
    let mut gate = EventGate::new(EventClock::partitioned(config, 0, 0..partitions));
    let mut verdicts: Vec<Option<Result<Admission, String>>> = vec![None; events.len()];
    for (i, (partition, time, _)) in events.iter().enumerate() {
        gate.offer(*partition, *time, i, |i, verdict| verdicts[i] = Some(verdict));
    }
    gate.settle(Instant::now(), true, None, |i, verdict| verdicts[i] = Some(verdict));
    verdicts.into_iter().map(|v| v.expect("every event is judged once the input ends")).collect()
}

/// Good events: each partition moves forward from 07:00 by up to a minute per event, with
/// some events up to five minutes behind (late under the two-minute bound).
fn good_events() -> impl Strategy<Value = (u32, Vec<Event>)> {
    (1u32..=4)
        .prop_flat_map(|partitions| {
            let event = (0..partitions, 0i64..60_000, prop::bool::weighted(0.2), 0i64..300_000);
            (Just(partitions), prop::collection::vec(event, 20..150))
        })
        .prop_map(|(partitions, steps)| {
            let mut clocks = vec![DAY + 7 * HOUR; partitions as usize];
            let events = steps
                .into_iter()
                .map(|(p, step, behind, by)| {
                    let clock = &mut clocks[p as usize];
                    *clock += step;
                    (p, if behind { *clock - by } else { *clock }, false)
                })
                .collect();
            (partitions, events)
        })
}

/// An absurd time: 1970 (at a plausible time of day), the year 2100, or weeks away from the
/// election.
fn absurd_time() -> impl Strategy<Value = i64> {
    prop_oneof![
        (7 * HOUR..22 * HOUR),
        (4_102_444_800_000i64..4_102_531_200_000),
        (3i64..30).prop_map(|days| DAY + days * 24 * HOUR),
        (3i64..30).prop_map(|days| DAY - days * 24 * HOUR),
    ]
}

/// Inserts `absurd` events into `good` at the given positions (as fractions of the length).
fn with_absurd(good: &[Event], absurd: &[(u32, i64, f64)], partitions: u32) -> Vec<Event> {
    let mut events = good.to_vec();
    for (p, time, at) in absurd {
        let at = ((events.len() as f64) * at) as usize;
        events.insert(at.min(events.len()), (p % partitions, *time, true));
    }
    events
}

fn check(config: ClockConfig, partitions: u32, good: &[Event], events: &[Event]) -> Result<(), TestCaseError> {
    let alone = judge(config, partitions, good);
    prop_assert!(alone.iter().all(Result::is_ok), "a good stream alone has a refusal: {alone:?}");
    let verdicts = judge(config, partitions, events);
    let mut good_verdicts = Vec::new();
    for ((_, time, absurd), verdict) in events.iter().zip(&verdicts) {
        if *absurd {
            prop_assert!(verdict.is_err(), "absurd time {time} admitted: {verdict:?}");
        } else {
            good_verdicts.push(verdict.clone());
        }
    }
    // Same admissions, in particular the same late ones, as without the absurd events.
    prop_assert_eq!(good_verdicts, alone);
    Ok(())
}

/// A center from 16 events, so that five absurd ones are a minority of the sample.
const LEARNED: ClockConfig = ClockConfig { quorum: 16, quorum_wait_ms: 3_600_000, idle_timeout_ms: None, ..ClockConfig::DEFAULT };

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn absurd_events_anywhere_cost_no_good_event(
        (partitions, good) in good_events(),
        absurd in prop::collection::vec((0u32..4, absurd_time(), 0.0f64..=1.0), 0..=5),
    ) {
        let events = with_absurd(&good, &absurd, partitions);
        check(LEARNED, partitions, &good, &events)?;
        check(LEARNED.around_day(DAY), partitions, &good, &events)?;
    }

    #[test]
    fn absurd_events_first_in_every_partition_cost_no_good_event(
        (partitions, good) in good_events(),
        times in prop::collection::vec(absurd_time(), 4),
    ) {
        let absurd: Vec<(u32, i64, f64)> = (0..partitions).map(|p| (p, times[p as usize], 0.0)).collect();
        let events = with_absurd(&good, &absurd, partitions);
        check(LEARNED, partitions, &good, &events)?;
    }
}

#[test]
fn a_stream_whose_first_event_is_from_1970_or_2100_loses_nothing() {
    // The two cases reported: one vote of 1970 (same time of day) or of 2100 first.
    let good: Vec<Event> = (0..200).map(|i| (0, DAY + 7 * HOUR + i * 30_000, false)).collect();
    for first in [7 * HOUR + 12_345, 4_102_444_800_000] {
        let events: Vec<Event> = std::iter::once((0, first, true)).chain(good.iter().copied()).collect();
        let verdicts = judge(ClockConfig::DEFAULT, 1, &events);
        assert!(verdicts[0].is_err(), "{first}: {:?}", verdicts[0]);
        assert!(verdicts[1..].iter().all(|v| v.as_ref().is_ok_and(|a| !a.late)), "{first}");
    }
}
