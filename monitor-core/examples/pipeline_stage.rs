//! `#[pipeline_stage]` on the three steps of a job — a sync parse, an async fetch, a sync render —
//! run 200 times; then, from what the stages recorded: each stage's p50, p99 and share of a run,
//! and how long a run is expected to take, in all and once some stages are done
//! (`monitor_core::history::estimate`).
//!
//! Run it with `cargo run -p monitor-core --example pipeline_stage`.

use monitor_core::history::{Field, Query, TimeRange};
use monitor_core::pipeline_stage;
use std::num::ParseIntError;
use std::time::{Duration, SystemTime};

#[pipeline_stage(pipeline = "report")]
fn parse(line: &str) -> Result<Vec<u64>, ParseIntError> {
    line.split(',').map(str::parse).collect()
}

/// Stands for a database or HTTP call: 1 to 4 ms.
#[pipeline_stage(pipeline = "report")]
async fn fetch(ids: &[u64]) -> Vec<u64> {
    tokio::time::sleep(Duration::from_millis(1 + ids[0] % 4)).await;
    ids.iter().map(|id| id * 10).collect()
}

#[pipeline_stage(pipeline = "report")]
fn render(values: &[u64]) -> String {
    let bars =
        (0..3000).map(|i| format!("<rect y=\"{i}\" width=\"{}\"/>", values[i % values.len()]));
    bars.collect()
}

async fn run(line: &str) -> Result<String, ParseIntError> {
    let ids = parse(line)?;
    let values = fetch(&ids).await;
    Ok(render(&values))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut failed = 0;
    for n in 0..200u64 {
        // One line in 25 is malformed: its run stops at `parse`, which records an error.
        let line = if n % 25 == 7 {
            "7,x".to_owned()
        } else {
            format!("{n},{},{}", n + 1, n * 3)
        };
        failed += usize::from(run(&line).await.is_err());
    }
    println!("200 runs, {failed} failed at parse");

    // File what the sites recorded into the history (the collector thread does this every second),
    // then read it back per stage. The estimate reads the stages' own totals.
    monitor_core::history::tick_at(SystemTime::now());
    let by_stage = Query::new(TimeRange::Last(Duration::from_secs(60)))
        .filter(Field::Pipeline, "report")
        .group_by(Field::Stage);
    let groups = monitor_core::history::query(&by_stage)?.groups;
    let estimate = monitor_core::history::estimate("report", &[]).ok_or("no stage has run")?;

    println!("\nstage  calls errors   p50 ms   p99 ms  share");
    for stage in &estimate.stages {
        let in_history = groups.iter().find(|g| g.key["stage"] == stage.stage);
        let g = in_history.ok_or("a stage is missing from the history")?;
        let (p50, p99, share) = (
            g.figures.durations.p50().as_secs_f64() * 1e3,
            g.figures.durations.p99().as_secs_f64() * 1e3,
            stage.share * 100.0,
        );
        let (name, calls, errors) = (&stage.stage, g.figures.calls(), g.figures.errors);
        println!("{name:<6} {calls:>5} {errors:>6} {p50:>8.3} {p99:>8.3} {share:>5.1}%");
    }
    let ms = |seconds: f64| format!("{:.2} ms", seconds * 1e3);
    let (p50, p90) = (ms(estimate.total_p50), ms(estimate.total_p90));
    println!("\na run: {p50} (p90 {p90})");
    for done in [vec!["parse"], vec!["parse", "fetch"]] {
        let left = monitor_core::history::estimate("report", &done).ok_or("no stage has run")?;
        let (p50, p90) = (ms(left.remaining_p50), ms(left.remaining_p90));
        println!("after {}: {p50} remain (p90 {p90})", done.join(" + "));
    }
    Ok(())
}
