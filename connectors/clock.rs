//! The event-time clock of a source: from event times to timely times and a watermark, with
//! guards against absurd timestamps that do not depend on where those appear.
//!
//! A source hands every event's time (milliseconds since the epoch) to its [`EventClock`]
//! (through an [`EventGate`], which holds events back while the clock cannot judge them
//! yet), and gets back the timely time to send the event at:
//!
//! * an event whose tick (its time rounded down to [`ClockConfig::tick_ms`]) is at or after
//!   the current frontier is sent at its tick;
//! * an event whose tick is already behind the frontier is **late**: it is sent at the
//!   frontier (collections cannot change in the past) and counted. Its true event time stays
//!   in the data, so event-time windows still place it correctly.
//!
//! ## Watermarks
//! The frontier is the watermark. A source reads one or more **partitions** (a file is one;
//! a Kafka topic has several), each delivering roughly in event-time order, so each has its
//! own watermark: the largest event time it has delivered minus
//! [`ClockConfig::max_out_of_orderness_ms`], rounded down to a tick. The clock's frontier is
//! the least watermark over the *active* partitions, and it only moves forward:
//!
//! * a partition that has delivered nothing yet holds the frontier where it is;
//! * a partition idle for longer than [`ClockConfig::idle_timeout_ms`] (wall time) stops
//!   holding it back, and rejoins when it delivers again (its events are late if they are
//!   behind the frontier by then);
//! * a finished partition (read to its end in a bounded run) no longer counts;
//! * when no partition is active the frontier stays put, unless the caller moves it with
//!   [`EventClock::advance_to`] (for instance to the watermark of the job as a whole).
//!
//! ## Absurd timestamps
//! One absurd timestamp must not cost a good event: a vote "from" 2100 would drag the
//! watermark with it and make every later vote late; a vote "from" 1970 first in a
//! partition would make every real vote look like a jump into the future. So an event is
//! **absurd**, refused before it touches any watermark (the source makes it a dead letter),
//! if its time is
//!
//! 1. outside [`ClockConfig::accepted`], when that range is given (e.g. a day either side
//!    of election day, [`ClockConfig::around_day`]); or
//! 2. more than [`ClockConfig::max_spread_ms`] (a day by default) away from its
//!    **reference**: the largest event time its partition has admitted; for a partition
//!    that has admitted nothing yet, the largest event time the clock has admitted; and
//!    before the clock has admitted anything, the **center** established from the data.
//!
//! Without a given range the clock first establishes a center from a **quorum** of events:
//! it holds the first [`ClockConfig::quorum`] events (64 by default), over all its
//! partitions, takes their median as the center, and then judges the held events in their
//! arrival order, exactly as if they were arriving now. Nothing is admitted meanwhile, so
//! the frontier does not move and no held event becomes late by being held. A smaller
//! sample is enough once [`ClockConfig::quorum_wait_ms`] of wall time has passed since the
//! first held event and either [`MIN_QUORUM`] events are held or every partition has gone
//! idle; and when the input ends, any sample is. A sample below [`MIN_QUORUM`] adopts a
//! center that another worker of the job established, if the caller knows one.
//!
//! Once a reference is established, only admitted events move it, and an admitted event is
//! within the spread of the one before it, so absurd events never reach a watermark,
//! wherever they are: first in a partition, last, in the middle, or first in every
//! partition. Good events are judged against good references only, so each is admitted,
//! and late exactly when it would be late in the same stream without the absurd ones.
//!
//! **What this assumes, and when it misjudges.**
//! * Absurd events are fewer than half of the quorum sample. If most of a source's first
//!   events are absurd *and agree with each other* (say, a replay that starts with forty
//!   votes stamped 2100), the median is absurd, and the good events after it are refused.
//!   The dead-letter counts show it at once; `--election-date` settles it.
//! * Good events lie within the spread of each other: an election day does, a source that
//!   delivers several days of history does not (its oldest events would be refused against
//!   the newest). Raise the spread, or give the range, for such data.
//! * A partition that rejoins after more than the spread of silence is judged against its
//!   own latest time, and its new events are refused.
//! * A worker whose whole input is fewer than [`MIN_QUORUM`] events, with no other worker's
//!   center to adopt, judges them by their own median: with two events, one of them absurd,
//!   it cannot tell which.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use crate::connectors::dataset::format_millis;

/// The smallest sample a center is taken from before the input ends (see the module docs).
pub const MIN_QUORUM: usize = 5;

const DAY_MS: u64 = 86_400_000;

/// How event times become timely times, and which are absurd.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClockConfig {
    /// Granularity of timely time in milliseconds. Coarser ticks mean fewer distinct times
    /// and so less work per event; results are exact at any tick.
    pub tick_ms: u64,
    /// How far behind the largest event time seen the watermark trails.
    pub max_out_of_orderness_ms: u64,
    /// Event times accepted at all, `[from, until)` in ms. When given, it is the plausible
    /// range and no center is established from the data (`None`: learn it).
    pub accepted: Option<(i64, i64)>,
    /// How far from its reference an event may be (`None`: no limit, and no quorum).
    pub max_spread_ms: Option<u64>,
    /// Without [`ClockConfig::accepted`]: the events sampled to establish the center.
    pub quorum: usize,
    /// Without [`ClockConfig::accepted`]: wall time after the first held event after which
    /// a sample smaller than the quorum is enough.
    pub quorum_wait_ms: u64,
    /// Wall time after which a partition that delivered nothing stops holding the frontier
    /// back (`None`: never).
    pub idle_timeout_ms: Option<u64>,
}

impl ClockConfig {
    /// One-minute ticks, two minutes of allowed out-of-orderness, events within a day of
    /// their reference, a center from the first 64 events (or what arrived in the first
    /// second), partitions idle after ten seconds of wall time.
    pub const DEFAULT: ClockConfig = ClockConfig {
        tick_ms: 60_000,
        max_out_of_orderness_ms: 120_000,
        accepted: None,
        max_spread_ms: Some(DAY_MS),
        quorum: 64,
        quorum_wait_ms: 1_000,
        idle_timeout_ms: Some(10_000),
    };

    /// Accepts only event times within a day of the UTC day starting at `day_start_ms`.
    pub fn around_day(self, day_start_ms: i64) -> Self {
        let day = DAY_MS as i64;
        ClockConfig { accepted: Some((day_start_ms - day, day_start_ms + 2 * day)), ..self }
    }

    /// Whether a center must be established from the data before events are judged.
    fn learns_center(&self) -> bool {
        self.accepted.is_none() && self.max_spread_ms.is_some()
    }
}

impl Default for ClockConfig {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Where an event was admitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Admission {
    /// The timely time the event is sent at.
    pub time: u64,
    /// Whether the event was behind the watermark.
    pub late: bool,
}

/// What the clock says of an event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Admitted: send it at this time.
    Admit(Admission),
    /// Absurd, for this reason; nothing changed.
    Refuse(String),
    /// Not judged yet: the clock is establishing its center (see [`EventGate`]).
    Hold,
}

/// One partition's progress.
#[derive(Clone, Debug)]
struct Partition {
    max_seen: Option<u64>,
    /// `max_seen` minus the bound, rounded down to a tick (0 before any event).
    watermark: u64,
    last_active: Instant,
    idle: bool,
    finished: bool,
}

/// What absurd times are judged against before the clock has admitted anything.
#[derive(Clone, Debug)]
enum Reference {
    /// Nothing to learn: the range is given, or there is no spread limit.
    Given,
    /// Sampling the first event times, since the first one arrived.
    Sampling { sample: Vec<i64>, since: Option<Instant> },
    /// The center taken from the sample.
    Center { center: i64, sampled: usize },
}

/// Tracks one source's watermark and admits events (see the module docs).
#[derive(Clone, Debug)]
pub struct EventClock {
    config: ClockConfig,
    partitions: BTreeMap<u32, Partition>,
    max_seen: Option<u64>,
    reference: Reference,
    frontier: u64,
    late: u64,
    now: Instant,
}

impl EventClock {
    /// A clock of one partition (0) whose frontier starts at `start` (usually 0, where
    /// registries are loaded).
    pub fn new(config: ClockConfig, start: u64) -> Self {
        Self::partitioned(config, start, [0])
    }

    /// A clock of the given partitions.
    pub fn partitioned(config: ClockConfig, start: u64, partitions: impl IntoIterator<Item = u32>) -> Self {
        assert!(config.tick_ms > 0, "tick must be positive");
        let now = Instant::now();
        let partitions = partitions.into_iter().map(|p| (p, Partition { max_seen: None, watermark: 0, last_active: now, idle: false, finished: false })).collect();
        let reference = if config.learns_center() { Reference::Sampling { sample: Vec::new(), since: None } } else { Reference::Given };
        EventClock { config, partitions, max_seen: None, reference, frontier: start, late: 0, now }
    }

    /// The clock's configuration.
    pub fn config(&self) -> ClockConfig {
        self.config
    }

    /// Rounds an event time down to its tick. Times before the epoch map to 0.
    pub fn tick(&self, event_ms: i64) -> u64 {
        let ms = event_ms.max(0) as u64;
        ms - ms % self.config.tick_ms
    }

    /// Judges an event of partition 0 (see [`EventClock::judge`]).
    pub fn admit(&mut self, event_ms: i64) -> Verdict {
        self.judge(0, event_ms)
    }

    /// Judges an event with time `event_ms` delivered by `partition`: admits it (advancing
    /// the watermark past it), refuses it as absurd (then nothing changes), or holds it
    /// while the center is being established (then it must be judged again later, in
    /// arrival order, once [`EventClock::established`]; [`EventGate`] does that).
    ///
    /// # Panics
    /// If the partition is not one of the clock's.
    pub fn judge(&mut self, partition: u32, event_ms: i64) -> Verdict {
        let show = format_millis;
        if let Some((from, until)) = self.config.accepted {
            if event_ms < from || event_ms >= until {
                return Verdict::Refuse(format!("{} is outside the accepted range [{}, {})", show(event_ms), show(from), show(until)));
            }
        }
        let (now, watermark, quorum) = (self.now, self.watermark_of(event_ms.max(0) as u64), self.config.quorum.max(1));
        let clock_max = self.max_seen;
        let state = self.partitions.get_mut(&partition).unwrap_or_else(|| panic!("partition {partition} is not one of this clock's"));
        let reference = match &mut self.reference {
            Reference::Sampling { sample, since } => {
                sample.push(event_ms);
                since.get_or_insert_with(Instant::now);
                let full = sample.len() >= quorum;
                state.last_active = now;
                state.idle = false;
                if full {
                    self.establish(None);
                }
                return Verdict::Hold;
            }
            Reference::Given => None,
            Reference::Center { center, sampled } => Some((*center, *sampled)),
        };
        if let Some(spread) = self.config.max_spread_ms {
            let (from, what) = match (state.max_seen, clock_max, reference) {
                (Some(max), _, _) => (max as i64, "its partition's latest event time".to_string()),
                (None, Some(max), _) => (max as i64, "the latest event time of the source".to_string()),
                (None, None, Some((center, sampled))) => (center, format!("the median of the source's first {sampled} event times")),
                (None, None, None) => (event_ms, String::new()),
            };
            if event_ms.abs_diff(from) > spread {
                let hours = spread as f64 / 3_600_000.0;
                return Verdict::Refuse(format!("{} is more than {hours} h away from {what}, {}", show(event_ms), show(from)));
            }
        }
        let ms = event_ms.max(0) as u64;
        state.last_active = now;
        let mut moved = std::mem::replace(&mut state.idle, false);
        if state.max_seen.is_none_or(|m| ms > m) {
            state.max_seen = Some(ms);
            moved |= watermark != state.watermark;
            state.watermark = watermark;
            self.max_seen = self.max_seen.max(Some(ms));
        }
        let tick = self.tick(event_ms);
        let admission = if tick < self.frontier {
            self.late += 1;
            Admission { time: self.frontier, late: true }
        } else {
            Admission { time: tick, late: false }
        };
        if moved {
            self.recompute();
        }
        Verdict::Admit(admission)
    }

    /// Establishes the center from the sample if it is ready (see the module docs):
    /// `ended` when the input is over, `adoptable` another worker's center. Returns whether
    /// events are judged now (held ones must then be judged again).
    pub fn settle(&mut self, now: Instant, ended: bool, adoptable: Option<i64>) -> bool {
        let Reference::Sampling { sample, since } = &self.reference else { return true };
        let Some(since) = *since else { return false };
        let waited = now.saturating_duration_since(since) >= Duration::from_millis(self.config.quorum_wait_ms);
        let enough = sample.len() >= MIN_QUORUM || self.unheld() || adoptable.is_some();
        if ended || (waited && enough) {
            self.establish(adoptable);
            return true;
        }
        false
    }

    fn establish(&mut self, adoptable: Option<i64>) {
        let Reference::Sampling { sample, .. } = &mut self.reference else { return };
        let sampled = sample.len();
        let center = match adoptable {
            Some(center) if sampled < MIN_QUORUM => center,
            _ => {
                sample.sort_unstable();
                sample[(sampled - 1) / 2]
            }
        };
        self.reference = Reference::Center { center, sampled };
    }

    /// Whether events are judged (not held): the range is given, or the center is known.
    pub fn established(&self) -> bool {
        !matches!(self.reference, Reference::Sampling { .. })
    }

    /// The center established from the data, once there is one.
    pub fn center(&self) -> Option<i64> {
        match self.reference {
            Reference::Center { center, .. } => Some(center),
            _ => None,
        }
    }

    /// Tells the clock the wall time: partitions quiet for longer than the idle timeout
    /// stop holding the frontier back. Call it whenever a source polls.
    pub fn refresh(&mut self, now: Instant) {
        self.now = now;
        let Some(timeout) = self.config.idle_timeout_ms.map(Duration::from_millis) else { return };
        let mut changed = false;
        for state in self.partitions.values_mut() {
            if !state.idle && !state.finished && now.saturating_duration_since(state.last_active) >= timeout {
                state.idle = true;
                changed = true;
            }
        }
        if changed {
            self.recompute();
        }
    }

    /// A partition the source has just started to read (one added to a Kafka topic while
    /// the job runs). Like the others, it holds the frontier where it is until its first
    /// event or the idle timeout. A partition the clock has already is left as it is.
    pub fn add_partition(&mut self, partition: u32) {
        let state = Partition { max_seen: None, watermark: 0, last_active: self.now, idle: false, finished: false };
        self.partitions.entry(partition).or_insert(state);
    }

    /// `partition` will deliver nothing more (a bounded source read it to its end).
    pub fn finish(&mut self, partition: u32) {
        if let Some(state) = self.partitions.get_mut(&partition) {
            state.finished = true;
            self.recompute();
        }
    }

    /// Whether every partition is finished.
    pub fn finished(&self) -> bool {
        self.partitions.values().all(|p| p.finished)
    }

    /// Whether no partition holds the frontier back (all idle or finished, or none at all).
    pub fn unheld(&self) -> bool {
        self.partitions.values().all(|p| p.idle || p.finished)
    }

    /// The partitions currently idle.
    pub fn idle(&self) -> impl Iterator<Item = u32> + '_ {
        self.partitions.iter().filter(|(_, p)| p.idle && !p.finished).map(|(id, _)| *id)
    }

    fn recompute(&mut self) {
        let active = self.partitions.values().filter(|p| !p.idle && !p.finished).map(|p| p.watermark).min();
        // With nothing active, the partitions' own watermarks are still safe to reach.
        let reachable = active.or_else(|| self.partitions.values().map(|p| p.watermark).max());
        if let Some(watermark) = reachable {
            self.frontier = self.frontier.max(watermark);
        }
    }

    /// Moves the frontier to at least `time` (e.g. when a source is finished, or to the
    /// job's watermark while this clock's partitions are all idle).
    pub fn advance_to(&mut self, time: u64) {
        self.frontier = self.frontier.max(time);
    }

    /// The current frontier: every future event is admitted at or after it.
    pub fn frontier(&self) -> u64 {
        self.frontier
    }

    /// The largest event time admitted, if any.
    pub fn max_seen(&self) -> Option<u64> {
        self.max_seen
    }

    /// The watermark of a partition (or a job) whose largest event time seen is `max_seen`.
    pub fn watermark_of(&self, max_seen: u64) -> u64 {
        let watermark = max_seen.saturating_sub(self.config.max_out_of_orderness_ms);
        watermark - watermark % self.config.tick_ms
    }

    /// How many late events were admitted.
    pub fn late(&self) -> u64 {
        self.late
    }
}

/// An [`EventClock`] with the events it holds while it establishes its center: every event
/// offered is handed back exactly once with its verdict, in arrival order, as soon as the
/// clock can judge it. Items are whatever the source needs to act on the verdict.
#[derive(Debug)]
pub struct EventGate<T> {
    clock: EventClock,
    held: VecDeque<(u32, i64, T)>,
}

impl<T> EventGate<T> {
    /// A gate in front of `clock`.
    pub fn new(clock: EventClock) -> Self {
        EventGate { clock, held: VecDeque::new() }
    }

    /// Offers `item`, an event with time `event_ms` from `partition`; `judged` receives it
    /// now, or later with every held item, once the clock can judge them.
    pub fn offer(&mut self, partition: u32, event_ms: i64, item: T, mut judged: impl FnMut(T, Result<Admission, String>)) {
        match self.clock.judge(partition, event_ms) {
            Verdict::Admit(admission) => judged(item, Ok(admission)),
            Verdict::Refuse(reason) => judged(item, Err(reason)),
            Verdict::Hold => {
                self.held.push_back((partition, event_ms, item));
                if self.clock.established() {
                    self.release(judged);
                }
            }
        }
    }

    /// Establishes the clock's center if it is ready (see [`EventClock::settle`]) and hands
    /// the held items to `judged`.
    pub fn settle(&mut self, now: Instant, ended: bool, adoptable: Option<i64>, judged: impl FnMut(T, Result<Admission, String>)) {
        if !self.held.is_empty() && self.clock.settle(now, ended, adoptable) {
            self.release(judged);
        }
    }

    fn release(&mut self, mut judged: impl FnMut(T, Result<Admission, String>)) {
        while let Some((partition, event_ms, item)) = self.held.pop_front() {
            match self.clock.judge(partition, event_ms) {
                Verdict::Admit(admission) => judged(item, Ok(admission)),
                Verdict::Refuse(reason) => judged(item, Err(reason)),
                Verdict::Hold => unreachable!("an established clock judges every event"),
            }
        }
    }

    /// How many events are held.
    pub fn holding(&self) -> usize {
        self.held.len()
    }

    /// The clock.
    pub fn clock(&self) -> &EventClock {
        &self.clock
    }

    /// The clock, to tell it the wall time, finished partitions and so on.
    pub fn clock_mut(&mut self) -> &mut EventClock {
        &mut self.clock
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 1_778_112_000_000; // 2026-05-07
    const HOUR: i64 = 3_600_000;

    fn admitted(verdict: Verdict) -> Admission {
        match verdict {
            Verdict::Admit(admission) => admission,
            other => panic!("expected an admission, got {other:?}"),
        }
    }

    #[test]
    fn watermark_trails_and_late_events_go_to_the_frontier() {
        let config = ClockConfig { tick_ms: 10, max_out_of_orderness_ms: 25, max_spread_ms: None, idle_timeout_ms: None, ..ClockConfig::DEFAULT };
        let mut clock = EventClock::new(config, 0);
        assert_eq!(clock.admit(103), Verdict::Admit(Admission { time: 100, late: false }));
        assert_eq!(clock.frontier(), 70); // 103 - 25 = 78, rounded down
        assert_eq!(clock.admit(75), Verdict::Admit(Admission { time: 70, late: false })); // out of order, within bound
        assert_eq!(clock.admit(69), Verdict::Admit(Admission { time: 70, late: true }));
        assert_eq!(clock.admit(200), Verdict::Admit(Admission { time: 200, late: false }));
        assert_eq!(clock.frontier(), 170);
        assert_eq!(clock.admit(150), Verdict::Admit(Admission { time: 170, late: true }));
        assert_eq!(clock.late(), 2);
        clock.advance_to(100); // never backwards
        assert_eq!(clock.frontier(), 170);
    }

    #[test]
    fn a_given_range_and_the_spread_refuse_absurd_times_without_moving_the_watermark() {
        let config = ClockConfig { max_spread_ms: Some(HOUR as u64), ..ClockConfig::DEFAULT }.around_day(DAY);
        let mut clock = EventClock::new(config, 0);
        assert!(clock.established(), "a given range needs no quorum");
        admitted(clock.admit(DAY + 8 * HOUR));
        let frontier = clock.frontier();
        let refused = |v: Verdict| match v {
            Verdict::Refuse(reason) => reason,
            other => panic!("expected a refusal, got {other:?}"),
        };
        assert!(refused(clock.admit(0)).contains("outside the accepted range"));
        assert!(refused(clock.admit(DAY + 20 * 86_400_000)).contains("outside the accepted range"));
        assert!(refused(clock.admit(DAY + 10 * HOUR)).contains("away from its partition's latest event time"));
        assert!(refused(clock.admit(DAY + 6 * HOUR)).contains("away from its partition's latest event time"));
        assert_eq!(clock.frontier(), frontier);
        admitted(clock.admit(DAY + 8 * HOUR + 60_000));
    }

    #[test]
    fn without_a_range_the_first_events_establish_the_center_and_absurd_ones_are_refused() {
        let config = ClockConfig { quorum: 5, ..ClockConfig::DEFAULT };
        let mut gate = EventGate::new(EventClock::partitioned(config, 0, [0, 1]));
        let mut verdicts = Vec::new();
        // A vote of 1970 (same time of day) first, one of 2100 in the sample too.
        let times = [36_000_000, DAY + 7 * HOUR, 4_102_444_800_000, DAY + 8 * HOUR, DAY + 7 * HOUR + 5];
        for (i, t) in times.into_iter().enumerate() {
            gate.offer((i % 2) as u32, t, i, |i, v| verdicts.push((i, v.is_ok())));
            assert_eq!(verdicts.is_empty(), i < 4, "held until the quorum of 5");
        }
        assert_eq!(verdicts, vec![(0, false), (1, true), (2, false), (3, true), (4, true)]);
        assert_eq!(gate.clock().center(), Some(DAY + 7 * HOUR + 5));
        assert_eq!(gate.clock().max_seen(), Some((DAY + 8 * HOUR) as u64));
        // From now on, judged at once against each partition's latest time.
        gate.offer(1, 4_102_444_800_000, 5, |i, v| verdicts.push((i, v.is_ok())));
        gate.offer(0, DAY + 9 * HOUR, 6, |i, v| verdicts.push((i, v.is_ok())));
        assert_eq!(&verdicts[5..], &[(5, false), (6, true)]);
    }

    #[test]
    fn a_small_sample_waits_for_the_quorum_then_for_time_then_for_the_end() {
        let config = ClockConfig { quorum: 100, quorum_wait_ms: 1_000, ..ClockConfig::DEFAULT };
        let start = Instant::now();
        let mut clock = EventClock::new(config, 0);
        assert!(!clock.settle(start, false, None), "nothing sampled");
        for t in [DAY, DAY + 1, DAY + 2] {
            assert_eq!(clock.admit(t), Verdict::Hold);
        }
        assert!(!clock.settle(start + Duration::from_secs(5), false, None), "3 < MIN_QUORUM events");
        assert!(clock.settle(start + Duration::from_secs(5), false, Some(DAY + 7)), "another worker's center");
        assert_eq!(clock.center(), Some(DAY + 7));

        let mut clock = EventClock::new(config, 0);
        for t in [DAY, DAY + 1, DAY + 2, DAY + 3, DAY + 4] {
            assert_eq!(clock.admit(t), Verdict::Hold);
        }
        assert!(!clock.settle(Instant::now(), false, None), "not waited yet");
        assert!(clock.settle(Instant::now() + Duration::from_secs(2), false, Some(0)), "enough after the wait");
        assert_eq!(clock.center(), Some(DAY + 2), "a sample of MIN_QUORUM keeps its own median");

        let mut clock = EventClock::new(config, 0);
        assert_eq!(clock.admit(DAY), Verdict::Hold);
        assert!(clock.settle(Instant::now(), true, None), "the input ended");
        assert_eq!(clock.center(), Some(DAY));
    }

    #[test]
    fn the_slowest_active_partition_holds_the_frontier_until_it_idles() {
        let config = ClockConfig { tick_ms: 10, max_out_of_orderness_ms: 0, max_spread_ms: None, idle_timeout_ms: Some(1_000), ..ClockConfig::DEFAULT };
        let start = Instant::now();
        let mut clock = EventClock::partitioned(config, 0, [0, 1, 2]);
        clock.refresh(start);
        admitted(clock.judge(0, 500));
        admitted(clock.judge(1, 100));
        assert_eq!(clock.frontier(), 0, "partition 2 has delivered nothing yet");
        admitted(clock.judge(2, 300));
        assert_eq!(clock.frontier(), 100, "partition 1 is far behind");
        // Partitions 0 and 2 keep delivering; partition 1 goes quiet and stops holding back.
        clock.refresh(start + Duration::from_millis(900));
        admitted(clock.judge(0, 600));
        admitted(clock.judge(2, 400));
        assert_eq!(clock.frontier(), 100);
        clock.refresh(start + Duration::from_millis(1_500));
        assert_eq!(clock.idle().collect::<Vec<_>>(), vec![1]);
        assert_eq!(clock.frontier(), 400);
        // It rejoins with an event behind the frontier: late, applied at the frontier.
        assert_eq!(clock.judge(1, 150), Verdict::Admit(Admission { time: 400, late: true }));
        assert_eq!(clock.idle().count(), 0);
        assert_eq!(clock.frontier(), 400, "the frontier never goes back");
        admitted(clock.judge(1, 700));
        admitted(clock.judge(0, 800));
        assert_eq!(clock.frontier(), 400, "partition 2 is now the slowest");
        clock.finish(2);
        assert_eq!(clock.frontier(), 700);
        // All quiet: the frontier reaches the furthest partition's watermark, and follows
        // the caller from there.
        clock.refresh(start + Duration::from_millis(5_000));
        assert!(clock.unheld());
        assert_eq!(clock.frontier(), 800);
        clock.advance_to(2_000);
        assert_eq!(clock.frontier(), 2_000);
        assert_eq!(clock.late(), 1);
    }
}
