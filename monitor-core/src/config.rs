//! Configuration from code or from `MONITOR_*` environment variables.

use crate::usage::pricing::PricingError;
use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// How monitoring runs. Build one in code, or read it from the environment with
/// [`Config::from_env`], then [`apply`](Config::apply) it.
///
/// | field | environment variable | values |
/// |---|---|---|
/// | `enabled` | `MONITOR_ENABLED` | `true`/`false`, `1`/`0`, `on`/`off`, `yes`/`no` |
/// | `pricing_file` | `MONITOR_PRICING_FILE` | path to a JSON price table (see [`PriceTable`]) |
/// | `tick` | `MONITOR_TICK_MS` | milliseconds between collector ticks, 10 or more (default 1000) |
/// | `retention` | `MONITOR_RETENTION_SECS` | seconds of history kept, 60 or more (default 86400) |
/// | `max_history_bytes` | `MONITOR_HISTORY_MAX_BYTES` | memory the history may take (default 64 MiB) |
/// | `redactions` | `MONITOR_REDACT` | extra redaction patterns, separated by newlines |
/// | `sample_rate` | `MONITOR_SAMPLE_RATE` | fraction of calls kept as raw events, 0 to 1 (default 0) |
/// | `outlier_factor` | `MONITOR_OUTLIER_FACTOR` | outlier events: slower than this × a site's p99, 1 or more (default 2) |
/// | `max_route_sites` | `MONITOR_MAX_ROUTE_SITES` | route sites requests may make, 0 to 4096 (default 128): the series budget of requests |
/// | `objectives` | `MONITOR_OBJECTIVES_FILE` | objectives and budgets (see [`Objective`]); the variable names a JSON file of them |
/// | `history_path` | `MONITOR_HISTORY_PATH` | a file to keep the history in across restarts (feature `persist`; default none) |
/// | `traces` | `MONITOR_TRACES` | follow runs as traces (see [`trace`](crate::trace)): `true`/`false` … (default `false`) |
/// | `trace_sampler` | `OTEL_TRACES_SAMPLER`, `OTEL_TRACES_SAMPLER_ARG` | head sampling, as OpenTelemetry names it (default `parentbased_always_on`) |
/// | `trace_max_spans` | `MONITOR_TRACE_MAX_SPANS` | spans one run keeps, 1 or more (default 1024) |
/// | `trace_max_runs` | `MONITOR_TRACE_MAX_RUNS` | runs in progress at once (default 4096) |
/// | `trace_recent_runs` | `MONITOR_TRACE_RECENT_RUNS` | kept runs the dashboard can open (default 512) |
/// | `trace_export_queue` | `MONITOR_TRACE_EXPORT_QUEUE` | kept runs waiting for a trace exporter (default 2048) |
///
/// [`PriceTable`]: crate::pricing::PriceTable
/// [`Objective`]: crate::objectives::Objective
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
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Config {
    /// Record calls (the run-time switch, [`set_enabled`](crate::set_enabled)). Default `true`.
    pub enabled: bool,
    /// A JSON price table to load. Default none: every model unpriced unless set in code.
    pub pricing_file: Option<PathBuf>,
    /// Time between collector ticks, and the width of the finest history frames. Default 1 s.
    pub tick: Duration,
    /// How far back the history reaches. Default 24 hours.
    pub retention: Duration,
    /// Memory the history may take, approximately. Default 64 MiB.
    pub max_history_bytes: usize,
    /// Redaction patterns (regular expressions) added to the built-in ones.
    pub redactions: Vec<String>,
    /// Fraction of calls kept as raw events, 0 to 1. Default 0: failures and outliers only.
    pub sample_rate: f64,
    /// Calls slower than this multiple of their site's p99 are kept as outlier events. Default 2.
    pub outlier_factor: f64,
    /// How many route sites requests no instrumented handler served may make (see
    /// [`set_max_route_sites`](crate::record::set_max_route_sites)): the budget of series that requests,
    /// authenticated or not, can add to `/metrics`. Default 128, at most 4096.
    pub max_route_sites: usize,
    /// A file that keeps the history across restarts (feature `persist`): loaded when the
    /// configuration is applied, written at every tick after, so queries and the dashboard's
    /// ranges span restarts. Default none: the history lives in memory only.
    ///
    /// The file is SQLite (with `-wal` beside it while in use); it is made if it does not exist,
    /// and kept to the same retention and memory bound as the history in memory. A file that is
    /// not a monitor history, is damaged, or is in use by another process is a
    /// [`ConfigError::History`] naming it, and is left as it was. A process killed at any moment
    /// loses at most the tick being written.
    pub history_path: Option<PathBuf>,
    /// Service level objectives and budgets (see [`Objective`](crate::objectives::Objective)), checked and
    /// put in force by [`apply`](Config::apply), in place of those before. Default none (an
    /// empty list leaves those in force as they are).
    pub objectives: Vec<crate::objectives::Objective>,
    /// Follow runs as traces (see [`trace`](crate::trace)). Default `false`: no call looks for
    /// a run, and the record path is as without tracing.
    pub traces: bool,
    /// Head sampling of runs (the tail rules keep failed, cancelled, slow and over-budget runs
    /// whatever it says). Default [`Sampler::ParentBasedAlwaysOn`](crate::trace::Sampler).
    pub trace_sampler: crate::trace::Sampler,
    /// Spans one run keeps; later ones are counted as dropped. Default 1024.
    pub trace_max_spans: usize,
    /// Runs in progress at once; a call that would start one more is not traced (counted).
    /// Default 4096.
    pub trace_max_runs: usize,
    /// Kept runs held for the dashboard ([`trace::recent_runs`](crate::trace::recent_runs)), and
    /// in the history file when there is one. Default 512.
    pub trace_recent_runs: usize,
    /// Kept runs waiting for a trace exporter; the oldest make way (counted). Default 2048.
    pub trace_export_queue: usize,
}

impl Default for Config {
    fn default() -> Self {
        let limits = crate::history::state::DEFAULT_LIMITS;
        Config {
            enabled: true,
            pricing_file: None,
            tick: limits.tick,
            retention: limits.retention,
            max_history_bytes: limits.max_bytes,
            redactions: Vec::new(),
            sample_rate: 0.0,
            outlier_factor: 2.0,
            max_route_sites: crate::record::DEFAULT_MAX_ROUTE_SITES,
            history_path: None,
            objectives: Vec::new(),
            traces: false,
            trace_sampler: crate::trace::Sampler::default(),
            trace_max_spans: crate::trace::DEFAULT_MAX_SPANS_PER_RUN,
            trace_max_runs: crate::trace::DEFAULT_MAX_RUNS_IN_FLIGHT,
            trace_recent_runs: crate::trace::DEFAULT_RECENT_RUNS,
            trace_export_queue: crate::trace::DEFAULT_EXPORT_QUEUE,
        }
    }
}

const ENABLED: &str = "MONITOR_ENABLED";
const PRICING_FILE: &str = "MONITOR_PRICING_FILE";
const TICK_MS: &str = "MONITOR_TICK_MS";
const RETENTION_SECS: &str = "MONITOR_RETENTION_SECS";
const HISTORY_MAX_BYTES: &str = "MONITOR_HISTORY_MAX_BYTES";
const REDACT: &str = "MONITOR_REDACT";
const SAMPLE_RATE: &str = "MONITOR_SAMPLE_RATE";
const OUTLIER_FACTOR: &str = "MONITOR_OUTLIER_FACTOR";
const MAX_ROUTE_SITES: &str = "MONITOR_MAX_ROUTE_SITES";
const HISTORY_PATH: &str = "MONITOR_HISTORY_PATH";
const OBJECTIVES_FILE: &str = "MONITOR_OBJECTIVES_FILE";
const TRACES: &str = "MONITOR_TRACES";
const TRACES_SAMPLER: &str = "OTEL_TRACES_SAMPLER";
const TRACES_SAMPLER_ARG: &str = "OTEL_TRACES_SAMPLER_ARG";
const TRACE_MAX_SPANS: &str = "MONITOR_TRACE_MAX_SPANS";
const TRACE_MAX_RUNS: &str = "MONITOR_TRACE_MAX_RUNS";
const TRACE_RECENT_RUNS: &str = "MONITOR_TRACE_RECENT_RUNS";
const TRACE_EXPORT_QUEUE: &str = "MONITOR_TRACE_EXPORT_QUEUE";

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

    /// Sets [`max_route_sites`](Config::max_route_sites).
    pub fn max_route_sites(mut self, budget: usize) -> Config {
        self.max_route_sites = budget;
        self
    }

    /// Sets [`traces`](Config::traces).
    pub fn traces(mut self, on: bool) -> Config {
        self.traces = on;
        self
    }

    /// Sets [`trace_sampler`](Config::trace_sampler).
    pub fn trace_sampler(mut self, sampler: crate::trace::Sampler) -> Config {
        self.trace_sampler = sampler;
        self
    }

    /// Sets [`trace_export_queue`](Config::trace_export_queue).
    pub fn trace_export_queue(mut self, runs: usize) -> Config {
        self.trace_export_queue = runs;
        self
    }

    /// Sets [`history_path`](Config::history_path).
    pub fn history_path(mut self, path: impl Into<PathBuf>) -> Config {
        self.history_path = Some(path.into());
        self
    }

    /// Adds `objectives` to [`objectives`](Config::objectives).
    pub fn objectives(
        mut self,
        objectives: impl IntoIterator<Item = crate::objectives::Objective>,
    ) -> Config {
        self.objectives.extend(objectives);
        self
    }

    /// Sets [`redactions`](Config::redactions).
    pub fn redactions<S: Into<String>>(mut self, patterns: impl IntoIterator<Item = S>) -> Config {
        self.redactions = patterns.into_iter().map(Into::into).collect();
        self
    }

    /// The defaults, overridden by the `MONITOR_*` variables of this process's environment.
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_vars(std::env::vars_os())
    }

    /// The defaults, overridden by the `MONITOR_*` pairs given (and OpenTelemetry's
    /// `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG`); other keys are ignored.
    pub fn from_vars<K, V>(vars: impl IntoIterator<Item = (K, V)>) -> Result<Config, ConfigError>
    where
        K: Into<OsString>,
        V: Into<OsString>,
    {
        let mut config = Config::default();
        let mut sampler: Option<OsString> = None;
        let mut sampler_arg: Option<OsString> = None;
        for (key, value) in vars {
            let (key, value) = (key.into(), value.into());
            let Some(key) = key.to_str() else { continue };
            let count = |key: &'static str, value: &OsString, min: u64| {
                parse_number(key, value, min, "a whole number")
                    .map(|n| usize::try_from(n).unwrap_or(usize::MAX))
            };
            match key {
                TRACES => config.traces = parse_bool(TRACES, &value)?,
                TRACES_SAMPLER => sampler = Some(value),
                TRACES_SAMPLER_ARG => sampler_arg = Some(value),
                TRACE_MAX_SPANS => config.trace_max_spans = count(TRACE_MAX_SPANS, &value, 1)?,
                TRACE_MAX_RUNS => config.trace_max_runs = count(TRACE_MAX_RUNS, &value, 0)?,
                TRACE_RECENT_RUNS => {
                    config.trace_recent_runs = count(TRACE_RECENT_RUNS, &value, 0)?;
                }
                TRACE_EXPORT_QUEUE => {
                    config.trace_export_queue = count(TRACE_EXPORT_QUEUE, &value, 0)?;
                }
                ENABLED => config.enabled = parse_bool(ENABLED, &value)?,
                PRICING_FILE => {
                    config.pricing_file = Some(parse_path(
                        PRICING_FILE,
                        value,
                        "a path to a JSON price table",
                    )?);
                }
                OBJECTIVES_FILE => {
                    let path = parse_path(
                        OBJECTIVES_FILE,
                        value,
                        "a path to a JSON file of objectives",
                    )?;
                    let objectives = crate::objectives::file::read(&path)
                        .map_err(ConfigError::ObjectivesFile)?;
                    config.objectives.extend(objectives);
                }
                HISTORY_PATH => {
                    config.history_path =
                        Some(parse_path(HISTORY_PATH, value, "a path to a history file")?);
                }
                TICK_MS => {
                    config.tick = Duration::from_millis(parse_number(
                        TICK_MS,
                        &value,
                        10,
                        "a number of milliseconds, 10 or more",
                    )?)
                }
                RETENTION_SECS => {
                    config.retention = Duration::from_secs(parse_number(
                        RETENTION_SECS,
                        &value,
                        60,
                        "a number of seconds, 60 or more",
                    )?);
                }
                HISTORY_MAX_BYTES => {
                    let bytes = parse_number(
                        HISTORY_MAX_BYTES,
                        &value,
                        1 << 16,
                        "a number of bytes, 65536 or more",
                    )?;
                    config.max_history_bytes = usize::try_from(bytes).unwrap_or(usize::MAX);
                }
                SAMPLE_RATE => {
                    config.sample_rate =
                        parse_float(SAMPLE_RATE, &value, 0.0..=1.0, "a fraction from 0 to 1")?;
                }
                OUTLIER_FACTOR => {
                    config.outlier_factor = parse_float(
                        OUTLIER_FACTOR,
                        &value,
                        1.0..=f64::MAX,
                        "a number, 1 or more",
                    )?;
                }
                MAX_ROUTE_SITES => {
                    let budget = value
                        .to_str()
                        .and_then(|v| v.trim().parse::<usize>().ok())
                        .filter(|n| *n <= crate::record::MAX_ROUTE_SITES_LIMIT)
                        .ok_or_else(|| {
                            ConfigError::invalid(
                                MAX_ROUTE_SITES,
                                &value,
                                "a whole number from 0 to 4096",
                            )
                        })?;
                    config.max_route_sites = budget;
                }
                REDACT => {
                    let text = value
                        .to_str()
                        .ok_or_else(|| ConfigError::invalid(REDACT, &value, "UTF-8 text"))?;
                    config.redactions = text
                        .lines()
                        .map(str::trim)
                        .filter(|l| !l.is_empty())
                        .map(str::to_owned)
                        .collect();
                }
                _ => {}
            }
        }
        if let Some(name) = sampler {
            let utf8 = |key, v: &OsString| {
                v.to_str()
                    .map(str::to_owned)
                    .ok_or_else(|| ConfigError::invalid(key, v, "UTF-8 text"))
            };
            let name_text = utf8(TRACES_SAMPLER, &name)?;
            let arg = sampler_arg
                .as_ref()
                .map(|a| utf8(TRACES_SAMPLER_ARG, a))
                .transpose()?;
            config.trace_sampler = crate::trace::Sampler::parse(&name_text, arg.as_deref())
                .map_err(|expected| {
                    // A bad ratio is the argument's fault; anything else, the name's.
                    match crate::trace::Sampler::parse(&name_text, None) {
                        Ok(_) => ConfigError::InvalidValue {
                            key: TRACES_SAMPLER_ARG,
                            value: arg.clone().unwrap_or_default(),
                            expected,
                        },
                        Err(_) => ConfigError::InvalidValue {
                            key: TRACES_SAMPLER,
                            value: name_text.clone(),
                            expected,
                        },
                    }
                })?;
        }
        Ok(config)
    }

    /// Puts the configuration in force: checks everything first, then sets the run-time switch,
    /// loads the price table, adds the redactions, sets the history's limits (for ticks to come)
    /// and loads the history file. On any error nothing changes.
    ///
    /// A history file already in use by this process is kept as it is; one of another path
    /// replaces it. A configuration without a path leaves a file in use as it is.
    pub fn apply(&self) -> Result<(), ConfigError> {
        self.check()?;
        // Without objectives of its own, the configuration keeps those in force: sites must name
        // those.
        let objectives = if self.objectives.is_empty() {
            crate::objectives::declared().to_vec()
        } else {
            self.objectives.clone()
        };
        crate::objectives::check(&objectives).map_err(ConfigError::Objective)?;
        let history = match &self.history_path {
            Some(path) if !crate::history::persist::is_open(path) => Some(
                crate::history::persist::open(path, self.trace_recent_runs)
                    .map_err(ConfigError::History)?,
            ),
            _ => None,
        };
        let table = match &self.pricing_file {
            Some(path) => Some(
                crate::usage::pricing::PriceTable::from_json_file(path).map_err(|source| {
                    ConfigError::Pricing {
                        key: "pricing_file",
                        source,
                    }
                })?,
            ),
            None => None,
        };
        for pattern in &self.redactions {
            crate::errors::add_redaction(pattern).map_err(|e| ConfigError::InvalidValue {
                key: "redactions",
                value: e.pattern,
                expected: "a regular expression",
            })?;
        }
        if let Some(table) = table {
            crate::usage::entry::set_table(table);
        }
        crate::history::state::set_limits(crate::history::state::HistoryLimits {
            tick: self.tick,
            retention: self.retention,
            max_bytes: self.max_history_bytes,
        });
        crate::record::set_sampling(self.sample_rate);
        crate::record::set_outlier_factor(self.outlier_factor);
        crate::record::set_max_route_sites(self.max_route_sites);
        // Before the file's runs are put in the buffer of recent runs: they are held to its
        // bound, and written to it from now on.
        crate::record::run::configure(
            self.traces,
            crate::record::run::Settings {
                sampler: self.trace_sampler,
                max_spans_per_run: self.trace_max_spans,
                max_runs_in_flight: self.trace_max_runs,
                recent_runs: self.trace_recent_runs,
                export_queue: self.trace_export_queue,
            },
        );
        // After the limits and the route budget: the file's route sites are made within the
        // budget, and its frames trimmed to the limits.
        if let Some(history) = history {
            history.install();
        }
        if !self.objectives.is_empty() {
            crate::objectives::install(self.objectives.clone());
        }
        crate::set_enabled(self.enabled);
        Ok(())
    }

    /// The checks `from_vars` makes, for a `Config` built in code.
    fn check(&self) -> Result<(), ConfigError> {
        let invalid = |key, value: String, expected| ConfigError::InvalidValue {
            key,
            value,
            expected,
        };
        if self.tick < Duration::from_millis(10) {
            return Err(invalid("tick", format!("{:?}", self.tick), "10 ms or more"));
        }
        if self.retention < Duration::from_secs(60) {
            return Err(invalid(
                "retention",
                format!("{:?}", self.retention),
                "60 s or more",
            ));
        }
        if self.max_history_bytes < 1 << 16 {
            return Err(invalid(
                "max_history_bytes",
                self.max_history_bytes.to_string(),
                "65536 or more",
            ));
        }
        if self.max_route_sites > crate::record::MAX_ROUTE_SITES_LIMIT {
            return Err(invalid(
                "max_route_sites",
                self.max_route_sites.to_string(),
                "4096 or fewer",
            ));
        }
        if self.trace_max_spans == 0 {
            return Err(invalid("trace_max_spans", "0".into(), "1 or more"));
        }
        let ratio = match self.trace_sampler {
            crate::trace::Sampler::TraceIdRatio(r)
            | crate::trace::Sampler::ParentBasedTraceIdRatio(r) => Some(r),
            _ => None,
        };
        if let Some(r) = ratio.filter(|r| !(0.0..=1.0).contains(r)) {
            return Err(invalid(
                "trace_sampler",
                r.to_string(),
                "a ratio from 0 to 1",
            ));
        }
        if let Some(bad) = self
            .redactions
            .iter()
            .find(|p| regex_lite::Regex::new(p).is_err())
        {
            return Err(invalid("redactions", bad.clone(), "a regular expression"));
        }
        Ok(())
    }
}

fn parse_float(
    key: &'static str,
    value: &OsString,
    range: std::ops::RangeInclusive<f64>,
    expected: &'static str,
) -> Result<f64, ConfigError> {
    value
        .to_str()
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|n| range.contains(n))
        .ok_or_else(|| ConfigError::invalid(key, value, expected))
}

fn parse_number(
    key: &'static str,
    value: &OsString,
    min: u64,
    expected: &'static str,
) -> Result<u64, ConfigError> {
    value
        .to_str()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|n| *n >= min)
        .ok_or_else(|| ConfigError::invalid(key, value, expected))
}

/// A path variable: set but empty is a mistake, not "unset".
fn parse_path(
    key: &'static str,
    value: OsString,
    expected: &'static str,
) -> Result<PathBuf, ConfigError> {
    if value.is_empty() {
        return Err(ConfigError::invalid(key, &value, expected));
    }
    Ok(PathBuf::from(value))
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
    /// The history file ([`Config::history_path`]) cannot be used.
    History(crate::history::HistoryFileError),
    /// An objective cannot be put in force.
    Objective(crate::objectives::ObjectiveError),
    /// The file of objectives (`MONITOR_OBJECTIVES_FILE`) cannot be read.
    ObjectivesFile(crate::objectives::ObjectivesFileError),
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
            ConfigError::History(error) => write!(f, "history_path: {error}"),
            ConfigError::Objective(error) => write!(f, "objectives: {error}"),
            ConfigError::ObjectivesFile(error) => write!(f, "{OBJECTIVES_FILE}: {error}"),
        }
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ConfigError::Pricing { source, .. } => Some(source),
            ConfigError::History(error) => Some(error),
            ConfigError::Objective(error) => Some(error),
            ConfigError::ObjectivesFile(error) => Some(error),
            ConfigError::InvalidValue { .. } => None,
        }
    }
}
