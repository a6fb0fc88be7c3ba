//! Running the `election` example as a child process, and checking what it wrote.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use ballotflow::connectors::dataset::{self, read_jsonl, Candidate, PollingStation, Share, Vote, Voter};
use ballotflow::connectors::sink::json::write_results;
use ballotflow::pipelines::election::results::{ResultKey, ResultRow};

use super::{Admitted, Event};

/// The example binary, which `cargo test` builds next to the test binaries.
pub fn example() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe.parent().and_then(Path::parent).expect("target directory");
    let path = dir.join("examples").join(format!("election{}", std::env::consts::EXE_SUFFIX));
    assert!(path.exists(), "{} is missing; run through `cargo test`", path.display());
    path
}

/// What a successful run of the example printed.
pub struct Printed {
    pub stdout: String,
    pub stderr: String,
}

pub fn run(args: &[&str]) -> Printed {
    let out = Command::new(example()).args(args).env("RUST_LOG", "warn").output().expect("example runs");
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned());
    assert!(out.status.success(), "election {args:?} failed:\n{stdout}\n{stderr}");
    Printed { stdout, stderr }
}

/// Writes a generated data set into `dir/data`.
pub fn generated(dir: &Path, voters: &str, seed: &str) -> PathBuf {
    let data = dir.join("data");
    run(&["generate", "--out", data.to_str().unwrap(), "--voters", voters, "--seed", seed]);
    data
}

/// Asserts that the results file at `results` holds exactly the `expected` rows, table by
/// table; returns the expected results as JSON.
pub fn assert_results(results: &Path, expected: &BTreeMap<ResultKey, ResultRow>) -> serde_json::Value {
    let expected_path = results.with_extension("expected.json");
    write_results(&expected_path, expected.values()).unwrap();
    let normalised = |bytes: Vec<u8>| {
        let mut tables: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        tables.as_object_mut().unwrap().values_mut().flat_map(|rows| rows.as_array_mut().unwrap()).for_each(super::normalise_projection);
        tables
    };
    let expected = normalised(std::fs::read(&expected_path).unwrap());
    let actual = normalised(std::fs::read(results).unwrap());
    for (table, rows) in expected.as_object().unwrap() {
        assert_eq!(&actual[table], rows, "table {table}");
    }
    assert_eq!(actual, expected);
    expected
}

pub fn load(dir: &Path) -> Admitted {
    let mut admitted = Admitted::default();
    let mut seq = 0u64;
    let mut add = |e: Event| {
        admitted.add(seq, &e);
        seq += 1;
    };
    let dead = |d| panic!("generated data has a dead letter: {d:?}");
    read_jsonl::<Candidate, _, _>(&dir.join(dataset::CANDIDATES), Share::all(), |_, c| add(Event::Candidate(c)), dead).unwrap();
    read_jsonl::<PollingStation, _, _>(&dir.join(dataset::POLLING_STATIONS), Share::all(), |_, s| add(Event::Station(s)), dead).unwrap();
    read_jsonl::<Voter, _, _>(&dir.join(dataset::VOTERS), Share::all(), |_, v| add(Event::Voter(v)), dead).unwrap();
    read_jsonl::<Vote, _, _>(&dir.join(dataset::VOTES), Share::all(), |_, v| add(Event::Vote(v)), dead).unwrap();
    admitted
}
