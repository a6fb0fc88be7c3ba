//! The event-time clock of a source: from event times to timely times and a watermark.
//!
//! A source hands every event's time (milliseconds since the epoch) to its [`EventClock`],
//! which answers with the timely time to send the event at:
//!
//! * an event whose tick (its time rounded down to [`ClockConfig::tick_ms`]) is at or after
//!   the current frontier is sent at its tick;
//! * an event whose tick is already behind the frontier is **late**: it is sent at the
//!   frontier (collections cannot change in the past) and counted. Its true event time stays
//!   in the data, so event-time windows still place it correctly.
//!
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
//! One absurd timestamp (a vote "from" the year 2100) would drag the watermark with it and
//! make every later event late, so the clock refuses events outside
//! [`ClockConfig::accepted`] and events more than [`ClockConfig::max_jump_ms`] ahead of the
//! largest event time their partition has delivered; the source turns those into dead letters.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// How event times become timely times.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClockConfig {
    /// Granularity of timely time in milliseconds. Coarser ticks mean fewer distinct times
    /// and so less work per event; results are exact at any tick.
    pub tick_ms: u64,
    /// How far behind the largest event time seen the watermark trails.
    pub max_out_of_orderness_ms: u64,
    /// How far ahead of the largest event time seen an event may be (`None`: no limit).
    pub max_jump_ms: Option<u64>,
    /// Event times accepted at all, `[from, until)` in ms (`None`: any).
    pub accepted: Option<(i64, i64)>,
    /// Wall time after which a partition that delivered nothing stops holding the frontier
    /// back (`None`: never).
    pub idle_timeout_ms: Option<u64>,
}

impl ClockConfig {
    /// One-minute ticks, two minutes of allowed out-of-orderness, jumps of at most a day,
    /// partitions idle after ten seconds of wall time.
    pub const DEFAULT: ClockConfig = ClockConfig {
        tick_ms: 60_000,
        max_out_of_orderness_ms: 120_000,
        max_jump_ms: Some(86_400_000),
        accepted: None,
        idle_timeout_ms: Some(10_000),
    };

    /// Accepts only event times within a day of the UTC day starting at `day_start_ms`.
    pub fn around_day(self, day_start_ms: i64) -> Self {
        ClockConfig { accepted: Some((day_start_ms - 86_400_000, day_start_ms + 2 * 86_400_000)), ..self }
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

/// Tracks one source's watermark and admits events (see the module docs).
#[derive(Clone, Debug)]
pub struct EventClock {
    config: ClockConfig,
    partitions: BTreeMap<u32, Partition>,
    max_seen: Option<u64>,
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
        let partitions = partitions
            .into_iter()
            .map(|p| (p, Partition { max_seen: None, watermark: 0, last_active: now, idle: false, finished: false }))
            .collect();
        EventClock { config, partitions, max_seen: None, frontier: start, late: 0, now }
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

    /// Admits an event of partition 0 (see [`EventClock::admit_from`]).
    pub fn admit(&mut self, event_ms: i64) -> Result<Admission, String> {
        self.admit_from(0, event_ms)
    }

    /// Admits an event with time `event_ms` delivered by `partition`, advancing the
    /// watermark past it, or says why the time is absurd (then nothing changes).
    ///
    /// # Panics
    /// If the partition is not one of the clock's.
    pub fn admit_from(&mut self, partition: u32, event_ms: i64) -> Result<Admission, String> {
        let show = crate::connectors::dataset::format_millis;
        if let Some((from, until)) = self.config.accepted {
            if event_ms < from || event_ms >= until {
                return Err(format!("{} is outside the accepted range [{}, {})", show(event_ms), show(from), show(until)));
            }
        }
        let ms = event_ms.max(0) as u64;
        let (jump, now, watermark) = (self.config.max_jump_ms, self.now, self.watermark_of(ms));
        let state = self.partitions.get_mut(&partition).unwrap_or_else(|| panic!("partition {partition} is not one of this clock's"));
        if let (Some(jump), Some(max)) = (jump, state.max_seen) {
            if event_ms > 0 && event_ms as u64 > max.saturating_add(jump) {
                return Err(format!("{} is more than {} ms ahead of the latest event time {}", show(event_ms), jump, show(max as i64)));
            }
        }
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
        Ok(admission)
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

    /// The largest event time seen, if any.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watermark_trails_and_late_events_go_to_the_frontier() {
        let config = ClockConfig { tick_ms: 10, max_out_of_orderness_ms: 25, max_jump_ms: None, accepted: None, idle_timeout_ms: None };
        let mut clock = EventClock::new(config, 0);
        assert_eq!(clock.admit(103), Ok(Admission { time: 100, late: false }));
        assert_eq!(clock.frontier(), 70); // 103 - 25 = 78, rounded down
        assert_eq!(clock.admit(75), Ok(Admission { time: 70, late: false })); // out of order, within bound
        assert_eq!(clock.admit(69), Ok(Admission { time: 70, late: true }));
        assert_eq!(clock.admit(200), Ok(Admission { time: 200, late: false }));
        assert_eq!(clock.frontier(), 170);
        assert_eq!(clock.admit(150), Ok(Admission { time: 170, late: true }));
        assert_eq!(clock.late(), 2);
        clock.advance_to(100); // never backwards
        assert_eq!(clock.frontier(), 170);
    }

    #[test]
    fn absurd_times_are_refused_without_moving_the_watermark() {
        let day = 1_778_112_000_000; // 2026-05-07
        let config = ClockConfig { max_jump_ms: Some(3_600_000), ..ClockConfig::DEFAULT }.around_day(day);
        let mut clock = EventClock::new(config, 0);
        assert!(clock.admit(day + 8 * 3_600_000).is_ok());
        let frontier = clock.frontier();
        assert!(clock.admit(0).unwrap_err().contains("outside the accepted range"));
        assert!(clock.admit(day + 20 * 86_400_000).is_err());
        assert!(clock.admit(day + 10 * 3_600_000).unwrap_err().contains("ahead of the latest event time"));
        assert_eq!(clock.frontier(), frontier);
        assert!(clock.admit(day + 8 * 3_600_000 + 60_000).is_ok());
    }

    #[test]
    fn the_slowest_active_partition_holds_the_frontier_until_it_idles() {
        let config = ClockConfig { tick_ms: 10, max_out_of_orderness_ms: 0, max_jump_ms: None, accepted: None, idle_timeout_ms: Some(1_000) };
        let start = Instant::now();
        let mut clock = EventClock::partitioned(config, 0, [0, 1, 2]);
        clock.refresh(start);
        clock.admit_from(0, 500).unwrap();
        clock.admit_from(1, 100).unwrap();
        assert_eq!(clock.frontier(), 0, "partition 2 has delivered nothing yet");
        clock.admit_from(2, 300).unwrap();
        assert_eq!(clock.frontier(), 100, "partition 1 is far behind");
        // Partitions 0 and 2 keep delivering; partition 1 goes quiet and stops holding back.
        clock.refresh(start + Duration::from_millis(900));
        clock.admit_from(0, 600).unwrap();
        clock.admit_from(2, 400).unwrap();
        assert_eq!(clock.frontier(), 100);
        clock.refresh(start + Duration::from_millis(1_500));
        assert_eq!(clock.idle().collect::<Vec<_>>(), vec![1]);
        assert_eq!(clock.frontier(), 400);
        // It rejoins with an event behind the frontier: late, applied at the frontier.
        assert_eq!(clock.admit_from(1, 150), Ok(Admission { time: 400, late: true }));
        assert_eq!(clock.idle().count(), 0);
        assert_eq!(clock.frontier(), 400, "the frontier never goes back");
        clock.admit_from(1, 700).unwrap();
        clock.admit_from(0, 800).unwrap();
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
