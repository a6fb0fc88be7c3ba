//! End to end: the `election` example writes a generated data set, tallies it from the
//! files on two workers, and its results file equals the batch oracle over those files.

mod common;

use std::process::Command;

use ballotflow::connectors::dataset;
use common::example::{assert_results, example, generated, load, run, Printed};
use common::oracle;

#[test]
fn example_tallies_a_generated_data_set_exactly() {
    let tmp = tempfile::tempdir().unwrap();
    let data = generated(tmp.path(), "3000", "7");
    let results = tmp.path().join("results.json");
    let report = run(&["--input", data.to_str().unwrap(), "--results", results.to_str().unwrap(), "-w", "2", "--batch", "500"]).stdout;

    // The report line has the agreed fields.
    let line = report.lines().last().unwrap_or_default();
    for field in ["votes=", "elapsed_s=", "votes_per_s=", "workers=2", "late=", "dead_letters=0"] {
        assert!(line.contains(field), "report line {line:?} lacks {field}");
    }
    let admitted = load(&data);
    let votes = admitted.votes.len();
    assert!(line.starts_with(&format!("votes={votes} ")) || votes < 1, "report {line:?} vs {votes} distinct votes");

    let expected = assert_results(&results, &oracle(&admitted));
    assert!(expected["anomalies"].as_array().unwrap().len() > 5, "the generated election has anomalies");
}

#[test]
fn bad_lines_are_counted_dead_letters_and_the_rest_is_still_exact() {
    let tmp = tempfile::tempdir().unwrap();
    let data = generated(tmp.path(), "1500", "11");
    let results = tmp.path().join("results.json");
    let mut admitted = load(&data);
    admitted.dead_letters = 5; // the bad lines below
    let expected_rows = oracle(&admitted);

    // Append one bad line of each kind to the votes file.
    let votes_path = data.join(dataset::VOTES);
    let mut votes = std::fs::read(&votes_path).unwrap();
    let absurd = r#"{"vote_id":"x1","voter_id":"voter-0000001","candidate_id":"cand-0001","polling_station_id":"ps-00001","voting_time":"2100-01-01T00:00:00.000Z","voting_method":"postal"}"#;
    for line in [&b"{not json"[..], b"\xff\xfe", br#"{"vote_id":"x2"}"#, absurd.as_bytes(), "x".repeat(ballotflow::connectors::dataset::MAX_LINE_BYTES + 1).as_bytes()] {
        votes.extend_from_slice(line);
        votes.push(b'\n');
    }
    std::fs::write(&votes_path, votes).unwrap();

    let Printed { stdout, stderr } =
        run(&["--input", data.to_str().unwrap(), "--results", results.to_str().unwrap(), "-w", "2", "--election-date", "2026-05-07"]);
    assert!(stdout.lines().last().unwrap().ends_with("dead_letters=5"), "{stdout}");
    for kind in ["malformed_json=2", "not_utf8=1", "absurd_timestamp=1", "oversized=1"] {
        assert!(stderr.contains(kind), "dead-letter summary lacks {kind}: {stderr}");
    }
    assert_results(&results, &expected_rows);
}

#[test]
fn two_processes_give_the_same_results_as_one() {
    // Records cross process boundaries serialised, which a single process never does.
    let tmp = tempfile::tempdir().unwrap();
    let ports: Vec<u16> = (0..2)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port())
        .collect();
    let hosts = tmp.path().join("hosts.txt");
    std::fs::write(&hosts, ports.iter().map(|p| format!("127.0.0.1:{p}\n")).collect::<String>()).unwrap();
    let (one, two) = (tmp.path().join("one.json"), tmp.path().join("two.json"));
    let common = ["--voters", "4000", "--seed", "3", "--no-postgres"];

    let mut second = Command::new(example())
        .args(common)
        .args(["-w", "1", "-n", "2", "-p", "1", "-h", hosts.to_str().unwrap()])
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    run(&[&common[..], &["-w", "1", "-n", "2", "-p", "0", "-h", hosts.to_str().unwrap(), "--results", two.to_str().unwrap()]].concat());
    assert!(second.wait().unwrap().success(), "process 1 failed");
    run(&[&common[..], &["-w", "2", "--results", one.to_str().unwrap()]].concat());
    assert_eq!(std::fs::read(&one).unwrap(), std::fs::read(&two).unwrap());
}
