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
//!
//! One absurd timestamp (a vote "from" the year 2100) would drag the watermark with it and
//! make every later event late, so the clock refuses events outside
//! [`ClockConfig::accepted`] and events more than [`ClockConfig::max_jump_ms`] ahead of the
//! largest event time seen; the source turns those into dead letters.

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
}

impl ClockConfig {
    /// One-minute ticks, two minutes of allowed out-of-orderness, jumps of at most a day.
    pub const DEFAULT: ClockConfig =
        ClockConfig { tick_ms: 60_000, max_out_of_orderness_ms: 120_000, max_jump_ms: Some(86_400_000), accepted: None };

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

    /// Admits an event with time `event_ms`, advancing the watermark past it, or says why
    /// the time is absurd (then nothing changes).
    pub fn admit(&mut self, event_ms: i64) -> Result<Admission, String> {
        let show = crate::connectors::dataset::format_millis;
        if let Some((from, until)) = self.config.accepted {
            if event_ms < from || event_ms >= until {
                return Err(format!("{} is outside the accepted range [{}, {})", show(event_ms), show(from), show(until)));
            }
        }
        if let (Some(jump), Some(max)) = (self.config.max_jump_ms, self.max_seen) {
            if event_ms > 0 && event_ms as u64 > max.saturating_add(jump) {
                return Err(format!("{} is more than {} ms ahead of the latest event time {}", show(event_ms), jump, show(max as i64)));
            }
        }
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
        Ok(admission)
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
        let config = ClockConfig { tick_ms: 10, max_out_of_orderness_ms: 25, max_jump_ms: None, accepted: None };
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
}
