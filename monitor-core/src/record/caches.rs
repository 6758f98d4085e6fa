//! Cache effectiveness: hits and misses per named cache.

use super::stripes::add;
use super::thread::{self as context, OWNED_STRIPES, STRIPES};
use crate::interned::{Registry, intern};
use crate::usage::{TokenUsage, Tokens};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Distinct caches tracked; later names are counted under [`OTHER_CACHES`].
pub const MAX_CACHES: usize = 256;
/// The cache name lookups are counted under once [`MAX_CACHES`] names are taken.
pub const OTHER_CACHES: &str = "other";

/// Counters of one stripe, on cache lines of their own.
#[repr(align(128))]
#[derive(Default)]
struct Stripe {
    hits: AtomicU64,
    misses: AtomicU64,
}

struct Entry {
    name: Box<str>,
    stripes: [Stripe; STRIPES],
}

impl Entry {
    #[inline]
    fn add(&self, hit: bool) {
        let index = context::stripe();
        let stripe = &self.stripes[index];
        let counter = if hit { &stripe.hits } else { &stripe.misses };
        if index < OWNED_STRIPES {
            add::<true>(counter, 1);
        } else {
            add::<false>(counter, 1);
        }
    }

    fn stats(&self) -> CacheStats {
        let (hits, misses) = self.stripes.iter().fold((0, 0), |(h, m), s| {
            (h + s.hits.load(Relaxed), m + s.misses.load(Relaxed))
        });
        CacheStats::new(self.name.to_string(), hits, misses)
    }
}

// Record path: `cache("name")` and the `cache` argument of generated code find their counters here.
static CACHES: Registry<Entry> = Registry::new(BTreeMap::new());

/// A named cache's counters. Get one with [`cache`] and keep it: recording through the handle costs
/// one store, no lookup.
///
/// # Examples
///
/// ```
/// let logos = monitor_core::cache("logos");
/// logos.miss();
/// logos.hit();
/// logos.record(true);
/// # #[cfg(feature = "enabled")]
/// assert_eq!(logos.stats().hit_ratio, Some(2.0 / 3.0));
/// ```
#[derive(Clone, Copy)]
pub struct Cache(Option<&'static Entry>);

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Cache")
            .field(&self.0.map(|e| &*e.name))
            .finish()
    }
}

/// The cache called `name`, created on first use. Without the `enabled` feature the handle records
/// nothing.
pub fn cache(name: &str) -> Cache {
    if !cfg!(feature = "enabled") {
        return Cache(None);
    }
    let entry = intern(&CACHES, name, MAX_CACHES, OTHER_CACHES, &[], |name| Entry {
        name: name.into(),
        stripes: Default::default(),
    });
    Cache(Some(entry))
}

impl Cache {
    /// A lookup that found its value.
    #[inline]
    pub fn hit(&self) {
        self.record(true);
    }

    /// A lookup that did not.
    #[inline]
    pub fn miss(&self) {
        self.record(false);
    }

    /// A lookup; `hit` says whether it found its value. Nothing is recorded while monitoring is
    /// switched off.
    #[inline]
    pub fn record(&self, hit: bool) {
        if let Some(entry) = self.0
            && super::switch::is_enabled()
        {
            entry.add(hit);
        }
    }

    /// Hits and misses so far.
    pub fn stats(&self) -> CacheStats {
        self.0
            .map_or_else(|| CacheStats::new(String::new(), 0, 0), Entry::stats)
    }
}

/// Hits and misses of one cache.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CacheStats {
    /// The cache's name.
    pub name: String,
    /// Lookups that found their value.
    pub hits: u64,
    /// Lookups that did not.
    pub misses: u64,
    /// `hits / (hits + misses)`, or `None` before the first lookup.
    pub hit_ratio: Option<f64>,
}

impl CacheStats {
    /// A cache's figures: `hits` and `misses`, and the ratio they make.
    pub fn new(name: String, hits: u64, misses: u64) -> CacheStats {
        let lookups = hits + misses;
        let hit_ratio = (lookups > 0).then(|| hits as f64 / lookups as f64);
        CacheStats {
            name,
            hits,
            misses,
            hit_ratio,
        }
    }
}

/// Every cache, by name.
pub fn caches() -> Vec<CacheStats> {
    CACHES.read().values().map(|entry| entry.stats()).collect()
}

/// A return value that says whether a cache lookup hit: `#[monitored_handler(cache = "…")]` and the
/// other attributes record it into the named cache. Implemented for [`Lookup`] and for `Option<T>`
/// (`Some` is a hit).
///
/// # Examples
///
/// ```
/// use monitor_core::{CacheLookup, Lookup, pipeline_stage};
///
/// #[pipeline_stage(pipeline = "logo", cache = "renders")]
/// fn render(prompt: &str) -> Lookup<String> {
///     Lookup::Miss(format!("<svg>{prompt}</svg>"))
/// }
///
/// assert!(!render("fox").is_hit());
/// ```
pub trait CacheLookup {
    /// Whether the lookup found its value; `None` when the value does not say.
    fn cache_hit(&self) -> Option<bool>;
}

/// A value, and whether it came from the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lookup<T> {
    /// Found in the cache.
    Hit(T),
    /// Computed or fetched, not found in the cache.
    Miss(T),
}

impl<T> Lookup<T> {
    /// Whether the value came from the cache.
    pub fn is_hit(&self) -> bool {
        matches!(self, Lookup::Hit(_))
    }

    /// The value, wherever it came from.
    pub fn into_inner(self) -> T {
        match self {
            Lookup::Hit(value) | Lookup::Miss(value) => value,
        }
    }
}

impl<T> CacheLookup for Lookup<T> {
    fn cache_hit(&self) -> Option<bool> {
        Some(self.is_hit())
    }
}

/// A cached response still reports the tokens it used (cached input, typically).
impl<T: TokenUsage> TokenUsage for Lookup<T> {
    fn token_usage(&self) -> Tokens {
        match self {
            Lookup::Hit(value) | Lookup::Miss(value) => value.token_usage(),
        }
    }

    fn model(&self) -> Option<&str> {
        match self {
            Lookup::Hit(value) | Lookup::Miss(value) => value.model(),
        }
    }
}

impl<T> CacheLookup for Option<T> {
    fn cache_hit(&self) -> Option<bool> {
        Some(self.is_some())
    }
}

impl<T: CacheLookup, E> CacheLookup for Result<T, E> {
    fn cache_hit(&self) -> Option<bool> {
        self.as_ref().ok().and_then(CacheLookup::cache_hit)
    }
}

#[cfg(all(test, feature = "enabled"))]
mod tests {
    use super::*;

    #[test]
    fn counts_and_ratio() {
        let c = cache("unit-test-cache");
        assert_eq!(c.stats().hit_ratio, None);
        for i in 0..10 {
            c.record(i % 4 == 0); // 0, 4, 8
        }
        let s = cache("unit-test-cache").stats();
        assert_eq!((s.hits, s.misses), (3, 7));
        assert_eq!(s.hit_ratio, Some(0.3));
    }
}
