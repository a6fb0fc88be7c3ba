//! A real Kafka-protocol broker for tests: tansu (crates.io, in-memory storage) on a free
//! loopback port, stopped when dropped.
//!
//! The binary is looked up on `PATH` and in `~/.cargo/bin`; if it is missing it is
//! installed once with `cargo install` (about ten minutes; `.ci/run` does it beforehand).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ballotflow::connectors::kafka::{create_topics, KafkaConfig};

pub const TANSU_VERSION: &str = "0.6.0";

pub struct Tansu {
    child: Child,
    pub brokers: String,
}

impl Drop for Tansu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn installed() -> Option<PathBuf> {
    let mut candidates: Vec<PathBuf> = std::env::var_os("PATH").map(|p| std::env::split_paths(&p).map(|d| d.join("tansu")).collect()).unwrap_or_default();
    if let Some(home) = std::env::var_os("CARGO_HOME").map(PathBuf::from).or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo"))) {
        candidates.push(home.join("bin").join("tansu"));
    }
    candidates.into_iter().find(|p| p.is_file())
}

/// The tansu binary, installed if missing.
pub fn binary() -> PathBuf {
    static INSTALL: Mutex<()> = Mutex::new(());
    let _once = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(path) = installed() {
        return path;
    }
    eprintln!("tansu is not installed: installing tansu {TANSU_VERSION} with cargo (takes about ten minutes)");
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["install", "--locked", "tansu", "--version", TANSU_VERSION, "--features", "dynostore"])
        .status()
        .expect("cargo runs");
    assert!(status.success(), "could not install tansu: run `cargo install tansu --version {TANSU_VERSION} --features dynostore`");
    installed().expect("tansu is installed")
}

/// Starts a broker and waits until it answers (creating a probe topic).
pub fn start() -> Tansu {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("tcp://127.0.0.1:{port}");
    let child = Command::new(binary())
        .args(["broker", "--listener-url", &url, "--advertised-listener-url", &url, "--storage-engine", "memory://tansu/"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("tansu starts");
    let tansu = Tansu { child, brokers: format!("127.0.0.1:{port}") };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match create_topics(&KafkaConfig::new(&tansu.brokers), &[("ready", 1)], 1) {
            Ok(()) => return tansu,
            Err(e) if Instant::now() > deadline => panic!("tansu did not come up on {}: {e}", tansu.brokers),
            Err(_) => std::thread::sleep(Duration::from_millis(200)),
        }
    }
}
