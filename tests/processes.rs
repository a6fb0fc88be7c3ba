//! Exactly once across processes: the example run as two timely processes on loopback,
//! reading a real broker (tansu) and writing PostgreSQL. SIGKILLed at random moments after
//! commits (one process, then both) and restarted with the same arguments, it ends with
//! the tables equal to the oracle and no reader ever sees a result go back; with one
//! process's database sessions terminated every second for the whole run, it still ends
//! exact.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use ballotflow::connectors::dataset::{self, read_jsonl, Share, SourcePosition, Vote};
use common::example::{example, generated, load, run};
use common::oracle;
use common::pg::{
    assert_tables, expected_records, expected_results, read_tables, report_value, result_tables, terminate_sessions, watch_for_going_back, without_positions, FreshDb, Tables,
};
use common::tansu::Tansu;
use rand::{Rng, SeedableRng};

/// An election published to tansu, the hosts file of a two-process job, and what the
/// tables must hold.
struct Published {
    tmp: tempfile::TempDir,
    tansu: Tansu,
    hosts: PathBuf,
    results: Tables,
    records: Tables,
}

fn published(voters: &str, seed: &str) -> Published {
    let tansu = common::tansu::start();
    let tmp = tempfile::tempdir().unwrap();
    let data = generated(tmp.path(), voters, seed);
    run(&["produce", "--input", data.to_str().unwrap(), "--partitions", "4", "--brokers", &tansu.brokers]);
    let admitted = load(&data);
    let rows = oracle(&admitted);
    let mut votes = Vec::new();
    read_jsonl::<Vote, _, _>(&data.join(dataset::VOTES), Share::all(), |_, v| votes.push((SourcePosition::new("", 0, 0), v)), |d| panic!("{d:?}")).unwrap();
    let records = without_positions(expected_records(&admitted, &votes, &rows, true));
    let ports: Vec<u16> = (0..2).map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()).collect();
    let hosts = tmp.path().join("hosts.txt");
    std::fs::write(&hosts, ports.iter().map(|p| format!("127.0.0.1:{p}\n")).collect::<String>()).unwrap();
    Published { results: expected_results(&rows), records, hosts, tansu, tmp }
}

impl Published {
    /// Process `process`'s arguments: the same at every start.
    fn args(&self, process: usize, url: &str) -> Vec<String> {
        let hosts = self.hosts.to_str().unwrap();
        let args = ["--brokers", &self.tansu.brokers, "--bounded", "-w", "1", "-n", "2", "-p", &process.to_string(), "-h", hosts];
        let tuning = ["--batch", "300", "--pg-batch-ms", "20", "--postgres", url];
        args.iter().chain(&tuning).map(|a| a.to_string()).collect()
    }

    fn spawn(&self, process: usize, url: &str, out: Stdio) -> Child {
        let log = std::fs::File::create(self.log(process)).unwrap();
        Command::new(example()).args(self.args(process, url)).env("RUST_LOG", "warn").stdout(out).stderr(log).spawn().expect("the example starts")
    }

    /// Where process `process`'s log of its latest start goes.
    fn log(&self, process: usize) -> PathBuf {
        self.tmp.path().join(format!("process-{process}.log"))
    }

    fn assert_exact(&self, client: &mut postgres::Client, label: &str) {
        assert_tables(&result_tables(client, "ballotflow"), &self.results, label);
        let records = without_positions(read_tables(client, "ballotflow", &["candidates", "polling_stations", "voters", "votes"]));
        assert_tables(&records, &self.records, label);
    }
}

/// Whether a worker of the sink `sink` has committed since `since` (the database's clock).
fn committed_since(client: &mut postgres::Client, sink: &str, since: std::time::SystemTime) -> bool {
    let query = "SELECT count(*) FROM ballotflow.pipeline_progress WHERE sink = $1 AND committed_at > $2";
    client.query_one(query, &[&sink, &since]).is_ok_and(|r| r.get::<_, i64>(0) > 0)
}

/// Whether the sinks of worker `worker` (of a job of one worker per process) have both
/// committed their complete input.
fn complete(client: &mut postgres::Client, worker: usize) -> bool {
    let query = "SELECT count(*) FROM ballotflow.pipeline_progress WHERE worker = $1 AND frontier IS NULL";
    client.query_one(query, &[&(worker as i32)]).is_ok_and(|r| r.get::<_, i64>(0) == 2)
}

fn ledger(client: &mut postgres::Client) -> i64 {
    client.query_one("SELECT count(*) FROM ballotflow.votes", &[]).map_or(0, |r| r.get(0))
}

/// Waits at most `limit` for `child` to exit by itself.
fn exits_within(child: &mut Child, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if child.try_wait().unwrap().is_some() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

fn read_log(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

#[test]
fn two_processes_killed_one_then_both_again_and_again_end_exact_and_never_go_back() {
    let job = published("60000", "31");
    let db = FreshDb::new("processes");
    let url = db.url();
    watch_for_going_back(&url);
    let mut client = db.client();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(31);
    // Which processes each start kills (process 1, both, process 0, both), a moment after
    // which sink has committed in it: results (the first commit of a restart is the
    // reconciliation of a sink once the replay has caught up), or records (which then
    // mostly hold the whole replay).
    let plan: [(&[usize], &str); 4] = [(&[1], "records"), (&[0, 1], "results"), (&[0], "records"), (&[0, 1], "results")];
    let mut committed = vec![0];
    for (victims, sink) in plan {
        let started: std::time::SystemTime = client.query_one("SELECT now()", &[]).unwrap().get(0);
        let mut children = [job.spawn(0, &url, Stdio::null()), job.spawn(1, &url, Stdio::null())];
        let running = |children: &mut [Child; 2]| children.iter_mut().all(|c| c.try_wait().unwrap().is_none());
        while running(&mut children) && !committed_since(&mut client, sink, started) {
            std::thread::sleep(Duration::from_millis(5));
        }
        std::thread::sleep(Duration::from_millis(rng.random_range(0..200)));
        assert!(
            running(&mut children),
            "a process ended before it was killed (ledger rows at the kills so far: {committed:?}):\n{}\n{}",
            read_log(&job.log(0)),
            read_log(&job.log(1))
        );
        for &victim in victims {
            children[victim].kill().unwrap(); // SIGKILL
        }
        // A process whose peer died stops by itself: timely takes the computation down. It
        // succeeds only if the computation had ended before the kill, its sinks complete.
        for (process, child) in children.iter_mut().enumerate() {
            let stopped = exits_within(child, Duration::from_secs(30));
            if !stopped {
                child.kill().unwrap();
            }
            let status = child.wait().unwrap();
            assert!(stopped, "process {process} kept running after its peer was killed");
            assert!(!status.success() || complete(&mut client, process), "process {process} succeeded without its peer and without completing");
        }
        committed.push(ledger(&mut client));
    }
    eprintln!("ledger rows at each kill: {committed:?}");
    let total = job.records["votes"].len() as i64;
    assert!(committed[1] < total, "the first kill came before the end: {committed:?} of {total}");

    let mut other = job.spawn(1, &url, Stdio::null());
    let last = run(&job.args(0, &url).iter().map(String::as_str).collect::<Vec<_>>());
    assert!(other.wait().unwrap().success(), "process 1 failed:\n{}", read_log(&job.log(1)));
    assert!(last.stdout.contains("replays="), "{}", last.stdout);
    let went_back: Vec<String> = client.query("SELECT what FROM public.went_back", &[]).unwrap().iter().map(|r| r.get(0)).collect();
    assert!(went_back.is_empty(), "readers saw the results go back: {went_back:#?}");
    job.assert_exact(&mut client, "after the kills");
}

#[test]
fn two_processes_one_of_whose_sessions_are_terminated_every_second_end_exact() {
    let job = published("40000", "32");
    let db = FreshDb::new("processes_terminated");
    let (url, mut client) = (db.url(), db.client());
    // Process 1's connections go by their own name, so that only they are terminated.
    let separator = if url.contains('?') { '&' } else { '?' };
    let url_1 = format!("{url}{separator}application_name=ballotflow-1");
    let mut first = job.spawn(0, &url, Stdio::piped());
    let mut second = job.spawn(1, &url_1, Stdio::piped());
    let mut terminations = 0;
    while first.try_wait().unwrap().is_none() || second.try_wait().unwrap().is_none() {
        std::thread::sleep(Duration::from_millis(1000));
        terminations += usize::from(terminate_sessions(&mut client, "ballotflow-1"));
    }
    let outputs: Vec<Output> = [first, second].into_iter().map(|c| c.wait_with_output().unwrap()).collect();
    for (process, out) in outputs.iter().enumerate() {
        assert!(out.status.success(), "process {process} must get through:\n{}\n{}", String::from_utf8_lossy(&out.stdout), read_log(&job.log(process)));
    }
    assert!(terminations >= 2, "the run outlived only {terminations} terminations");
    let stdout = String::from_utf8_lossy(&outputs[1].stdout);
    assert!(report_value(&stdout, "outages") >= 1, "process 1 reports its outages: {stdout}");
    assert_eq!(report_value(&String::from_utf8_lossy(&outputs[0].stdout), "outages"), 0, "process 0 was left alone");
    job.assert_exact(&mut client, "after one process's sessions were terminated every second");
}
