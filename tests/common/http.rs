//! Plain HTTP/1.1 over a `TcpStream`: what a browser or a scraper sends, written out, so
//! the tests read the dashboard and drive ChromeDriver without a client library.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// A response: status code and body.
pub struct Response {
    pub status: u16,
    pub body: String,
}

/// Sends `method path` with an optional JSON body to `addr` (`host:port`) and reads the
/// whole response (the server closes the connection).
pub fn request(addr: &str, method: &str, path: &str, body: Option<&str>) -> Response {
    let mut stream = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connecting to {addr}: {e}"));
    stream.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let body = body.unwrap_or_default();
    write!(stream, "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}", body.len()).unwrap();
    let mut reader = BufReader::new(stream);
    let mut status_line = String::new();
    reader.read_line(&mut status_line).unwrap();
    let status = status_line.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let mut length = None;
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).unwrap();
        if header.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse::<usize>().ok();
            }
        }
    }
    let mut bytes = Vec::new();
    match length {
        Some(n) => {
            bytes.resize(n, 0);
            reader.read_exact(&mut bytes).unwrap();
        }
        None => {
            reader.read_to_end(&mut bytes).unwrap();
        }
    }
    Response { status, body: String::from_utf8_lossy(&bytes).into_owned() }
}

/// `GET path`, which must answer 200.
pub fn get(addr: &str, path: &str) -> String {
    let response = request(addr, "GET", path, None);
    assert_eq!(response.status, 200, "GET {path}: {}", response.body);
    response.body
}

/// One Server-Sent Event.
#[derive(Debug)]
pub struct Event {
    pub id: Option<u64>,
    pub event: String,
    pub data: serde_json::Value,
}

/// Opens `path` as an event stream (with `Last-Event-ID` if given) and reads events until
/// `enough` says so or `timeout` passes.
pub fn events(addr: &str, path: &str, last_event_id: Option<u64>, timeout: Duration, mut enough: impl FnMut(&[Event]) -> bool) -> Vec<Event> {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let resume = last_event_id.map(|id| format!("Last-Event-ID: {id}\r\n")).unwrap_or_default();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n{resume}\r\n").unwrap();
    let mut reader = BufReader::new(stream);
    let (mut events, mut current) = (Vec::new(), (None, String::new(), String::new()));
    let start = Instant::now();
    let mut line = String::new();
    // Headers first.
    loop {
        line.clear();
        reader.read_line(&mut line).unwrap();
        if line.trim().is_empty() {
            break;
        }
    }
    while start.elapsed() < timeout && !enough(&events) {
        line.clear();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            break;
        }
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            let (id, event, data) = std::mem::take(&mut current);
            if !data.is_empty() {
                events.push(Event { id, event, data: serde_json::from_str(&data).expect("event data is JSON") });
            }
        } else if let Some(id) = line.strip_prefix("id: ") {
            current.0 = id.parse().ok();
        } else if let Some(event) = line.strip_prefix("event: ") {
            current.1 = event.to_string();
        } else if let Some(data) = line.strip_prefix("data: ") {
            current.2.push_str(data);
        }
    }
    events
}
