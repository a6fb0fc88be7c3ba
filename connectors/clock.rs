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
//! The frontier is the watermark: the largest event time seen minus
//! [`ClockConfig::max_out_of_orderness_ms`], rounded down to a tick. It only moves forward.

/// How event times become timely times.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClockConfig {
    /// Granularity of timely time in milliseconds. Coarser ticks mean fewer distinct times
    /// and so less work per event; results are exact at any tick.
    pub tick_ms: u64,
    /// How far behind the largest event time seen the watermark trails.
    pub max_out_of_orderness_ms: u64,
}

impl Default for ClockConfig {
    /// One-minute ticks, two minutes of allowed out-of-orderness.
    fn default() -> Self {
        ClockConfig { tick_ms: 60_000, max_out_of_orderness_ms: 120_000 }
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

/// Tracks one source's watermark and admits events (see the module docs).
#[derive(Clone, Debug)]
pub struct EventClock {
    config: ClockConfig,
    max_seen: Option<u64>,
    frontier: u64,
    late: u64,
}

impl EventClock {
    /// A clock whose frontier starts at `start` (usually 0, where registries are loaded).
    pub fn new(config: ClockConfig, start: u64) -> Self {
        assert!(config.tick_ms > 0, "tick must be positive");
        EventClock { config, max_seen: None, frontier: start, late: 0 }
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

    /// Admits an event with time `event_ms`, advancing the watermark past it.
    pub fn admit(&mut self, event_ms: i64) -> Admission {
        let tick = self.tick(event_ms);
        let admission = if tick < self.frontier {
            self.late += 1;
            Admission { time: self.frontier, late: true }
        } else {
            Admission { time: tick, late: false }
        };
        let ms = event_ms.max(0) as u64;
        if self.max_seen.is_none_or(|m| ms > m) {
            self.max_seen = Some(ms);
            let watermark = ms.saturating_sub(self.config.max_out_of_orderness_ms);
            self.frontier = self.frontier.max(watermark - watermark % self.config.tick_ms);
        }
        admission
    }

    /// Moves the frontier to at least `time` (e.g. when a source is idle or finished).
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
        let mut clock = EventClock::new(ClockConfig { tick_ms: 10, max_out_of_orderness_ms: 25 }, 0);
        assert_eq!(clock.admit(103), Admission { time: 100, late: false });
        assert_eq!(clock.frontier(), 70); // 103 - 25 = 78, rounded down
        assert_eq!(clock.admit(75), Admission { time: 70, late: false }); // out of order, within bound
        assert_eq!(clock.admit(69), Admission { time: 70, late: true });
        assert_eq!(clock.admit(200), Admission { time: 200, late: false });
        assert_eq!(clock.frontier(), 170);
        assert_eq!(clock.admit(150), Admission { time: 170, late: true });
        assert_eq!(clock.late(), 2);
        clock.advance_to(100); // never backwards
        assert_eq!(clock.frontier(), 170);
    }
}
