//! Errors and their patterns: every failed call's error, grouped by site, error type and a
//! normalised message, after redaction.
//!
//! A message is first redacted — things shaped like API keys, bearer tokens, passwords in URLs and
//! e-mail addresses are replaced, plus any pattern added with [`add_redaction`] — so no secret is
//! ever stored. It is then normalised (numbers, ids, hex and quoted values become placeholders) to
//! give the pattern that groups it. Only error values are recorded, never argument values.

use crate::site::Site;
use parking_lot::{Mutex, RwLock};
use regex_lite::Regex;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::OnceLock;
use std::time::SystemTime;

/// Distinct patterns kept; errors of further patterns are only counted, in
/// [`ErrorSummary::dropped`].
pub const MAX_PATTERNS: usize = 1024;
/// Characters of an example message kept.
pub const MAX_EXAMPLE_CHARS: usize = 500;

/// What replaces a redacted secret.
pub const REDACTED: &str = "<redacted>";

/// One group of errors: same site, same error type, same normalised message.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ErrorPattern {
    /// The site that failed.
    pub site: &'static Site,
    /// The error's type, as `std::any::type_name` gives it.
    pub error_type: &'static str,
    /// The redacted message with numbers, ids, hex and quoted values replaced by placeholders.
    pub pattern: String,
    /// Errors in this group.
    pub count: u64,
    /// When the first one happened.
    pub first_seen: SystemTime,
    /// When the latest one happened.
    pub last_seen: SystemTime,
    /// The latest message, redacted and cut to [`MAX_EXAMPLE_CHARS`].
    pub example: String,
}

/// Every pattern, most frequent first, and how many errors did not fit.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ErrorSummary {
    /// The patterns, most frequent first.
    pub patterns: Vec<ErrorPattern>,
    /// Errors not grouped because [`MAX_PATTERNS`] patterns were already kept.
    pub dropped: u64,
}

struct Entry {
    count: u64,
    first_seen: SystemTime,
    last_seen: SystemTime,
    example: String,
}

type Key = (usize, &'static str, String);

struct Registry {
    patterns: BTreeMap<Key, (&'static Site, Entry)>,
    dropped: u64,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    patterns: BTreeMap::new(),
    dropped: 0,
});

/// What redaction and normalisation made of recent messages, by a hash of the raw message: an
/// error that repeats word for word (the common case in an error storm) skips the regular
/// expressions, and no raw message is kept. Cleared when full, so it stays small.
static SEEN: Mutex<BTreeMap<u64, (String, String)>> = Mutex::new(BTreeMap::new());
const SEEN_CAPACITY: usize = 4096;

/// The redacted example and the pattern of a message.
fn example_and_pattern(message: &str) -> (String, String) {
    use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
    let key = BuildHasherDefault::<DefaultHasher>::default().hash_one(message);
    if let Some(known) = SEEN.lock().get(&key) {
        return known.clone();
    }
    let example = truncate(redact(message));
    let pattern = normalize(&example);
    let mut seen = SEEN.lock();
    if seen.len() >= SEEN_CAPACITY {
        seen.clear();
    }
    seen.insert(key, (example.clone(), pattern.clone()));
    (example, pattern)
}

/// Records one failed call's error. Called on the error path only.
pub(crate) fn record(site: &'static Site, error_type: &'static str, message: &str) {
    let (example, pattern) = example_and_pattern(message);
    let now = SystemTime::now();
    let mut registry = REGISTRY.lock();
    let key = (site as *const Site as usize, error_type, pattern);
    if let Some((_, entry)) = registry.patterns.get_mut(&key) {
        entry.count += 1;
        entry.last_seen = now;
        entry.example = example;
    } else if registry.patterns.len() < MAX_PATTERNS {
        let entry = Entry {
            count: 1,
            first_seen: now,
            last_seen: now,
            example,
        };
        registry.patterns.insert(key, (site, entry));
    } else {
        registry.dropped += 1;
    }
}

/// The error patterns recorded so far, most frequent first.
///
/// # Examples
///
/// ```
/// for p in monitor_core::error_patterns().patterns {
///     println!("{} × {} in {}: {}", p.count, p.error_type, p.site.name(), p.pattern);
/// }
/// ```
pub fn error_patterns() -> ErrorSummary {
    let registry = REGISTRY.lock();
    let mut patterns: Vec<ErrorPattern> = registry
        .patterns
        .iter()
        .map(|((_, error_type, pattern), (site, entry))| ErrorPattern {
            site,
            error_type,
            pattern: pattern.clone(),
            count: entry.count,
            first_seen: entry.first_seen,
            last_seen: entry.last_seen,
            example: entry.example.clone(),
        })
        .collect();
    patterns.sort_by(|a, b| b.count.cmp(&a.count).then(b.last_seen.cmp(&a.last_seen)));
    ErrorSummary {
        patterns,
        dropped: registry.dropped,
    }
}

fn truncate(mut message: String) -> String {
    if let Some((cut, _)) = message.char_indices().nth(MAX_EXAMPLE_CHARS) {
        message.truncate(cut);
        message.push('…');
    }
    message
}

/// The built-in redactions, in order: each regex and what replaces a match.
fn builtin() -> &'static [(Regex, &'static str)] {
    static RULES: OnceLock<Vec<(Regex, &'static str)>> = OnceLock::new();
    RULES.get_or_init(|| {
        [
            // Passwords in URLs: keep scheme, user and host.
            (r"([A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]+):[^@\s/]+@", "${1}:<redacted>@"),
            (r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+", "${1} <redacted>"),
            (r"(?i)\b(api[_-]?key|access[_-]?token|secret|password|passwd|pwd|token)(\s*[=:]\s*)[^\s,;&]+", "${1}${2}<redacted>"),
            // Provider keys: OpenAI/Anthropic-style sk-…, AWS access keys, GitHub and Slack tokens.
            (r"\b(sk|pk|rk)-[A-Za-z0-9_-]{16,}", REDACTED),
            (r"\bAKIA[0-9A-Z]{16}\b", REDACTED),
            (r"\bgh[pousr]_[A-Za-z0-9]{20,}", REDACTED),
            (r"\bxox[abprs]-[A-Za-z0-9-]{10,}", REDACTED),
            // JSON Web Tokens.
            (r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}", REDACTED),
            (r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}", "<email>"),
        ]
        .into_iter()
        .map(|(pattern, with)| (Regex::new(pattern).expect("built-in redaction patterns are valid"), with))
        .collect()
    })
}

static USER_RULES: RwLock<Vec<Regex>> = RwLock::new(Vec::new());

/// A redaction pattern that is not a valid regular expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedactionError {
    /// The pattern given.
    pub pattern: String,
    /// What is wrong with it.
    pub reason: String,
}

impl fmt::Display for RedactionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "redaction pattern {:?} is not a valid regular expression: {}",
            self.pattern, self.reason
        )
    }
}

impl std::error::Error for RedactionError {}

/// Adds a pattern (a regular expression, `regex-lite` syntax) whose matches are replaced by
/// [`REDACTED`] in every error message from now on, after the built-in ones.
///
/// # Examples
///
/// ```
/// monitor_core::add_redaction(r"customer-\d+")?;
/// assert_eq!(monitor_core::redact("no plan for customer-4411"), "no plan for <redacted>");
/// assert!(monitor_core::add_redaction("(unclosed").is_err());
/// # Ok::<(), monitor_core::RedactionError>(())
/// ```
pub fn add_redaction(pattern: &str) -> Result<(), RedactionError> {
    let regex = Regex::new(pattern).map_err(|e| RedactionError {
        pattern: pattern.to_owned(),
        reason: e.to_string(),
    })?;
    USER_RULES.write().push(regex);
    // Messages seen before were redacted without the new pattern.
    SEEN.lock().clear();
    Ok(())
}

/// A message with the built-in and the added redactions applied.
///
/// # Examples
///
/// ```
/// use monitor_core::redact;
///
/// assert_eq!(redact("GET https://bob:hunter2@db.example/x failed"), "GET https://bob:<redacted>@db.example/x failed");
/// assert_eq!(redact("401 for Bearer abc.def.ghi"), "401 for Bearer <redacted>");
/// assert_eq!(redact("key sk-proj-0123456789abcdefXYZ rejected"), "key <redacted> rejected");
/// assert_eq!(redact("no account for ann@example.com"), "no account for <email>");
/// ```
pub fn redact(message: &str) -> String {
    let mut text = message.to_owned();
    for (regex, with) in builtin() {
        if regex.is_match(&text) {
            text = regex.replace_all(&text, *with).into_owned();
        }
    }
    for regex in USER_RULES.read().iter() {
        if regex.is_match(&text) {
            text = regex.replace_all(&text, REDACTED).into_owned();
        }
    }
    text
}

/// The pattern of a message: quoted values, UUIDs, hex and numbers replaced by placeholders, so
/// that `user 42 not found` and `user 7 not found` group together. Placeholders already in the text
/// (`<redacted>`, `<email>`) stay.
///
/// # Examples
///
/// ```
/// use monitor_core::normalize;
///
/// assert_eq!(normalize("user 42 not found"), "user <n> not found");
/// assert_eq!(normalize("timeout after 2.5s on 'logo-7'"), "timeout after <n>s on '<s>'");
/// assert_eq!(normalize("id 3f2b8c1e-9a4d-4e21-b6c0-1d2e3f4a5b6c gone"), "id <uuid> gone");
/// assert_eq!(normalize("bad hash 0xdeadbeef / a94a8fe5ccb19ba6"), "bad hash <hex> / <hex>");
/// ```
pub fn normalize(message: &str) -> String {
    static RULES: OnceLock<Vec<(Regex, &'static str)>> = OnceLock::new();
    let rules = RULES.get_or_init(|| {
        [
            (r#""[^"]*""#, "\"<s>\""),
            (r"'[^']*'", "'<s>'"),
            (r"`[^`]*`", "`<s>`"),
            (r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b", "<uuid>"),
            (r"\b0[xX][0-9a-fA-F]+\b", "<hex>"),
            // Hex runs of 8 or more with at least one digit and one letter: hashes, ids.
            (r"\b[0-9a-fA-F]*[0-9][0-9a-fA-F]*[a-fA-F][0-9a-fA-F]*\b|\b[0-9a-fA-F]*[a-fA-F][0-9a-fA-F]*[0-9][0-9a-fA-F]*\b", "\u{0}"),
            (r"\d+(\.\d+)?", "<n>"),
        ]
        .into_iter()
        .map(|(pattern, with)| (Regex::new(pattern).expect("built-in patterns are valid"), with))
        .collect()
    });
    let mut text = message.to_owned();
    for (regex, with) in rules {
        if *with == "\u{0}" {
            // Only long runs are ids; `a1` in `v1a` is a word.
            text = regex
                .replace_all(&text, |c: &regex_lite::Captures<'_>| {
                    if c[0].len() >= 8 {
                        "<hex>".to_owned()
                    } else {
                        c[0].to_owned()
                    }
                })
                .into_owned();
        } else {
            text = regex.replace_all(&text, *with).into_owned();
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted() {
        for (input, expected) in [
            (
                "postgres://app:s3cr3t@db:5432/x refused",
                "postgres://app:<redacted>@db:5432/x refused",
            ),
            (
                "Authorization: Bearer eyJhbGciOi.J9eyJzdWIi.OiIxMjM0",
                "Authorization: Bearer <redacted>",
            ),
            ("api_key=AbCdEf123456 invalid", "api_key=<redacted> invalid"),
            ("password: hunter2, retry", "password: <redacted>, retry"),
            ("aws AKIAABCDEFGHIJKLMNOP denied", "aws <redacted> denied"),
            (
                "token ghp_abcdefghijklmnopqrstuvwxyz0123 revoked",
                "token <redacted> revoked",
            ),
            (
                "mail to bob.smith+x@mail.example.org bounced",
                "mail to <email> bounced",
            ),
            ("nothing secret here", "nothing secret here"),
        ] {
            assert_eq!(redact(input), expected, "{input}");
        }
    }

    #[test]
    fn messages_that_differ_in_values_share_a_pattern() {
        let a = normalize(&redact(
            "user 42 (ann@example.com) hit limit 100 at 'logo-9'",
        ));
        let b = normalize(&redact(
            "user 7 (bob@example.org) hit limit 250 at 'logo-12'",
        ));
        assert_eq!(a, b);
        assert_eq!(a, "user <n> (<email>) hit limit <n> at '<s>'");
        assert_eq!(
            normalize("v1 api"),
            "v<n> api",
            "short runs are not hex ids"
        );
    }

    #[test]
    fn long_examples_are_cut_at_a_character_boundary() {
        let long = "é".repeat(MAX_EXAMPLE_CHARS + 10);
        let cut = truncate(long);
        assert_eq!(cut.chars().count(), MAX_EXAMPLE_CHARS + 1);
        assert!(cut.ends_with('…'));
    }
}

thread_local! {
    /// The message of the panic unwinding this thread, set by the hook [`record_panics`] installs.
    static PANIC_MESSAGE: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Installs a panic hook (keeping the one in place, which still runs) that lets instrumented calls
/// file their panics as error patterns, with the panic's message, type `panic`. Without it a panic
/// is still counted as an error and kept as an event, but its message is not known. [`init`]
/// installs it; calling this again does nothing.
///
/// [`init`]: crate::init
///
/// # Examples
///
/// ```
/// monitor_core::record_panics();
/// ```
pub fn record_panics() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let payload = info.payload();
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic with a non-string payload".to_owned());
            let _ = PANIC_MESSAGE.try_with(|m| *m.borrow_mut() = Some(message));
            previous(info);
        }));
    });
}

/// Files the panic unwinding this thread, if the hook caught its message. The message stays for
/// the enclosing instrumented calls, which the same panic unwinds too.
pub(crate) fn record_panic(site: &'static Site) {
    let message = PANIC_MESSAGE
        .try_with(|m| m.borrow().clone())
        .ok()
        .flatten();
    if let Some(message) = message {
        record(site, "panic", &message);
    }
}
