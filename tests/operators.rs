//! Each operator against a plain recomputation, on random inputs with insertions and
//! retractions at random times, on 1, 2 and 4 workers.
//!
//! For every time `q` in play, the operator's output accumulated up to `q` must equal the
//! oracle applied to the input accumulated up to `q`.

use std::collections::BTreeMap;
use std::sync::{mpsc, Arc, Mutex};

use ballotflow::operators::capacity::{Over, OverRow};
use ballotflow::operators::prelude::*;
use ballotflow::operators::rate::{RateModel, RateSpike, RateUnit};
use ballotflow::operators::window::window_start;
use differential_dataflow::input::Input;
use differential_dataflow::{Data, ExchangeData, VecCollection};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use timely::dataflow::operators::capture::{Capture, Extract};

type Updates<D> = Vec<(D, u64, isize)>;

/// Runs `logic` on `workers` workers (update `i` is fed by worker `i % workers`) and returns
/// every output update.
fn run<D, O>(workers: usize, input: &Updates<D>, logic: fn(VecCollection<'_, u64, D>) -> VecCollection<'_, u64, O>) -> Updates<O>
where
    D: ExchangeData + Send + Sync,
    O: ExchangeData,
{
    let (send, recv) = mpsc::channel();
    let send = Arc::new(Mutex::new(send));
    let input = Arc::new(input.clone());
    timely::execute(timely::Config::process(workers), move |worker| {
        let send = send.lock().unwrap().clone();
        let (index, peers) = (worker.index(), worker.peers());
        let mut session = worker.dataflow::<u64, _, _>(|scope| {
            let (session, collection) = scope.new_collection::<D, isize>();
            logic(collection).inner.capture_into(send);
            session
        });
        let mut mine: Vec<_> = input.iter().enumerate().filter(|(i, _)| i % peers == index).map(|(_, u)| u.clone()).collect();
        mine.sort_by_key(|u| u.1);
        for (d, t, r) in mine {
            session.advance_to(t);
            session.update_at(d, t, r);
            session.flush();
            worker.step();
        }
    })
    .expect("timely runs");
    recv.extract().into_iter().flat_map(|(_, updates)| updates).collect()
}

fn accumulate<D: Data>(updates: &Updates<D>, q: u64) -> BTreeMap<D, isize> {
    let mut acc = BTreeMap::new();
    for (d, t, r) in updates {
        if *t <= q {
            *acc.entry(d.clone()).or_insert(0) += r;
        }
    }
    acc.retain(|_, r| *r != 0);
    acc
}

/// Checks `logic` against `oracle` at every time, on 1, 2 and 4 workers.
fn check<D, O>(input: Updates<D>, logic: fn(VecCollection<'_, u64, D>) -> VecCollection<'_, u64, O>, oracle: impl Fn(&BTreeMap<D, isize>) -> BTreeMap<O, isize>)
where
    D: ExchangeData + Send + Sync,
    O: ExchangeData,
{
    let mut times: Vec<u64> = input.iter().map(|u| u.1).collect();
    times.sort();
    times.dedup();
    for workers in [1, 2, 4] {
        let output = run(workers, &input, logic);
        for q in &times {
            let expected = oracle(&accumulate(&input, *q));
            let actual = accumulate(&output, *q);
            assert_eq!(expected, actual, "{workers} workers, at time {q}");
        }
    }
}

/// Random insertions at random times, a fifth of them retracted later.
fn random_updates<D: Clone>(seed: u64, n: usize, mut record: impl FnMut(&mut ChaCha8Rng) -> D) -> Updates<D> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut updates = Vec::new();
    for _ in 0..n {
        let d = record(&mut rng);
        let t = rng.random_range(0..20);
        updates.push((d.clone(), t, 1));
        if rng.random_bool(0.2) {
            updates.push((d, t + rng.random_range(0..5), -1));
        }
    }
    updates
}

#[test]
fn count_by_matches_oracle() {
    for seed in 0..4 {
        let input = random_updates(seed, 300, |r| (r.random_range(0..20u32), r.random_range(0..5u32)));
        check(
            input,
            |c| c.count_by(|(_, group)| *group),
            |acc| {
                let mut out = BTreeMap::new();
                let mut counts: BTreeMap<u32, isize> = BTreeMap::new();
                for ((_, g), r) in acc {
                    *counts.entry(*g).or_default() += r;
                }
                for (g, n) in counts {
                    if n != 0 {
                        out.insert((g, n), 1);
                    }
                }
                out
            },
        );
    }
}

#[test]
fn count_keys_matches_oracle() {
    for seed in 20..24 {
        let input = random_updates(seed, 300, |r| (r.random_range(0..12u32), r.random_range(0..3u32)));
        check(input, |c| c.count_keys(), |acc| acc.iter().map(|(record, n)| ((*record, *n), 1)).collect());
    }
}

/// Per key: the largest value with a positive count, and how many distinct values the
/// operator says the key has (those with non-zero counts, by contract).
fn largest_and_distinct(_key: &u32, values: &[(&u32, isize)], out: &mut Vec<((u32, usize), isize)>) {
    if let Some(max) = values.iter().filter(|(_, n)| *n > 0).map(|(v, _)| **v).max() {
        out.push(((max, values.len()), 1));
    }
}

#[test]
fn reduce_total_matches_oracle() {
    for seed in 40..44 {
        let input = random_updates(seed, 300, |r| (r.random_range(0..10u32), r.random_range(0..30u32)));
        check(
            input,
            |c| c.reduce_total(largest_and_distinct),
            |acc| {
                let mut groups: BTreeMap<u32, BTreeMap<u32, isize>> = BTreeMap::new();
                for ((k, v), r) in acc {
                    *groups.entry(*k).or_default().entry(*v).or_default() += r;
                }
                let mut out = BTreeMap::new();
                for (k, values) in groups {
                    let values: Vec<(&u32, isize)> = values.iter().filter(|(_, n)| **n != 0).map(|(v, n)| (v, *n)).collect();
                    let mut found = Vec::new();
                    largest_and_distinct(&k, &values, &mut found);
                    for (o, r) in found {
                        *out.entry((k, o)).or_default() += r;
                    }
                }
                out
            },
        );
    }
}

#[test]
fn count_per_window_matches_oracle() {
    for seed in 10..14 {
        let input = random_updates(seed, 300, |r| (r.random_range(-5_000i64..50_000), r.random_range(0..3u8)));
        check(
            input,
            |c| c.count_per_window(10_000, |(t, _)| *t, |(_, k)| *k),
            |acc| {
                let mut counts: BTreeMap<(i64, u8), isize> = BTreeMap::new();
                for ((t, k), r) in acc {
                    *counts.entry((window_start(*t, 10_000), *k)).or_default() += r;
                }
                counts.into_iter().filter(|(_, n)| *n != 0).map(|(w, n)| ((w, n), 1)).collect()
            },
        );
    }
}

#[test]
fn first_wins_matches_oracle() {
    for seed in 20..24 {
        let input = random_updates(seed, 300, |r| (r.random_range(0..15u32), r.random_range(0..50u32)));
        check(
            input,
            |c| c.first_wins(),
            |acc| {
                let mut per_key: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
                for ((k, v), r) in acc {
                    if *r > 0 {
                        per_key.entry(*k).or_default().push(*v);
                    }
                }
                let mut out = BTreeMap::new();
                for (k, mut vs) in per_key {
                    vs.sort();
                    for (i, v) in vs.into_iter().enumerate() {
                        out.insert((k, (v, i == 0)), 1);
                    }
                }
                out
            },
        );
    }
}

#[test]
fn latest_by_key_matches_oracle() {
    for seed in 30..34 {
        // Unique sequence numbers, some versions tombstones; versions are never retracted.
        let mut seq = 0u64;
        let input: Updates<(u32, (u64, Option<u32>))> = random_updates(seed, 200, |r| {
            seq += 1;
            (r.random_range(0..15u32), (seq, if r.random_bool(0.2) { None } else { Some(r.random_range(0..100u32)) }))
        })
        .into_iter()
        .filter(|u| u.2 > 0)
        .collect();
        check(
            input,
            |c| c.latest_by_key(),
            |acc| {
                let mut latest: BTreeMap<u32, (u64, Option<u32>)> = BTreeMap::new();
                for (k, version) in acc.keys() {
                    if latest.get(k).is_none_or(|l| l.0 < version.0) {
                        latest.insert(*k, *version);
                    }
                }
                latest.into_iter().filter_map(|(k, (_, v))| v.map(|v| ((k, v), 1))).collect()
            },
        );
    }
}

#[test]
fn enrich_matches_oracle() {
    fn logic(c: VecCollection<'_, u64, (bool, u32, u32)>) -> VecCollection<'_, u64, (u32, (u32, Option<u32>))> {
        let facts = c.clone().flat_map(|(is_dim, k, v)| (!is_dim).then_some((k, v)));
        let dim = c.flat_map(|(is_dim, k, v)| is_dim.then_some((k, v)));
        facts.enrich(dim)
    }
    for seed in 40..44 {
        check(facts_and_dimension(seed), logic, |acc| {
            let dim = dimension_of(acc);
            let mut out = BTreeMap::new();
            for ((is_dim, k, v), r) in acc {
                if !is_dim {
                    *out.entry((*k, (*v, dim.get(k).copied()))).or_insert(0) += r;
                }
            }
            out
        });
    }
}

/// Facts `(false, key, value)` and dimension records `(true, key, value)`, one dimension
/// value per key at any time, replaced (retract old, add new) or deleted at random times.
fn facts_and_dimension(seed: u64) -> Updates<(bool, u32, u32)> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut input = random_updates(seed, 200, |r| (false, r.random_range(0..12u32), r.random_range(0..100u32)));
    for k in 0..8u32 {
        let (mut value, mut t) = (rng.random_range(0..100u32), rng.random_range(0..10u64));
        input.push(((true, k, value), t, 1));
        for _ in 0..rng.random_range(0..3) {
            let at = t + rng.random_range(1..6u64);
            input.push(((true, k, value), at, -1));
            if !rng.random_bool(0.8) {
                break; // deleted for good
            }
            // Sometimes the next value, sometimes one with the same remainder mod 3 (for
            // over_capacity_grouped: a capacity that changes within its group).
            value += if rng.random_bool(0.5) { 1 } else { 30 };
            input.push(((true, k, value), at, 1));
            t = at;
        }
    }
    input
}

fn dimension_of(acc: &BTreeMap<(bool, u32, u32), isize>) -> BTreeMap<u32, u32> {
    acc.iter().filter(|((d, _, _), r)| *d && **r > 0).map(|((_, k, v), _)| (*k, *v)).collect()
}

#[test]
fn group_with_matches_oracle() {
    fn logic(c: VecCollection<'_, u64, (bool, u32, u32)>) -> VecCollection<'_, u64, (u32, (u32, Option<u32>))> {
        let facts = c.clone().flat_map(|(is_dim, k, v)| (!is_dim).then_some((k, v)));
        let dim = c.flat_map(|(is_dim, k, v)| is_dim.then_some((k, v)));
        // Each distinct fact once, with the key's dimension value.
        facts.group_with("Test", dim, |_, info, facts, out| out.extend(facts.iter().map(|(v, _)| ((**v, info.copied()), 1))))
    }
    for seed in 70..74 {
        check(facts_and_dimension(seed), logic, |acc| {
            let dim = dimension_of(acc);
            acc.iter().filter(|((is_dim, _, _), r)| !is_dim && **r > 0).map(|((_, k, v), _)| ((*k, (*v, dim.get(k).copied())), 1)).collect()
        });
    }
}

/// The ranking of `(key, count)` entries the top-k operators must give: ranks `1..=k`,
/// highest count first, ties to the smaller key.
fn ranked<C: Ord + Copy>(entries: impl Iterator<Item = (u32, C)>, k: usize) -> BTreeMap<(u32, (u32, C)), isize> {
    let mut ranked: Vec<(u32, C)> = entries.collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    ranked.into_iter().take(k).enumerate().map(|(i, kc)| ((i as u32 + 1, kc), 1)).collect()
}

#[test]
fn top_k_matches_oracle() {
    // Input: one count per key, replaced over time (as a count operator produces): counts go
    // up and down, tie often, and keys come and go.
    fn top<const K: usize>(c: VecCollection<'_, u64, (u32, i64)>) -> VecCollection<'_, u64, (u32, (u32, i64))> {
        c.top_k(K)
    }
    for seed in 50..56 {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut input = Vec::new();
        for k in 0..10u32 {
            let (mut count, mut t) = (rng.random_range(0..5i64), rng.random_range(0..10u64));
            input.push(((k, count), t, 1));
            for _ in 0..rng.random_range(0..6) {
                let at = t + rng.random_range(1..5u64);
                input.push(((k, count), at, -1));
                if rng.random_bool(0.15) {
                    break; // the key is gone
                }
                count = (count + rng.random_range(-2..3)).max(0);
                input.push(((k, count), at, 1));
                t = at;
            }
        }
        type Logic = for<'a> fn(VecCollection<'a, u64, (u32, i64)>) -> VecCollection<'a, u64, (u32, (u32, i64))>;
        for (k, logic) in [(1, top::<1> as Logic), (3, top::<3>), (12, top::<12>)] {
            check(input.clone(), logic, |acc| ranked(acc.iter().filter(|(_, n)| **n > 0).map(|(kc, _)| *kc), k));
        }
    }
}

#[test]
fn most_frequent_matches_oracle() {
    // Input: keys, several at once (as a time's events pre-aggregated upstream), some taken
    // back later; keys tie often and come and go.
    fn top<const K: usize>(c: VecCollection<'_, u64, u32>) -> VecCollection<'_, u64, (u32, (u32, isize))> {
        c.most_frequent(K)
    }
    for seed in 56..62 {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut input = Vec::new();
        for _ in 0..60 {
            let (key, t, n) = (rng.random_range(0..10u32), rng.random_range(0..20u64), rng.random_range(1..4i64) as isize);
            input.push((key, t, n));
            if rng.random_bool(0.25) {
                input.push((key, t + rng.random_range(0..5), -n));
            }
        }
        type Logic = for<'a> fn(VecCollection<'a, u64, u32>) -> VecCollection<'a, u64, (u32, (u32, isize))>;
        for (k, logic) in [(1, top::<1> as Logic), (3, top::<3>), (12, top::<12>)] {
            check(input.clone(), logic, |acc| ranked(acc.iter().filter(|(_, n)| **n > 0).map(|(key, n)| (*key, *n)), k));
        }
    }
}

#[test]
fn classify_splits_exactly() {
    fn logic(c: VecCollection<'_, u64, u32>) -> VecCollection<'_, u64, (u32, Option<u8>)> {
        let (valid, invalid) = c.classify(|x| match x % 7 {
            0 => Some(0u8),
            1 | 2 => Some(1),
            _ => None,
        });
        valid.map(|x| (x, None)).concat(invalid.map(|(x, e)| (x, Some(e))))
    }
    let input = random_updates(60, 300, |r| r.random_range(0..100u32));
    check(input, logic, |acc| {
        acc.iter()
            .map(|(x, r)| {
                (
                    (
                        *x,
                        match x % 7 {
                            0 => Some(0),
                            1 | 2 => Some(1),
                            _ => None,
                        },
                    ),
                    *r,
                )
            })
            .collect()
    });
}

/// A unit of the rate test: a group, a size and the times it is active.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
struct Unit {
    group: u8,
    size: u64,
    opens: i64,
    closes: i64,
}

impl RateUnit for Unit {
    type Group = u8;
    fn group(&self) -> u8 {
        self.group
    }
    fn size(&self) -> u64 {
        self.size
    }
    fn active(&self, window_start: i64, width_ms: i64) -> bool {
        window_start < self.closes && window_start + width_ms > self.opens
    }
}

const RATE: RateModel = RateModel { width_ms: 10, min_peers: 2, min_count: 3, min_ratio: 2.0, min_score: 1.0 };

/// An event `Ok((time, unit))` or a unit's record `Err((unit, info))`.
type EventOrUnit = Result<(i64, u32), (u32, Unit)>;

/// Events, some of them bursts, and units replaced or deleted at random times.
fn events_and_units(seed: u64) -> Updates<EventOrUnit> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let hot: Vec<(i64, u32)> = (0..4).map(|_| (rng.random_range(0..10) * 10, rng.random_range(0..10))).collect();
    let mut input = random_updates(seed, 400, |r| {
        if r.random_bool(0.3) {
            let (w, u) = hot[r.random_range(0..hot.len())];
            Ok((w + r.random_range(0..10), u))
        } else {
            Ok((r.random_range(-5..100), r.random_range(0..10)))
        }
    });
    let unit = |r: &mut ChaCha8Rng| Unit { group: r.random_range(0..3), size: r.random_range(0..30), opens: r.random_range(-10..30), closes: r.random_range(50..120) };
    for u in 0..10u32 {
        let (mut info, mut t) = (unit(&mut rng), rng.random_range(0..10u64));
        input.push((Err((u, info.clone())), t, 1));
        for _ in 0..rng.random_range(0..3) {
            let at = t + rng.random_range(1..6u64);
            input.push((Err((u, info.clone())), at, -1));
            if rng.random_bool(0.2) {
                break; // deleted for good
            }
            info = unit(&mut rng);
            input.push((Err((u, info.clone())), at, 1));
            t = at;
        }
    }
    input
}

/// How many events an event update of time `t` stands for.
fn weight(t: i64) -> isize {
    1 + t.rem_euclid(2) as isize
}

/// The model of `ballotflow::operators::rate`, recomputed plainly.
fn rate_oracle(acc: &BTreeMap<EventOrUnit, isize>) -> BTreeMap<(u32, RateSpike), isize> {
    let mut counts: BTreeMap<(i64, u32), i64> = BTreeMap::new();
    let mut units: BTreeMap<u32, Unit> = BTreeMap::new();
    for (record, r) in acc {
        match record {
            Ok((t, u)) => *counts.entry((window_start(*t, RATE.width_ms), *u)).or_default() += *r as i64 * weight(*t) as i64,
            Err((u, info)) if *r > 0 => {
                units.insert(*u, info.clone());
            }
            Err(_) => {}
        }
    }
    counts.retain(|_, n| *n != 0);
    let windows: std::collections::BTreeSet<i64> = counts.keys().map(|(w, _)| *w).collect();
    let mut out = BTreeMap::new();
    for w in windows {
        let active: Vec<(&u32, &Unit)> = units.iter().filter(|(_, u)| u.size > 0 && u.active(w, RATE.width_ms)).collect();
        let n = |u: u32| counts.get(&(w, u)).copied().unwrap_or(0);
        for (id, unit) in &active {
            if n(**id) < RATE.min_count {
                continue;
            }
            // The other active units of the group, or of all if the group has too few.
            let peers =
                |same_group: bool| -> Vec<(u32, &Unit)> { active.iter().filter(|(o, p)| o != id && (!same_group || p.group == unit.group)).map(|(o, p)| (**o, *p)).collect() };
            let mut chosen = peers(true);
            if chosen.len() < RATE.min_peers {
                chosen = peers(false);
            }
            if chosen.len() < RATE.min_peers {
                continue;
            }
            let events: i64 = chosen.iter().map(|(o, _)| n(*o)).sum();
            let members: u64 = chosen.iter().map(|(_, p)| p.size).sum();
            let expected = unit.size as f64 * (events as f64 / members as f64);
            let score = (n(**id) as f64 - expected) / (expected.max(1.0) * (1.0 + unit.size as f64 / members as f64)).sqrt();
            if n(**id) as f64 >= RATE.min_ratio * expected && score >= RATE.min_score {
                let spike = RateSpike { window_start: w, observed: n(**id), expected: expected.into(), score: score.into() };
                out.insert((**id, spike), 1);
            }
        }
    }
    out
}

#[test]
fn rate_spikes_match_oracle() {
    fn logic(c: VecCollection<'_, u64, EventOrUnit>) -> VecCollection<'_, u64, (u32, RateSpike)> {
        let events = c.clone().flat_map(|r| r.ok());
        let units = c.flat_map(|r| r.err());
        // Some updates stand for several events, as when a pipeline adds up a time's events.
        events.explode(|(t, u)| Some(((window_start(t, RATE.width_ms), u), weight(t)))).rate_spikes(units, RATE)
    }
    let mut found = 0;
    for seed in 80..84 {
        let input = events_and_units(seed);
        found += rate_oracle(&accumulate(&input, u64::MAX)).len();
        check(input, logic, rate_oracle);
    }
    assert!(found >= 4, "the random inputs have spikes to find ({found})");
}

#[test]
fn over_capacity_matches_oracle() {
    fn logic(c: VecCollection<'_, u64, (bool, u32, u32)>) -> VecCollection<'_, u64, (u32, (i64, i64))> {
        let counts = c.clone().flat_map(|(is_dim, k, _)| (!is_dim).then_some(k)).count_by(|k| *k);
        let capacities = c.flat_map(|(is_dim, k, v)| is_dim.then_some((k, v as i64 / 10)));
        counts.over_capacity(capacities)
    }
    for seed in 90..94 {
        check(facts_and_dimension(seed), logic, |acc| {
            let dim = dimension_of(acc);
            let mut counts: BTreeMap<u32, i64> = BTreeMap::new();
            for ((is_dim, k, _), r) in acc {
                if !is_dim {
                    *counts.entry(*k).or_default() += *r as i64;
                }
            }
            counts.into_iter().filter_map(|(k, n)| dim.get(&k).map(|v| (k, (n, *v as i64 / 10))).filter(|(_, (n, cap))| n > cap)).map(|row| (row, 1)).collect()
        });
    }
}

#[test]
fn over_capacity_grouped_matches_oracle() {
    // Units 0..12 with counts; units 0..8 with a capacity (value / 10) in group value % 3,
    // which moves as the unit's record changes.
    fn logic(c: VecCollection<'_, u64, (bool, u32, u32)>) -> VecCollection<'_, u64, OverRow<u32, u32>> {
        // Some updates stand for several events, as when a pipeline adds up a time's events.
        let events = c.clone().explode(|(is_dim, k, v)| (!is_dim).then_some((k, 1 + (v % 3) as isize)));
        let units = c.flat_map(|(is_dim, k, v)| is_dim.then_some((k, (v as i64 / 10, v % 3))));
        events.over_capacity_grouped(units)
    }
    let mut found = BTreeMap::new();
    for seed in 96..100 {
        let input = facts_and_dimension(seed);
        let oracle = |acc: &BTreeMap<(bool, u32, u32), isize>| {
            let dim = dimension_of(acc);
            let mut counts: BTreeMap<u32, i64> = BTreeMap::new();
            for ((is_dim, k, v), r) in acc {
                if !is_dim {
                    *counts.entry(*k).or_default() += *r as i64 * (1 + (v % 3) as i64);
                }
            }
            let mut out = BTreeMap::new();
            let mut groups: BTreeMap<u32, (i64, i64)> = BTreeMap::new();
            for (k, v) in &dim {
                let (n, capacity, group) = (counts.get(k).copied().unwrap_or(0), *v as i64 / 10, v % 3);
                if n > capacity {
                    out.insert((Over::Unit(*k, group), (n, capacity)), 1);
                }
                let totals = groups.entry(group).or_default();
                (totals.0, totals.1) = (totals.0 + n, totals.1 + capacity);
            }
            for (g, (n, capacity)) in groups {
                if n > capacity {
                    out.insert((Over::Group(g), (n, capacity)), 1);
                }
            }
            out
        };
        for (row, _) in oracle(&accumulate(&input, u64::MAX)) {
            *found.entry(matches!(row.0, Over::Group(_))).or_insert(0) += 1;
        }
        check(input, logic, oracle);
    }
    assert!(found.len() == 2, "the random inputs have units and groups over capacity ({found:?})");
}

#[test]
fn check_totals_sees_every_total_at_once() {
    // Each check row is (good, bad) as totals: at every time, the one row matches the input.
    fn logic(c: VecCollection<'_, u64, u32>) -> VecCollection<'_, u64, (i64, i64)> {
        c.check_totals("Test", |totals| vec![(totals.get(&0).copied().unwrap_or(0), totals.get(&1).copied().unwrap_or(0))])
    }
    let input = random_updates(95, 300, |r| r.random_range(0..2u32));
    check(input, logic, |acc| {
        if acc.is_empty() {
            return BTreeMap::new();
        }
        let total = |x: u32| acc.get(&x).map(|r| *r as i64).unwrap_or(0);
        BTreeMap::from([((total(0), total(1)), 1)])
    });
}

#[test]
fn split_moves_each_record_to_its_part() {
    fn logic(c: VecCollection<'_, u64, u32>) -> VecCollection<'_, u64, (u32, u32)> {
        let [zero, one, two] = c.split(|x| (x % 3) as usize);
        zero.map(|x| (0, x)).concat(one.map(|x| (1, x))).concat(two.map(|x| (2, x)))
    }
    let input = random_updates(97, 400, |r| r.random_range(0..60u32));
    check(input, logic, |acc| acc.iter().map(|(x, n)| ((x % 3, *x), *n)).collect());
}
