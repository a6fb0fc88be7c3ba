//! The dashboard and `/metrics` of the `election` example, read as a browser and a scraper
//! would: over plain HTTP, and in a real headless Chromium (Debian's `chromium` and
//! `chromium-driver`, which `.ci/run` installs).

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use common::example::{example, generated};
use common::http;

/// The example running as a child, its stderr lines arriving on a channel.
struct Running {
    child: Child,
    lines: Receiver<String>,
    addr: String,
}

impl Running {
    /// Starts the example with `args` and waits for its dashboard's address.
    fn start(args: &[&str]) -> Running {
        let mut child = Command::new(example()).args(args).env("RUST_LOG", "warn").stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("example starts");
        let (send, lines) = channel();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = send.send(line);
            }
        });
        let mut running = Running { child, lines, addr: String::new() };
        let line = running.wait_for("dashboard: http://", Duration::from_secs(120));
        running.addr = line.trim_start_matches("dashboard: http://").split('/').next().unwrap().to_string();
        running
    }

    /// Waits for a stderr line starting with `prefix`.
    fn wait_for(&mut self, prefix: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.starts_with(prefix) => return line,
                Ok(_) => {}
                Err(_) => panic!("no line {prefix:?} from the example within {timeout:?}"),
            }
        }
    }

    /// Ctrl-C, then its stdout; it must exit successfully.
    fn interrupt(mut self) -> String {
        use std::io::Read;
        unsafe { libc::kill(self.child.id() as i32, libc::SIGINT) };
        let mut stdout = String::new();
        self.child.stdout.take().unwrap().read_to_string(&mut stdout).unwrap();
        let status = self.child.wait().unwrap();
        assert!(status.success(), "the example failed after Ctrl-C: {status:?}\n{stdout}");
        stdout
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

/// The rows of a results file, table by table.
fn results_file(path: &Path) -> BTreeMap<String, Vec<Value>> {
    let value: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    value.as_object().unwrap().iter().map(|(t, rows)| (t.clone(), rows.as_array().unwrap().clone())).collect()
}

fn sorted(mut rows: Vec<Value>) -> Vec<Value> {
    rows.sort_by_key(|r| r.to_string());
    rows
}

fn station_finding(row: &Value) -> bool {
    matches!(row["kind"].as_str(), Some("rate_spike" | "over_turnout"))
}

/// A snapshot's tables as rows, table by table.
fn snapshot_rows(snapshot: &Value) -> BTreeMap<String, Vec<Value>> {
    let tables = snapshot["tables"].as_object().unwrap();
    tables.iter().map(|(t, list)| (t.clone(), sorted(list.as_array().unwrap().iter().map(|e| e["row"].clone()).collect()))).collect()
}

/// The report line's `field=value`.
fn report_field(stdout: &str, field: &str) -> u64 {
    let line = stdout.lines().find(|l| l.starts_with("votes=")).unwrap_or_else(|| panic!("no report line in {stdout}"));
    line.split_whitespace().find_map(|kv| kv.strip_prefix(&format!("{field}="))).and_then(|v| v.parse().ok()).unwrap_or_else(|| panic!("no {field} in {line}"))
}

/// The samples of a metrics page: `name{labels}` → value.
fn samples(page: &str) -> BTreeMap<String, f64> {
    page.lines().filter(|l| !l.starts_with('#') && !l.is_empty()).map(|l| l.rsplit_once(' ').unwrap()).map(|(k, v)| (k.to_string(), v.parse().unwrap())).collect()
}

fn chromium() -> PathBuf {
    let path = PathBuf::from("/usr/bin/chromium");
    assert!(path.exists(), "the browser tests need Debian's chromium and chromium-driver (apt-get install chromium chromium-driver; .ci/run installs them)");
    path
}

fn target_dir() -> PathBuf {
    example().parent().and_then(Path::parent).and_then(Path::parent).unwrap().to_path_buf()
}

#[test]
fn after_a_bounded_run_the_stream_the_metrics_and_the_page_equal_the_results() {
    let dir = tempfile::tempdir().unwrap();
    let data = generated(dir.path(), "20000", "11");
    let results = dir.path().join("results.json");
    let args = ["--input", data.to_str().unwrap(), "-w", "2", "--no-postgres", "--results", results.to_str().unwrap(), "--dashboard", "127.0.0.1:0", "--linger"];
    let mut running = Running::start(&args);
    running.wait_for("dashboard still at", Duration::from_secs(120));
    let addr = running.addr.clone();
    let expected = results_file(&results);

    // The update stream: a snapshot as of the complete frontier.
    let events = http::events(&addr, "/events", None, Duration::from_secs(20), |e| e.iter().any(|e| e.event == "snapshot") && e.iter().any(|e| e.event == "engine"));
    let snapshot = &events.iter().find(|e| e.event == "snapshot").expect("a snapshot first").data;
    assert_eq!(snapshot["frontier"], Value::Null, "the run is complete");
    let streamed = snapshot_rows(snapshot);
    for (table, rows) in &expected {
        let want: Vec<Value> = match table.as_str() {
            "results_turnout_by_city" => vec![],
            "anomalies" => rows.iter().filter(|r| station_finding(r)).cloned().collect(),
            _ => rows.clone(),
        };
        assert_eq!(streamed.get(table).cloned().unwrap_or_default(), sorted(want), "streamed table {table}");
        assert_eq!(snapshot["sizes"][table].as_u64().unwrap_or(0), rows.len() as u64, "size of {table}");
    }
    let mut kinds: BTreeMap<String, i64> = BTreeMap::new();
    for row in &expected["anomalies"] {
        *kinds.entry(row["kind"].as_str().unwrap().to_string()).or_default() += 1;
    }
    assert_eq!(snapshot["counts"]["anomalies.kind"], json!(kinds));
    assert!(kinds.contains_key("duplicate_vote") && kinds.contains_key("rate_spike"), "the data set has per-vote anomalies and station findings: {kinds:?}");

    // Cities, a page at a time from the server; a search finds only matching rows.
    let cities: Value = serde_json::from_str(&http::get(&addr, "/api/rows?table=results_turnout_by_city&limit=500")).unwrap();
    assert_eq!(sorted(cities["rows"].as_array().unwrap().clone()), sorted(expected["results_turnout_by_city"].clone()));
    let london: Value = serde_json::from_str(&http::get(&addr, "/api/rows?table=results_turnout_by_city&q=lOnDoN&sort=votes&limit=2")).unwrap();
    let want = expected["results_turnout_by_city"].iter().filter(|r| r.to_string().to_lowercase().contains("london")).count();
    assert_eq!(london["total"].as_u64(), Some(want as u64));
    let votes: Vec<i64> = london["rows"].as_array().unwrap().iter().map(|r| r["votes"].as_i64().unwrap()).collect();
    assert!(votes.len() == want.min(2) && votes.windows(2).all(|w| w[0] >= w[1]), "largest first: {votes:?}");

    // The frames, folded from the first, give the snapshot (the board keeps them all here).
    let frames = http::events(&addr, "/events", Some(0), Duration::from_secs(20), |e| e.iter().any(|e| e.id == snapshot["id"].as_u64()));
    assert!(frames.iter().all(|e| e.event != "snapshot"), "frames after 0 are kept, not replaced by a snapshot");
    let mut folded: BTreeMap<(String, String), Value> = BTreeMap::new();
    for frame in frames.iter().filter(|e| e.event == "frame") {
        for change in frame.data["changes"].as_array().unwrap() {
            let key = (change["table"].as_str().unwrap().to_string(), change["key"].to_string());
            match &change["row"] {
                Value::Null => folded.remove(&key),
                row => folded.insert(key, row.clone()),
            };
        }
    }
    let mut from_frames: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for ((table, _), row) in folded {
        from_frames.entry(table).or_default().push(row);
    }
    let from_frames: BTreeMap<String, Vec<Value>> = from_frames.into_iter().map(|(t, rows)| (t, sorted(rows))).collect();
    assert_eq!(from_frames, streamed.into_iter().filter(|(_, rows)| !rows.is_empty()).collect::<BTreeMap<_, _>>());
    // A browser that has the last frame resumes with nothing missed and nothing repeated.
    let resumed = http::events(&addr, "/events", snapshot["id"].as_u64(), Duration::from_secs(3), |e| e.iter().any(|e| e.event == "engine"));
    assert!(resumed.iter().all(|e| e.event == "engine"), "{resumed:?}");

    // The page in a real browser: the leader and every candidate's count, from the DOM.
    let url = format!("http://{addr}/");
    let dom = Command::new(chromium()).args(["--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", &url]).output().unwrap();
    let dom = String::from_utf8_lossy(&dom.stdout);
    let candidates = &expected["results_votes_per_candidate"];
    let leader = candidates.iter().max_by_key(|c| (c["votes"].as_i64(), std::cmp::Reverse(c["candidate_name"].as_str().unwrap().to_string()))).unwrap();
    assert!(dom.contains(&format!("id=\"leader-name\">{}<", leader["candidate_name"].as_str().unwrap())), "leader on the page:\n{dom}");
    // The projection after the last vote: the nation's favourite is the leader, certain.
    let races = &dom[dom.find("id=\"projection-races\"").expect("the projection's races")..];
    let national = &races[races.find("<td class=\"\">national</td>").expect("the national race")..];
    let national = &national[..national.find("</tr>").unwrap()];
    assert!(national.contains(&format!(">{}<", leader["candidate_name"].as_str().unwrap())) && national.contains(">certain<"), "national race: {national}");
    assert!(dom.contains("CERTAIN</span>"), "the national call's badge");
    for candidate in candidates {
        let at = dom.find(&format!("data-candidate=\"{}\"", candidate["candidate_id"].as_str().unwrap())).expect("a bar per candidate");
        let bar = &dom[at..dom[at..].find("</div></div>").map_or(dom.len(), |end| at + end)];
        let votes = candidate["votes"].as_i64().unwrap();
        let shown = votes.to_string().as_bytes().rchunks(3).rev().map(|c| std::str::from_utf8(c).unwrap()).collect::<Vec<_>>().join(",");
        assert!(bar.contains(&format!("<b>{shown}</b>")), "{} votes of {} on the page: {bar}", shown, candidate["candidate_id"]);
    }
    let screenshot = target_dir().join("dashboard.png");
    let shot = Command::new(chromium())
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1440,1800", &format!("--screenshot={}", screenshot.display()), &url])
        .output()
        .unwrap();
    assert!(shot.status.success() && screenshot.exists(), "screenshot: {}", String::from_utf8_lossy(&shot.stderr));

    // The metrics agree with the report line and the results.
    let page = http::get(&addr, "/metrics");
    let stdout = running.interrupt();
    let metrics = samples(&page);
    assert_eq!(metrics["ballotflow_votes_admitted_total"], report_field(&stdout, "votes") as f64);
    assert_eq!(metrics["ballotflow_late_votes_total"], report_field(&stdout, "late") as f64);
    assert_eq!(metrics["ballotflow_dead_letters_total"], report_field(&stdout, "dead_letters") as f64);
    for (kind, n) in &kinds {
        assert_eq!(metrics[&format!("ballotflow_anomalies{{kind=\"{kind}\"}}")], *n as f64, "{kind}");
    }
    for check in &expected["data_quality"] {
        let passed = if check["passed"].as_bool().unwrap() { 1.0 } else { 0.0 };
        assert_eq!(metrics[&format!("ballotflow_data_quality_passed{{check=\"{}\"}}", check["check"].as_str().unwrap())], passed);
    }
    assert!(metrics["ballotflow_resident_memory_bytes"] > 1e6);
    if let Ok(out) = Command::new("promtool").arg("check").arg("metrics").stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().and_then(|mut child| {
        use std::io::Write;
        child.stdin.take().unwrap().write_all(page.as_bytes())?;
        child.wait_with_output()
    }) {
        assert!(out.status.success(), "promtool check metrics: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    }
}

/// A minimal WebDriver session on ChromeDriver (W3C protocol, JSON over HTTP).
struct Browser {
    driver: Child,
    addr: String,
    session: String,
}

impl Browser {
    fn start() -> Browser {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let driver = Command::new("/usr/bin/chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver (apt-get install chromium-driver)");
        let addr = format!("127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(&addr).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        let capabilities = json!({ "capabilities": { "alwaysMatch": { "goog:chromeOptions": {
            "binary": chromium(), "args": ["--headless", "--no-sandbox", "--disable-gpu", "--window-size=1440,900"] } } } });
        let created: Value = serde_json::from_str(&http::request(&addr, "POST", "/session", Some(&capabilities.to_string())).body).unwrap();
        let session = created["value"]["sessionId"].as_str().unwrap_or_else(|| panic!("no session: {created}")).to_string();
        Browser { driver, addr, session }
    }

    fn command(&self, path: &str, body: Value) -> Value {
        let response = http::request(&self.addr, "POST", &format!("/session/{}/{path}", self.session), Some(&body.to_string()));
        let value: Value = serde_json::from_str(&response.body).unwrap();
        assert_eq!(response.status, 200, "{path}: {value}");
        value["value"].clone()
    }

    fn script(&self, script: &str) -> Value {
        self.command("execute/sync", json!({ "script": script, "args": [] }))
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = http::request(&self.addr, "DELETE", &format!("/session/{}", self.session), None);
        let _ = self.driver.kill();
    }
}

#[test]
fn while_a_paced_run_feeds_votes_the_page_counts_up_without_a_reload() {
    chromium();
    // The embedded default, paced: 13.7 k votes at 400 a second, so the votes still arrive
    // when a browser that starts cold (and shares the 2 cores) answers slowly; the run is
    // interrupted once the page has counted up.
    let running = Running::start(&["--voters", "20000", "--seed", "5", "-w", "2", "--no-postgres", "--no-result-topics", "--dashboard", "127.0.0.1:0", "--rate", "400"]);
    let browser = Browser::start();
    browser.command("url", json!({ "url": format!("http://{}/", running.addr) }));
    let counted = || browser.script("return Number(document.getElementById('counted').dataset.votes || 0)").as_i64().unwrap_or(0);
    let navigations = || browser.script("return performance.getEntriesByType('navigation').length").as_i64();
    let mut seen = vec![counted()];
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline && seen.iter().filter(|n| **n > 0).collect::<std::collections::BTreeSet<_>>().len() < 3 {
        std::thread::sleep(Duration::from_millis(500));
        seen.push(counted());
    }
    let distinct: Vec<i64> = seen.iter().copied().filter(|n| *n > 0).collect::<std::collections::BTreeSet<_>>().into_iter().collect();
    eprintln!("counted on the open page, every 0.5 s: {seen:?}");
    assert!(distinct.len() >= 3, "the counted total rose at least twice on the open page: {seen:?}");
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "it never went backwards: {seen:?}");
    assert_eq!(navigations(), Some(1), "no reload");
    let status = browser.script("return document.getElementById('status').textContent").as_str().unwrap_or_default().to_string();
    assert!(["live", "catching up"].contains(&status.as_str()), "status while votes arrive: {status}");
    drop(browser);
    // Every vote partition reports its consumer lag (the Kafka client's statistics) and
    // whether the clock counts it idle.
    let deadline = Instant::now() + Duration::from_secs(20);
    let partitions = loop {
        let engine: Value = serde_json::from_str(&http::get(&running.addr, "/api/engine")).unwrap();
        let votes: Vec<(String, Value)> =
            engine["partitions"].as_object().unwrap().iter().filter(|(k, _)| k.starts_with("votes_topic/")).map(|(k, v)| (k.clone(), v.clone())).collect();
        if (!votes.is_empty() && votes.iter().all(|(_, v)| v["lag"].is_i64())) || Instant::now() > deadline {
            break votes;
        }
        std::thread::sleep(Duration::from_millis(300));
    };
    assert_eq!(partitions.len(), 8, "the embedded default's 8 vote partitions: {partitions:?}");
    assert!(partitions.iter().all(|(_, v)| v["lag"].as_i64().is_some_and(|lag| lag >= 0) && v["idle"].is_boolean()), "{partitions:?}");
    let metrics = samples(&http::get(&running.addr, "/metrics"));
    assert!(metrics.keys().filter(|k| k.starts_with("ballotflow_consumer_lag{source=\"votes_topic\"")).count() == 8, "{metrics:?}");
    running.interrupt();
}
