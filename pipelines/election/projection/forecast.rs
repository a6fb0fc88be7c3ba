//! The projection measured like a forecast: [`calibrate`] a [`ProjectionModel`] on generated
//! elections, then [`evaluate`] it on others, at checkpoints through the day.
//!
//! In: [`Replay`]s of generated elections (disjoint seeds for calibration and testing).
//! Out: a [`ForecastReport`]: coverage of the 90 % intervals per checkpoint, the reliability
//! of win probabilities and their Brier skill against "the current leader wins", wrong
//! calls, and times to call by final margin. Every race (the nation and each region of each
//! election) counts once per checkpoint.

use std::collections::BTreeMap;

use super::calls::{CallRules, CallStatus, RaceCall};
use super::estimate::{project, RaceProjection};
use super::model::{curve_of, ProjectionModel, BINS, BIN_MINUTES, SPREAD_MINUTES};
use super::replay::Replay;
use super::BANDS;
use crate::connectors::generator::{generate, GeneratorConfig, Stress};

/// Generated elections to calibrate on or test with.
#[derive(Clone, Debug, PartialEq)]
pub struct ElectionSet {
    /// Seeds; seed `s` has `sizes[s % sizes.len()]` voters and
    /// `parties[(s / sizes.len()) % parties.len()]` parties.
    pub seeds: std::ops::Range<u64>,
    /// Registered voters.
    pub sizes: Vec<usize>,
    /// Party counts.
    pub parties: Vec<usize>,
    /// Stress options of every election.
    pub stress: Stress,
}

impl ElectionSet {
    /// Generates the elections (on every core) and prepares them for replay. The elections
    /// have no injected anomalies: the projection is measured, not the checks.
    pub fn replays(&self) -> Vec<Replay> {
        let seeds: Vec<u64> = self.seeds.clone().collect();
        par_map(&seeds, |&seed| {
            let i = seed as usize;
            let cfg = GeneratorConfig {
                seed,
                voters: self.sizes[i % self.sizes.len()],
                parties: self.parties[(i / self.sizes.len()) % self.parties.len()],
                anomaly_share: 0.0,
                rate_spikes: 0,
                stress: self.stress,
                ..GeneratorConfig::default()
            };
            Replay::of(&generate(&cfg))
        })
    }
}

/// Maps `f` over `items` on every core, keeping the order.
fn par_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(items.len().max(1));
    let chunk = items.len().div_ceil(threads).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = items.chunks(chunk).map(|part| s.spawn(|| part.iter().map(&f).collect::<Vec<R>>())).collect();
        handles.into_iter().flat_map(|h| h.join().expect("a forecast thread panicked")).collect()
    })
}

/// Checkpoints every `step` minutes from `from` to `to` (minutes of the day, inclusive).
pub fn checkpoints(from: f64, to: f64, step: f64) -> Vec<f64> {
    (0..).map(|i| from + step * i as f64).take_while(|&m| m <= to).collect()
}

/// Fits a model: turnout curves, turnout and the station factors' spread on `fit`, then the
/// spread factors on `spread` (projected at `checkpoints`), starting from `base`'s other
/// settings (draws, seed, pooling).
pub fn calibrate(base: &ProjectionModel, fit: &[Replay], spread: &[Replay], checkpoints: &[f64]) -> ProjectionModel {
    let mut model = base.clone();
    let finals: Vec<_> = fit.iter().map(|replay| replay.tallies_at(f64::INFINITY)).collect();
    // Turnout per band.
    let mut voted = [0.0; BANDS];
    let mut registered = [0.0; BANDS];
    for tallies in &finals {
        for s in &tallies.stations {
            for b in 0..BANDS {
                voted[b] += f64::from(s.counted[b]);
                registered[b] += f64::from(s.registered[b]);
            }
        }
    }
    model.turnout = (0..BANDS).map(|b| if registered[b] > 0.0 { voted[b] / registered[b] } else { 0.65 }).collect();

    // Curves: the votes of the stations open for their region's usual hours, per bin.
    let mut counts: BTreeMap<String, Vec<Vec<f64>>> = BTreeMap::new();
    let mut pooled = vec![vec![0.0; BINS]; BANDS];
    let mut factors = Vec::new();
    for (replay, tallies) in fit.iter().zip(&finals) {
        let t = replay.empty();
        let mut usual: Vec<BTreeMap<(u16, u16), usize>> = vec![BTreeMap::new(); t.regions.len()];
        for s in &t.stations {
            *usual[s.region].entry((s.opens, s.closes)).or_default() += 1;
        }
        let usual: Vec<(u16, u16)> = usual.iter().map(|m| m.iter().max_by_key(|&(h, n)| (*n, *h)).map_or((0, 0), |(h, _)| *h)).collect();
        for &(minute, station, band, _) in replay.votes() {
            let s = &t.stations[station as usize];
            if (s.opens, s.closes) != usual[s.region] {
                continue;
            }
            let bin = ((minute / BIN_MINUTES as f64) as usize).min(BINS - 1);
            counts.entry(t.regions[s.region].to_string()).or_insert_with(|| vec![vec![0.0; BINS]; BANDS])[band as usize][bin] += 1.0;
            pooled[band as usize][bin] += 1.0;
        }
        // Station factors: final votes against the model's expectation; their variance
        // less the counting noise (Poisson, 1 / expected).
        for s in &tallies.stations {
            let expected: f64 = (0..BANDS).map(|b| f64::from(s.registered[b]) * model.turnout[b]).sum();
            if expected >= 20.0 {
                let counted: f64 = s.counted.iter().map(|&c| f64::from(c)).sum();
                factors.push((counted / expected - 1.0).powi(2) - 1.0 / expected);
            }
        }
    }
    model.curves = counts.into_iter().map(|(region, bands)| (region, bands.iter().map(|c| curve_of(c)).collect())).collect();
    model.pooled = pooled.iter().map(|c| curve_of(c)).collect();
    let variance = if factors.is_empty() { 0.01 } else { factors.iter().sum::<f64>() / factors.len() as f64 };
    model.station_shape = 1.0 / variance.max(1e-4);

    // Spread: per quarter hour, the factor that makes the 90 % intervals cover 90 %.
    model.spread = vec![1.0; model.spread.len()];
    let needed: Vec<Vec<(f64, f64)>> = par_map(spread, |replay| {
        let truth = final_shares(replay);
        let mut out = Vec::new();
        for &minute in checkpoints {
            for race in project(&model, &replay.tallies_at(minute), minute, 0.0) {
                let truth = &truth[race.region.map_or(0, |r| r + 1)];
                for (c, p) in race.choices.iter().enumerate() {
                    let miss = truth[c] - p.share;
                    let room = if miss >= 0.0 { p.share_hi - p.share } else { p.share - p.share_lo };
                    let q = if miss.abs() < 1e-12 {
                        0.0
                    } else if room > 0.0 {
                        miss.abs() / room
                    } else {
                        f64::INFINITY
                    };
                    out.push((minute, q));
                }
            }
        }
        out
    });
    let mut buckets: Vec<Vec<f64>> = vec![Vec::new(); model.spread.len()];
    for (minute, q) in needed.into_iter().flatten() {
        buckets[(minute as i64 / SPREAD_MINUTES) as usize % model.spread.len()].push(q);
    }
    let fitted: Vec<Option<f64>> = buckets
        .iter_mut()
        .map(|b| {
            if b.is_empty() {
                return None;
            }
            b.sort_by(f64::total_cmp);
            let rank = ((0.9 * (b.len() + 1) as f64).ceil() as usize).clamp(1, b.len());
            Some(b[rank - 1].min(1e3))
        })
        .collect();
    for i in 0..fitted.len() {
        // Buckets without checkpoints take the nearest fitted one.
        let nearest = (0..fitted.len()).filter(|&j| fitted[j].is_some()).min_by_key(|&j| (j as i64 - i as i64).abs());
        model.spread[i] = nearest.and_then(|j| fitted[j]).unwrap_or(1.0);
    }
    model
}

/// Final shares per race (the nation first) and choice.
fn final_shares(replay: &Replay) -> Vec<Vec<f64>> {
    replay
        .final_votes()
        .into_iter()
        .map(|votes| {
            let total: u64 = votes.iter().sum();
            votes.iter().map(|&v| if total > 0 { v as f64 / total as f64 } else { 0.0 }).collect()
        })
        .collect()
}

/// When the early leader of [`ForecastReport::flip_leads`] is taken: 09:00.
pub const MORNING: f64 = 9.0 * 60.0;

/// Final margin bins, in percentage points between the first and second.
pub const MARGINS: [&str; 3] = ["< 1 pt", "1-5 pts", "> 5 pts"];

fn margin_bin(margin_pts: f64) -> usize {
    if margin_pts < 1.0 {
        0
    } else if margin_pts <= 5.0 {
        1
    } else {
        2
    }
}

/// What [`evaluate`] measured.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ForecastReport {
    /// Races (the nation and each region of each election).
    pub races: usize,
    /// Per checkpoint (minute of the day): intervals that covered the final share, and
    /// intervals.
    pub coverage: Vec<(f64, usize, usize)>,
    /// Ten bins of win probability: (sum of probabilities, wins, count).
    pub reliability: [(f64, f64, usize); 10],
    /// Brier score sums of the projection and of "the current leader wins", and the count,
    /// over all checkpoints; and the same from 09:00 to 12:00.
    pub brier: [(f64, f64, usize); 2],
    /// Races per final-margin bin ([`MARGINS`]).
    pub races_by_margin: [usize; 3],
    /// Races called (by probability) for a choice that did not win, per margin bin.
    pub wrong_calls: [usize; 3],
    /// Races called "certain" for a choice that did not win.
    pub wrong_certain: usize,
    /// Per margin bin: the minute of the day each race was first called (or certain) for
    /// its winner.
    pub call_minutes: [Vec<f64>; 3],
    /// Races whose raw leader at [`MORNING`] lost: how many minutes before the raw count the
    /// projection's favourite settled on the winner (negative if after), and the race's
    /// final-margin bin.
    pub flip_leads: Vec<(f64, usize)>,
}

impl ForecastReport {
    /// Expected calibration error of the win probabilities (ten bins).
    pub fn calibration_error(&self) -> f64 {
        // Σ over bins of (count / n) · |mean probability − win rate| = Σ |Σp − wins| / n.
        let n: usize = self.reliability.iter().map(|b| b.2).sum();
        self.reliability.iter().map(|&(p, w, _)| (p - w).abs()).sum::<f64>() / n.max(1) as f64
    }

    /// Brier skill against "the current leader wins": over all checkpoints, and 09:00-12:00.
    pub fn brier_skill(&self) -> [f64; 2] {
        self.brier.map(|(ours, leader, _)| if leader > 0.0 { 1.0 - ours / leader } else { 0.0 })
    }

    /// Wrong probability calls as a share of all races.
    pub fn wrong_call_rate(&self) -> f64 {
        self.wrong_calls.iter().sum::<usize>() as f64 / self.races.max(1) as f64
    }

    /// Median of `values` (None if empty).
    pub fn median(values: &[f64]) -> Option<f64> {
        let mut v = values.to_vec();
        v.sort_by(f64::total_cmp);
        (!v.is_empty()).then(|| if v.len() % 2 == 1 { v[v.len() / 2] } else { (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0 })
    }

    fn absorb(&mut self, other: ForecastReport) {
        self.races += other.races;
        if self.coverage.is_empty() {
            self.coverage = other.coverage.iter().map(|&(m, _, _)| (m, 0, 0)).collect();
        }
        for (a, b) in self.coverage.iter_mut().zip(&other.coverage) {
            a.1 += b.1;
            a.2 += b.2;
        }
        for (a, b) in self.reliability.iter_mut().zip(other.reliability) {
            *a = (a.0 + b.0, a.1 + b.1, a.2 + b.2);
        }
        for (a, b) in self.brier.iter_mut().zip(other.brier) {
            *a = (a.0 + b.0, a.1 + b.1, a.2 + b.2);
        }
        for i in 0..3 {
            self.races_by_margin[i] += other.races_by_margin[i];
            self.wrong_calls[i] += other.wrong_calls[i];
            self.call_minutes[i].extend(&other.call_minutes[i]);
        }
        self.wrong_certain += other.wrong_certain;
        self.flip_leads.extend(other.flip_leads);
    }
}

impl ForecastReport {
    /// The leads of [`ForecastReport::flip_leads`] of races with a final margin in `bins`.
    pub fn flips(&self, bins: std::ops::RangeInclusive<usize>) -> Vec<f64> {
        self.flip_leads.iter().filter(|(_, m)| bins.contains(m)).map(|(lead, _)| *lead).collect()
    }
}

/// Replays each election of `replays` through `model` at `checkpoints` (minutes of the
/// day, in order), with `rules` for calls, and measures the projections against the final
/// results.
pub fn evaluate(model: &ProjectionModel, replays: &[Replay], checkpoints: &[f64], rules: &CallRules) -> ForecastReport {
    let reports = par_map(replays, |replay| evaluate_one(model, replay, checkpoints, rules));
    let mut total = ForecastReport::default();
    for report in reports {
        total.absorb(report);
    }
    total
}

fn evaluate_one(model: &ProjectionModel, replay: &Replay, checkpoints: &[f64], rules: &CallRules) -> ForecastReport {
    let finals = replay.final_votes();
    let truth = final_shares(replay);
    let races = finals.len();
    let winner: Vec<usize> = finals.iter().map(|v| (0..v.len()).max_by_key(|&c| (v[c], std::cmp::Reverse(c))).unwrap_or(0)).collect();
    let margin: Vec<usize> = truth
        .iter()
        .map(|s| {
            let mut sorted = s.clone();
            sorted.sort_by(|a, b| b.total_cmp(a));
            margin_bin(100.0 * (sorted[0] - sorted.get(1).copied().unwrap_or(0.0)))
        })
        .collect();
    let mut report = ForecastReport { races, coverage: checkpoints.iter().map(|&m| (m, 0, 0)).collect(), ..ForecastReport::default() };
    for &m in &margin {
        report.races_by_margin[m] += 1;
    }
    let mut calls = vec![RaceCall::default(); races];
    let mut wrong = vec![false; races];
    let mut wrong_certain = vec![false; races];
    let mut called_at: Vec<Option<f64>> = vec![None; races];
    // Per race, per checkpoint: (raw leader, projected favourite, share counted of final).
    let mut leaders: Vec<Vec<(usize, usize, f64)>> = vec![Vec::new(); races];
    let mut tallies = replay.empty().clone();
    let mut cursor = 0;
    for (i, &minute) in checkpoints.iter().enumerate() {
        replay.advance(&mut tallies, &mut cursor, minute);
        let projections: Vec<RaceProjection> = project(model, &tallies, minute, 0.0);
        for race in &projections {
            let r = race.region.map_or(0, |r| r + 1);
            let k = race.choices.len();
            let raw = race.counted_leader().unwrap_or(0);
            let favourite = race.favourite().unwrap_or(0);
            let final_total: u64 = finals[r].iter().sum();
            leaders[r].push((raw, favourite, race.counted as f64 / final_total.max(1) as f64));
            for (c, p) in race.choices.iter().enumerate() {
                let t = truth[r][c];
                report.coverage[i].2 += 1;
                if p.share_lo - 1e-9 <= t && t <= p.share_hi + 1e-9 {
                    report.coverage[i].1 += 1;
                }
                let won = if c == winner[r] { 1.0 } else { 0.0 };
                let bin = ((p.win_probability * 10.0) as usize).min(9);
                report.reliability[bin].0 += p.win_probability;
                report.reliability[bin].1 += won;
                report.reliability[bin].2 += 1;
                let leader_p = if race.counted == 0 {
                    1.0 / k as f64
                } else if c == raw {
                    1.0
                } else {
                    0.0
                };
                let windows: &[usize] = if (540.0..=720.0).contains(&minute) { &[0, 1] } else { &[0] };
                for &w in windows {
                    report.brier[w].0 += (p.win_probability - won).powi(2);
                    report.brier[w].1 += (leader_p - won).powi(2);
                    report.brier[w].2 += 1;
                }
            }
            let status = calls[r].update(race, &replay.empty().choices, (minute * 60_000.0) as i64, rules);
            if matches!(status, CallStatus::Called | CallStatus::Certain) {
                let for_winner = calls[r].called_for.as_ref() == Some(&replay.empty().choices[winner[r]]);
                if !for_winner {
                    if status == CallStatus::Certain {
                        wrong_certain[r] = true;
                    } else {
                        wrong[r] = true;
                    }
                } else if called_at[r].is_none() {
                    called_at[r] = Some(minute);
                }
            }
        }
    }
    for r in 0..races {
        report.wrong_calls[margin[r]] += usize::from(wrong[r]);
        report.wrong_certain += usize::from(wrong_certain[r]);
        if let Some(m) = called_at[r] {
            report.call_minutes[margin[r]].push(m);
        }
        // Flips: the morning's raw leader (at the first checkpoint from MORNING on) lost.
        let seq = &leaders[r];
        let Some(early) = checkpoints.iter().position(|&m| m >= MORNING).and_then(|i| seq.get(i)) else { continue };
        if early.0 == winner[r] {
            continue;
        }
        let settled = |pick: fn(&(usize, usize, f64)) -> usize| {
            let last_wrong = seq.iter().rposition(|l| pick(l) != winner[r]);
            checkpoints.get(last_wrong.map_or(0, |i| i + 1)).copied().unwrap_or(f64::INFINITY)
        };
        let raw_settled = settled(|l| l.0);
        let projection_settled = settled(|l| l.1);
        if raw_settled.is_finite() && projection_settled.is_finite() {
            report.flip_leads.push((raw_settled - projection_settled, margin[r]));
        }
    }
    report
}
