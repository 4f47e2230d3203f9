//! The process configuration: defaults, then the TOML file given with
//! `--config`, then environment variables (`DI_` + the key path in capitals,
//! sections joined by `__`: `DI_CONTROL__LISTEN=0.0.0.0:8080`).
//! `DATABASE_URL` and `REDIS_URL` are read as they are.

use std::path::PathBuf;

use platform::telemetry::LogFormat;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where the embedded default keeps its SQLite file, mail outbox, uploaded
    /// objects and generated signing secret.
    pub data_dir: PathBuf,
    /// `postgres://...` for PostgreSQL; unset uses `sqlite://<data_dir>/deepinfluence.db`.
    pub database_url: Option<String>,
    /// `redis://...` for the Redis bus; unset uses the in-process bus.
    pub redis_url: Option<String>,
    /// `auto` (human, coloured on a terminal), `human` or `json`.
    pub log_format: LogFormat,
    /// Log filter in `RUST_LOG` syntax, e.g. `info,control=debug`.
    pub log_level: String,
    pub control: control::Settings,
    pub signalling: signalling::Settings,
    pub sfu: SfuSettings,
    pub recorder: ServiceSettings,
}

/// A service that so far only has its operational HTTP endpoints.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceSettings {
    /// Address of its HTTP endpoints (`/healthz`, `/readyz`, `/metrics`).
    pub listen: String,
}

/// The SFU: its HTTP endpoints and its media node.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SfuSettings {
    /// Address of its HTTP endpoints (`/healthz`, `/readyz`, `/metrics`).
    pub listen: String,
    pub media: media::node::Config,
}

impl Default for SfuSettings {
    fn default() -> Self {
        SfuSettings {
            listen: "127.0.0.1:8082".to_owned(),
            media: media::node::Config::default(),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        let service = |port: u16| ServiceSettings {
            listen: format!("127.0.0.1:{port}"),
        };
        Config {
            data_dir: PathBuf::from("data"),
            database_url: None,
            redis_url: None,
            log_format: LogFormat::Auto,
            log_level: "info".to_owned(),
            control: control::Settings::default(),
            signalling: signalling::Settings::default(),
            sfu: SfuSettings::default(),
            recorder: service(8083),
        }
    }
}

impl Config {
    pub fn database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| {
            format!(
                "sqlite://{}",
                self.data_dir.join("deepinfluence.db").display()
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::Config;

    #[test]
    fn the_documented_example_parses_and_matches_the_defaults() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("deploy/deepinfluence.example.toml");
        let example: Config = platform::config::load(Some(&path)).unwrap();
        let defaults = Config::default();
        assert_eq!(
            format!("{example:?}"),
            format!("{defaults:?}"),
            "the example lists the defaults"
        );
    }
}
