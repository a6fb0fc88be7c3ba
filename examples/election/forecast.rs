//! `election forecast`: the projection measured like a forecast, on generated elections
//! (see `ballotflow::pipelines::election::projection::forecast`). Prints one markdown
//! table of the targets per scenario, and the coverage of the 90 % intervals per hour.

use std::time::Instant;

use anyhow::Context;
use clap::Args;

use ballotflow::connectors::generator::Stress;
use ballotflow::pipelines::election::projection::forecast::{calibrate, checkpoints, evaluate, ElectionSet, ForecastReport, MARGINS};
use ballotflow::pipelines::election::projection::{CallRules, ProjectionModel};

#[derive(Args, Debug)]
pub struct ForecastArgs {
    /// Calibration elections per scenario (half fit the curves, half the spread).
    #[arg(long, default_value_t = 100)]
    pub calibration: u64,
    /// Test elections per scenario (seeds disjoint from the calibration's).
    #[arg(long, default_value_t = 200)]
    pub test: u64,
    /// First seed of the test elections (the calibration's are 0 onwards). The call rule's
    /// threshold was chosen on seeds 1,000,000 onwards; the default ones were not seen.
    #[arg(long, default_value_t = 2_000_000)]
    pub test_seeds_from: u64,
    /// Registered voters of the elections, taken in turn.
    #[arg(long, value_delimiter = ',', default_value = "20000,100000")]
    pub sizes: Vec<usize>,
    /// Party counts of the elections, taken in turn.
    #[arg(long, value_delimiter = ',', default_value = "3,4,5,6")]
    pub parties: Vec<usize>,
    /// Minutes between checkpoints (from 06:00 to 22:30).
    #[arg(long, default_value_t = 15.0)]
    pub step: f64,
    /// Monte Carlo draws per projection.
    #[arg(long, default_value_t = 1_000)]
    pub draws: usize,
    /// Scenarios to run (default all): none, a, b, c, abc, abcd, abcd-uncalibrated.
    #[arg(long, value_delimiter = ',')]
    pub scenarios: Vec<String>,
    /// Win probability at which a race is called.
    #[arg(long, default_value_t = CallRules::default().call_at)]
    pub call_at: f64,
    /// Minutes of event time for which every projection must be at or above `--call-at`
    /// before a call.
    #[arg(long, default_value_t = CallRules::default().debounce_ms / 60_000)]
    pub debounce_minutes: i64,
    /// Write the model calibrated on elections without stress options here (the one the
    /// job embeds).
    #[arg(long)]
    pub save_model: Option<std::path::PathBuf>,
}

/// A scenario: the stress options of its calibration and of its test elections.
struct Scenario {
    name: &'static str,
    calibration: Stress,
    test: Stress,
}

fn scenarios() -> Vec<Scenario> {
    let none = Stress::default();
    let a = Stress { age_timing: true, ..none };
    let b = Stress { regional_hours: true, ..none };
    let c = Stress { station_shock: Stress::ALL.station_shock, ..none };
    let abc = Stress { late_swing: 0.0, ..Stress::ALL };
    vec![
        Scenario { name: "none", calibration: none, test: none },
        Scenario { name: "a", calibration: a, test: a },
        Scenario { name: "b", calibration: b, test: b },
        Scenario { name: "c", calibration: c, test: c },
        Scenario { name: "abc", calibration: abc, test: abc },
        Scenario { name: "abcd", calibration: Stress::ALL, test: Stress::ALL },
        Scenario { name: "abcd-uncalibrated", calibration: abc, test: Stress::ALL },
    ]
}

fn clock(minute: f64) -> String {
    if !minute.is_finite() {
        return "-".into();
    }
    format!("{:02}:{:02}", (minute / 60.0) as i64, (minute % 60.0) as i64)
}

pub fn run(args: ForecastArgs) -> anyhow::Result<()> {
    let start = Instant::now();
    let points = checkpoints(6.0 * 60.0, 22.5 * 60.0, args.step);
    let base = ProjectionModel { draws: args.draws, ..ProjectionModel::uninformed() };
    let rules = CallRules { call_at: args.call_at, debounce_ms: args.debounce_minutes * 60_000, ..CallRules::default() };
    let set = |seeds: std::ops::Range<u64>, stress: Stress| ElectionSet { seeds, sizes: args.sizes.clone(), parties: args.parties.clone(), stress };
    let half = args.calibration / 2;
    let mut rows = Vec::new();
    for scenario in scenarios().into_iter().filter(|s| args.scenarios.is_empty() || args.scenarios.iter().any(|n| n == s.name)) {
        let fit = set(0..half, scenario.calibration).replays();
        let spread = set(half..args.calibration, scenario.calibration).replays();
        let model = calibrate(&base, &fit, &spread, &points);
        if scenario.name == "none" {
            if let Some(path) = &args.save_model {
                std::fs::write(path, serde_json::to_string(&model)?).with_context(|| format!("writing {}", path.display()))?;
            }
        }
        let tests = set(args.test_seeds_from..args.test_seeds_from + args.test, scenario.test).replays();
        let report = evaluate(&model, &tests, &points, &rules);
        eprintln!("forecast: scenario {} done after {:.0} s", scenario.name, start.elapsed().as_secs_f64());
        rows.push((scenario.name, report));
    }
    print_tables(&rows, &args, start.elapsed().as_secs_f64());
    Ok(())
}

fn print_tables(rows: &[(&str, ForecastReport)], args: &ForecastArgs, seconds: f64) {
    println!(
        "{} calibration and {} test elections per scenario; {:?} voters, {:?} parties; checkpoints every {} min; {} draws; calls at {} held for {} min; {:.0} s\n",
        args.calibration, args.test, args.sizes, args.parties, args.step, args.draws, args.call_at, args.debounce_minutes, seconds
    );
    println!("| scenario | races | 90 % coverage, worst / best checkpoint (07:00-21:00) | calibration error | Brier skill (all / 09-12) | wrong certain | wrong calls, margin > 1 pt | wrong calls, all | median call, margin > 5 / 1-5 / < 1 pt | 09:00 leader lost: projection ahead of the raw count, median (races ≥ 60 min ahead), all / margin > 1 pt / > 5 pts |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for (name, r) in rows {
        let day: Vec<f64> = r.coverage.iter().filter(|c| (420.0..=1260.0).contains(&c.0) && c.2 > 0).map(|c| c.1 as f64 / c.2 as f64).collect();
        let worst = day.iter().cloned().fold(f64::INFINITY, f64::min);
        let best = day.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let [skill, skill_morning] = r.brier_skill();
        let calls: Vec<String> = (0..3).rev().map(|m| ForecastReport::median(&r.call_minutes[m]).map_or("-".into(), clock)).collect();
        let flips = |leads: Vec<f64>| {
            let ahead = leads.iter().filter(|&&l| l >= 60.0).count();
            let median = ForecastReport::median(&leads).map_or("-".into(), |l| format!("{l:+.0} min"));
            format!("{} races: {median} ({ahead})", leads.len())
        };
        println!(
            "| {name} | {} | {:.1} % / {:.1} % | {:.3} | {:.2} / {:.2} | {} | {} | {} ({:.2} %) | {} | {} / {} / {} |",
            r.races,
            100.0 * worst,
            100.0 * best,
            r.calibration_error(),
            skill,
            skill_morning,
            r.wrong_certain,
            r.wrong_calls[1] + r.wrong_calls[2],
            r.wrong_calls.iter().sum::<usize>(),
            100.0 * r.wrong_call_rate(),
            calls.join(" / "),
            flips(r.flips(0..=2)),
            flips(r.flips(1..=2)),
            flips(r.flips(2..=2)),
        );
    }
    println!("\nCoverage of the 90 % intervals by checkpoint:\n");
    let hours: Vec<f64> = (7..=21).map(|h| h as f64 * 60.0).collect();
    println!("| scenario | {} |", hours.iter().map(|&h| clock(h)).collect::<Vec<_>>().join(" | "));
    println!("|---|{}", "---|".repeat(hours.len()));
    for (name, r) in rows {
        let cells: Vec<String> =
            hours.iter().map(|&h| r.coverage.iter().find(|c| c.0 == h && c.2 > 0).map_or("-".into(), |c| format!("{:.0}", 100.0 * c.1 as f64 / c.2 as f64))).collect();
        println!("| {name} | {} |", cells.join(" | "));
    }
    println!("\nRaces by final margin ({}): {:?}", MARGINS.join(", "), rows.first().map(|r| r.1.races_by_margin));
}
