//! `logo-service`: starts the logo service on 127.0.0.1 with the monitor's dashboard at `/admin`,
//! drives a built-in load through it, prints what the monitor recorded, and keeps serving until
//! Ctrl-C or SIGTERM. Either ends it cleanly: the server answers the requests under way, then the
//! monitor's guard ticks once more, pushes once more and closes the history file whole.

use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use logo_service::load::{LoadOptions, drive};
use monitor_core::memory::MonitoredAlloc;
use monitor_core::trace::Sampler;
use monitor_dashboard::DashboardConfig;
use monitor_export::otlp_env::OtlpEnv;
use monitor_export::rules::endpoint_label;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Counts the heap, so the monitor reports heap in use and bytes allocated per call.
#[global_allocator]
static ALLOC: MonitoredAlloc = MonitoredAlloc::system();

/// The logo service, instrumented with monitor, under a built-in load.
#[derive(Debug, Parser)]
#[command(name = "logo-service", version)]
struct Args {
    /// Logo requests the built-in load sends (0: none, just serve).
    #[arg(long, default_value_t = 200)]
    requests: usize,
    /// Requests the load keeps in flight at once.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=1024))]
    concurrency: u16,
    /// Address to serve on; port 0 picks a free one. Beyond loopback the dashboard needs a token.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// The dashboard's token (default: MONITOR_DASHBOARD_TOKEN, else a new random one).
    #[arg(long)]
    token: Option<String>,
    /// Exit after the summary instead of serving until Ctrl-C.
    #[arg(long)]
    no_serve: bool,
    /// Print every instrumented site (kind, name, route / stage / model, file:line) and exit.
    #[arg(long)]
    list_sites: bool,
    /// Push every series of /metrics to this Prometheus remote-write endpoint
    /// (`http://127.0.0.1:9090/api/v1/write`) every 5 s, labelled `instance` (the service's
    /// address) and `job="logo-service"`.
    #[arg(long, value_name = "URL")]
    remote_write: Option<String>,
    /// Push OTLP/HTTP metrics and traces to this collector or trace backend
    /// (`http://127.0.0.1:4318`, Arize Phoenix's `http://127.0.0.1:6006`; `/v1/metrics` and
    /// `/v1/traces` are appended): metrics every 5 s, the kept runs every second, as
    /// `service.name` `logo-service` with `service.instance.id` the service's address. Turns
    /// traces on. Without it, the standard `OTEL_EXPORTER_OTLP_ENDPOINT` (or
    /// `…_METRICS_ENDPOINT`, `…_TRACES_ENDPOINT`) turns it on; `OTEL_METRICS_EXPORTER=none` or
    /// `OTEL_TRACES_EXPORTER=none` leaves a signal out, and every other `OTEL_*` variable applies
    /// either way.
    #[arg(long, value_name = "URL")]
    otlp: Option<String>,
    /// Follow every request as a trace, and keep this share of them (0 to 1) besides those the
    /// tail rules keep (failed, cancelled, slow, over budget): head sampling,
    /// `parentbased_traceidratio`. Traced without it when --otlp or `MONITOR_TRACES` asks, at 0.1
    /// unless `OTEL_TRACES_SAMPLER` says otherwise.
    #[arg(long, value_name = "RATE", value_parser = share)]
    trace_sample: Option<f64>,
    /// Keep the monitor's history in this file (SQLite, made if absent), so the dashboard's
    /// ranges and every query span restarts: the same as `MONITOR_HISTORY_PATH`.
    #[arg(long, value_name = "PATH")]
    history: Option<std::path::PathBuf>,
    /// Answer this share of logo requests (0 to 1) with a 500: a failure for the objectives, and
    /// their alerts, to see.
    #[arg(long, value_name = "SHARE", default_value_t = 0.0, value_parser = share)]
    fail_rate: f64,
    /// Send the judging model's calls to this OpenAI-compatible API instead of the simulated one:
    /// OpenAI (`https://api.openai.com/v1`), a local vLLM (`http://127.0.0.1:8000/v1`) or Ollama
    /// (`http://127.0.0.1:11434/v1`), a LiteLLM proxy. The key is read from `OPENAI_API_KEY`
    /// (none: sent with an empty one, as local servers take) and never printed.
    #[arg(long, value_name = "URL")]
    openai_base_url: Option<String>,
    /// With --openai-base-url: the model the judge asks for.
    #[arg(long, value_name = "MODEL", default_value = logo_service::prices::JUDGE_MODEL)]
    openai_model: String,
    /// Print the Prometheus rules of the service's objectives (recording rules and the SRE
    /// workbook's burn-rate alerts) and exit.
    #[arg(long)]
    print_rules: bool,
    /// With --print-rules: every window and `for` divided by this factor (60 turns an hour into
    /// a minute), to watch the alerts in a test or a demonstration.
    #[arg(long, value_name = "FACTOR", default_value_t = 1.0, value_parser = scale)]
    rules_time_scale: f64,
    /// Write the service's Grafana dashboards (Grafana 10 and 11: its routes, memory and caches;
    /// its pipelines; its LLM calls; its objectives) into this directory, one `<uid>.json` each,
    /// and exit. `dashboards/` at the top of the repository holds what this writes.
    #[arg(long, value_name = "DIR")]
    print_grafana: Option<std::path::PathBuf>,
    /// With --print-grafana: where latency percentiles are read from — the classic buckets, or
    /// native histograms (for a Prometheus started with `--enable-feature=native-histograms`).
    #[arg(long, value_name = "KIND", value_enum, default_value_t = GrafanaHistograms::Classic)]
    grafana_histograms: GrafanaHistograms,
}

/// The histograms a dashboard reads latency percentiles from.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum GrafanaHistograms {
    Classic,
    Native,
}

fn share(value: &str) -> Result<f64, String> {
    value
        .parse::<f64>()
        .ok()
        .filter(|v| (0.0..=1.0).contains(v))
        .ok_or_else(|| format!("{value:?} is not a share from 0 to 1"))
}

fn scale(value: &str) -> Result<f64, String> {
    value
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v >= 1.0)
        .ok_or_else(|| format!("{value:?} is not a factor of 1 or more"))
}

fn main() -> ExitCode {
    let args = Args::parse();
    if args.list_sites {
        print!("{}", logo_service::list_sites());
        return ExitCode::SUCCESS;
    }
    if args.print_rules {
        let options = monitor_export::objective_rules::RuleOptions::default()
            .time_scale(args.rules_time_scale);
        print!(
            "{}",
            monitor_export::objective_rules::rules(&logo_service::objectives(), &options)
        );
        return ExitCode::SUCCESS;
    }
    if let Some(dir) = &args.print_grafana {
        return match write_grafana(dir, args.grafana_histograms) {
            Ok(()) => ExitCode::SUCCESS,
            Err(message) => {
                eprintln!("logo-service: {message}");
                ExitCode::FAILURE
            }
        };
    }
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("logo-service: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<(), String> {
    // The monitor's settings from MONITOR_* variables; the example prices unless a price file is
    // given (MONITOR_PRICING_FILE).
    let mut config = monitor_core::Config::from_env().map_err(|e| e.to_string())?;
    // Read before the monitor starts: OTLP traces need runs traced from the first request.
    let otlp = otlp_exporters(args.otlp.as_deref())?;
    if args.trace_sample.is_some()
        || otlp.as_ref().is_some_and(|o| o.traces.is_some())
        || config.traces
    {
        let sampler = match args.trace_sample {
            Some(rate) => Some(Sampler::ParentBasedTraceIdRatio(rate)),
            // The tail rules keep every failed, cancelled, slow or costly run; one in ten of the
            // others shows what an ordinary run looks like.
            None if std::env::var_os("OTEL_TRACES_SAMPLER").is_none() => {
                Some(Sampler::ParentBasedTraceIdRatio(0.1))
            }
            None => None,
        };
        config = config.traces(true);
        if let Some(sampler) = sampler {
            config = config.trace_sampler(sampler);
        }
    }
    // The service's own objectives, unless the environment declares others.
    if config.objectives.is_empty() {
        config = config.objectives(logo_service::objectives());
    }
    if let Some(path) = &args.history {
        config = config.history_path(path);
    }
    let example_prices = config.pricing_file.is_none();
    let history = config.history_path.clone();
    // The guard owns the collector, the pushers and the history file: dropped at the end of this
    // function, it ends them in order (a last tick, a last push, the file checkpointed).
    let mut monitor = monitor_core::init(config).map_err(|e| e.to_string())?;
    if let Some(path) = &history {
        println!(
            "history: {} holds {} handler calls from earlier runs",
            path.display(),
            logo_service::handler_calls_in_history()
        );
    }
    if example_prices {
        monitor_core::pricing::set_table(logo_service::example_prices());
    }

    let mut dashboard = DashboardConfig::from_env().map_err(|e| e.to_string())?;
    let token = match (args.token, dashboard.has_token()) {
        (Some(token), _) => Some(token),
        (None, true) => None, // from the environment: not printed back
        (None, false) => {
            Some(logo_service::new_token().map_err(|e| format!("no randomness: {e}"))?)
        }
    };
    if let Some(token) = &token {
        // Named as the user gave it: a bad `--token` is not a bad environment variable.
        dashboard = dashboard.token(token).map_err(|_| {
            format!(
                "--token must be at least {} characters, without whitespace (it has {})",
                monitor_dashboard::MIN_TOKEN_LEN,
                token.chars().count()
            )
        })?;
    }
    monitor_dashboard::check_exposure(args.addr, &dashboard).map_err(|e| e.to_string())?;
    let judge = args
        .openai_base_url
        .as_deref()
        .map(|url| {
            let key = std::env::var("OPENAI_API_KEY").ok();
            logo_service::OpenAiJudge::new(url, key.as_deref(), &args.openai_model)
        })
        .transpose()?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    runtime.block_on(async move {
        // Listening from the start: a signal before the load ends still ends the run cleanly.
        let mut signals = Signals::new().map_err(|e| format!("cannot handle signals: {e}"))?;
        let mut app = logo_service::App::new().failing(args.fail_rate);
        if let Some(judge) = judge {
            // The address without the user, password or query a URL may carry; never the key.
            println!(
                "judge: {} at {} ({})",
                judge.model(),
                endpoint_label(judge.base_url()),
                if std::env::var_os("OPENAI_API_KEY").is_some() {
                    "key from OPENAI_API_KEY"
                } else {
                    "no OPENAI_API_KEY: an empty key"
                }
            );
            app = app.judging_with(judge);
        }
        let (stop, stopping) = tokio::sync::oneshot::channel::<()>();
        let shutdown = async move {
            let _ = stopping.await;
        };
        let (addr, mut server) = logo_service::start_app_until(args.addr, dashboard, app, shutdown)
            .await
            .map_err(|e| {
                format!(
                    "cannot listen on {}: {e} (try --addr 127.0.0.1:0)",
                    args.addr
                )
            })?;
        let base = format!("http://{addr}");
        let pusher = match &args.remote_write {
            Some(url) => Some(
                monitor_export::remote_write::RemoteWrite::new(url)
                    .interval(Duration::from_secs(5))
                    .label("instance", addr.to_string())
                    .label("job", "logo-service")
                    .start()
                    .map_err(|e| format!("cannot start the remote-write thread: {e}"))?,
            ),
            None => None,
        };
        let (otlp, traces) = match otlp {
            Some(OtlpEnv {
                metrics, traces, ..
            }) => {
                let instance = addr.to_string();
                let metrics = metrics
                    .map(|m| {
                        let m = m.resource("service.instance.id", &instance);
                        // Without the user, password or query a URL may carry: a terminal is no
                        // place for them.
                        println!("otlp: pushes to {}", endpoint_label(m.endpoint()));
                        m.start()
                            .map_err(|e| format!("cannot start the OTLP thread: {e}"))
                    })
                    .transpose()?;
                let traces = traces
                    .map(|t| {
                        let t = t.resource("service.instance.id", &instance);
                        println!("otlp: traces to {}", endpoint_label(t.endpoint()));
                        t.start()
                            .map_err(|e| format!("cannot start the OTLP traces thread: {e}"))
                    })
                    .transpose()?;
                (metrics, traces)
            }
            None => (None, None),
        };
        let dashboard_line = match &token {
            Some(token) => format!("dashboard: {base}{}/  token: {token}", logo_service::ADMIN),
            None => format!(
                "dashboard: {base}{}/  token: from MONITOR_DASHBOARD_TOKEN",
                logo_service::ADMIN
            ),
        };
        println!("logo-service on {base}");
        println!("{dashboard_line}");
        println!("metrics:   {base}{}/metrics", logo_service::ADMIN);
        if let Some(url) = &args.remote_write {
            println!("remote write: every 5 s to {}", endpoint_label(url));
        }

        if args.requests > 0 {
            let options = LoadOptions {
                requests: args.requests,
                concurrency: usize::from(args.concurrency),
            };
            let started = Instant::now();
            let report = with_progress(&base, &options).await;
            logo_service::load::settle(&report, Duration::from_secs(2)).await;
            // One more tick, so the history (and the insights read from it) has the last calls.
            monitor_core::history::tick_at(std::time::SystemTime::now());
            print!("{}", logo_service::summary(started.elapsed(), &report));
        }
        if let Some(path) = &history {
            monitor_core::history::tick_at(std::time::SystemTime::now());
            println!(
                "history: {} now holds {} handler calls",
                path.display(),
                logo_service::handler_calls_in_history()
            );
        }
        for pusher in [pusher, otlp, traces].into_iter().flatten() {
            monitor.own_exporter(pusher);
        }
        if args.no_serve {
            stop_serving(stop, server).await;
            // One last tick and one last push of the final figures, within the timeout.
            let report = tokio::task::spawn_blocking(move || monitor.shutdown())
                .await
                .map_err(|e| format!("shutdown: {e}"))?;
            for pushed in report.exporters {
                println!(
                    "{}: {} payloads sent, {} attempts failed, {} dropped{}",
                    pushed.exporter,
                    pushed.sent,
                    pushed.failed_attempts,
                    pushed.dropped,
                    pushed
                        .last_error
                        .map(|e| format!(" (last error: {e})"))
                        .unwrap_or_default()
                );
            }
            if monitor_core::trace::is_enabled() {
                println!("{}", traces_line(&monitor_core::trace::stats()));
            }
            return Ok(());
        }
        println!("\nserving until Ctrl-C");
        println!("{dashboard_line}");
        let served = tokio::select! {
            () = signals.recv() => Ok(()),
            ended = &mut server => Err(match ended {
                Ok(Ok(())) => "server: stopped".to_owned(),
                Ok(Err(e)) => format!("server: {e}"),
                Err(e) => format!("server: {e}"),
            }),
        };
        stop_serving(stop, server).await;
        // The calls since the collector's last tick, the pushers' last push and the history
        // file's checkpoint: the guard's shutdown, off the runtime's workers.
        tokio::task::spawn_blocking(move || drop(monitor))
            .await
            .map_err(|e| format!("shutdown: {e}"))?;
        served
    })
}

/// Writes the service's Grafana dashboards into `dir` (made if absent), one file each, and prints
/// each file's path.
fn write_grafana(dir: &std::path::Path, histograms: GrafanaHistograms) -> Result<(), String> {
    use monitor_export::grafana::{DashboardOptions, Histograms, dashboards};
    let histograms = match histograms {
        GrafanaHistograms::Classic => Histograms::Classic,
        GrafanaHistograms::Native => Histograms::Native,
    };
    let options = DashboardOptions::new("logo-service")
        .histograms(histograms)
        // The global allocator above counts the heap: it has counted clap's allocations by now.
        .heap(monitor_core::memory::heap().allocations > 0);
    let sites: Vec<&monitor_core::Site> = monitor_core::sites().collect();
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot make {}: {e}", dir.display()))?;
    for dashboard in dashboards(&sites, &logo_service::objectives(), &options) {
        let path = dir.join(dashboard.file_name());
        std::fs::write(&path, dashboard.to_json())
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        println!("{}", path.display());
    }
    Ok(())
}

/// The OTLP exporters `--otlp` or the standard variables ask for, with the demo's defaults under
/// the environment's: `service.name` `logo-service`, metrics every 5 s, traces every second.
/// `None` when neither asks for OTLP.
fn otlp_exporters(url: Option<&str>) -> Result<Option<OtlpEnv>, String> {
    let set = |key: &str| std::env::var_os(key).is_some();
    // Without --otlp, a signal is pushed when an endpoint variable names where: the base one, or
    // its own.
    let base = url.is_some() || set("OTEL_EXPORTER_OTLP_ENDPOINT");
    let metrics = base || set("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT");
    let traces = base || set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
    if !metrics && !traces {
        return Ok(None);
    }
    let mut vars: Vec<(String, String)> = vec![
        ("OTEL_SERVICE_NAME".into(), "logo-service".into()),
        ("OTEL_METRIC_EXPORT_INTERVAL".into(), "5000".into()),
        ("OTEL_BSP_SCHEDULE_DELAY".into(), "1000".into()),
    ];
    for (key, value) in std::env::vars_os() {
        let Some(key) = key.to_str().filter(|k| k.starts_with("OTEL_")) else {
            continue;
        };
        let value = value
            .into_string()
            .map_err(|v| format!("{key}={v:?} is not valid: expected UTF-8 text"))?;
        vars.push((key.to_owned(), value));
    }
    if let Some(url) = url {
        vars.retain(|(k, _)| {
            k != "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT" && k != "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
        });
        vars.push(("OTEL_EXPORTER_OTLP_ENDPOINT".into(), url.to_owned()));
    }
    let mut otlp = OtlpEnv::from_vars(vars).map_err(|e| e.to_string())?;
    if !metrics {
        otlp.metrics = None;
    }
    if !traces {
        otlp.traces = None;
    }
    Ok(Some(otlp))
}

/// What tracing kept, and whether anything was lost on the way out.
fn traces_line(stats: &monitor_core::trace::TraceStats) -> String {
    let kept: u64 = stats.kept.iter().sum();
    let reasons: Vec<String> = monitor_core::trace::KeepReason::ALL
        .iter()
        .zip(stats.kept)
        .filter(|(_, n)| *n > 0)
        .map(|(reason, n)| format!("{} {n}", reason.as_str()))
        .collect();
    format!(
        "traces: {kept} runs kept ({}), {} not sampled, {} dropped before export",
        if reasons.is_empty() {
            "none".to_owned()
        } else {
            reasons.join(", ")
        },
        stats.unsampled,
        stats.export_dropped
    )
}

/// Stops the server: no new connection, the requests under way answered within a bound (one
/// that runs longer is cancelled), so that the guard's last tick files them as they ended.
async fn stop_serving(
    stop: tokio::sync::oneshot::Sender<()>,
    mut server: tokio::task::JoinHandle<std::io::Result<()>>,
) {
    let _ = stop.send(());
    if tokio::time::timeout(Duration::from_secs(10), &mut server)
        .await
        .is_err()
    {
        server.abort();
    }
}

/// Ctrl-C and, on Unix, SIGTERM (what `kill`, systemd and container runtimes send to stop a
/// process): either ends the run the same clean way. Registered when made, so that a signal that
/// comes before the run waits for one is not the default's abrupt exit.
struct Signals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> std::io::Result<Signals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Signals {
                interrupt: signal(SignalKind::interrupt())?,
                terminate: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        {
            Ok(Signals {})
        }
    }

    async fn recv(&mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// Drives the load with a progress bar whose ETA comes from the monitor's estimate of the `logo`
/// pipeline: requests left × expected duration of a run ÷ requests in flight.
async fn with_progress(base: &str, options: &LoadOptions) -> logo_service::load::LoadReport {
    let bar = ProgressBar::new(options.requests as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40.cyan/blue} {pos}/{len} logo requests  {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let ticker = {
        let bar = bar.clone();
        let concurrency = options.concurrency.max(1) as f64;
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(250)).await;
                let left = bar.length().unwrap_or(0).saturating_sub(bar.position());
                let message = match monitor_core::history::estimate("logo", &[]) {
                    Some(e) if e.total_p50 > 0.0 => format!(
                        "ETA {:.1} s (pipeline p50 {:.0} ms, p90 {:.0} ms)",
                        left as f64 * e.total_p50 / concurrency,
                        e.total_p50 * 1e3,
                        e.total_p90 * 1e3
                    ),
                    _ => "ETA: measuring the pipeline…".to_owned(),
                };
                bar.set_message(message);
            }
        })
    };
    let progress = bar.clone();
    let report = drive(base, options, move |done| {
        progress.set_position(done as u64)
    })
    .await;
    ticker.abort();
    bar.finish_and_clear();
    report
}
