//! The dashboard's HTTP server: a thread that accepts connections and a thread per
//! connection (a dashboard has a handful of viewers and one scraper), `GET` only.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::board::Catchup;
use super::Site;

/// At most this many connections are served at once; more are answered 503.
pub const MAX_CONNECTIONS: usize = 64;

/// How often an open update stream gets the engine's figures.
pub const ENGINE_INTERVAL: Duration = Duration::from_secs(1);

/// A running server; [`Server::stop`] (or dropping it) ends it and every open stream.
pub struct Server {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Serves `site` on `listener` until stopped.
    pub(super) fn start(listener: TcpListener, site: Arc<Site>) -> std::io::Result<Server> {
        let addr = listener.local_addr()?;
        listener.set_nonblocking(true)?;
        let stop = Arc::new(AtomicBool::new(false));
        let open = Arc::new(AtomicUsize::new(0));
        let stopping = stop.clone();
        let thread = std::thread::Builder::new().name("dashboard".into()).spawn(move || {
            while !stopping.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let (site, stopping, open) = (site.clone(), stopping.clone(), open.clone());
                        let _ = std::thread::Builder::new().name("dashboard-client".into()).spawn(move || {
                            let busy = open.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS;
                            if let Err(e) = serve(stream, &site, &stopping, busy) {
                                tracing::debug!(error = %e, "dashboard connection ended");
                            }
                            open.fetch_sub(1, Ordering::SeqCst);
                        });
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => std::thread::sleep(Duration::from_millis(20)),
                    Err(e) => {
                        tracing::warn!(error = %e, "dashboard: accepting a connection failed");
                        std::thread::sleep(Duration::from_millis(100));
                    }
                }
            }
        })?;
        Ok(Server { addr, stop, thread: Some(thread) })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting and ends every open update stream (within [`ENGINE_INTERVAL`]).
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A request: its path and query parameters (percent-decoded) and the `Last-Event-ID`.
struct Request {
    path: String,
    query: Vec<(String, String)>,
    last_event_id: Option<u64>,
}

impl Request {
    fn param(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    fn number(&self, name: &str, default: usize) -> usize {
        self.param(name).and_then(|v| v.parse().ok()).unwrap_or(default)
    }
}

fn serve(stream: TcpStream, site: &Site, stop: &AtomicBool, busy: bool) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut out = stream;
    let Some(request) = read_request(&mut reader)? else {
        return respond(&mut out, "400 Bad Request", "text/plain", b"bad request\n");
    };
    if busy {
        return respond(&mut out, "503 Service Unavailable", "text/plain", b"too many connections\n");
    }
    let page = &site.page;
    match request.path.as_str() {
        "/" | "/index.html" => {
            // The page arrives with the board's current state, so it shows the results at
            // once; its update stream resumes after that frame.
            let snapshot = site.board.snapshot().to_string().replace("</", "<\\/");
            let html = page.html.replace("/*SNAPSHOT*/null", &snapshot);
            respond(&mut out, "200 OK", "text/html; charset=utf-8", html.as_bytes())
        }
        "/app.js" => respond(&mut out, "200 OK", "text/javascript; charset=utf-8", page.js.as_bytes()),
        "/style.css" => respond(&mut out, "200 OK", "text/css; charset=utf-8", page.css.as_bytes()),
        "/metrics" => respond(&mut out, "200 OK", "text/plain; version=0.0.4; charset=utf-8", (site.metrics)().as_bytes()),
        "/api/snapshot" => respond(&mut out, "200 OK", "application/json", site.board.snapshot().to_string().as_bytes()),
        "/api/engine" => respond(&mut out, "200 OK", "application/json", (site.engine)().to_string().as_bytes()),
        "/api/rows" => {
            let table = request.param("table").unwrap_or_default();
            let rows = site.board.rows(table, request.param("q").unwrap_or_default(), request.param("sort"), request.number("offset", 0), request.number("limit", 20).min(500));
            respond(&mut out, "200 OK", "application/json", rows.to_string().as_bytes())
        }
        "/events" => {
            let after = request.last_event_id.or_else(|| request.param("after").and_then(|a| a.parse().ok()));
            events(&mut out, site, after, stop)
        }
        _ => respond(&mut out, "404 Not Found", "text/plain", b"not found\n"),
    }
}

/// Reads the request line and headers; `None` if it is not a `GET` request.
fn read_request(reader: &mut impl BufRead) -> std::io::Result<Option<Request>> {
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let (Some("GET"), Some(target)) = (parts.next(), parts.next()) else { return Ok(None) };
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let query = query.split('&').filter(|p| !p.is_empty()).map(|p| p.split_once('=').unwrap_or((p, ""))).map(|(k, v)| (decode(k), decode(v))).collect();
    let mut last_event_id = None;
    let mut header_bytes = 0;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header.trim().is_empty() {
            break;
        }
        header_bytes += header.len();
        if header_bytes > 16 * 1024 {
            return Ok(None);
        }
        if let Some((name, value)) = header.split_once(':') {
            if name.trim().eq_ignore_ascii_case("last-event-id") {
                last_event_id = value.trim().parse().ok();
            }
        }
    }
    Ok(Some(Request { path: path.to_string(), query, last_event_id }))
}

/// Percent-decoding (and `+` as a space) of a query component.
fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i], bytes.get(i + 1).and_then(|b| hex(*b)), bytes.get(i + 2).and_then(|b| hex(*b))) {
            (b'%', Some(high), Some(low)) => {
                out.push(high << 4 | low);
                i += 2;
            }
            (b'+', _, _) => out.push(b' '),
            (byte, _, _) => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn respond(out: &mut TcpStream, status: &str, content_type: &str, body: &[u8]) -> std::io::Result<()> {
    write!(out, "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n", body.len())?;
    out.write_all(body)?;
    out.flush()
}

/// The update stream (Server-Sent Events): a `snapshot` unless the browser has a frame
/// the board still keeps, then every `frame` as it is made, and the `engine` figures every
/// [`ENGINE_INTERVAL`]. Each frame's id is its event id, so a reconnecting browser resumes.
fn events(out: &mut TcpStream, site: &Site, after: Option<u64>, stop: &AtomicBool) -> std::io::Result<()> {
    let board = &site.board;
    write!(out, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\nConnection: close\r\n\r\nretry: 1000\n\n")?;
    let snapshot = |out: &mut TcpStream| -> std::io::Result<u64> {
        let snapshot = board.snapshot();
        let id = snapshot["id"].as_u64().unwrap_or(0);
        write!(out, "id: {id}\nevent: snapshot\ndata: {snapshot}\n\n")?;
        Ok(id)
    };
    let mut last = match after {
        Some(id) => id,
        None => snapshot(out)?,
    };
    let mut engine_sent: Option<Instant> = None;
    while !stop.load(Ordering::Relaxed) {
        if engine_sent.is_none_or(|at| at.elapsed() >= ENGINE_INTERVAL) {
            write!(out, "event: engine\ndata: {}\n\n", (site.engine)())?;
            engine_sent = Some(Instant::now());
        }
        out.flush()?;
        let wait = ENGINE_INTERVAL.saturating_sub(engine_sent.map_or(Duration::ZERO, |at| at.elapsed()));
        match board.frames_after(last, wait) {
            Catchup::Snapshot => last = snapshot(out)?,
            Catchup::Frames(frames) => {
                for frame in frames {
                    write!(out, "id: {}\nevent: frame\ndata: {}\n\n", frame.id, frame.json)?;
                    last = frame.id;
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::decode;

    #[test]
    fn query_components_are_percent_decoded() {
        assert_eq!(decode("New+York%2C%20NY"), "New York, NY");
        assert_eq!(decode("100%"), "100%");
        assert_eq!(decode("%zz"), "%zz");
        assert_eq!(decode("caf%C3%A9"), "café");
    }
}
