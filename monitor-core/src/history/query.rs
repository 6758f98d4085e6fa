//! Queries over the history: a time range, filters on what the attributes said, groups, and the
//! figures of each group with a time series for charts. The same query serves the dashboard, the
//! JSON API and tests.

use super::state::{unix_ms, with_state};
use super::tiers::Frame;
use crate::figures::{Figures, OutcomeFilter};
use crate::record::registry::all;
use crate::record::site::Site;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The time a query covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeRange {
    /// The last stretch of time before the query's `now`.
    Last(Duration),
    /// From one time to another.
    Between {
        /// Start, included.
        from: SystemTime,
        /// End, excluded.
        to: SystemTime,
    },
}

/// What a query can filter and group by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Field {
    /// `handler`, `stage` or `tokens`.
    Kind,
    /// The site's qualified name (`Type::method` for a method that knows its type, else its
    /// name); when filtering, also its plain name or its id, `module::name@file:line`.
    Site,
    /// A handler's route.
    Route,
    /// A stage's pipeline.
    Pipeline,
    /// A stage's name.
    Stage,
    /// A token-tracking site's model: its literal one, or each model its calls named.
    Model,
    /// How calls ended: `ok`, `error` or `client_error` (see [`OutcomeFilter`]).
    Outcome,
}

impl Field {
    /// Every field, by the name queries use.
    pub const ALL: [(&'static str, Field); 7] = [
        ("kind", Field::Kind),
        ("site", Field::Site),
        ("route", Field::Route),
        ("pipeline", Field::Pipeline),
        ("stage", Field::Stage),
        ("model", Field::Model),
        ("outcome", Field::Outcome),
    ];

    /// The field called `name`.
    pub fn parse(name: &str) -> Result<Field, QueryError> {
        Field::ALL
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, f)| *f)
            .ok_or_else(|| QueryError::UnknownField {
                field: name.to_owned(),
            })
    }

    fn name(self) -> &'static str {
        Field::ALL
            .iter()
            .find(|(_, f)| *f == self)
            .map_or("", |(n, _)| n)
    }

    fn value(self, site: &Site) -> Option<String> {
        match self {
            Field::Kind => Some(site.kind().as_str().to_owned()),
            // Qualified, so that two types' `render` methods are two groups.
            Field::Site => Some(site.qualified_name().to_owned()),
            Field::Route => site.route().map(str::to_owned),
            Field::Pipeline => site.pipeline().map(str::to_owned),
            Field::Stage => site.stage().map(str::to_owned),
            Field::Model => site.model().map(str::to_owned),
            // Not a property of the site: each call has its own (see `OutcomeFilter::part`).
            Field::Outcome => None,
        }
    }

    fn matches(self, site: &Site, wanted: &str) -> bool {
        match self {
            // A plain name selects every type's method of that name; grouped, they stay apart.
            Field::Site => {
                site.qualified_name() == wanted || site.name() == wanted || site.id() == wanted
            }
            // Applied to the calls, not to the sites.
            Field::Outcome => true,
            // A site that names its model per call has calls of many: applied to its parts.
            Field::Model if site.models_per_call() => true,
            _ => self.value(site).as_deref() == Some(wanted),
        }
    }
}

/// A query. Build one in code or from URL-style parameters with [`Query::from_params`].
///
/// # Examples
///
/// ```
/// use monitor_core::history::{Field, Query, TimeRange, query};
/// use std::time::Duration;
///
/// let q = Query::new(TimeRange::Last(Duration::from_secs(15 * 60)))
///     .filter(Field::Kind, "stage")
///     .group_by(Field::Stage);
/// let result = query(&q)?;
/// for group in &result.groups {
///     let f = &group.figures;
///     println!("{:?}: {} calls, p99 {:?}", group.key, f.calls(), f.durations.p99());
/// }
/// # Ok::<(), monitor_core::history::QueryError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Query {
    /// The time covered.
    pub range: TimeRange,
    /// What "now" is for [`TimeRange::Last`]; the system clock when `None`.
    pub now: Option<SystemTime>,
    /// Only sites where each field has the given value.
    pub filters: Vec<(Field, String)>,
    /// One group per distinct combination of these fields' values; one group in all when empty.
    pub group_by: Vec<Field>,
    /// Width of the series' points; when `None`, the history's own resolution for the range.
    pub resolution: Option<Duration>,
    /// Only calls with this outcome are counted, with their own durations. Bytes, tokens, cost
    /// and allocations are not kept by outcome: with an outcome filter (or grouped by outcome) they
    /// are 0.
    pub outcome: Option<OutcomeFilter>,
}

impl Query {
    /// All sites over `range`, in one group.
    pub fn new(range: TimeRange) -> Query {
        Query {
            range,
            now: None,
            filters: Vec::new(),
            group_by: Vec::new(),
            resolution: None,
            outcome: None,
        }
    }

    /// Adds a filter.
    pub fn filter(mut self, field: Field, value: impl Into<String>) -> Query {
        self.filters.push((field, value.into()));
        self
    }

    /// Adds a field to group by.
    pub fn group_by(mut self, field: Field) -> Query {
        self.group_by.push(field);
        self
    }

    /// Counts only calls with `outcome`.
    pub fn outcome(mut self, outcome: OutcomeFilter) -> Query {
        self.outcome = Some(outcome);
        self
    }

    /// Sets the width of the series' points.
    pub fn resolution(mut self, resolution: Duration) -> Query {
        self.resolution = Some(resolution);
        self
    }

    /// Sets what "now" is, for tests and replays.
    pub fn at(mut self, now: SystemTime) -> Query {
        self.now = Some(now);
        self
    }

    /// Reads URL-style parameters: `range=15m` (or `from=` and `to=` in Unix seconds), a filter per
    /// field (`kind=stage`, `pipeline=logo`, …), `group_by=stage,model`, `resolution=10s`,
    /// `outcome=ok|error|client_error`.
    /// Durations are a number and a unit: `s`, `m`, `h`, `d`.
    ///
    /// # Examples
    ///
    /// ```
    /// use monitor_core::history::{Query, QueryError};
    ///
    /// let q = Query::from_params([("range", "1h"), ("kind", "handler"), ("group_by", "route")])?;
    /// assert_eq!(q.group_by.len(), 1);
    /// assert_eq!(
    ///     Query::from_params([("colour", "red")]).unwrap_err(),
    ///     QueryError::UnknownField { field: "colour".into() }
    /// );
    /// # Ok::<(), QueryError>(())
    /// ```
    pub fn from_params<'a>(
        params: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Query, QueryError> {
        let mut query = Query::new(TimeRange::Last(Duration::from_secs(15 * 60)));
        let (mut from, mut to) = (None, None);
        let mut seen: Vec<&str> = Vec::new();
        for (key, value) in params {
            let invalid = || QueryError::InvalidValue {
                field: key.to_owned(),
                value: value.to_owned(),
            };
            // A repeated parameter would silently take the last (or, as a filter, match nothing).
            if seen.contains(&key) {
                return Err(QueryError::Repeated {
                    field: key.to_owned(),
                });
            }
            seen.push(key);
            match key {
                "range" => {
                    query.range = TimeRange::Last(parse_duration(value).ok_or_else(invalid)?)
                }
                "from" => from = Some(parse_unix(value).ok_or_else(invalid)?),
                "to" => to = Some(parse_unix(value).ok_or_else(invalid)?),
                "resolution" => query.resolution = Some(parse_duration(value).ok_or_else(invalid)?),
                "outcome" => query.outcome = Some(OutcomeFilter::parse(value).ok_or_else(invalid)?),
                "group_by" => {
                    for name in value.split(',').map(str::trim).filter(|n| !n.is_empty()) {
                        query.group_by.push(Field::parse(name)?);
                    }
                }
                other => {
                    let field = Field::parse(other)?;
                    // A kind is one of three: any other value would match no site, silently.
                    if field == Field::Kind && crate::record::SiteKind::parse(value).is_none() {
                        return Err(invalid());
                    }
                    query.filters.push((field, value.to_owned()));
                }
            }
        }
        match (from, to) {
            (Some(from), Some(to)) => query.range = TimeRange::Between { from, to },
            (None, None) => {}
            (Some(_), None) => {
                return Err(QueryError::InvalidValue {
                    field: "to".into(),
                    value: String::new(),
                });
            }
            (None, Some(_)) => {
                return Err(QueryError::InvalidValue {
                    field: "from".into(),
                    value: String::new(),
                });
            }
        }
        Ok(query)
    }
}

fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let n: u64 = number.parse().ok()?;
    let secs = match unit {
        "s" => n,
        "m" => n.checked_mul(60)?,
        "h" => n.checked_mul(3600)?,
        "d" => n.checked_mul(86_400)?,
        _ => return None,
    };
    (secs > 0).then(|| Duration::from_secs(secs))
}

/// Unix seconds up to the end of year 9999: a later time is a typo, not a range to clamp.
fn parse_unix(text: &str) -> Option<SystemTime> {
    const LAST: u64 = 253_402_300_799;
    let secs: u64 = text.trim().parse().ok()?;
    (secs <= LAST).then(|| UNIX_EPOCH + Duration::from_secs(secs))
}

/// A query that cannot be answered, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum QueryError {
    /// The range ends before it starts.
    InvertedRange {
        /// Start, in Unix seconds.
        from: u64,
        /// End, in Unix seconds.
        to: u64,
    },
    /// No such field.
    UnknownField {
        /// The name given.
        field: String,
    },
    /// A value that does not parse.
    InvalidValue {
        /// The parameter.
        field: String,
        /// The value given.
        value: String,
    },
    /// A parameter given twice.
    Repeated {
        /// The parameter.
        field: String,
    },
    /// The history keeps that range only at a coarser resolution.
    ResolutionTooFine {
        /// The resolution asked for.
        asked: Duration,
        /// The finest the history has for the range.
        finest: Duration,
    },
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QueryError::InvertedRange { from, to } => {
                write!(f, "the range ends ({to}) before it starts ({from})")
            }
            QueryError::UnknownField { field } => {
                let names: Vec<&str> = Field::ALL.iter().map(|(n, _)| *n).collect();
                write!(f, "unknown field `{field}`; known: {}", names.join(", "))
            }
            QueryError::InvalidValue { field, value } => {
                write!(f, "`{field}` has an invalid value {value:?}")
            }
            QueryError::Repeated { field } => {
                write!(f, "`{field}` is given more than once; give it once")
            }
            QueryError::ResolutionTooFine { asked, finest } => write!(
                f,
                "resolution {asked:?} is finer than the history keeps for this range ({finest:?})"
            ),
        }
    }
}

impl std::error::Error for QueryError {}

/// The answer to a [`Query`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct QueryResult {
    /// Start of the range, Unix seconds.
    pub from: u64,
    /// End of the range, Unix seconds.
    pub to: u64,
    /// Width of the series' points, seconds.
    pub resolution_secs: f64,
    /// One per group, ordered by key.
    pub groups: Vec<GroupResult>,
    /// Every cache looked up in the range (caches are not sites: filters and groups do not apply).
    pub caches: Vec<CacheResult>,
}

/// One cache over a query's range.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CacheResult {
    /// The cache's name.
    pub name: String,
    /// Lookups that hit.
    pub hits: u64,
    /// Lookups that missed.
    pub misses: u64,
    /// `hits / (hits + misses)`.
    pub hit_ratio: Option<f64>,
    /// The hit ratio over time: `(start of the interval in Unix seconds, hits, misses)`.
    pub series: Vec<(u64, u64, u64)>,
}

/// The figures of one group.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct GroupResult {
    /// The grouped fields' values (absent for sites without one).
    pub key: BTreeMap<&'static str, String>,
    /// The group's calls over the range. With an outcome filter (or grouped by outcome), bytes,
    /// tokens, cost and allocations, which are not kept by outcome, are 0.
    pub figures: Figures,
    /// Calls per second over the range.
    pub rate_per_sec: f64,
    /// The group over time.
    pub series: Vec<Point>,
}

/// One point of a series: the group's calls in one interval.
///
/// A point holds the figures of its interval whole, as the query gathered them: the query held
/// them all at once anyway (a series is built complete before its points), so keeping them costs
/// no more memory at its peak than copying a few values out did — about 1 to 2 KB a point with
/// its histograms, against 72 bytes for the copied values, for as long as the result lives.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Point {
    /// Start of the point's interval, Unix seconds.
    pub at: u64,
    /// The calls in the interval.
    pub figures: Figures,
}

/// The grouped fields' values of one group, in `group_by` order.
type GroupKey = Vec<Option<String>>;
/// A group's figures by the start of their series slot.
type Series = BTreeMap<u64, Figures>;

/// Answers a query from the history.
pub fn query(q: &Query) -> Result<QueryResult, QueryError> {
    let (from_ms, to_ms) = match q.range {
        TimeRange::Last(span) => {
            let to = unix_ms(q.now.unwrap_or_else(SystemTime::now));
            (
                to.saturating_sub(u64::try_from(span.as_millis()).unwrap_or(u64::MAX)),
                to,
            )
        }
        TimeRange::Between { from, to } => (unix_ms(from), unix_ms(to)),
    };
    if to_ms < from_ms {
        return Err(QueryError::InvertedRange {
            from: from_ms / 1000,
            to: to_ms / 1000,
        });
    }
    let all = all();
    let selected: Vec<bool> = all
        .iter()
        .map(|s| {
            q.filters
                .iter()
                .all(|(field, value)| field.matches(s, value))
        })
        .collect();
    // An outcome filter, from `outcome(…)` or `filter(Field::Outcome, …)`.
    let mut outcome = q.outcome;
    for (field, value) in &q.filters {
        if *field == Field::Outcome {
            outcome =
                Some(
                    OutcomeFilter::parse(value).ok_or_else(|| QueryError::InvalidValue {
                        field: "outcome".into(),
                        value: value.clone(),
                    })?,
                );
        }
    }
    let by_outcome = q.group_by.contains(&Field::Outcome);
    // The outcomes each site's calls are split into: one part when not grouping by outcome.
    let parts: Vec<Option<OutcomeFilter>> = if by_outcome {
        OutcomeFilter::ALL
            .into_iter()
            .filter(|o| outcome.is_none_or(|wanted| wanted == *o))
            .map(Some)
            .collect()
    } else {
        vec![outcome]
    };

    let (frames, resolution) = frames_between(from_ms, to_ms, q.resolution)?;
    let step_ms = u64::try_from(resolution.as_millis())
        .unwrap_or(u64::MAX)
        .max(1);
    let model_filter = q
        .filters
        .iter()
        .find(|(f, _)| *f == Field::Model)
        .map(|(_, v)| v.as_str());
    // Sites that name their model per call are split by model only when the query asks about
    // models: otherwise their calls are one part.
    let split_models = model_filter.is_some() || q.group_by.contains(&Field::Model);

    let mut caches: BTreeMap<String, BTreeMap<u64, (u64, u64)>> = BTreeMap::new();
    // group key -> (whole-range figures, figures per series slot)
    let mut groups: BTreeMap<GroupKey, (Figures, Series)> = BTreeMap::new();
    for frame in &frames {
        // Points start at multiples of the step since the epoch, so that the same point of
        // time has the same label whatever the range's start.
        let slot = frame.start_ms.max(from_ms) / step_ms * step_ms;
        for (name, (hits, misses)) in &frame.caches {
            let point = caches
                .entry(name.clone())
                .or_default()
                .entry(slot)
                .or_default();
            point.0 += hits;
            point.1 += misses;
        }
        for (index, figures) in &frame.sites {
            let Some(site) = all.get(*index) else {
                continue;
            };
            if !selected.get(*index).copied().unwrap_or(false) {
                continue;
            }
            let by_model = frame.models_of(*index);
            let model_parts: Vec<(Option<&str>, &Figures)> = if split_models && !by_model.is_empty()
            {
                by_model
                    .iter()
                    .map(|((_, model), f)| (Some(*model), f))
                    .collect()
            } else {
                vec![(site.model(), figures)]
            };
            for (model, figures) in model_parts {
                if model_filter.is_some_and(|wanted| model != Some(wanted)) {
                    continue;
                }
                for part in &parts {
                    let split;
                    let figures = match part {
                        None => figures,
                        Some(o) => {
                            split = figures.with_outcome(*o);
                            &split
                        }
                    };
                    if by_outcome && figures.calls() == 0 {
                        continue;
                    }
                    let key: Vec<Option<String>> = q
                        .group_by
                        .iter()
                        .map(|f| match (f, part) {
                            (Field::Outcome, Some(o)) => Some(o.name().to_owned()),
                            (Field::Model, _) => model.map(str::to_owned),
                            _ => f.value(site),
                        })
                        .collect();
                    let (total, series) = groups.entry(key).or_default();
                    total.add(figures);
                    series.entry(slot).or_default().add(figures);
                }
            }
        }
    }
    let range_secs = ((to_ms - from_ms) as f64 / 1000.0).max(1e-3);
    let groups = groups
        .into_iter()
        .map(|(key, (total, series))| {
            let key = q
                .group_by
                .iter()
                .zip(key)
                .filter_map(|(f, v)| Some((f.name(), v?)))
                .collect();
            GroupResult::of(key, total, range_secs, series)
        })
        .collect();
    let caches = caches
        .into_iter()
        .map(|(name, series)| {
            let (hits, misses) = series
                .values()
                .fold((0, 0), |(h, m), (a, b)| (h + a, m + b));
            let lookups = hits + misses;
            CacheResult {
                name,
                hits,
                misses,
                hit_ratio: (lookups > 0).then(|| hits as f64 / lookups as f64),
                series: series
                    .into_iter()
                    .map(|(at, (h, m))| (at / 1000, h, m))
                    .collect(),
            }
        })
        .collect();
    Ok(QueryResult {
        from: from_ms / 1000,
        to: to_ms / 1000,
        resolution_secs: resolution.as_secs_f64(),
        groups,
        caches,
    })
}

/// The frames of the finest tier that reaches back to `from_ms`, overlapping `from_ms..to_ms`,
/// and the resolution they give (`resolution` if given and not finer than the tier). Only the
/// frames are taken under the history's lock: what reads them computes without it.
fn frames_between(
    from_ms: u64,
    to_ms: u64,
    resolution: Option<Duration>,
) -> Result<(Vec<Arc<Frame>>, Duration), QueryError> {
    with_state(|state| {
        // The finest tier that reaches back to the start of the range.
        let newest_ms = state.last_tick_ms().unwrap_or(to_ms);
        let at = state
            .tiers
            .iter()
            .position(|t| from_ms >= newest_ms.saturating_sub(t.span_ms))
            .unwrap_or(state.tiers.len().saturating_sub(1));
        let tier = state.tiers.get(at).ok_or(QueryError::InvalidValue {
            field: "range".into(),
            value: String::new(),
        })?;
        let finest = Duration::from_millis(tier.width_ms);
        let resolution = resolution.unwrap_or(finest);
        if resolution < finest {
            return Err(QueryError::ResolutionTooFine {
                asked: resolution,
                finest,
            });
        }
        // A tier filed from its finer neighbour's finished frames lacks the one in progress: it
        // is taken from the neighbour.
        let unfiled = match at.checked_sub(1).and_then(|i| state.tiers.get(i)) {
            Some(finer) if at >= 2 => finer
                .frames
                .iter()
                .filter(|f| f.end_ms > tier.filed_to_ms)
                .collect(),
            _ => Vec::new(),
        };
        let frames: Vec<Arc<Frame>> = tier
            .frames
            .iter()
            .chain(unfiled)
            .filter(|f| f.end_ms > from_ms && f.start_ms < to_ms)
            .cloned()
            .collect();
        Ok((frames, resolution))
    })
}

/// What each site selected by `selected` (by site index) added from `from_ms` to `to_ms`, by
/// site index; for sites that name their model per call, only `model`'s calls when one is given.
/// What objectives read their windows with.
pub(crate) fn site_totals(
    from_ms: u64,
    to_ms: u64,
    selected: &dyn Fn(usize) -> bool,
    model: Option<&str>,
) -> BTreeMap<usize, Figures> {
    let Ok((frames, _)) = frames_between(from_ms, to_ms, None) else {
        return BTreeMap::new();
    };
    let mut totals: BTreeMap<usize, Figures> = BTreeMap::new();
    for frame in &frames {
        for (index, figures) in &frame.sites {
            if !selected(*index) {
                continue;
            }
            let by_model = frame.models_of(*index);
            match model {
                Some(wanted) if !by_model.is_empty() => {
                    for ((_, m), f) in by_model {
                        if *m == wanted {
                            totals.entry(*index).or_default().add(f);
                        }
                    }
                }
                _ => totals.entry(*index).or_default().add(figures),
            }
        }
    }
    totals
}

impl GroupResult {
    /// A group's figures over a range of `range_secs`, with its series.
    fn of(
        key: BTreeMap<&'static str, String>,
        figures: Figures,
        range_secs: f64,
        series: Series,
    ) -> GroupResult {
        GroupResult {
            key,
            rate_per_sec: figures.calls() as f64 / range_secs,
            figures,
            series: series
                .into_iter()
                .map(|(at, figures)| Point {
                    at: at / 1000,
                    figures,
                })
                .collect(),
        }
    }
}
