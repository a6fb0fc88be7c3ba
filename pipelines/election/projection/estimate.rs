//! [`project`]: the projection of every race from what is counted by a watermark.
//!
//! In: [`Tallies`] (per station: region, opening hours, registered voters and counted votes
//! per age band; per region and age band: counted votes per choice) and the watermark's
//! minute of the day. Out: one [`RaceProjection`] per race, the nation first and then each
//! region.
//!
//! Per station and age band, the share φ of the day's turnout cast before the watermark
//! comes from the model's curve of the region and band, cut to the station's hours. The
//! station's turnout factor λ has a Gamma prior of mean 1 (the model's station shape α) and
//! is updated by the station's counted votes n against the votes the model expected by now,
//! Σ E φ (E = registered × the band's turnout): λ ~ Gamma(α + n, α + Σ E φ). The remaining
//! votes are λ E (1 − φ), at most the band's voters who have not voted. A region's shares in
//! a band are its counted shares pulled toward the national shares of the band by the
//! model's pooling pseudo-votes.
//!
//! The uncertainty comes from seeded draws, per region: one normal factor on its remaining
//! votes (station factors and turnout noise, shared by the region's stations), and a normal
//! split of them over the choices whose covariance is the sum over age bands of the
//! Dirichlet-multinomial's (the unknown shares and the sampling of the remaining voters),
//! drawn through its Cholesky factor. The nation is the sum of its regions' draws. Draws are pulled away from (or toward) the projection by the model's
//! spread factor for the time of day; the 90 % interval is their 5th to 95th percentile, and
//! a choice's win probability the share of draws in which it leads.

use super::model::{share_before, ProjectionModel};
use super::sampling::{stream, Normals};
use super::BANDS;
use crate::pipelines::election::model::Id;

/// A polling station as the projection sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StationTally {
    /// Index into [`Tallies::regions`].
    pub region: usize,
    /// Opening minute of the day.
    pub opens: u16,
    /// Closing minute of the day (exclusive).
    pub closes: u16,
    /// Registered voters per age band.
    pub registered: [u32; BANDS],
    /// Counted votes per age band.
    pub counted: [u32; BANDS],
}

/// What is counted by a watermark, as the projection needs it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tallies {
    /// Region names, in order.
    pub regions: Vec<Id>,
    /// What the races are between (candidate ids or parties), in order.
    pub choices: Vec<Id>,
    /// Every polling station.
    pub stations: Vec<StationTally>,
    /// Counted votes per region, age band and choice, at
    /// `(region * BANDS + band) * choices.len() + choice`.
    pub votes: Vec<u64>,
}

impl Tallies {
    /// Empty tallies of these regions and choices.
    pub fn new(regions: Vec<Id>, choices: Vec<Id>) -> Self {
        let votes = vec![0; regions.len() * BANDS * choices.len()];
        Tallies { regions, choices, stations: Vec::new(), votes }
    }

    /// The index of a cell of [`Tallies::votes`].
    pub fn cell(&self, region: usize, band: usize, choice: usize) -> usize {
        (region * BANDS + band) * self.choices.len() + choice
    }

    /// The race between parties, if a party has more than one of the choices (`parties[c]`
    /// is choice `c`'s party): the same stations, the parties (in name order) as choices.
    pub fn by_party(&self, parties: &[Id]) -> Option<Tallies> {
        let names: Vec<Id> = parties.iter().cloned().collect::<std::collections::BTreeSet<_>>().into_iter().collect();
        if names.len() == parties.len() {
            return None;
        }
        let mut out = Tallies { regions: self.regions.clone(), choices: names, stations: self.stations.clone(), votes: Vec::new() };
        out.votes = vec![0; self.regions.len() * BANDS * out.choices.len()];
        let party_of: Vec<usize> = parties.iter().map(|p| out.choices.binary_search(p).expect("every party is a choice")).collect();
        for region in 0..self.regions.len() {
            for band in 0..BANDS {
                for (c, &party) in party_of.iter().enumerate() {
                    let cell = out.cell(region, band, party);
                    out.votes[cell] += self.votes[self.cell(region, band, c)];
                }
            }
        }
        Some(out)
    }
}

/// One choice in one race.
#[derive(Clone, Debug, PartialEq)]
pub struct ChoiceProjection {
    /// Votes counted.
    pub counted: u64,
    /// Projected final votes.
    pub votes: f64,
    /// 90 % interval of the final votes.
    pub votes_lo: f64,
    /// 90 % interval of the final votes.
    pub votes_hi: f64,
    /// Projected final share of the race's votes.
    pub share: f64,
    /// 90 % interval of the final share.
    pub share_lo: f64,
    /// 90 % interval of the final share.
    pub share_hi: f64,
    /// Probability of finishing first.
    pub win_probability: f64,
}

/// One race: the nation or a region.
#[derive(Clone, Debug, PartialEq)]
pub struct RaceProjection {
    /// The region, or `None` for the nation.
    pub region: Option<usize>,
    /// Votes counted.
    pub counted: u64,
    /// Votes expected in all: counted plus projected.
    pub expected: f64,
    /// Votes still possible: registered voters who have not voted at stations that are
    /// open, or closed less than the allowed lateness ago.
    pub still_possible: u64,
    /// Per choice, in the order of [`Tallies::choices`].
    pub choices: Vec<ChoiceProjection>,
}

impl RaceProjection {
    /// The choice with the most counted votes (the first of a tie), if there is a choice.
    pub fn counted_leader(&self) -> Option<usize> {
        (0..self.choices.len()).max_by_key(|&c| (self.choices[c].counted, std::cmp::Reverse(c)))
    }

    /// The choice most likely to win (the first of a tie), if there is a choice.
    pub fn favourite(&self) -> Option<usize> {
        (0..self.choices.len()).max_by(|&a, &b| self.choices[a].win_probability.total_cmp(&self.choices[b].win_probability).then(b.cmp(&a)))
    }
}

/// What one region adds up to, before the draws.
#[derive(Default)]
struct RegionSum {
    /// Projected remaining votes per band.
    remaining: [f64; BANDS],
    /// Variance of the region's remaining votes.
    variance: f64,
    /// Voters who have not voted at stations still open.
    unvoted: f64,
    still_possible: u64,
}

/// Projects every race as of `minute` of election day (all votes cast before it counted),
/// with votes up to `lateness` minutes after a station's close still possible. See the
/// [module documentation](self).
#[allow(clippy::needless_range_loop)] // index arithmetic over regions, bands and choices
pub fn project(model: &ProjectionModel, tallies: &Tallies, minute: f64, lateness: f64) -> Vec<RaceProjection> {
    let k = tallies.choices.len();
    let n_regions = tallies.regions.len();
    let mut sums: Vec<RegionSum> = (0..n_regions).map(|_| RegionSum::default()).collect();
    let alpha = model.station_shape;
    for station in &tallies.stations {
        let region = &tallies.regions[station.region];
        let (opens, closes) = (f64::from(station.opens), f64::from(station.closes));
        let mut expected_by_now = 0.0;
        let mut expected_rest = [0.0; BANDS];
        let mut counted = 0.0;
        let mut unvoted_total = 0;
        for band in 0..BANDS {
            let e = f64::from(station.registered[band]) * model.turnout[band];
            let phi = share_before(model.curve(region, band), opens, closes, minute);
            expected_by_now += e * phi;
            expected_rest[band] = e * (1.0 - phi);
            counted += f64::from(station.counted[band]);
        }
        let factor = (alpha + counted) / (alpha + expected_by_now);
        let factor_var = factor / (alpha + expected_by_now);
        let sum = &mut sums[station.region];
        let mut rest_total = 0.0;
        let mut expected_rest_total = 0.0;
        for band in 0..BANDS {
            let unvoted_electors = station.registered[band].saturating_sub(station.counted[band]);
            unvoted_total += u64::from(unvoted_electors);
            let unvoted = f64::from(unvoted_electors);
            let rest = (factor * expected_rest[band]).min(unvoted);
            sum.remaining[band] += rest;
            rest_total += rest;
            expected_rest_total += expected_rest[band];
            if minute < closes {
                sum.unvoted += unvoted;
            }
        }
        sum.variance += rest_total + expected_rest_total * expected_rest_total * factor_var;
        if minute < closes + lateness {
            sum.still_possible += unvoted_total;
        }
    }

    // Shares per region and band: counted, pulled toward the nation's in the band.
    let mut national = vec![0.0; BANDS * k];
    for region in 0..n_regions {
        for band in 0..BANDS {
            for c in 0..k {
                national[band * k + c] += tallies.votes[tallies.cell(region, band, c)] as f64;
            }
        }
    }
    let mut means = vec![0.0; n_regions * BANDS * k];
    // Per region: the covariance of its remaining votes' split over the choices, the sum of
    // each band's Dirichlet-multinomial covariance.
    let mut covariance = vec![0.0; n_regions * k * k];
    for band in 0..BANDS {
        let nat = &national[band * k..(band + 1) * k];
        let nat_total: f64 = nat.iter().sum();
        let prior: Vec<f64> = nat.iter().map(|&v| (v + 1.0) / (nat_total + k as f64)).collect();
        for region in 0..n_regions {
            let counted: f64 = (0..k).map(|c| tallies.votes[tallies.cell(region, band, c)] as f64).sum();
            let a0 = counted + model.pooling;
            for c in 0..k {
                means[tallies.cell(region, band, c)] = (tallies.votes[tallies.cell(region, band, c)] as f64 + model.pooling * prior[c]) / a0;
            }
            // The Dirichlet-multinomial: rest · (a0 + rest) / (a0 + 1) · (diag(p) − p pᵀ).
            let rest = sums[region].remaining[band];
            if rest > 0.0 {
                let scale = rest * (a0 + rest) / (a0 + 1.0);
                let p = &means[tallies.cell(region, band, 0)..tallies.cell(region, band, 0) + k];
                let cov = &mut covariance[region * k * k..(region + 1) * k * k];
                for i in 0..k {
                    for j in 0..k {
                        cov[i * k + j] += scale * (if i == j { p[i] } else { 0.0 } - p[i] * p[j]);
                    }
                }
            }
        }
    }

    // Per race (race 0 is the nation) and choice: counted and projected votes. Per region:
    // the remaining votes' expected split, and the Cholesky factor of the split's
    // covariance over the first k − 1 choices (the last one takes the rest: the split's
    // noise sums to zero).
    let races = n_regions + 1;
    let mut counted = vec![0u64; races * k];
    let mut projected = vec![0.0; races * k];
    let mut remaining = vec![0.0; n_regions * k];
    let mut factors = vec![0.0; n_regions * k * k];
    for region in 0..n_regions {
        for band in 0..BANDS {
            let rest = sums[region].remaining[band];
            for c in 0..k {
                let v = tallies.votes[tallies.cell(region, band, c)];
                counted[(region + 1) * k + c] += v;
                counted[c] += v;
                remaining[region * k + c] += rest * means[tallies.cell(region, band, c)];
            }
        }
        for c in 0..k {
            let p = counted[(region + 1) * k + c] as f64 + remaining[region * k + c];
            projected[(region + 1) * k + c] = p;
            projected[c] += p;
        }
        cholesky(&covariance[region * k * k..(region + 1) * k * k], k, k.saturating_sub(1), &mut factors[region * k * k..(region + 1) * k * k]);
    }

    // The draws: votes per race and choice.
    let draws = model.draws.max(1);
    let mut drawn = vec![0.0; draws * races * k];
    let mut rng = Normals::new(stream(model.seed, (minute * 60_000.0) as i64));
    let mut z = vec![0.0; k];
    for d in 0..draws {
        let row = &mut drawn[d * races * k..(d + 1) * races * k];
        for region in 0..n_regions {
            let sum = &sums[region];
            let total: f64 = sum.remaining.iter().sum();
            if total <= 0.0 {
                for c in 0..k {
                    let v = counted[(region + 1) * k + c] as f64;
                    row[(region + 1) * k + c] += v;
                    row[c] += v;
                }
                continue;
            }
            let scale = (1.0 + rng.next() * sum.variance.sqrt() / total).clamp(0.0, (sum.unvoted / total).max(1.0));
            let factor = &factors[region * k * k..(region + 1) * k * k];
            let m = k.saturating_sub(1);
            for zi in z.iter_mut().take(m) {
                *zi = rng.next();
            }
            let mut rest_noise = 0.0;
            for c in 0..k {
                let noise = if c < m {
                    let e: f64 = (0..=c).map(|j| factor[c * k + j] * z[j]).sum();
                    rest_noise -= e;
                    e
                } else {
                    rest_noise
                };
                let v = counted[(region + 1) * k + c] as f64 + (scale * remaining[region * k + c] + noise).max(0.0);
                row[(region + 1) * k + c] += v;
                row[c] += v;
            }
        }
    }

    let spread = model.spread_at(minute as i64);
    (0..races)
        .map(|race| {
            let proj = &projected[race * k..(race + 1) * k];
            let total: f64 = proj.iter().sum();
            let share = |v: f64, t: f64| if t > 0.0 { v / t } else { 1.0 / k as f64 };
            let mut votes_draws = vec![Vec::with_capacity(draws); k];
            let mut share_draws = vec![Vec::with_capacity(draws); k];
            let mut wins = vec![0.0; k];
            for d in 0..draws {
                let row = &drawn[(d * races + race) * k..(d * races + race + 1) * k];
                let t: f64 = row.iter().sum();
                let mut best = (f64::NEG_INFINITY, 0);
                for c in 0..k {
                    let s = share(proj[c], total) + spread * (share(row[c], t) - share(proj[c], total));
                    votes_draws[c].push(proj[c] + spread * (row[c] - proj[c]));
                    share_draws[c].push(s);
                    if s > best.0 {
                        best = (s, c);
                    }
                }
                wins[best.1] += 1.0;
            }
            let region = race.checked_sub(1);
            let still_possible = match region {
                Some(r) => sums[r].still_possible,
                None => sums.iter().map(|s| s.still_possible).sum(),
            };
            let counted_race = &counted[race * k..(race + 1) * k];
            let choices = (0..k)
                .map(|c| {
                    let (votes_lo, votes_hi) = interval(&mut votes_draws[c]);
                    let (share_lo, share_hi) = interval(&mut share_draws[c]);
                    ChoiceProjection {
                        counted: counted_race[c],
                        votes: proj[c],
                        votes_lo: votes_lo.max(counted_race[c] as f64),
                        votes_hi: votes_hi.max(counted_race[c] as f64),
                        share: share(proj[c], total),
                        share_lo: share_lo.clamp(0.0, 1.0),
                        share_hi: share_hi.clamp(0.0, 1.0),
                        win_probability: wins[c] / draws as f64,
                    }
                })
                .collect();
            RaceProjection { region, counted: counted_race.iter().sum(), expected: total, still_possible, choices }
        })
        .collect()
}

/// The lower Cholesky factor of the leading `m` × `m` block of the `k` × `k` matrix `a`
/// into `l` (row-major, stride `k`), with pivots below a small floor treated as zero.
fn cholesky(a: &[f64], k: usize, m: usize, l: &mut [f64]) {
    let floor = 1e-9 * (0..m).map(|i| a[i * k + i]).fold(0.0, f64::max);
    for i in 0..m {
        for j in 0..=i {
            let s: f64 = a[i * k + j] - (0..j).map(|t| l[i * k + t] * l[j * k + t]).sum::<f64>();
            l[i * k + j] = if i == j {
                if s > floor {
                    s.sqrt()
                } else {
                    0.0
                }
            } else if l[j * k + j] > 0.0 {
                s / l[j * k + j]
            } else {
                0.0
            };
        }
    }
}

/// The 5th and 95th percentiles of `draws` (reordered in place).
fn interval(draws: &mut [f64]) -> (f64, f64) {
    let rank = |q: f64| ((q * (draws.len() - 1) as f64).round() as usize).min(draws.len() - 1);
    let (lo, hi) = (rank(0.05), rank(0.95));
    let (below, &mut high, _) = draws.select_nth_unstable_by(hi, f64::total_cmp);
    let low = if lo < hi { *below.select_nth_unstable_by(lo, f64::total_cmp).1 } else { high };
    (low, high)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_party_race_adds_up_its_candidates_votes() {
        let mut t = Tallies::new(vec!["North".into(), "South".into()], vec!["c1".into(), "c2".into(), "c3".into()]);
        for (region, band, choice, n) in [(0, 0, 0, 5), (0, 0, 2, 7), (0, 3, 1, 4), (1, 5, 2, 1), (1, 5, 0, 2)] {
            let cell = t.cell(region, band, choice);
            t.votes[cell] = n;
        }
        assert_eq!(t.by_party(&["Red".into(), "Blue".into(), "Green".into()]), None, "one candidate per party: no race of parties");
        let parties = t.by_party(&["Red".into(), "Blue".into(), "Red".into()]).expect("Red has two candidates");
        assert_eq!(parties.choices, vec![Id::from("Blue"), Id::from("Red")]);
        let votes = |region, band, party| parties.votes[parties.cell(region, band, party)];
        assert_eq!((votes(0, 0, 1), votes(0, 0, 0), votes(0, 3, 0), votes(1, 5, 1)), (12, 0, 4, 3));
        assert_eq!(parties.votes.iter().sum::<u64>(), t.votes.iter().sum::<u64>());
    }
}
