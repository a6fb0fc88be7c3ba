//! [`ProjectionModel`]: what the projection learns from calibration elections, never from
//! the election it projects: turnout curves by region and age band, turnout by age band,
//! how much stations' turnout varies, and how far to widen its draws at each time of day.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::BANDS;

/// Minutes per bin of a turnout curve.
pub const BIN_MINUTES: i64 = 15;
/// Bins of a day.
pub const BINS: usize = (24 * 60 / BIN_MINUTES) as usize;
/// Minutes per entry of [`ProjectionModel::spread`].
pub const SPREAD_MINUTES: i64 = 15;

/// A cumulative turnout curve over the day: `cdf[b]` is the share of a day's votes cast
/// before bin `b` ([`BINS`]` + 1` entries from 0 to 1), linear inside a bin.
pub type Curve = Vec<f64>;

/// The learned parameters of the projection; see the [module documentation](self).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProjectionModel {
    /// Per region name, per age band: the turnout curve of the region's usual opening hours.
    pub curves: BTreeMap<String, Vec<Curve>>,
    /// Per age band: the curve over every region, for regions the calibration did not see.
    pub pooled: Vec<Curve>,
    /// Per age band: the share of registered voters who vote.
    pub turnout: Vec<f64>,
    /// Shape (and rate) of the Gamma prior of a station's turnout factor: 1/σ² of the
    /// factors seen in calibration.
    pub station_shape: f64,
    /// Pseudo-votes that pull a region's shares in an age band toward the national shares
    /// of that band while it has few votes.
    pub pooling: f64,
    /// Per [`SPREAD_MINUTES`] of the day: the factor the draws' spread around the projection
    /// is scaled by, fitted so that 90 % intervals cover 90 % of calibration outcomes.
    pub spread: Vec<f64>,
    /// Monte Carlo draws per projection.
    pub draws: usize,
    /// Seed of the draws (each projection's stream is a function of it, the race and the
    /// watermark).
    pub seed: u64,
}

impl ProjectionModel {
    /// A model that knows nothing of the day: flat curves, 65 % turnout, station factors
    /// with σ 0.1, spread factor 1. Calibration starts here.
    pub fn uninformed() -> Self {
        let flat: Curve = (0..=BINS).map(|b| b as f64 / BINS as f64).collect();
        ProjectionModel {
            curves: BTreeMap::new(),
            pooled: vec![flat; BANDS],
            turnout: vec![0.65; BANDS],
            station_shape: 100.0,
            pooling: 20.0,
            spread: vec![1.0; (24 * 60 / SPREAD_MINUTES) as usize],
            draws: 1_000,
            seed: 0x5eed,
        }
    }

    /// The model fitted on calibration elections of the generator with every stress option
    /// but the late swing (see [`super::forecast`]), as shipped with ballotflow.
    pub fn embedded() -> Self {
        serde_json::from_str(include_str!("embedded_model.json")).expect("the embedded projection model parses")
    }

    /// The curve of `region` and age `band`.
    pub fn curve(&self, region: &str, band: usize) -> &Curve {
        self.curves.get(region).map_or(&self.pooled[band], |bands| &bands[band])
    }

    /// The spread factor at `minute` of the day.
    pub fn spread_at(&self, minute: i64) -> f64 {
        let i = (minute.clamp(0, 24 * 60 - 1) / SPREAD_MINUTES) as usize;
        self.spread.get(i).copied().unwrap_or(1.0)
    }
}

/// The curve's value at `minute` of the day (0 before the day, 1 after it).
pub fn cdf_at(curve: &Curve, minute: f64) -> f64 {
    let x = (minute / BIN_MINUTES as f64).clamp(0.0, BINS as f64);
    let b = (x.floor() as usize).min(BINS - 1);
    curve[b] + (curve[b + 1] - curve[b]) * (x - b as f64)
}

/// The share of a station's day, open from `opens` to `closes` (minutes), that lies before
/// `minute`, under `curve`.
pub fn share_before(curve: &Curve, opens: f64, closes: f64, minute: f64) -> f64 {
    if minute <= opens {
        return 0.0;
    }
    if minute >= closes {
        return 1.0;
    }
    let (lo, hi) = (cdf_at(curve, opens), cdf_at(curve, closes));
    if hi <= lo {
        return (minute - opens) / (closes - opens);
    }
    ((cdf_at(curve, minute) - lo) / (hi - lo)).clamp(0.0, 1.0)
}

/// Turns per-bin counts into a cumulative curve (flat if there are none).
pub fn curve_of(counts: &[f64]) -> Curve {
    let total: f64 = counts.iter().sum();
    let mut cdf = Vec::with_capacity(counts.len() + 1);
    let mut acc = 0.0;
    cdf.push(0.0);
    for (b, c) in counts.iter().enumerate() {
        acc += if total > 0.0 { c / total } else { 1.0 / counts.len() as f64 };
        cdf.push(if b + 1 == counts.len() { 1.0 } else { acc.min(1.0) });
    }
    cdf
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_follow_the_curve_inside_opening_hours() {
        let mut counts = vec![0.0; BINS];
        counts[6 * 4..21 * 4].iter_mut().for_each(|c| *c = 1.0);
        let curve = curve_of(&counts);
        assert_eq!(cdf_at(&curve, 0.0), 0.0);
        assert_eq!(cdf_at(&curve, 24.0 * 60.0), 1.0);
        assert!((share_before(&curve, 360.0, 1260.0, 810.0) - 0.5).abs() < 1e-9);
        assert!((share_before(&curve, 420.0, 1260.0, 840.0) - 0.5).abs() < 1e-9);
        assert_eq!(share_before(&curve, 360.0, 1260.0, 300.0), 0.0);
        assert_eq!(share_before(&curve, 360.0, 1260.0, 1300.0), 1.0);
    }
}
