//! `/api/memory`, and the memory a `tick` carries.

use super::common::Moment;
use serde::Serialize;

#[derive(Serialize)]
pub(crate) struct Memory {
    pub(crate) now: Option<MemorySample>,
    pub(crate) history: Vec<MemorySample>,
    pub(crate) leak: LeakVerdict,
    pub(crate) heap_leak: Option<LeakVerdict>,
    pub(crate) leak_threshold_bytes_per_sec: f64,
}

#[derive(Serialize)]
pub(crate) struct MemorySample {
    at: Moment,
    rss_bytes: u64,
    virtual_bytes: u64,
    heap_bytes: Option<u64>,
    heap_peak_bytes: Option<u64>,
    allocations: Option<u64>,
    allocations_per_sec: Option<f64>,
}

impl From<&monitor_core::memory::MemorySample> for MemorySample {
    fn from(m: &monitor_core::memory::MemorySample) -> MemorySample {
        MemorySample {
            at: m.at.into(),
            rss_bytes: m.rss_bytes,
            virtual_bytes: m.virtual_bytes,
            heap_bytes: m.heap_bytes,
            heap_peak_bytes: m.heap_peak_bytes,
            allocations: m.allocations,
            allocations_per_sec: m.allocations_per_sec,
        }
    }
}

#[derive(Serialize)]
pub(crate) struct LeakVerdict {
    slope_bytes_per_sec: f64,
    recent_slope_bytes_per_sec: f64,
    fit: f64,
    samples: usize,
    span_secs: f64,
    suspected: bool,
}

impl From<&monitor_core::memory::LeakVerdict> for LeakVerdict {
    fn from(v: &monitor_core::memory::LeakVerdict) -> LeakVerdict {
        LeakVerdict {
            slope_bytes_per_sec: v.slope_bytes_per_sec,
            recent_slope_bytes_per_sec: v.recent_slope_bytes_per_sec,
            fit: v.fit,
            samples: v.samples,
            span_secs: v.span_secs,
            suspected: v.suspected,
        }
    }
}
