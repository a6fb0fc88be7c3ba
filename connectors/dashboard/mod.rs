//! A live dashboard: result tables as a web page that updates itself, and `/metrics`.
//!
//! In: keyed result changes through a [`Sink`](crate::connectors::sink::Sink) per worker
//! ([`Board::sink`]), for any key and row with [`TableKey`](crate::connectors::table::TableKey)
//! and [`TableRow`](crate::connectors::table::TableRow); the engine's figures and the
//! metrics page as closures the job supplies. Out, over HTTP from the binary itself (no
//! CDN, no other network access):
//!
//! * `/`: the [`Page`], with the board's state inlined so it shows the results at once;
//! * `/events`: Server-Sent Events. A `snapshot` of the streamed tables, then one `frame`
//!   per closed frontier with the consolidated changes before it — every number on the
//!   page is as of one frontier, never a re-read of whole tables — and the `engine` figures
//!   every second. A frame's id is its event id: a browser that reconnects with
//!   `Last-Event-ID` (or `?after=ID`) gets the frames it missed, or a snapshot if the board
//!   no longer keeps them ([`board::KEPT_FRAMES`]);
//! * `/api/rows?table=&q=&sort=&offset=&limit=`: a page of a table, searched and sorted on
//!   the server (for tables too large to send, which [`Views::streamed`] keeps back);
//! * `/api/snapshot`, `/api/engine`: the same as JSON;
//! * `/metrics`: the Prometheus text format.
//!
//! ```
//! use std::sync::Arc;
//! use ballotflow::connectors::dashboard::{serve, Board, Page, Views};
//!
//! let board = Board::new(Views { streamed: |_, _| true, counted: &[] });
//! let page = Page { html: "<p>hello</p>", js: "", css: "" };
//! let server = serve("127.0.0.1:0", page, board, Arc::new(|| serde_json::json!({})), Arc::new(String::new)).unwrap();
//! assert_ne!(server.addr().port(), 0);
//! ```

pub mod board;
mod http;

use std::net::{TcpListener, ToSocketAddrs};
use std::sync::Arc;

pub use board::{Board, BoardSink, Views};
pub use http::Server;

/// The page the server hands out: its HTML (where `/*SNAPSHOT*/null` becomes the board's
/// state), script (`/app.js`) and style (`/style.css`).
#[derive(Clone, Copy, Debug)]
pub struct Page {
    /// `/`.
    pub html: &'static str,
    /// `/app.js`.
    pub js: &'static str,
    /// `/style.css`.
    pub css: &'static str,
}

/// The engine's figures, as JSON (sent to open pages every second).
pub type EngineFigures = Arc<dyn Fn() -> serde_json::Value + Send + Sync>;

/// The metrics page, in the Prometheus text format.
pub type MetricsPage = Arc<dyn Fn() -> String + Send + Sync>;

/// Everything a server hands out.
pub(crate) struct Site {
    page: Page,
    board: Arc<Board>,
    engine: EngineFigures,
    metrics: MetricsPage,
}

/// Serves `page` over `board` on `addr` (port 0 picks a free port: see [`Server::addr`])
/// on threads of its own, until the server is stopped or dropped.
pub fn serve(addr: impl ToSocketAddrs, page: Page, board: Arc<Board>, engine: EngineFigures, metrics: MetricsPage) -> std::io::Result<Server> {
    let listener = TcpListener::bind(addr)?;
    Server::start(listener, Arc::new(Site { page, board, engine, metrics }))
}
