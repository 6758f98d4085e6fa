//! `/`: the dashboard page, its scripts, styles and chart library, all from the binary.
//!
//! The router may be nested under any prefix and the page reached with or without a trailing
//! slash (`/admin` and `/admin/`), so it cannot name its assets with a fixed relative path:
//! `assets/app.css` resolves to `/assets/app.css` from `/admin` and to `/admin/assets/app.css`
//! from `/admin/`. It names them by a query on itself instead, `?asset=app.css`, which resolves
//! to the page's own path from either; the script then computes the base for the API from
//! `location.pathname`. The same files are also served at `/assets/<name>`, for links from
//! elsewhere.
//!
//! The script is ES modules (`assets/js`: `main.js`, the shared `api`, `format`, `charts`, …,
//! and one module per panel under `panels/`). They import one another by relative paths, which
//! resolve against the importing module's URL, and a query URL has none of its own: beside
//! `/admin?asset=main.js`, `./format.js` is `/format.js`. So the page loads only `app.js` by
//! query, and it imports `<base>/assets/main.js`, under which `./format.js` and
//! `../format.js` are files of this router again. Every module is listed in [`ASSETS`].
//!
//! (Which of the two paths reach the page is the host router's choice: axum 0.8's
//! `Router::nest("/admin", …)` routes `/admin` only — `/admin/` is a 404 before this router sees
//! it, tokio-rs/axum#2659 — while `Router::nest_service("/admin", …)` routes both.)
//!
//! The page holds no data (the API behind it is what the token protects), so it is public. It is
//! sent with a Content-Security-Policy that allows scripts, styles and requests to its own origin
//! only: nothing inline, so data that made it into the page could not run even if it were ever
//! inserted as markup (the script only ever sets text). Module scripts, static and dynamic
//! imports included, are scripts to the policy: `script-src 'self'` covers them.

use crate::AppState;
use axum::Router;
use axum::extract::{Path, RawQuery};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::{HeaderMap, HeaderValue, StatusCode, header};

/// One file the page uses, embedded at compile time.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
    /// A strong validator computed at compile time from the body.
    etag: &'static str,
}

/// Declares an embedded asset and its ETag, both fixed at compile time.
macro_rules! asset {
    ($name:literal, $content_type:literal, $path:expr) => {{
        const BODY: &[u8] = include_bytes!($path);
        const ETAG_BYTES: [u8; ETAG_LEN] = etag_of(BODY);
        const ETAG: &str = match std::str::from_utf8(&ETAG_BYTES) {
            Ok(etag) => etag,
            // Fails the build, not the server: this runs at compile time.
            Err(_) => panic!("an ETag is ASCII"),
        };
        Asset {
            name: $name,
            content_type: $content_type,
            body: BODY,
            etag: ETAG,
        }
    }};
}

/// Declares one of the page's ES modules, by its path under `assets/js`, which is also the name
/// it is served by: relative imports between modules resolve as they would between the files.
macro_rules! module {
    ($name:literal) => {
        asset!(
            $name,
            "text/javascript; charset=utf-8",
            concat!("../assets/js/", $name)
        )
    };
}

const INDEX: Asset = asset!(
    "index.html",
    "text/html; charset=utf-8",
    "../assets/index.html"
);

/// Every file served at `?asset=<name>` and `/assets/<name>`.
static ASSETS: &[Asset] = &[
    module!("app.js"),
    module!("main.js"),
    module!("api.js"),
    module!("stream.js"),
    module!("state.js"),
    module!("view.js"),
    module!("format.js"),
    module!("dom.js"),
    module!("charts.js"),
    module!("screens.js"),
    module!("panels/filters.js"),
    module!("panels/insights.js"),
    module!("panels/tiles.js"),
    module!("panels/timeseries.js"),
    module!("panels/memory.js"),
    module!("panels/errors.js"),
    module!("panels/events.js"),
    module!("panels/runs.js"),
    module!("panels/waterfall.js"),
    module!("panels/pipelines.js"),
    module!("panels/models.js"),
    module!("panels/stage-tokens.js"),
    module!("panels/sites.js"),
    module!("panels/caches.js"),
    module!("panels/exports.js"),
    module!("panels/objectives.js"),
    asset!("app.css", "text/css; charset=utf-8", "../assets/app.css"),
    // uPlot 1.6.32 (MIT), from the npm package `uplot`: see assets/vendor/uplot/README.md.
    asset!(
        "uplot.js",
        "text/javascript; charset=utf-8",
        "../assets/vendor/uplot/uPlot.iife.min.js"
    ),
    asset!(
        "uplot.css",
        "text/css; charset=utf-8",
        "../assets/vendor/uplot/uPlot.min.css"
    ),
    asset!(
        "uplot-LICENSE.txt",
        "text/plain; charset=utf-8",
        "../assets/vendor/uplot/LICENSE"
    ),
];

/// Scripts, styles, images and requests from the page's own origin only; no inline script or
/// style element, no plugins, no framing, no form posts elsewhere.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; \
     frame-ancestors 'none'";

/// Browsers revalidate every time (a 304 when unchanged, thanks to the ETag), so a new binary's
/// page and assets are picked up at once.
const CACHE_CONTROL: &str = "no-cache";

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(page))
        // A wildcard: modules have paths (`panels/sites.js`).
        .route("/assets/{*name}", get(named_asset))
}

/// The page, or with `?asset=<name>` one of its files.
async fn page(RawQuery(raw): RawQuery, headers: HeaderMap) -> Response {
    let params = match crate::api::params(raw.as_deref()) {
        Ok(params) => params,
        Err(e) => return e.into_response(),
    };
    match params.iter().find(|(k, _)| k == "asset") {
        Some((_, name)) => asset_named(name, &headers),
        None => respond(&INDEX, &headers),
    }
}

async fn named_asset(Path(name): Path<String>, headers: HeaderMap) -> Response {
    asset_named(&name, &headers)
}

fn asset_named(name: &str, headers: &HeaderMap) -> Response {
    match ASSETS.iter().find(|a| a.name == name) {
        Some(asset) => respond(asset, headers),
        None => crate::api::error(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no asset {name:?}"),
        ),
    }
}

/// The asset with its type and cache headers, or `304 Not Modified` when the browser holds it.
fn respond(asset: &Asset, request: &HeaderMap) -> Response {
    let etag = HeaderValue::from_static(asset.etag);
    let fresh = request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|tag| tag == "*" || tag.trim_start_matches("W/") == asset.etag);
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut response = asset.body.into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(asset.content_type),
        );
        response
    };
    let headers = response.headers_mut();
    headers.insert(header::ETAG, etag);
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(CACHE_CONTROL),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if asset.content_type.starts_with("text/html") {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        );
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    response
}

/// Length of an ETag: a quoted 16-digit hexadecimal hash.
const ETAG_LEN: usize = 18;

/// `"<FNV-1a 64 of the body, in hex>"`, computed at compile time.
const fn etag_of(body: &[u8]) -> [u8; ETAG_LEN] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < body.len() {
        hash ^= body[i] as u64;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    let mut out = [b'"'; ETAG_LEN];
    let mut digit = 0;
    while digit < 16 {
        out[1 + digit] = HEX[((hash >> (60 - 4 * digit)) & 0xf) as usize];
        digit += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags_are_quoted_hashes_that_differ_by_content() {
        assert_eq!(INDEX.etag.len(), ETAG_LEN);
        assert!(INDEX.etag.starts_with('"') && INDEX.etag.ends_with('"'));
        assert_ne!(etag_of(b"a"), etag_of(b"b"));
        let mut tags: Vec<&str> = ASSETS.iter().map(|a| a.etag).collect();
        tags.push(INDEX.etag);
        tags.sort_unstable();
        tags.dedup();
        assert_eq!(tags.len(), ASSETS.len() + 1);
    }

    #[test]
    fn the_page_names_only_assets_that_exist() {
        let page = std::str::from_utf8(INDEX.body).unwrap_or_default();
        let mut named = 0;
        // Attribute values: `href="?asset=app.css"`, `src="?asset=app.js"`.
        let marker = "\"?asset=";
        for (at, _) in page.match_indices(marker) {
            let rest = &page[at + marker.len()..];
            let name = rest.split('"').next().unwrap_or_default();
            assert!(
                ASSETS.iter().any(|a| a.name == name),
                "index.html names {name:?}"
            );
            named += 1;
        }
        assert!(named >= 4, "index.html names its script, styles and uPlot");
    }

    fn text(asset: &Asset) -> &'static str {
        std::str::from_utf8(asset.body).unwrap_or_default()
    }

    fn is_script(asset: &Asset) -> bool {
        asset.content_type.starts_with("text/javascript")
    }

    #[test]
    fn no_script_is_over_400_lines() {
        let scripts: Vec<&Asset> = ASSETS.iter().filter(|a| is_script(a)).collect();
        assert!(scripts.len() > 10, "the page's modules and uPlot");
        for asset in scripts {
            let lines = text(asset).lines().count();
            assert!(lines <= 400, "{} has {lines} lines: split it", asset.name);
        }
    }

    /// A module added to `assets/js` but not to [`ASSETS`] would be a 404 in the browser only.
    #[test]
    fn every_file_in_assets_js_is_served() {
        fn walk(dir: &std::path::Path, prefix: &str, found: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{dir:?}: {e}")) {
                let path = entry.map(|e| e.path()).unwrap_or_default();
                let name = path.file_name().unwrap_or_default().to_string_lossy();
                let name = format!("{prefix}{name}");
                if path.is_dir() {
                    walk(&path, &format!("{name}/"), found);
                } else {
                    found.push(name);
                }
            }
        }
        let mut found = Vec::new();
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/js");
        walk(&root, "", &mut found);
        assert!(found.len() > 10, "{found:?}");
        for name in found {
            assert!(
                ASSETS.iter().any(|a| a.name == name && is_script(a)),
                "assets/js/{name} is not in ASSETS"
            );
        }
    }

    /// The asset a module imports: `from "../format.js"` in `panels/sites.js` is `format.js`.
    fn resolve(importer: &str, specifier: &str) -> String {
        assert!(
            specifier.starts_with("./") || specifier.starts_with("../"),
            "{importer} imports {specifier:?}: a browser resolves only relative paths"
        );
        let mut path: Vec<&str> = importer.split('/').collect();
        path.pop();
        for segment in specifier.split('/') {
            match segment {
                "." => {}
                ".." => assert!(
                    path.pop().is_some(),
                    "{importer}: {specifier:?} leaves assets/js"
                ),
                name => path.push(name),
            }
        }
        path.join("/")
    }

    /// What a module loads: static imports (`from "./x.js"`) and the page's entry module,
    /// which app.js names by its path under the router (`"/assets/main.js"`).
    fn imports(asset: &Asset) -> Vec<String> {
        let source = text(asset);
        let quoted = |marker: &'static str| {
            source.match_indices(marker).map(move |(at, _)| {
                source[at + marker.len()..]
                    .split('"')
                    .next()
                    .unwrap_or_default()
            })
        };
        quoted("from \"")
            .map(|specifier| resolve(asset.name, specifier))
            .chain(quoted("\"/assets/").map(str::to_owned))
            .collect()
    }

    #[test]
    fn modules_import_served_modules_and_all_are_reached_from_app_js() {
        // Breadth first from the page's one script: (module, the module that imports it).
        let mut reached = vec![("app.js".to_owned(), "index.html")];
        let mut next = 0;
        while let Some((name, importer)) = reached.get(next).cloned() {
            next += 1;
            let Some(asset) = ASSETS.iter().find(|a| a.name == name && is_script(a)) else {
                panic!("{importer} imports {name}, which is not served");
            };
            for imported in imports(asset) {
                if !reached.iter().any(|(name, _)| *name == imported) {
                    reached.push((imported, asset.name));
                }
            }
        }
        for asset in ASSETS
            .iter()
            .filter(|a| is_script(a) && a.name != "uplot.js")
        {
            assert!(
                reached.iter().any(|(name, _)| name == asset.name),
                "{} is served but nothing imports it",
                asset.name
            );
        }
        assert!(reached.len() > 10, "{reached:?}");
    }

    #[test]
    fn a_matching_etag_is_not_modified() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_static(ASSETS[0].etag),
        );
        assert_eq!(
            respond(&ASSETS[0], &headers).status(),
            StatusCode::NOT_MODIFIED
        );
        assert_eq!(
            respond(&ASSETS[0], &HeaderMap::new()).status(),
            StatusCode::OK
        );
    }
}
