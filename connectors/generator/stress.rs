//! [`Stress`]: options that make an election hard to project, all off by default.
//!
//! By default every vote's time comes from one daily curve, independent of the voter's age,
//! party and region, so the votes counted so far at a station are a fair sample of its day
//! and extrapolating each station is unbiased. Each option breaks that in one way a real
//! election night does:
//!
//! - **A** [`Stress::age_timing`]: older voters vote in the morning, younger ones in the
//!   evening (the morning peak's weight rises from 0.10 at 18 to 0.60 at 65 and over, the
//!   evening peak's falls from 0.65 to 0.15). Party choice depends on age, so early leads
//!   mislead.
//! - **B** [`Stress::regional_hours`]: each region's day is shifted by a fixed amount (the
//!   same in every election, see [`REGIONAL_SHIFTS`]): its stations' opening hours by up to an
//!   hour either way, and its turnout curve by up to 90 minutes.
//! - **C** [`Stress::station_shock`]: each station's turnout is multiplied by a log-normal
//!   factor with this σ (and mean 1), drawn per election.
//! - **D** [`Stress::late_swing`]: from 16:00 UTC, in each region, a share of voters rising
//!   by the hour to this value (reached at 19:00) votes for a party drawn per region and
//!   election instead of their own choice.
//!
//! Each option draws from random streams of its own, so the elections made with every
//! option off are the same as before the options existed.

use rand::Rng;

use super::names;

/// Options that make an election hard to project; see the [module documentation](self).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Stress {
    /// A: turnout time depends on age (older voters in the morning).
    pub age_timing: bool,
    /// B: opening hours and turnout curves shifted by region ([`REGIONAL_SHIFTS`]).
    pub regional_hours: bool,
    /// C: σ of a log-normal turnout factor per station; 0 for none (0.15 is a strong shock).
    pub station_shock: f64,
    /// D: share of a region's voters who swing to the region's swing party from 19:00 UTC
    /// (a third of it from 16:00, two thirds from 17:00, ...); 0 for none (0.04 moves about
    /// two points).
    pub late_swing: f64,
}

impl Stress {
    /// Every option on, at the strength the projection is evaluated with.
    pub const ALL: Stress = Stress { age_timing: true, regional_hours: true, station_shock: 0.15, late_swing: 0.04 };
}

/// Per region (in the order of the generator's regions), under [`Stress::regional_hours`]:
/// the shift of its stations' opening hours, in hours, and of its turnout curve, in minutes.
pub const REGIONAL_SHIFTS: [(i64, i64); 12] = [
    (0, 30),   // North East
    (0, 45),   // North West
    (0, 0),    // Yorkshire and the Humber
    (0, -30),  // East Midlands
    (0, 0),    // West Midlands
    (-1, -60), // East of England
    (1, 90),   // London
    (0, -45),  // South East
    (-1, -60), // South West
    (1, 60),   // Scotland
    (0, 0),    // Wales
    (1, 30),   // Northern Ireland
];

/// When the late swing starts (UTC time of day, ms) and how long it takes to reach full size.
pub(super) const SWING_START_MS: i64 = 16 * 3_600_000;
const SWING_RAMP_HOURS: i64 = 3;

/// The weights of the turnout curve's morning and evening peaks for a voter of `age`.
pub(super) fn peaks(stress: &Stress, age: u32) -> (f64, f64) {
    if !stress.age_timing {
        return (0.30, 0.45);
    }
    let t = (age.clamp(18, 65) - 18) as f64 / (65 - 18) as f64;
    (0.10 + 0.50 * t, 0.65 - 0.50 * t)
}

/// The opening-hours shift of `region`, in ms.
pub(super) fn hours_shift_ms(stress: &Stress, region: usize) -> i64 {
    if stress.regional_hours {
        REGIONAL_SHIFTS[region].0 * 3_600_000
    } else {
        0
    }
}

/// The turnout-curve shift of `region`, in minutes.
pub(super) fn curve_shift_min(stress: &Stress, region: usize) -> i64 {
    if stress.regional_hours {
        REGIONAL_SHIFTS[region].1
    } else {
        0
    }
}

/// Per station, the factor its voters' turnout is multiplied by (all 1 without shocks).
pub(super) fn station_factors(rng: &mut impl Rng, sigma: f64, stations: usize) -> Vec<f64> {
    if sigma <= 0.0 {
        return vec![1.0; stations];
    }
    (0..stations)
        .map(|_| {
            // Box-Muller: one standard normal per station.
            let (u, v): (f64, f64) = (1.0 - rng.random::<f64>(), rng.random::<f64>());
            let z = (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos();
            (sigma * z - sigma * sigma / 2.0).exp()
        })
        .collect()
}

/// Per region, the party its late swing goes to.
pub(super) fn swing_parties(rng: &mut impl Rng, parties: usize) -> Vec<usize> {
    names::REGIONS.iter().map(|_| rng.random_range(0..parties)).collect()
}

/// The chance that a vote cast at `time_of_day_ms` swings, under a late swing of `size`.
pub(super) fn swing_chance(size: f64, time_of_day_ms: i64) -> f64 {
    if size <= 0.0 || time_of_day_ms < SWING_START_MS {
        return 0.0;
    }
    let hours = (time_of_day_ms - SWING_START_MS) / 3_600_000 + 1;
    size * hours.min(SWING_RAMP_HOURS) as f64 / SWING_RAMP_HOURS as f64
}
