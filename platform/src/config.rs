//! Configuration: built-in defaults, then an optional TOML file, then `DI_*`
//! environment variables (`__` separates sections: `DI_CONTROL__LISTEN`).
//! Errors name the offending key and where its value came from.

use std::path::Path;

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// A configuration value that cannot work. Commands exit with status 2 on it.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct ConfigError(String);

impl ConfigError {
    /// An error about one key, found after loading (a value of the right type
    /// that still cannot work, such as a too-short secret).
    pub fn key(key: &str, problem: impl std::fmt::Display) -> Self {
        ConfigError(format!("key `{key}`: {problem}"))
    }
}

/// Environment variables read without the `DI_` prefix, because they are the
/// names every tool in this space already uses.
const UNPREFIXED: &[(&str, &str)] = &[("DATABASE_URL", "database_url"), ("REDIS_URL", "redis_url")];

pub fn load<T: Serialize + DeserializeOwned + Default>(
    file: Option<&Path>,
) -> Result<T, ConfigError> {
    let mut figment = Figment::from(Serialized::defaults(T::default()));
    if let Some(file) = file {
        if !file.exists() {
            return Err(ConfigError(format!(
                "config file {} does not exist",
                file.display()
            )));
        }
        figment = figment.merge(Toml::file(file));
    }
    for (var, key) in UNPREFIXED {
        figment = figment.merge(Env::raw().only(&[var]).map(move |_| (*key).into()));
    }
    // DI_CONFIG_FILE names the file itself (read by the command line), not a key.
    figment = figment.merge(Env::prefixed("DI_").ignore(&["CONFIG_FILE"]).split("__"));
    figment.extract().map_err(|errors| {
        let lines: Vec<String> = errors.into_iter().map(describe).collect();
        ConfigError(lines.join("; "))
    })
}

fn describe(e: figment::Error) -> String {
    let key = if e.path.is_empty() {
        "(root)".to_owned()
    } else {
        e.path.join(".")
    };
    let source = match e.metadata.as_ref() {
        Some(m) => match &m.source {
            Some(src) => format!(" (from {} {src})", m.name),
            None => format!(" (from {})", m.name),
        },
        None => String::new(),
    };
    format!("key `{key}`{source}: {}", e.kind)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Default, Serialize, Deserialize)]
    #[serde(deny_unknown_fields, default)]
    struct Sample {
        database_url: Option<String>,
        port: u16,
        inner: Inner,
    }

    #[derive(Debug, Default, Serialize, Deserialize)]
    #[serde(deny_unknown_fields, default)]
    struct Inner {
        name: String,
    }

    #[test]
    // figment's test jail fixes the closure's error type.
    #[allow(clippy::result_large_err)]
    fn file_then_env_override_defaults_and_bad_values_name_the_key() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("di.toml", "port = 9000\n[inner]\nname = \"file\"\n")?;
            jail.set_env("DI_INNER__NAME", "env");
            jail.set_env("DATABASE_URL", "postgres://x");
            let s: Sample = load(Some(Path::new("di.toml"))).unwrap();
            assert_eq!(s.port, 9000);
            assert_eq!(s.inner.name, "env");
            assert_eq!(s.database_url.as_deref(), Some("postgres://x"));

            jail.set_env("DI_PORT", "not-a-port");
            let err = load::<Sample>(Some(Path::new("di.toml")))
                .unwrap_err()
                .to_string();
            assert!(err.contains("`port`") && err.contains("DI_"), "{err}");

            jail.clear_env();
            jail.set_env("DI_CONFIG_FILE", "di.toml");
            assert!(load::<Sample>(None).is_ok(), "DI_CONFIG_FILE is not a key");
            jail.set_env("DI_INNER__NAMEE", "typo");
            let err = load::<Sample>(None).unwrap_err().to_string();
            assert!(err.contains("namee"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn a_missing_file_is_an_error() {
        let err = load::<Sample>(Some(Path::new("/nonexistent/di.toml"))).unwrap_err();
        assert!(err.to_string().contains("does not exist"));
    }
}
