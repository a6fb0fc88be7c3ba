//! Tests of the generator: determinism, registry consistency, labels against an independent
//! classifier, edge configurations, delivery order, rate spikes and writing a data set.

use std::collections::{BTreeMap, BTreeSet};

use super::anomalies::WINDOW_MS;
use super::people::{EDUCATION, INCOME};
use super::*;
use crate::connectors::dataset::AnomalyKind;
use crate::connectors::dataset::Voter;

fn small(seed: u64) -> GeneratorConfig {
    GeneratorConfig { seed, voters: 2_000, ..GeneratorConfig::default() }
}

fn tod_ms(hhmm: &str) -> i64 {
    let (h, m) = hhmm.split_once(':').expect("HH:MM");
    h.parse::<i64>().unwrap() * 3_600_000 + m.parse::<i64>().unwrap() * MINUTE_MS
}

/// An independent classifier: (per-vote anomaly kinds by vote id, counted vote ids).
fn classify(e: &Election) -> (BTreeMap<String, AnomalyKind>, BTreeSet<String>) {
    let mut registry = BTreeMap::new();
    for v in &e.voters {
        registry.insert(v.voter_id.as_str(), v.polling_station_id.as_str());
    }
    let cands: BTreeSet<&str> = e.candidates.iter().map(|c| c.candidate_id.as_str()).collect();
    let hours: BTreeMap<&str, (i64, i64)> = e.stations.iter().map(|s| (s.polling_station_id.as_str(), (tod_ms(&s.opens_at), tod_ms(&s.closes_at)))).collect();
    let mut kinds = BTreeMap::new();
    let mut earliest: BTreeMap<&str, (i64, &str)> = BTreeMap::new();
    let mut valid = Vec::new();
    for v in &e.votes {
        let kind = match registry.get(v.voter_id.as_str()) {
            None => Some(AnomalyKind::UnregisteredVoter),
            Some(_) if !cands.contains(v.candidate_id.as_str()) => Some(AnomalyKind::UnknownCandidate),
            Some(&s) if s != v.polling_station_id => Some(AnomalyKind::StationMismatch),
            Some(&s) => {
                let (open, close) = hours[s];
                let t = v.voting_time.rem_euclid(DAY_MS);
                if t < open || t >= close {
                    Some(AnomalyKind::OutsideHours)
                } else {
                    None
                }
            }
        };
        match kind {
            Some(k) => {
                kinds.insert(v.vote_id.clone(), k);
            }
            None => {
                valid.push(v);
                let key = (v.voting_time, v.vote_id.as_str());
                let e = earliest.entry(v.voter_id.as_str()).or_insert(key);
                if key < *e {
                    *e = key;
                }
            }
        }
    }
    let mut counted = BTreeSet::new();
    for v in valid {
        if earliest[v.voter_id.as_str()].1 == v.vote_id {
            counted.insert(v.vote_id.clone());
        } else {
            kinds.insert(v.vote_id.clone(), AnomalyKind::DuplicateVote);
        }
    }
    (kinds, counted)
}

#[test]
fn deterministic_for_a_seed() {
    let a = generate(&small(7));
    let b = generate(&small(7));
    assert_eq!(a, b);
    let c = generate(&small(8));
    assert_ne!(a.votes, c.votes);
    assert_ne!(a.voters, c.voters);
}

#[test]
fn registry_is_consistent() {
    let cfg = small(1);
    let e = generate(&cfg);
    assert_eq!(e.candidates.len(), 5);
    let mut last = BTreeMap::new();
    for v in &e.voters {
        if let Some(prev) = last.insert(v.voter_id.clone(), v.clone()) {
            // A registry update changes contact details only.
            assert_eq!(prev.polling_station_id, v.polling_station_id);
            assert_eq!(prev.voter_name, v.voter_name);
            assert!(prev.phone_number != v.phone_number && prev.email != v.email);
        }
    }
    assert_eq!(last.len(), cfg.voters);
    assert_eq!(e.voters.len(), cfg.voters + 10);
    let mut per_station: BTreeMap<&str, u32> = BTreeMap::new();
    for v in last.values() {
        *per_station.entry(v.polling_station_id.as_str()).or_default() += 1;
    }
    let stations: BTreeMap<&str, &PollingStation> = e.stations.iter().map(|s| (s.polling_station_id.as_str(), s)).collect();
    assert_eq!(stations.len(), e.stations.len(), "station ids are unique");
    for s in &e.stations {
        assert_eq!(s.registered_voters, per_station.get(s.polling_station_id.as_str()).copied().unwrap_or(0));
        assert!(s.registered_voters > 0);
        assert!(tod_ms(&s.opens_at) < tod_ms(&s.closes_at));
    }
    let regions: BTreeSet<&str> = e.stations.iter().map(|s| s.region.as_str()).collect();
    assert_eq!(regions.len(), 12);
    for v in last.values() {
        let s = stations[v.polling_station_id.as_str()];
        assert_eq!(s.city, v.address.city);
        assert_eq!(s.region, v.address.state);
        assert!((18..=95).contains(&v.registered_age));
        let dob = NaiveDate::parse_from_str(&v.date_of_birth, "%Y-%m-%d").unwrap();
        assert_eq!(cfg.election_date.years_since(dob), Some(v.registered_age), "{v:?}");
        assert!(EDUCATION.contains(&v.education_level.as_str()));
        assert!(INCOME.contains(&v.income_category.as_str()));
    }
}

/// The per-vote labels, by vote id.
fn per_vote_labels(e: &Election) -> BTreeMap<String, AnomalyKind> {
    e.labels.iter().filter_map(|l| l.vote_id.clone().map(|id| (id, l.kind))).collect()
}

/// Checks the per-vote labels of `e` against the independent classifier: the same kind for
/// every labelled vote, each kind injected a number of times in `per_kind`, every vote
/// either counted or labelled, and unique vote ids. Returns the counted votes.
fn check_labels(e: &Election, per_kind: std::ops::RangeInclusive<usize>, context: &str) -> BTreeSet<String> {
    let (kinds, counted) = classify(e);
    let labelled = per_vote_labels(e);
    assert_eq!(labelled, kinds, "{context}");
    for kind in [AnomalyKind::UnregisteredVoter, AnomalyKind::UnknownCandidate, AnomalyKind::StationMismatch, AnomalyKind::OutsideHours, AnomalyKind::DuplicateVote] {
        let n = labelled.values().filter(|&&k| k == kind).count();
        assert!(per_kind.contains(&n), "{context}, {kind}: {n}");
    }
    assert_eq!(counted.len() + labelled.len(), e.votes.len(), "{context}");
    let ids: BTreeSet<&str> = e.votes.iter().map(|v| v.vote_id.as_str()).collect();
    assert_eq!(ids.len(), e.votes.len(), "{context}: vote ids are unique");
    counted
}

#[test]
fn labels_agree_with_an_independent_classifier() {
    for seed in [1, 2, 3] {
        let e = generate(&small(seed));
        assert_eq!(per_vote_labels(&e).len(), e.labels.iter().filter(|l| l.kind != AnomalyKind::RateSpike).count());
        let counted = check_labels(&e, 1..=30, &format!("seed {seed}"));
        let mut sorted = e.labels.clone();
        sorted.sort();
        assert_eq!(sorted, e.labels);
        // Turnout is in the right range.
        let share = counted.len() as f64 / 2_000.0;
        assert!((0.55..0.80).contains(&share), "turnout {share}");
    }
}

#[test]
fn edge_configurations_stay_consistent() {
    let base = small(21);
    let configs = [
        GeneratorConfig { voters: 0, ..base.clone() },
        GeneratorConfig { voters: 1, ..base.clone() },
        GeneratorConfig { voters: 99, ..base.clone() },
        GeneratorConfig { voters: 100, ..base.clone() },
        GeneratorConfig { voters: 500, turnout: 1.0, ..base.clone() },
        GeneratorConfig { voters: 500, turnout: 0.0, ..base.clone() },
        GeneratorConfig { parties: 1, candidates_per_party: 0, ..base.clone() },
        GeneratorConfig { parties: 9, candidates_per_party: 3, ..base.clone() },
        GeneratorConfig { anomaly_share: 0.0, rate_spikes: 0, registry_updates: 0.0, ..base.clone() },
        GeneratorConfig { anomaly_share: 0.2, max_delay_ms: 0, ..base.clone() },
    ];
    for cfg in configs {
        let e = generate(&cfg);
        assert_eq!(e.candidates.len(), cfg.parties.clamp(3, 6) * cfg.candidates_per_party.max(1));
        let (kinds, counted) = classify(&e);
        let labelled = per_vote_labels(&e);
        assert_eq!(labelled, kinds, "{cfg:?}");
        assert_eq!(counted.len() + labelled.len(), e.votes.len());
        if cfg.voters >= 100 && cfg.anomaly_share > 0.0 {
            for kind in [AnomalyKind::UnregisteredVoter, AnomalyKind::UnknownCandidate, AnomalyKind::StationMismatch, AnomalyKind::OutsideHours] {
                assert!(labelled.values().any(|&k| k == kind), "{kind} missing for {cfg:?}");
            }
            if cfg.turnout > 0.0 {
                assert!(labelled.values().any(|&k| k == AnomalyKind::DuplicateVote), "{cfg:?}");
            }
        }
        if cfg.anomaly_share == 0.0 && cfg.rate_spikes == 0 {
            assert!(e.labels.is_empty());
        }
    }
    for seed in 100..110 {
        let e = generate(&small(seed));
        let (kinds, _) = classify(&e);
        let labelled = per_vote_labels(&e);
        assert_eq!(labelled, kinds, "seed {seed}");
    }
}

#[test]
fn about_the_configured_share_is_out_of_order() {
    let cfg = GeneratorConfig { voters: 5_000, ..small(11) };
    let e = generate(&cfg);
    let mut max_seen = i64::MIN;
    let mut late = 0;
    for v in &e.votes {
        if v.voting_time < max_seen {
            late += 1;
        }
        max_seen = max_seen.max(v.voting_time);
    }
    let share = late as f64 / e.votes.len() as f64;
    assert!((0.025..0.075).contains(&share), "out of order share {share}");

    let e = generate(&GeneratorConfig { out_of_order_share: 0.0, ..cfg });
    assert!(e.votes.windows(2).all(|w| (w[0].voting_time, &w[0].vote_id) <= (w[1].voting_time, &w[1].vote_id)));
}

#[test]
fn rate_spikes_stand_out() {
    for cfg in [small(5), GeneratorConfig { voters: 20_000, rate_spikes: 3, ..small(6) }] {
        let e = generate(&cfg);
        let (_, counted) = classify(&e);
        let spikes: Vec<&AnomalyLabel> = e.labels.iter().filter(|l| l.kind == AnomalyKind::RateSpike).collect();
        let expected = if cfg.rate_spikes == GeneratorConfig::AUTO_RATE_SPIKES { (e.stations.len() / 50).max(1) } else { cfg.rate_spikes };
        assert_eq!(spikes.len(), expected);
        let distinct: BTreeSet<_> = spikes.iter().map(|l| l.polling_station_id.clone()).collect();
        assert_eq!(distinct.len(), spikes.len());
        for l in spikes {
            let sid = l.polling_station_id.as_deref().unwrap();
            let ws = l.window_start.unwrap();
            assert_eq!(ws % WINDOW_MS, 0);
            let s = e.stations.iter().find(|s| s.polling_station_id == sid).unwrap();
            let (open, close) = (tod_ms(&s.opens_at), tod_ms(&s.closes_at));
            let day = ws - ws.rem_euclid(DAY_MS);
            assert!(ws - day >= open && ws - day + WINDOW_MS <= close);
            let mut windows = vec![0usize; ((close - open) / WINDOW_MS) as usize];
            for v in e.votes.iter().filter(|v| v.polling_station_id == sid && counted.contains(&v.vote_id)) {
                windows[((v.voting_time - day - open) / WINDOW_MS) as usize] += 1;
            }
            let in_window = windows[((ws - day - open) / WINDOW_MS) as usize];
            let mut sorted = windows.clone();
            sorted.sort_unstable();
            let median = sorted[sorted.len() / 2];
            assert!(in_window >= 10 * median && in_window >= 10, "{sid}: {in_window} vs median {median}");
            if cfg.voters >= 20_000 {
                assert!(in_window >= 30, "{sid}: {in_window}");
            }
        }
    }
    let e = generate(&GeneratorConfig { rate_spikes: 0, ..small(5) });
    assert!(e.labels.iter().all(|l| l.kind != AnomalyKind::RateSpike));
}

#[test]
fn write_dir_round_trips() {
    let e = generate(&GeneratorConfig { voters: 300, ..small(3) });
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("set");
    e.write_dir(&path).unwrap();
    fn read<T: serde::de::DeserializeOwned>(p: &Path) -> Vec<T> {
        std::fs::read_to_string(p).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    }
    assert_eq!(read::<Candidate>(&path.join(dataset::CANDIDATES)), e.candidates);
    assert_eq!(read::<PollingStation>(&path.join(dataset::POLLING_STATIONS)), e.stations);
    assert_eq!(read::<Voter>(&path.join(dataset::VOTERS)), e.voters);
    assert_eq!(read::<Vote>(&path.join(dataset::VOTES)), e.votes);
    assert_eq!(read::<AnomalyLabel>(&path.join(dataset::INJECTED_ANOMALIES)), e.labels);
    let before = std::fs::read(path.join(dataset::VOTES)).unwrap();
    generate(&GeneratorConfig { voters: 300, ..small(3) }).write_dir(&path).unwrap();
    assert_eq!(std::fs::read(path.join(dataset::VOTES)).unwrap(), before, "byte-identical");
}

#[test]
#[ignore = "timing; run with --release -- --ignored"]
fn one_million_voters_timing() {
    let start = std::time::Instant::now();
    let e = generate(&GeneratorConfig { voters: 1_000_000, ..GeneratorConfig::default() });
    eprintln!("generated {} voters, {} stations, {} votes, {} labels in {:?}", e.voters.len(), e.stations.len(), e.votes.len(), e.labels.len(), start.elapsed());
}

// The streamed election: the same checks, and what makes it a source of any size.

#[test]
fn streamed_election_is_deterministic_and_shares_partition_the_voters() {
    let a = StreamedElection::new(&small(7)).election();
    assert_eq!(a, StreamedElection::new(&small(7)).election());
    let c = StreamedElection::new(&small(8)).election();
    assert_ne!(a.votes, c.votes);
    assert_ne!(a.voters, c.voters);
    let e = StreamedElection::new(&GeneratorConfig { voters: 1_003, ..small(7) });
    for peers in 1..=5 {
        let voters: Vec<u64> = (0..peers).flat_map(|i| e.share(i, peers)).collect();
        assert_eq!(voters, (0..1_003).collect::<Vec<_>>(), "{peers} readers");
    }
}

#[test]
fn streamed_voters_facts_are_their_records() {
    let e = StreamedElection::new(&small(11));
    let whole = e.election();
    let mut updates = 0;
    for v in 0..e.voter_count() {
        let voter = e.voter(v);
        let record = e.record(&voter);
        assert_eq!(record, whole.voters[v as usize]);
        assert_eq!(record.voter_id, voter.voter_id().to_string());
        assert_eq!((record.address.state.as_str(), record.address.city.as_str(), record.gender.as_str()), (voter.region, voter.city, voter.gender));
        assert_eq!((record.registered_age, record.education_level.as_str()), (voter.age, voter.education));
        assert_eq!(record.polling_station_id, voter.station.polling_station_id);
        if e.updated(&voter) {
            let later = e.updated_record(&voter, &record);
            assert!(later.phone_number != record.phone_number && later.email != record.email);
            assert_eq!(Voter { phone_number: record.phone_number.clone(), email: record.email.clone(), ..later }, record);
            updates += 1;
        }
    }
    assert_eq!(whole.voters.len(), 2_000 + updates);
    assert!((1..=30).contains(&updates), "{updates} re-registrations");
}

#[test]
fn streamed_registry_is_consistent_and_labels_agree_with_an_independent_classifier() {
    for seed in [1, 2, 3] {
        let e = StreamedElection::new(&small(seed)).election();
        let mut per_station: BTreeMap<&str, u32> = BTreeMap::new();
        for v in &e.voters[..2_000] {
            *per_station.entry(v.polling_station_id.as_str()).or_default() += 1;
        }
        for s in &e.stations {
            assert_eq!(s.registered_voters, per_station.get(s.polling_station_id.as_str()).copied().unwrap_or(0));
            let voter = e.voters.iter().find(|v| v.polling_station_id == s.polling_station_id).expect("a station has voters");
            assert_eq!((s.city.as_str(), s.region.as_str()), (voter.address.city.as_str(), voter.address.state.as_str()));
        }
        let counted = check_labels(&e, 5..=45, &format!("seed {seed}"));
        let share = counted.len() as f64 / 2_000.0;
        assert!((0.55..0.85).contains(&share), "seed {seed}: turnout {share}");
        // Delivery order: by delivery time; about the configured share delayed.
        let late = e.votes.windows(2).filter(|w| w[1].voting_time < w[0].voting_time).count();
        assert!(late > 0 && late < e.votes.len() / 10, "seed {seed}: {late} out of order");
        let spikes: Vec<&AnomalyLabel> = e.labels.iter().filter(|l| l.kind == AnomalyKind::RateSpike).collect();
        assert_eq!(spikes.len(), (e.stations.len() / 50).max(1), "seed {seed}");
    }
}

#[test]
fn streamed_rate_spikes_stand_out() {
    let cfg = GeneratorConfig { voters: 40_000, ..small(6) };
    let e = StreamedElection::new(&cfg).election();
    let (_, counted) = classify(&e);
    let spikes: Vec<&AnomalyLabel> = e.labels.iter().filter(|l| l.kind == AnomalyKind::RateSpike).collect();
    assert!(!spikes.is_empty());
    for l in spikes {
        let (sid, ws) = (l.polling_station_id.as_deref().unwrap(), l.window_start.unwrap());
        let s = e.stations.iter().find(|s| s.polling_station_id == sid).unwrap();
        let (open, close) = (tod_ms(&s.opens_at), tod_ms(&s.closes_at));
        let day = ws - ws.rem_euclid(DAY_MS);
        let mut windows = vec![0usize; ((close - open) / WINDOW_MS) as usize];
        for v in e.votes.iter().filter(|v| v.polling_station_id == sid && counted.contains(&v.vote_id)) {
            windows[((v.voting_time - day - open) / WINDOW_MS) as usize] += 1;
        }
        let in_window = windows[((ws - day - open) / WINDOW_MS) as usize];
        let mut sorted = windows.clone();
        sorted.sort_unstable();
        assert!(in_window >= 25 && in_window >= 8 * sorted[sorted.len() / 2], "{sid}: {in_window} vs median {}", sorted[sorted.len() / 2]);
    }
}

/// Mean time of day (minutes) of the normal votes of voters for whom `pick` holds, and
/// their count.
fn mean_minute(e: &Election, pick: impl Fn(&Voter, &PollingStation) -> bool) -> (f64, usize) {
    let voters: BTreeMap<&str, &Voter> = e.voters.iter().map(|v| (v.voter_id.as_str(), v)).collect();
    let stations: BTreeMap<&str, &PollingStation> = e.stations.iter().map(|s| (s.polling_station_id.as_str(), s)).collect();
    let (mut sum, mut n) = (0.0, 0);
    for v in &e.votes {
        let (Some(voter), Some(station)) = (voters.get(v.voter_id.as_str()), stations.get(v.polling_station_id.as_str())) else { continue };
        if pick(voter, station) {
            sum += v.voting_time.rem_euclid(DAY_MS) as f64 / MINUTE_MS as f64;
            n += 1;
        }
    }
    (sum / n.max(1) as f64, n)
}

fn stressed(seed: u64, stress: Stress) -> Election {
    generate(&GeneratorConfig { seed, voters: 20_000, anomaly_share: 0.0, rate_spikes: 0, stress, ..GeneratorConfig::default() })
}

#[test]
fn age_timing_sends_older_voters_in_the_morning() {
    let gap = |e: &Election| mean_minute(e, |v, _| v.registered_age < 35).0 - mean_minute(e, |v, _| v.registered_age >= 65).0;
    let plain = gap(&stressed(3, Stress::default()));
    let aged = gap(&stressed(3, Stress { age_timing: true, ..Stress::default() }));
    assert!(plain.abs() < 15.0, "without the option, age does not time the vote: {plain:.0} min");
    assert!(aged > 120.0, "older voters vote earlier: {aged:.0} min");
}

#[test]
fn regional_hours_shift_stations_and_curves_by_region() {
    let e = stressed(4, Stress { regional_hours: true, ..Stress::default() });
    for s in &e.stations {
        let region = super::names::REGIONS.iter().position(|r| r.name == s.region).unwrap();
        let shift = REGIONAL_SHIFTS[region].0 * 60;
        let (open, close) = (tod_ms(&s.opens_at) / MINUTE_MS, tod_ms(&s.closes_at) / MINUTE_MS);
        assert!([360 + shift, 420 + shift].contains(&open) && [1200 + shift, 1260 + shift].contains(&close), "{s:?}");
    }
    let london = mean_minute(&e, |_, s| s.region == "London").0;
    let east = mean_minute(&e, |_, s| s.region == "East of England").0;
    assert!(london - east > 120.0, "London votes later than the East: {:.0} min", london - east);
    let plain = stressed(4, Stress::default());
    let gap = mean_minute(&plain, |_, s| s.region == "London").0 - mean_minute(&plain, |_, s| s.region == "East of England").0;
    assert!(gap.abs() < 15.0, "{gap:.0} min");
}

/// Per station: votes cast over registered voters.
fn station_turnouts(e: &Election) -> Vec<f64> {
    let mut votes: BTreeMap<&str, f64> = BTreeMap::new();
    for v in &e.votes {
        *votes.entry(v.polling_station_id.as_str()).or_default() += 1.0;
    }
    e.stations.iter().filter(|s| s.registered_voters >= 200).map(|s| votes.get(s.polling_station_id.as_str()).copied().unwrap_or(0.0) / f64::from(s.registered_voters)).collect()
}

fn spread(xs: &[f64]) -> f64 {
    let mean = xs.iter().sum::<f64>() / xs.len() as f64;
    (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / xs.len() as f64).sqrt() / mean
}

#[test]
fn station_shocks_spread_station_turnout() {
    let plain = spread(&station_turnouts(&stressed(5, Stress::default())));
    let shocked = spread(&station_turnouts(&stressed(5, Stress { station_shock: 0.15, ..Stress::default() })));
    assert!(plain < 0.06, "binomial noise only: {plain:.3}");
    assert!(shocked > 0.11, "log-normal σ 0.15: {shocked:.3}");
}

#[test]
fn a_late_swing_moves_late_votes_to_one_party_per_region() {
    // Per region: the largest rise of a party's share from before 16:00 to after 19:00.
    let rise = |e: &Election| {
        let stations: BTreeMap<&str, &str> = e.stations.iter().map(|s| (s.polling_station_id.as_str(), s.region.as_str())).collect();
        let mut shares: BTreeMap<(&str, bool), BTreeMap<&str, f64>> = BTreeMap::new();
        for v in &e.votes {
            let minute = v.voting_time.rem_euclid(DAY_MS) / MINUTE_MS;
            if (960..1140).contains(&minute) {
                continue;
            }
            *shares.entry((stations[v.polling_station_id.as_str()], minute >= 1140)).or_default().entry(v.candidate_id.as_str()).or_default() += 1.0;
        }
        let regions: BTreeSet<&str> = stations.values().copied().collect();
        let rises: Vec<f64> = regions
            .iter()
            .map(|r| {
                let share = |late: bool, c: &str| {
                    let m = &shares[&(*r, late)];
                    m.get(c).copied().unwrap_or(0.0) / m.values().sum::<f64>()
                };
                e.candidates.iter().map(|c| share(true, &c.candidate_id) - share(false, &c.candidate_id)).fold(f64::NEG_INFINITY, f64::max)
            })
            .collect();
        rises.iter().sum::<f64>() / rises.len() as f64
    };
    let plain = rise(&stressed(6, Stress::default()));
    let swung = rise(&stressed(6, Stress { late_swing: 0.2, ..Stress::default() }));
    assert!(plain < 0.06 && swung > 0.12, "a party gains late in each region: {plain:.3} → {swung:.3}");
}

/// FNV-1a of the election's records as JSON: a fingerprint that does not depend on the
/// Rust version.
fn fingerprint(e: &Election) -> u64 {
    let text = serde_json::to_string(&(&e.candidates, &e.stations, &e.voters, &e.votes, &e.labels)).unwrap();
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3))
}

#[test]
fn without_stress_options_an_election_is_what_it_was_before_they_existed() {
    // The same records as the generator wrote before the options were added.
    assert_eq!(fingerprint(&generate(&small(7))), FINGERPRINT_SEED_7);
}

/// [`fingerprint`] of seed 7 at 2,000 voters, from the files the session-26 binary wrote.
const FINGERPRINT_SEED_7: u64 = 2_565_690_947_520_494_251;
