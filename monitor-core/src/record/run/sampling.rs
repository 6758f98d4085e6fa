//! The head sampler: how runs are drawn for keeping before they end.

use super::*;

/// How runs are drawn for keeping before they end ("head sampling"), as OpenTelemetry's
/// `OTEL_TRACES_SAMPLER` names them. Whatever it says, the tail rules keep every run that failed,
/// was cancelled, was slow or went over a budget.
///
/// ```
/// use monitor_core::trace::Sampler;
///
/// assert_eq!(Sampler::parse("parentbased_traceidratio", Some("0.1")), Ok(Sampler::ParentBasedTraceIdRatio(0.1)));
/// assert!(Sampler::parse("sometimes", None).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Sampler {
    /// Every run (`always_on`).
    AlwaysOn,
    /// No run: only the tail rules keep any (`always_off`).
    AlwaysOff,
    /// A share of runs, 0 to 1, drawn from the trace id (`traceidratio`).
    TraceIdRatio(f64),
    /// As the caller decided when a `traceparent` came in, else every run
    /// (`parentbased_always_on`, OpenTelemetry's default).
    #[default]
    ParentBasedAlwaysOn,
    /// As the caller decided, else none (`parentbased_always_off`).
    ParentBasedAlwaysOff,
    /// As the caller decided, else a share of runs (`parentbased_traceidratio`).
    ParentBasedTraceIdRatio(f64),
}

impl Sampler {
    /// The sampler `OTEL_TRACES_SAMPLER` names, with its `OTEL_TRACES_SAMPLER_ARG` (a ratio from 0
    /// to 1, 1 when absent). `Err` says what was expected.
    pub fn parse(name: &str, arg: Option<&str>) -> Result<Sampler, &'static str> {
        let ratio = || -> Result<f64, &'static str> {
            match arg.map(str::trim) {
                None | Some("") => Ok(1.0),
                Some(a) => a
                    .parse::<f64>()
                    .ok()
                    .filter(|r| (0.0..=1.0).contains(r))
                    .ok_or("a ratio from 0 to 1"),
            }
        };
        Ok(match name.trim() {
            "always_on" => Sampler::AlwaysOn,
            "always_off" => Sampler::AlwaysOff,
            "traceidratio" => Sampler::TraceIdRatio(ratio()?),
            "parentbased_always_on" => Sampler::ParentBasedAlwaysOn,
            "parentbased_always_off" => Sampler::ParentBasedAlwaysOff,
            "parentbased_traceidratio" => Sampler::ParentBasedTraceIdRatio(ratio()?),
            _ => {
                return Err(
                    "always_on, always_off, traceidratio, parentbased_always_on, \
                            parentbased_always_off or parentbased_traceidratio",
                );
            }
        })
    }

    /// Whether a run is drawn: `parent` is the caller's decision when a `traceparent` came in.
    pub fn decide(self, trace_id: TraceId, parent: Option<bool>) -> bool {
        let by_ratio = |ratio: f64| {
            // The top 53 bits of the random part, as a fraction: exact for any f64 ratio.
            ((trace_id.low() >> 11) as f64) < ratio * (1u64 << 53) as f64
        };
        match (self, parent) {
            (Sampler::AlwaysOn, _) => true,
            (Sampler::AlwaysOff, _) => false,
            (Sampler::TraceIdRatio(r), _) => by_ratio(r),
            (
                Sampler::ParentBasedAlwaysOn
                | Sampler::ParentBasedAlwaysOff
                | Sampler::ParentBasedTraceIdRatio(_),
                Some(sampled),
            ) => sampled,
            (Sampler::ParentBasedAlwaysOn, None) => true,
            (Sampler::ParentBasedAlwaysOff, None) => false,
            (Sampler::ParentBasedTraceIdRatio(r), None) => by_ratio(r),
        }
    }
}

/// The head sampler, read by every run's start: in atomics rather than behind a lock, which every
/// thread starting a run would take. Its kind ([`Sampler::code`]) and its ratio's bits; a run
/// starting while the sampler changes may see the old kind with the new ratio, which is a valid
/// sampler too.
static SAMPLER_KIND: AtomicU64 = AtomicU64::new(4);
static SAMPLER_RATIO: AtomicU64 = AtomicU64::new(0x3ff0_0000_0000_0000); // 1.0

impl Sampler {
    fn code(self) -> (u64, f64) {
        match self {
            Sampler::AlwaysOn => (0, 1.0),
            Sampler::AlwaysOff => (1, 0.0),
            Sampler::TraceIdRatio(r) => (2, r),
            Sampler::ParentBasedAlwaysOn => (4, 1.0),
            Sampler::ParentBasedAlwaysOff => (5, 0.0),
            Sampler::ParentBasedTraceIdRatio(r) => (6, r),
        }
    }

    fn from_code(kind: u64, ratio: f64) -> Sampler {
        match kind {
            0 => Sampler::AlwaysOn,
            1 => Sampler::AlwaysOff,
            2 => Sampler::TraceIdRatio(ratio),
            5 => Sampler::ParentBasedAlwaysOff,
            6 => Sampler::ParentBasedTraceIdRatio(ratio),
            _ => Sampler::ParentBasedAlwaysOn,
        }
    }
}

pub(super) fn set_sampler(sampler: Sampler) {
    let (kind, ratio) = sampler.code();
    SAMPLER_RATIO.store(ratio.to_bits(), Relaxed);
    SAMPLER_KIND.store(kind, Relaxed);
}

pub(super) fn sampler() -> Sampler {
    Sampler::from_code(
        SAMPLER_KIND.load(Relaxed),
        f64::from_bits(SAMPLER_RATIO.load(Relaxed)),
    )
}
