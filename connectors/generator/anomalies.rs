//! Injected anomalies: rate-spike bursts and per-vote anomalies of each kind, with the kind
//! names their labels carry.

use rand::seq::IndexedRandom;
use rand::Rng;

use super::registry::StationInfo;
use super::votes::{voting_method, CandRef, Draft, ElectionDay, VoterRef};
use super::{GeneratorConfig, DAY_MS, MINUTE_MS};
use crate::connectors::dataset::{AnomalyKind, AnomalyLabel, VotingMethod};

/// Width of a rate-spike window.
pub(super) const WINDOW_MS: i64 = 5 * MINUTE_MS;

/// Rate spikes: ballot stuffing by a station's abstainers inside one quiet 5-minute window.
/// `requested` is [`GeneratorConfig::rate_spikes`]. Appends the burst votes to `drafts` and
/// returns one label per burst.
pub(super) fn inject_rate_spikes(rng: &mut impl Rng, day: &ElectionDay, requested: usize, drafts: &mut Vec<Draft>, voted: &mut [bool]) -> Vec<AnomalyLabel> {
    let n_stations = day.stations.len();
    let n_spikes = if requested == GeneratorConfig::AUTO_RATE_SPIKES { (n_stations / 50).max(1) } else { requested }.min(n_stations);
    let mut labels = Vec::new();
    if n_spikes == 0 {
        return labels;
    }
    let abstainers = abstainers_by_station(day, voted);
    let windows = window_counts(day, drafts);
    for (s, size) in spike_stations(rng, &windows, &abstainers, n_spikes) {
        let window_start = day.start + spike_window(rng, &day.station_infos[s]);
        let candidate = CandRef::Known(rng.random_range(0..day.candidates.len() as u32));
        let pool = &abstainers[s];
        for i in rand::seq::index::sample(rng, pool.len(), size) {
            let v = pool[i];
            voted[v as usize] = true;
            drafts.push(Draft {
                voter: VoterRef::Registered(v),
                candidate,
                station: s as u32,
                time: window_start + rng.random_range(0..WINDOW_MS),
                method: VotingMethod::InPerson,
                kind: None,
            });
        }
        labels.push(AnomalyLabel {
            kind: AnomalyKind::RateSpike,
            vote_id: None,
            polling_station_id: Some(day.stations[s].polling_station_id.clone()),
            window_start: Some(window_start),
        });
    }
    labels
}

/// The time of day a rate-spike burst at station `st` starts: an aligned 5-minute window
/// between 10:00 and 15:00 UTC inside its opening hours, or anywhere in them if none is.
pub(super) fn spike_window(rng: &mut impl Rng, st: &StationInfo) -> i64 {
    let first = |t: i64| (t + WINDOW_MS - 1).div_euclid(WINDOW_MS) * WINDOW_MS;
    let (mut lo, mut hi) = (first(st.open_ms.max(10 * 3_600_000)), st.close_ms.min(15 * 3_600_000));
    if lo + WINDOW_MS > hi {
        (lo, hi) = (first(st.open_ms), st.close_ms);
    }
    let slots = ((hi - lo) / WINDOW_MS).max(1);
    lo + rng.random_range(0..slots) * WINDOW_MS
}

/// A time of day within 90 minutes before station `st` opens or after it closes; `None` if
/// it is open around the clock.
pub(super) fn outside_hours_time(rng: &mut impl Rng, st: &StationInfo) -> Option<i64> {
    let before = st.open_ms.min(90 * MINUTE_MS);
    let after = (DAY_MS - st.close_ms).min(90 * MINUTE_MS);
    if before > 0 && (after <= 0 || rng.random_bool(0.5)) {
        Some(st.open_ms - rng.random_range(1..=before))
    } else if after > 0 {
        Some(st.close_ms + rng.random_range(0..after))
    } else {
        None
    }
}

/// Per station: the registered voters who have not voted, in roll order.
fn abstainers_by_station(day: &ElectionDay, voted: &[bool]) -> Vec<Vec<u32>> {
    let mut abstainers: Vec<Vec<u32>> = vec![Vec::new(); day.stations.len()];
    for (v, info) in day.voters.iter().enumerate() {
        if !voted[v] {
            abstainers[info.station as usize].push(v as u32);
        }
    }
    abstainers
}

/// Per station: the number of `drafts` in each aligned 5-minute window of its opening hours.
fn window_counts(day: &ElectionDay, drafts: &[Draft]) -> Vec<Vec<u32>> {
    let mut windows: Vec<Vec<u32>> = day.station_infos.iter().map(|s| vec![0; ((s.close_ms - s.open_ms).max(0) / WINDOW_MS) as usize]).collect();
    for d in drafts {
        let s = &day.station_infos[d.station as usize];
        let w = ((d.time - day.start - s.open_ms) / WINDOW_MS) as usize;
        if let Some(c) = windows[d.station as usize].get_mut(w) {
            *c += 1;
        }
    }
    windows
}

/// Up to `n_spikes` distinct stations that can cast a burst, with the burst size of each:
/// in random order those with enough abstainers for the wanted size, then those with fewer.
fn spike_stations(rng: &mut impl Rng, windows: &[Vec<u32>], abstainers: &[Vec<u32>], n_spikes: usize) -> Vec<(usize, usize)> {
    // Per station: (wanted burst size, least size that is 10x the median window even
    // after the burst is added).
    let mut order: Vec<usize> = (0..windows.len()).collect();
    rand::seq::SliceRandom::shuffle(&mut order[..], rng);
    let mut preferred = Vec::new();
    let mut fallback = Vec::new();
    for &s in &order {
        let mut counts = windows[s].clone();
        if counts.is_empty() {
            continue;
        }
        counts.sort_unstable();
        let upper = counts[(counts.len() / 2 + 1).min(counts.len() - 1)] as usize;
        let least = 10 * upper + 1;
        let wanted = rng.random_range(30..=60usize).max(least);
        let available = abstainers[s].len();
        if available >= wanted {
            preferred.push((s, wanted));
        } else if available >= least {
            fallback.push((s, available));
        }
    }
    fallback.sort_by_key(|&(s, available)| (std::cmp::Reverse(available), s));
    preferred.into_iter().chain(fallback).take(n_spikes).collect()
}

/// Per-vote anomalies: `anomaly_share` of the `n_normal` normal votes (the first drafts) of
/// each kind, appended to `drafts` kind by kind.
pub(super) fn inject_vote_anomalies(rng: &mut impl Rng, day: &ElectionDay, anomaly_share: f64, n_normal: usize, drafts: &mut Vec<Draft>) {
    let (n_voters, n_stations) = (day.voters.len(), day.stations.len());
    let per_kind = if anomaly_share > 0.0 && n_stations > 0 {
        let n = (anomaly_share * n_normal as f64).round() as usize;
        if n_voters >= 100 {
            n.max(1)
        } else {
            n
        }
    } else {
        0
    };
    unregistered_voters(rng, day, per_kind, drafts);
    if n_voters > 0 {
        unknown_candidates(rng, day, per_kind, drafts);
        if n_stations >= 2 {
            station_mismatches(rng, day, per_kind, drafts);
        }
        outside_hours(rng, day, per_kind, drafts);
        duplicate_votes(rng, day, per_kind, n_normal, drafts);
    }
}

fn unregistered_voters(rng: &mut impl Rng, day: &ElectionDay, n: usize, drafts: &mut Vec<Draft>) {
    let n_cands = day.candidates.len() as u32;
    for i in 0..n {
        let s = rng.random_range(0..day.stations.len());
        let st = &day.station_infos[s];
        drafts.push(Draft {
            voter: VoterRef::Unregistered(i as u32),
            candidate: CandRef::Known(rng.random_range(0..n_cands)),
            station: s as u32,
            time: day.start + day.curve.sample(rng, st.open_ms, st.close_ms),
            method: voting_method(rng, 40),
            kind: Some(AnomalyKind::UnregisteredVoter),
        });
    }
}

fn unknown_candidates(rng: &mut impl Rng, day: &ElectionDay, n: usize, drafts: &mut Vec<Draft>) {
    let unknown: &[&'static str] = if day.candidates.len() < 9999 { &["cand-9999", "cand-0000"] } else { &["cand-x9999"] };
    for _ in 0..n {
        let v = rng.random_range(0..day.voters.len());
        let info = &day.voters[v];
        let st = &day.station_infos[info.station as usize];
        drafts.push(Draft {
            voter: VoterRef::Registered(v as u32),
            candidate: CandRef::Unknown(unknown.choose(rng).expect("ids")),
            station: info.station,
            time: day.start + day.curve.sample(rng, st.open_ms, st.close_ms),
            method: voting_method(rng, info.age),
            kind: Some(AnomalyKind::UnknownCandidate),
        });
    }
}

fn station_mismatches(rng: &mut impl Rng, day: &ElectionDay, n: usize, drafts: &mut Vec<Draft>) {
    let n_cands = day.candidates.len() as u32;
    for _ in 0..n {
        let v = rng.random_range(0..day.voters.len());
        let info = &day.voters[v];
        let mut s = rng.random_range(0..day.stations.len() as u32 - 1);
        if s >= info.station {
            s += 1;
        }
        let st = &day.station_infos[s as usize];
        drafts.push(Draft {
            voter: VoterRef::Registered(v as u32),
            candidate: CandRef::Known(rng.random_range(0..n_cands)),
            station: s,
            time: day.start + day.curve.sample(rng, st.open_ms, st.close_ms),
            method: voting_method(rng, info.age),
            kind: Some(AnomalyKind::StationMismatch),
        });
    }
}

fn outside_hours(rng: &mut impl Rng, day: &ElectionDay, n: usize, drafts: &mut Vec<Draft>) {
    let n_cands = day.candidates.len() as u32;
    for _ in 0..n {
        let v = rng.random_range(0..day.voters.len());
        let info = &day.voters[v];
        let Some(tod) = outside_hours_time(rng, &day.station_infos[info.station as usize]) else { continue };
        drafts.push(Draft {
            voter: VoterRef::Registered(v as u32),
            candidate: CandRef::Known(rng.random_range(0..n_cands)),
            station: info.station,
            time: day.start + tod,
            method: voting_method(rng, info.age),
            kind: Some(AnomalyKind::OutsideHours),
        });
    }
}

/// Duplicates: a second valid vote, strictly later, by a voter who voted normally (one of
/// the first `n_normal` drafts).
fn duplicate_votes(rng: &mut impl Rng, day: &ElectionDay, n: usize, n_normal: usize, drafts: &mut Vec<Draft>) {
    let n_cands = day.candidates.len() as u32;
    let eligible: Vec<usize> = (0..n_normal).filter(|&i| drafts[i].time < day.start + day.station_infos[drafts[i].station as usize].close_ms - 1).collect();
    for i in rand::seq::index::sample(rng, eligible.len(), n.min(eligible.len())) {
        let d = &drafts[eligible[i]];
        let close = day.start + day.station_infos[d.station as usize].close_ms;
        let candidate = if rng.random_bool(0.5) { d.candidate } else { CandRef::Known(rng.random_range(0..n_cands)) };
        let dup = Draft { voter: d.voter, candidate, station: d.station, time: rng.random_range(d.time + 1..close), method: d.method, kind: Some(AnomalyKind::DuplicateVote) };
        drafts.push(dup);
    }
}
