//! Votes: the daily turnout curve, party preferences, normal votes and the delivery order.

use chrono::NaiveDate;
use rand::Rng;

use super::people::{age_band, voter_id, AGE_BANDS, MAX_AGE, MIN_AGE};
use super::registry::{StationInfo, Stations, VoterInfo};
use super::sampling::Weighted;
use super::stress::{self, Stress};
use super::{names, GeneratorConfig, MINUTE_MS};
use crate::connectors::dataset::{AnomalyKind, AnomalyLabel, Candidate, PollingStation, Vote, VotingMethod};

/// What the vote phases read: election day, its turnout curve and the registry.
pub(super) struct ElectionDay<'a> {
    /// Midnight UTC of election day, in ms since the epoch.
    pub(super) start: i64,
    pub(super) curve: DayCurve,
    /// The curves of normal votes, by region and age (just `curve` without stress options).
    pub(super) curves: Curves,
    pub(super) candidates: &'a [Candidate],
    pub(super) stations: &'a [PollingStation],
    /// Per station, in the order of `stations`.
    pub(super) station_infos: &'a [StationInfo],
    /// Per registered voter, in roll order.
    pub(super) voters: &'a [VoterInfo],
}

impl<'a> ElectionDay<'a> {
    pub(super) fn new(date: NaiveDate, stress: &Stress, candidates: &'a [Candidate], stations: &'a Stations, voters: &'a [VoterInfo]) -> Self {
        ElectionDay {
            start: date.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc().timestamp_millis(),
            curve: DayCurve::new(),
            curves: Curves::new(stress),
            candidates,
            stations: &stations.records,
            station_infos: &stations.infos,
            voters,
        }
    }
}

/// The daily shape of turnout: a morning peak around 08:00 UTC, a larger evening peak around
/// 18:30 UTC and a lower midday plateau. Stored as the cumulative mass per minute of the day.
pub(super) struct DayCurve {
    /// `cdf[m]` = mass of the minutes before minute `m`; 1,441 entries.
    cdf: Vec<f64>,
}

impl DayCurve {
    pub(super) fn new() -> Self {
        Self::shaped(0.30, 0.45, 0)
    }

    /// The curve with these weights of the morning and evening peaks, shifted by `shift`
    /// minutes (peaks and plateau alike).
    pub(super) fn shaped(morning: f64, evening: f64, shift: i64) -> Self {
        let gauss = |m: f64, mu: f64, sd: f64| (-0.5 * ((m - mu) / sd).powi(2)).exp() / (sd * (2.0 * std::f64::consts::PI).sqrt());
        let mut cdf = Vec::with_capacity(1441);
        let mut total = 0.0;
        cdf.push(0.0);
        for m in 0..1440i64 {
            let mf = m as f64 + 0.5;
            let base = if (360 + shift..1260 + shift).contains(&m) { 0.25 / 900.0 } else { 0.05 / 900.0 };
            total += base + morning * gauss(mf, 480.0 + shift as f64, 45.0) + evening * gauss(mf, 1110.0 + shift as f64, 70.0);
            cdf.push(total);
        }
        DayCurve { cdf }
    }

    /// A time of day in ms inside `[open_ms, close_ms)` (both whole minutes) following the curve.
    pub(super) fn sample(&self, rng: &mut impl Rng, open_ms: i64, close_ms: i64) -> i64 {
        let open_min = (open_ms / MINUTE_MS) as usize;
        let close_min = (close_ms / MINUTE_MS) as usize;
        if close_min <= open_min {
            return open_ms;
        }
        let (lo, hi) = (self.cdf[open_min], self.cdf[close_min]);
        let u = lo + rng.random::<f64>() * (hi - lo);
        let m = self.cdf.partition_point(|&c| c <= u).saturating_sub(1).clamp(open_min, close_min - 1);
        m as i64 * MINUTE_MS + rng.random_range(0..MINUTE_MS)
    }
}

/// The turnout curves of normal votes: one, or one per region and age under the stress
/// options that shape them ([`Stress::age_timing`], [`Stress::regional_hours`]).
pub(super) struct Curves {
    curves: Vec<DayCurve>,
    regions: bool,
    ages: bool,
}

/// Ages from this one up share one curve under [`Stress::age_timing`].
const OLDEST_TIMING_AGE: u32 = 65;

impl Curves {
    fn new(stress: &Stress) -> Self {
        let ages = stress.age_timing;
        let regions = stress.regional_hours;
        let age_keys: Vec<u32> = if ages { (MIN_AGE..=OLDEST_TIMING_AGE).collect() } else { vec![MIN_AGE] };
        let region_keys = if regions { names::REGIONS.len() } else { 1 };
        let mut curves = Vec::with_capacity(region_keys * age_keys.len());
        for region in 0..region_keys {
            for &age in &age_keys {
                let (morning, evening) = stress::peaks(stress, age);
                curves.push(DayCurve::shaped(morning, evening, stress::curve_shift_min(stress, region)));
            }
        }
        Curves { curves, regions, ages }
    }

    /// The curve of a voter of `age` in `region`.
    pub(super) fn of(&self, region: usize, age: u32) -> &DayCurve {
        let per_region = if self.ages { (OLDEST_TIMING_AGE - MIN_AGE + 1) as usize } else { 1 };
        let r = if self.regions { region } else { 0 };
        let a = if self.ages { (age.clamp(MIN_AGE, OLDEST_TIMING_AGE) - MIN_AGE) as usize } else { 0 };
        &self.curves[r * per_region + a]
    }
}

/// Per-region, per-age cumulative weights over the candidates.
pub(super) struct Preferences {
    per_party: usize,
    parties: usize,
    /// `[region][age - MIN_AGE]` → weights over parties.
    table: Vec<Weighted>,
}

impl Preferences {
    pub(super) fn new(rng: &mut impl Rng, parties: usize, per_party: usize) -> Self {
        let leans: Vec<f64> = (0..parties).map(|_| rng.random_range(-1.0..1.0)).collect();
        let mut table = Vec::with_capacity(names::REGIONS.len() * (MAX_AGE - MIN_AGE + 1) as usize);
        for _ in names::REGIONS {
            // Gamma(2)-distributed regional factors: a Dirichlet-like tilt per region.
            let tilt: Vec<f64> = (0..parties)
                .map(|_| {
                    let a: f64 = 1.0 - rng.random::<f64>();
                    let b: f64 = 1.0 - rng.random::<f64>();
                    -(a.ln() + b.ln()) / 2.0
                })
                .collect();
            for age in MIN_AGE..=MAX_AGE {
                let x = (age as f64 - 50.0) / 30.0;
                table.push(Weighted::new((0..parties).map(|p| names::PARTIES[p].base_share * tilt[p] * (0.6 * leans[p] * x).exp())));
            }
        }
        Preferences { per_party, parties, table }
    }

    pub(super) fn choose(&self, rng: &mut impl Rng, region: usize, age: u32) -> u32 {
        let row = region * (MAX_AGE - MIN_AGE + 1) as usize + (age.clamp(MIN_AGE, MAX_AGE) - MIN_AGE) as usize;
        let party = self.table[row].sample(rng);
        debug_assert!(party < self.parties);
        (party * self.per_party + rng.random_range(0..self.per_party)) as u32
    }
}

pub(super) fn voting_method(rng: &mut impl Rng, age: u32) -> VotingMethod {
    let postal = if age >= 70 { 0.30 } else { 0.12 };
    let u = rng.random::<f64>();
    if u < postal {
        VotingMethod::Postal
    } else if u < postal + 0.04 {
        VotingMethod::Electronic
    } else {
        VotingMethod::InPerson
    }
}

#[derive(Clone, Copy)]
pub(super) enum VoterRef {
    Registered(u32),
    Unregistered(u32),
}

#[derive(Clone, Copy)]
pub(super) enum CandRef {
    Known(u32),
    Unknown(&'static str),
}

/// A vote before ids are assigned.
pub(super) struct Draft {
    pub(super) voter: VoterRef,
    pub(super) candidate: CandRef,
    pub(super) station: u32,
    pub(super) time: i64,
    pub(super) method: VotingMethod,
    pub(super) kind: Option<AnomalyKind>,
}

/// The chance that a voter of `age` votes, for a base `turnout`: tilted by age, with the
/// population's mean at `turnout`.
pub(super) fn turnout_at_age(turnout: f64, age: u32) -> f64 {
    let mean_factor: f64 = AGE_BANDS.iter().map(|b| b.2 * b.3).sum::<f64>() / AGE_BANDS.iter().map(|b| b.2).sum::<f64>();
    (turnout * AGE_BANDS[age_band(age)].3 / mean_factor).clamp(0.0, 1.0)
}

/// What shapes the normal votes beyond the turnout: the party count and the stress options'
/// draws (station turnout factors, each region's swing party).
pub(super) struct Shape<'a> {
    pub(super) parties: usize,
    pub(super) per_party: usize,
    pub(super) stress: &'a Stress,
    pub(super) station_factors: &'a [f64],
    pub(super) swing_parties: &'a [usize],
}

/// Normal votes: each registered voter turns out with the configured turnout, tilted by age
/// (and by their station's factor), and votes at their own station. Returns the drafts and
/// who voted, per voter.
pub(super) fn cast_normal_votes(rng: &mut impl Rng, day: &ElectionDay, turnout: f64, shape: &Shape) -> (Vec<Draft>, Vec<bool>) {
    let n_voters = day.voters.len();
    let Shape { parties, per_party, stress, station_factors, swing_parties } = *shape;
    let prefs = Preferences::new(rng, parties, per_party);
    let mut drafts: Vec<Draft> = Vec::with_capacity((n_voters as f64 * turnout.clamp(0.0, 1.0) * 1.1) as usize + 16);
    let mut voted = vec![false; n_voters];
    for (v, info) in day.voters.iter().enumerate() {
        if !rng.random_bool((turnout_at_age(turnout, info.age) * station_factors[info.station as usize]).min(1.0)) {
            continue;
        }
        voted[v] = true;
        let st = &day.station_infos[info.station as usize];
        let mut candidate = prefs.choose(rng, st.region, info.age);
        let time_of_day = day.curves.of(st.region, info.age).sample(rng, st.open_ms, st.close_ms);
        let method = voting_method(rng, info.age);
        let swing = stress::swing_chance(stress.late_swing, time_of_day);
        if swing > 0.0 && rng.random_bool(swing) {
            candidate = (swing_parties[st.region] * per_party + rng.random_range(0..per_party)) as u32;
        }
        drafts.push(Draft {
            voter: VoterRef::Registered(v as u32),
            candidate: CandRef::Known(candidate),
            station: info.station,
            time: day.start + time_of_day,
            method,
            kind: None,
        });
    }
    (drafts, voted)
}

/// Numbers the drafts `vote-00000001` onwards in event-time order, labels the anomalous ones
/// into `labels`, and returns the votes in delivery order (a share of them delayed).
pub(super) fn deliver(rng: &mut impl Rng, day: &ElectionDay, cfg: &GeneratorConfig, drafts: Vec<Draft>, labels: &mut Vec<AnomalyLabel>) -> Vec<Vote> {
    let mut by_time: Vec<u32> = (0..drafts.len() as u32).collect();
    by_time.sort_unstable_by_key(|&i| (drafts[i as usize].time, i));
    let share = cfg.out_of_order_share.clamp(0.0, 1.0);
    let mut delivered: Vec<(i64, Vote)> = Vec::with_capacity(drafts.len());
    for (rank, &i) in by_time.iter().enumerate() {
        let d = &drafts[i as usize];
        let vote_id = format!("vote-{:08}", rank + 1);
        if let Some(kind) = d.kind {
            labels.push(AnomalyLabel { kind, vote_id: Some(vote_id.clone()), polling_station_id: None, window_start: None });
        }
        let delay = if cfg.max_delay_ms > 0 && share > 0.0 && rng.random_bool(share) { rng.random_range(1..=cfg.max_delay_ms) } else { 0 };
        delivered.push((
            d.time + delay,
            Vote {
                vote_id,
                voter_id: match d.voter {
                    VoterRef::Registered(v) => voter_id(v as usize),
                    VoterRef::Unregistered(i) => super::VoterKey::Unregistered(i as u64).to_string(),
                },
                candidate_id: match d.candidate {
                    CandRef::Known(c) => day.candidates[c as usize].candidate_id.clone(),
                    CandRef::Unknown(id) => id.to_string(),
                },
                polling_station_id: day.stations[d.station as usize].polling_station_id.clone(),
                voting_time: d.time,
                voting_method: d.method,
            },
        ));
    }
    drop(drafts);
    delivered.sort_unstable_by(|a, b| (a.0, &a.1.vote_id).cmp(&(b.0, &b.1.vote_id)));
    delivered.into_iter().map(|(_, v)| v).collect()
}
