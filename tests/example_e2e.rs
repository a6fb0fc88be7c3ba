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
    for field in ["votes=", "elapsed_s=", "votes_per_s=", "registry_per_s=", "vote_phase_per_s=", "peak_rss_mb=", "workers=2", "late=", "dead_letters=0"] {
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

    let Printed { stdout, stderr } = run(&["--input", data.to_str().unwrap(), "--results", results.to_str().unwrap(), "-w", "2", "--election-date", "2026-05-07"]);
    assert!(stdout.lines().last().unwrap().ends_with("dead_letters=5"), "{stdout}");
    for kind in ["malformed_json=2", "not_utf8=1", "absurd_timestamp=1", "oversized=1"] {
        assert!(stderr.contains(kind), "dead-letter summary lacks {kind}: {stderr}");
    }
    assert_results(&results, &expected_rows);
}

#[test]
fn absurd_times_anywhere_and_a_byte_order_mark_cost_no_good_vote() {
    // Without --election-date the job learns the plausible range from the votes. Absurd
    // votes first in the file (one of 1970 by a real voter at their station at a real
    // vote's time of day, which would otherwise count as that voter's earliest vote; one
    // of 2100), in the middle and last, after a byte-order mark and malformed lines.
    let tmp = tempfile::tempdir().unwrap();
    let data = generated(tmp.path(), "1500", "11");
    let mut admitted = load(&data);
    let late = |stdout: &str| stdout.lines().last().unwrap().split(' ').find(|f| f.starts_with("late=")).unwrap().to_string();
    let workers = ["1", "2", "3"];
    let clean: Vec<String> = workers.iter().map(|w| late(&run(&["--input", data.to_str().unwrap(), "-w", w, "--batch", "300"]).stdout)).collect();
    let votes_path = data.join(dataset::VOTES);
    let original = std::fs::read_to_string(&votes_path).unwrap();
    let lines: Vec<&str> = original.lines().collect();
    let real: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    let moved = |id: &str, time: &str| {
        let mut vote = real.clone();
        vote["vote_id"] = id.into();
        vote["voting_time"] = time.into();
        vote.to_string()
    };
    let time_of_day = &real["voting_time"].as_str().unwrap()[10..];
    let absurd = [
        moved("x1970", &format!("1970-01-01{time_of_day}")),
        moved("x2100", "2100-01-01T09:00:00.000Z"),
        moved("xmid", "2026-06-20T09:00:00.000Z"),
        moved("xlast", "1999-12-31T23:00:00.000Z"),
    ];
    let mut file = String::from("\u{feff}");
    for line in [absurd[0].as_str(), absurd[1].as_str(), "{not json", r#"{"vote_id":"x2"}"#] {
        file.push_str(line);
        file.push('\n');
    }
    for (i, line) in lines.iter().enumerate() {
        if i == lines.len() / 2 {
            file.push_str(&absurd[2]);
            file.push('\n');
        }
        file.push_str(line);
        file.push('\n');
    }
    file.push_str(&absurd[3]);
    file.push('\n');
    std::fs::write(&votes_path, file).unwrap();
    admitted.dead_letters = 6;
    let expected = oracle(&admitted);

    for (workers, clean_late) in workers.into_iter().zip(clean) {
        let results = tmp.path().join(format!("results-{workers}.json"));
        let Printed { stdout, stderr } = run(&["--input", data.to_str().unwrap(), "--results", results.to_str().unwrap(), "-w", workers, "--batch", "300"]);
        let line = stdout.lines().last().unwrap();
        assert!(line.starts_with(&format!("votes={} ", admitted.votes.len())) && line.ends_with("dead_letters=6"), "{workers} workers: {stdout}");
        assert_eq!(late(&stdout), clean_late, "{workers} workers: the same votes are late as without the bad lines");
        assert!(stderr.contains("absurd_timestamp=4") && stderr.contains("malformed_json=2"), "{workers} workers: {stderr}");
        assert_results(&results, &expected);
    }
}

#[test]
fn two_processes_give_the_same_results_as_one() {
    // Records cross process boundaries serialised, which a single process never does.
    let tmp = tempfile::tempdir().unwrap();
    let ports: Vec<u16> = (0..2).map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()).collect();
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
