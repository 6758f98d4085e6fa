//! What a service that uses the layer compiles: monitor-core, tower's two trait crates, `http`
//! and `http-body` (and three crates monitor-core builds anyway) — no hyper, no axum, no tokio. Asked
//! of cargo itself, as `cargo tree` sees the crate's normal dependencies.

use std::collections::BTreeSet;
use std::process::Command;

/// The packages `cargo tree` lists for monitor-tower's normal dependencies, `depth` levels down
/// (all of them for `None`), with `features`.
fn tree(depth: Option<u32>, features: &[&str]) -> BTreeSet<String> {
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
    let mut cargo = Command::new(env!("CARGO"));
    cargo.args([
        "tree",
        "--manifest-path",
        manifest,
        "--package",
        "monitor-tower",
        "--edges",
        "normal",
        "--prefix",
        "none",
        "--format",
        "{p}",
        // Whatever the lock file says, never the network: this asks what is built, not what is new.
        "--locked",
        "--offline",
    ]);
    if let Some(depth) = depth {
        cargo.args(["--depth", &depth.to_string()]);
    }
    if !features.is_empty() {
        cargo.args(["--features", &features.join(",")]);
    }
    let output = cargo.output().expect("cargo runs");
    assert!(
        output.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .expect("cargo tree prints UTF-8")
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_layer_depends_on_tower_and_http_only() {
    let direct: BTreeSet<String> = tree(Some(1), &[])
        .into_iter()
        .filter(|name| name != "monitor-tower")
        .collect();
    let expected = [
        "bytes",
        // A proc macro run at compile time for the `# Features` section of the docs; nothing of
        // it is linked.
        "document-features",
        "http",
        "http-body",
        "monitor-core",
        "pin-project-lite",
        "tower-layer",
        "tower-service",
    ];
    assert_eq!(direct, expected.map(str::to_owned).into());
}

#[test]
fn a_service_that_uses_the_layer_compiles_no_server_and_no_axum() {
    let all = tree(None, &[]);
    assert!(all.contains("monitor-core"), "{all:?}");
    for server in ["axum", "axum-core", "hyper", "hyper-util", "tokio", "tower"] {
        assert!(!all.contains(server), "{server} in {all:?}");
    }
}

/// The `axum` feature adds axum's types, not its server.
#[test]
fn the_axum_feature_adds_no_server() {
    let all = tree(None, &["axum"]);
    assert!(all.contains("axum"), "{all:?}");
    for server in ["hyper", "hyper-util", "tokio"] {
        assert!(!all.contains(server), "{server} in {all:?}");
    }
}
