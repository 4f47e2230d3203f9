//! A Janus server of our own on loopback, configured as for the benchmark
//! (the templates in `bench/janus/`, which `bench/compare-janus` uses too):
//! for the tests and for measurements driven from Rust.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::JanusError;

const CONFIGS: [(&str, &str); 3] = [
    (
        "janus.jcfg",
        include_str!("../../../bench/janus/janus.jcfg"),
    ),
    (
        "janus.transport.http.jcfg",
        include_str!("../../../bench/janus/janus.transport.http.jcfg"),
    ),
    (
        "janus.plugin.videoroom.jcfg",
        include_str!("../../../bench/janus/janus.plugin.videoroom.jcfg"),
    ),
];

/// A running `janus` (from `$JANUS_BIN`, else the one on `PATH`), killed
/// when dropped.
pub struct JanusServer {
    child: Child,
    url: String,
    dir: tempfile::TempDir,
}

impl JanusServer {
    /// Starts Janus with its HTTP API on a free loopback port and waits until
    /// it answers.
    pub async fn start() -> Result<JanusServer, JanusError> {
        let start = |e: std::io::Error| JanusError::Start(e.to_string());
        let dir = tempfile::tempdir().map_err(start)?;
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(start)?
            .port();
        write_configs(dir.path(), port).map_err(start)?;
        let log = std::fs::File::create(dir.path().join("janus.log")).map_err(start)?;
        let bin = std::env::var("JANUS_BIN").unwrap_or_else(|_| "janus".to_owned());
        let child = Command::new(&bin)
            .arg("-C")
            .arg(dir.path().join("janus.jcfg"))
            .arg("-F")
            .arg(dir.path())
            .arg("--disable-colors")
            .stdout(log.try_clone().map_err(start)?)
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .map_err(|e| {
                JanusError::Start(format!(
                    "{bin}: {e} (Debian's `janus` package; scripts/test installs it)"
                ))
            })?;
        let mut server = JanusServer {
            child,
            url: format!("http://127.0.0.1:{port}/janus"),
            dir,
        };
        server.wait_ready().await?;
        Ok(server)
    }

    /// The HTTP API's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Until `GET /janus/info` answers, or Janus exits (its log then says
    /// why).
    async fn wait_ready(&mut self) -> Result<(), JanusError> {
        let http = reqwest::Client::new();
        let info = format!("{}/info", self.url);
        let end = Instant::now() + Duration::from_secs(15);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                let log =
                    std::fs::read_to_string(self.dir.path().join("janus.log")).unwrap_or_default();
                return Err(JanusError::Start(format!("janus exited ({status}): {log}")));
            }
            if let Ok(r) = http.get(&info).send().await {
                if r.status().is_success() {
                    return Ok(());
                }
            }
            if Instant::now() > end {
                return Err(JanusError::Start(format!("{info} did not answer")));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for JanusServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The templates with this instance's folder and ports filled in.
fn write_configs(dir: &Path, http_port: u16) -> std::io::Result<()> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    for (name, template) in CONFIGS {
        let text = template
            .replace("@DIR@", &dir.to_string_lossy())
            .replace("@RTP_PORTS@", "10000-60000")
            .replace("@EVENT_LOOPS@", &cores.to_string())
            .replace("@HTTP_PORT@", &http_port.to_string());
        std::fs::write(dir.join(name), text)?;
    }
    Ok(())
}
