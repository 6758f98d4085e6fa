//! Configuration from code or from `MONITOR_*` environment variables.

use crate::pricing::{PricingError, load_pricing};
use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;

/// How monitoring runs. Build one in code, or read it from the environment with
/// [`Config::from_env`], then [`apply`](Config::apply) it.
///
/// | field | environment variable | values |
/// |---|---|---|
/// | `enabled` | `MONITOR_ENABLED` | `true`/`false`, `1`/`0`, `on`/`off`, `yes`/`no` |
/// | `pricing_file` | `MONITOR_PRICING_FILE` | path to a JSON price table (see [`PriceTable`]) |
///
/// [`PriceTable`]: crate::PriceTable
///
/// # Examples
///
/// ```
/// use monitor_core::Config;
///
/// let config = Config::from_vars([("MONITOR_ENABLED", "off")])?;
/// assert!(!config.enabled);
///
/// let error = Config::from_vars([("MONITOR_ENABLED", "maybe")]).unwrap_err();
/// assert_eq!(error.to_string(), "MONITOR_ENABLED=\"maybe\" is not valid: expected true or false");
/// # Ok::<(), monitor_core::ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// Record calls (the run-time switch, [`set_enabled`](crate::set_enabled)). Default `true`.
    pub enabled: bool,
    /// A JSON price table to load. Default none: every model unpriced unless set in code.
    pub pricing_file: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            enabled: true,
            pricing_file: None,
        }
    }
}

const ENABLED: &str = "MONITOR_ENABLED";
const PRICING_FILE: &str = "MONITOR_PRICING_FILE";

impl Config {
    /// The defaults.
    pub fn new() -> Config {
        Config::default()
    }

    /// Sets [`enabled`](Config::enabled).
    pub fn enabled(mut self, on: bool) -> Config {
        self.enabled = on;
        self
    }

    /// Sets [`pricing_file`](Config::pricing_file).
    pub fn pricing_file(mut self, path: impl Into<PathBuf>) -> Config {
        self.pricing_file = Some(path.into());
        self
    }

    /// The defaults, overridden by the `MONITOR_*` variables of this process's environment.
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_vars(std::env::vars_os())
    }

    /// The defaults, overridden by the `MONITOR_*` pairs given; other keys are ignored.
    pub fn from_vars<K, V>(vars: impl IntoIterator<Item = (K, V)>) -> Result<Config, ConfigError>
    where
        K: Into<OsString>,
        V: Into<OsString>,
    {
        let mut config = Config::default();
        for (key, value) in vars {
            let (key, value) = (key.into(), value.into());
            let Some(key) = key.to_str() else { continue };
            match key {
                ENABLED => config.enabled = parse_bool(ENABLED, &value)?,
                PRICING_FILE => {
                    if value.is_empty() {
                        return Err(ConfigError::invalid(
                            PRICING_FILE,
                            &value,
                            "a path to a JSON price table",
                        ));
                    }
                    config.pricing_file = Some(PathBuf::from(value));
                }
                _ => {}
            }
        }
        Ok(config)
    }

    /// Puts the configuration in force: sets the run-time switch and loads the price table. When
    /// the price table cannot be loaded, nothing changes.
    pub fn apply(&self) -> Result<(), ConfigError> {
        if let Some(path) = &self.pricing_file {
            load_pricing(path).map_err(|source| ConfigError::Pricing {
                key: "pricing_file",
                source,
            })?;
        }
        crate::set_enabled(self.enabled);
        Ok(())
    }
}

/// Reads the configuration from the environment and applies it: the one call a service makes at
/// start-up.
///
/// # Examples
///
/// ```
/// monitor_core::init()?;
/// # Ok::<(), monitor_core::ConfigError>(())
/// ```
pub fn init() -> Result<Config, ConfigError> {
    let config = Config::from_env()?;
    config.apply()?;
    Ok(config)
}

fn parse_bool(key: &'static str, value: &OsString) -> Result<bool, ConfigError> {
    match value
        .to_str()
        .map(|v| v.trim().to_ascii_lowercase())
        .as_deref()
    {
        Some("1" | "true" | "on" | "yes") => Ok(true),
        Some("0" | "false" | "off" | "no") => Ok(false),
        _ => Err(ConfigError::invalid(key, value, "true or false")),
    }
}

/// A configuration value that cannot be used, naming the key and the value.
#[derive(Debug)]
#[non_exhaustive]
pub enum ConfigError {
    /// A value of the wrong form.
    InvalidValue {
        /// The key, as written in the environment.
        key: &'static str,
        /// The value given (lossily decoded if it was not UTF-8).
        value: String,
        /// What the key accepts.
        expected: &'static str,
    },
    /// The price table could not be loaded.
    Pricing {
        /// The field that named it.
        key: &'static str,
        /// Why.
        source: PricingError,
    },
}

impl ConfigError {
    fn invalid(key: &'static str, value: &OsString, expected: &'static str) -> ConfigError {
        ConfigError::InvalidValue {
            key,
            value: value.to_string_lossy().into_owned(),
            expected,
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::InvalidValue {
                key,
                value,
                expected,
            } => {
                write!(f, "{key}={value:?} is not valid: expected {expected}")
            }
            ConfigError::Pricing { key, source } => write!(f, "{key}: {source}"),
        }
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ConfigError::Pricing { source, .. } => Some(source),
            ConfigError::InvalidValue { .. } => None,
        }
    }
}
