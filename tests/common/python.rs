//! Plain Python Kafka clients (kafka-python, no optional codecs) for tests: the producer
//! and consumer the pipelines ballotflow replaces use. kafka-python is installed once with
//! pip into the target directory if it is missing.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

pub const KAFKA_PYTHON: &str = "kafka-python==2.3.3";

/// The directory holding kafka-python, installed if missing.
fn packages() -> PathBuf {
    static INSTALL: Mutex<()> = Mutex::new(());
    let _once = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("python").join(KAFKA_PYTHON);
    if !dir.join("kafka").is_dir() {
        eprintln!("installing {KAFKA_PYTHON} into {} with pip", dir.display());
        let status = Command::new("python3")
            .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps", "--target"])
            .arg(&dir)
            .arg(KAFKA_PYTHON)
            .env("PIP_ROOT_USER_ACTION", "ignore")
            .status()
            .expect("python3 runs");
        assert!(status.success(), "could not install {KAFKA_PYTHON}: run `python3 -m pip install {KAFKA_PYTHON}`");
    }
    dir
}

/// Runs `tests/clients/<script>` with `args`; returns its standard output, or panics with
/// its standard error.
pub fn client(script: &str, args: &[&str]) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("clients").join(script);
    let out = Command::new("python3").arg(&path).args(args).env("PYTHONPATH", packages()).output().expect("python3 runs");
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned());
    assert!(out.status.success(), "{script} {args:?} failed:\n{stderr}");
    stdout
}

/// Bytes as hex, for the producer's plan.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
