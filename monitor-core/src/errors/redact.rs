//! Redaction and normalisation of error messages: secrets out before anything is stored, then the
//! values that differ from one error to the next replaced, to give the pattern that groups them.

use parking_lot::RwLock;
use regex_lite::Regex;
use std::fmt;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// What replaces a redacted secret.
pub const REDACTED: &str = "<redacted>";

/// A built-in rule: its regex, what replaces a match, and a test that is true of every text the
/// regex can match. The test is a few substring scans, where regex_lite's matcher takes
/// microseconds a rule: a message holding no secret (most of them) runs no regex at all.
struct Rule {
    regex: Regex,
    with: &'static str,
    may_match: fn(&str) -> bool,
}

impl Rule {
    fn new(pattern: &str, with: &'static str, may_match: fn(&str) -> bool) -> Rule {
        Rule {
            regex: Regex::new(pattern).expect("built-in patterns are valid"),
            with,
            may_match,
        }
    }
}

/// Whether `haystack` contains `needle`, ASCII letters matched in either case.
fn contains_ignore_case(haystack: &str, needle: &str) -> bool {
    haystack
        .as_bytes()
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

/// The built-in redactions, in order.
fn builtin() -> &'static [Rule] {
    static RULES: OnceLock<Vec<Rule>> = OnceLock::new();
    RULES.get_or_init(|| {
        vec![
            // Passwords in URLs: keep scheme, user and host.
            Rule::new(
                r"([A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]+):[^@\s/]+@",
                "${1}:<redacted>@",
                |t| t.contains("://") && t.contains('@'),
            ),
            Rule::new(
                r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+",
                "${1} <redacted>",
                |t| contains_ignore_case(t, "bearer") || contains_ignore_case(t, "basic"),
            ),
            Rule::new(
                r"(?i)\b(api[_-]?key|access[_-]?token|secret|password|passwd|pwd|token)(\s*[=:]\s*)[^\s,;&]+",
                "${1}${2}<redacted>",
                |t| {
                    (t.contains('=') || t.contains(':'))
                        && ["key", "token", "secret", "pass", "pwd"]
                            .iter()
                            .any(|k| contains_ignore_case(t, k))
                },
            ),
            // Provider keys: OpenAI/Anthropic-style sk-…, AWS access keys, GitHub and Slack tokens.
            Rule::new(r"\b(sk|pk|rk)-[A-Za-z0-9_-]{16,}", REDACTED, |t| {
                t.contains("k-")
            }),
            Rule::new(r"\bAKIA[0-9A-Z]{16}\b", REDACTED, |t| t.contains("AKIA")),
            Rule::new(r"\bgh[pousr]_[A-Za-z0-9]{20,}", REDACTED, |t| {
                t.contains("gh") && t.contains('_')
            }),
            Rule::new(r"\bxox[abprs]-[A-Za-z0-9-]{10,}", REDACTED, |t| {
                t.contains("xox")
            }),
            // JSON Web Tokens.
            Rule::new(
                r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}",
                REDACTED,
                |t| t.contains("eyJ"),
            ),
            Rule::new(
                r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}",
                "<email>",
                |t| t.contains('@'),
            ),
        ]
    })
}

/// `message` with the built-in redactions applied; `filtered`: skipping the rules whose test
/// says they cannot match (the tests compare both ways).
fn builtin_redactions(message: &str, filtered: bool) -> String {
    let mut text = message.to_owned();
    for rule in builtin() {
        if (!filtered || (rule.may_match)(&text)) && rule.regex.is_match(&text) {
            text = rule.regex.replace_all(&text, rule.with).into_owned();
        }
    }
    text
}

// Record path: a failed call's message is redacted before anything keeps it.
static USER_RULES: RwLock<Vec<Regex>> = RwLock::new(Vec::new());
/// Bumped by each [`add_redaction`]: what was redacted before is out of date.
static RULES_CHANGED: AtomicU64 = AtomicU64::new(0);

/// How many times the redaction rules changed: a cache of redacted text keyed by it stays valid.
pub(crate) fn rules_generation() -> u64 {
    RULES_CHANGED.load(Ordering::Relaxed)
}

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
/// monitor_core::errors::add_redaction(r"customer-\d+")?;
/// assert_eq!(monitor_core::errors::redact("no plan for customer-4411"), "no plan for <redacted>");
/// assert!(monitor_core::errors::add_redaction("(unclosed").is_err());
/// # Ok::<(), monitor_core::errors::RedactionError>(())
/// ```
pub fn add_redaction(pattern: &str) -> Result<(), RedactionError> {
    let regex = Regex::new(pattern).map_err(|e| RedactionError {
        pattern: pattern.to_owned(),
        reason: e.to_string(),
    })?;
    USER_RULES.write().push(regex);
    // Messages redacted before were redacted without the new pattern.
    RULES_CHANGED.fetch_add(1, Ordering::Relaxed);
    Ok(())
}

/// A message with the built-in and the added redactions applied.
///
/// # Examples
///
/// ```
/// use monitor_core::errors::redact;
///
/// assert_eq!(redact("GET https://bob:hunter2@db.example/x failed"), "GET https://bob:<redacted>@db.example/x failed");
/// assert_eq!(redact("401 for Bearer abc.def.ghi"), "401 for Bearer <redacted>");
/// assert_eq!(redact("key sk-proj-0123456789abcdefXYZ rejected"), "key <redacted> rejected");
/// assert_eq!(redact("no account for ann@example.com"), "no account for <email>");
/// ```
pub fn redact(message: &str) -> String {
    let mut text = builtin_redactions(message, true);
    for regex in USER_RULES.read().iter() {
        if regex.is_match(&text) {
            text = regex.replace_all(&text, REDACTED).into_owned();
        }
    }
    text
}

/// What was made of recent messages (their redaction, their pattern), by a hash of the raw
/// message: an error that repeats word for word — the common case when a dependency goes down —
/// skips the regular expressions, and no raw message is kept. Cleared when full, and when the
/// redaction rules change.
pub(crate) struct MessageCache<V> {
    /// The rules' generation the entries were made under, and the entries.
    seen: parking_lot::Mutex<(u64, std::collections::BTreeMap<u64, V>)>,
    capacity: usize,
}

impl<V: Clone> MessageCache<V> {
    pub(crate) const fn new(capacity: usize) -> MessageCache<V> {
        MessageCache {
            seen: parking_lot::Mutex::new((0, std::collections::BTreeMap::new())),
            capacity,
        }
    }

    /// What `make` makes of `message`, made again only for a message not seen lately.
    pub(crate) fn get(&self, message: &str, make: impl FnOnce(&str) -> V) -> V {
        use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
        let key = BuildHasherDefault::<DefaultHasher>::default().hash_one(message);
        let generation = rules_generation();
        {
            let mut seen = self.seen.lock();
            if seen.0 != generation {
                *seen = (generation, std::collections::BTreeMap::new());
            } else if let Some(known) = seen.1.get(&key) {
                return known.clone();
            }
        }
        let made = make(message);
        let mut seen = self.seen.lock();
        // Made under the rules of `generation`: not kept if they changed meanwhile.
        if seen.0 == generation {
            if seen.1.len() >= self.capacity {
                seen.1.clear();
            }
            seen.1.insert(key, made.clone());
        }
        made
    }
}

/// [`redact`], through a [`MessageCache`]: when every call fails with the same words, each kept
/// run and each event would run every rule again.
pub(crate) fn redact_cached(message: &str) -> String {
    static SEEN: MessageCache<String> = MessageCache::new(1024);
    SEEN.get(message, redact)
}

/// The pattern of a message: quoted values, UUIDs, hex and numbers replaced by placeholders, so
/// that `user 42 not found` and `user 7 not found` group together. Placeholders already in the text
/// (`<redacted>`, `<email>`) stay.
///
/// # Examples
///
/// ```
/// use monitor_core::errors::normalize;
///
/// assert_eq!(normalize("user 42 not found"), "user <n> not found");
/// assert_eq!(normalize("timeout after 2.5s on 'logo-7'"), "timeout after <n>s on '<s>'");
/// assert_eq!(normalize("id 3f2b8c1e-9a4d-4e21-b6c0-1d2e3f4a5b6c gone"), "id <uuid> gone");
/// assert_eq!(normalize("bad hash 0xdeadbeef / a94a8fe5ccb19ba6"), "bad hash <hex> / <hex>");
/// ```
pub fn normalize(message: &str) -> String {
    normalize_with(message, true)
}

/// [`normalize`]; `filtered`: skipping the rules whose test says they cannot match.
fn normalize_with(message: &str, filtered: bool) -> String {
    static RULES: OnceLock<Vec<Rule>> = OnceLock::new();
    let rules = RULES.get_or_init(|| {
        vec![
            Rule::new(r#""[^"]*""#, "\"<s>\"", |t| t.contains('"')),
            Rule::new(r"'[^']*'", "'<s>'", |t| t.contains('\'')),
            Rule::new(r"`[^`]*`", "`<s>`", |t| t.contains('`')),
            Rule::new(
                r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b",
                "<uuid>",
                |t| t.contains('-'),
            ),
            Rule::new(r"\b0[xX][0-9a-fA-F]+\b", "<hex>", |t| {
                t.contains("0x") || t.contains("0X")
            }),
        ]
    });
    let mut text = message.to_owned();
    for rule in rules {
        if filtered && !(rule.may_match)(&text) {
            continue;
        }
        text = rule.regex.replace_all(&text, rule.with).into_owned();
    }
    numbers(&hex_ids(&text))
}

/// Whether `b` is a word character, as regex_lite's `\w` and `\b` see it (ASCII only).
fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Every word of 8 or more hex digits with at least one digit and one letter — a hash, an id —
/// replaced by `<hex>`; `v1a` (too short) and `deadbeef` (no digit) are words. Written out rather
/// than as a regex: every message with a number runs it, and regex_lite's matcher took
/// microseconds.
fn hex_ids(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        if !is_word(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && is_word(bytes[i]) {
            i += 1;
        }
        let word = &bytes[start..i];
        if word.len() >= 8
            && word.iter().all(u8::is_ascii_hexdigit)
            && word.iter().any(u8::is_ascii_digit)
            && word.iter().any(u8::is_ascii_alphabetic)
        {
            out.push_str(&text[copied..start]);
            out.push_str("<hex>");
            copied = i;
        }
    }
    out.push_str(&text[copied..]);
    out
}

/// Every number — digits, with a fraction if one follows a `.` — replaced by `<n>`, wherever it
/// stands (`v1` is `v<n>`).
fn numbers(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        if i + 1 < bytes.len() && bytes[i] == b'.' && bytes[i + 1].is_ascii_digit() {
            i += 1;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
        }
        out.push_str(&text[copied..start]);
        out.push_str("<n>");
        copied = i;
    }
    out.push_str(&text[copied..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_remembered_redaction_is_made_again_when_the_rules_change() {
        let message = "key sk-proj-0123456789abcdefXYZ of zqxcache-17 rejected";
        assert_eq!(
            redact_cached(message),
            "key <redacted> of zqxcache-17 rejected"
        );
        // The second time from what was remembered: the same text.
        assert_eq!(redact_cached(message), redact(message));
        add_redaction(r"zqxcache-\d+").expect("a valid pattern");
        assert_eq!(
            redact_cached(message),
            "key <redacted> of <redacted> rejected"
        );
    }

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
    fn the_rules_tests_never_skip_a_rule_that_would_match() {
        let messages = [
            "postgres://app:s3cr3t@db:5432/x refused",
            "HTTPS://U:P@h/ and mailto a@b.co",
            "Authorization: BEARER abc.def and BaSiC dXNlcjpwYXNz",
            "API-KEY: AbC, Access_Token=x; PassWord = y & PWD:z, secret=s",
            "apikey = 1 but token nothing",
            "sk-abcdefghijklmnopqrstuvwxyz and PK-ABCDEFGHIJKLMNOPQRST, rk-0123456789abcdef",
            "aws AKIAABCDEFGHIJKLMNOP and gho_abcdefghijklmnopqrstuvwxyz xoxb-1234567890-abc",
            "jwt eyJhbGciOiJIUzI1.eyJzdWIiOiIxMjM0.SflKxwRJSMeKKF2QT4",
            "user 42 (ann@example.com) hit limit 100.5 at 'logo-9' and \"x\" in `y`",
            "id 550e8400-e29b-41d4-a716-446655440000 hash 0xDEADbeef a94a8fe5ccb19ba6 v1a",
            "nothing secret here",
            "ünïcödé 🦀 ключ=значение token:\u{a0}x",
            "",
        ];
        for message in messages {
            assert_eq!(
                builtin_redactions(message, true),
                builtin_redactions(message, false),
                "{message}"
            );
            let redacted = builtin_redactions(message, false);
            assert_eq!(
                normalize_with(&redacted, true),
                normalize_with(&redacted, false),
                "{message}"
            );
            assert_eq!(
                normalize_with(message, true),
                normalize_with(message, false),
                "{message}"
            );
        }
    }

    /// What [`hex_ids`] and [`numbers`] replace, as the regexes they stand for would.
    fn hex_ids_and_numbers_by_regex(text: &str) -> String {
        let hex = Regex::new(
            r"\b[0-9a-fA-F]*[0-9][0-9a-fA-F]*[a-fA-F][0-9a-fA-F]*\b|\b[0-9a-fA-F]*[a-fA-F][0-9a-fA-F]*[0-9][0-9a-fA-F]*\b",
        )
        .unwrap();
        let text = hex.replace_all(text, |c: &regex_lite::Captures<'_>| {
            if c[0].len() >= 8 {
                "<hex>".to_owned()
            } else {
                c[0].to_owned()
            }
        });
        let number = Regex::new(r"\d+(\.\d+)?").unwrap();
        number.replace_all(&text, "<n>").into_owned()
    }

    #[test]
    fn hex_ids_and_numbers_are_replaced_as_their_regexes_would() {
        for text in [
            "a94a8fe5ccb19ba6 and DEADBEEF12 and 1234abcd and 1234abc and deadbeef",
            "v1a v1 1.2.3 x1.5y 12. .5 1..2 3.x 10.0.0.7:5432",
            "abc_12345678 ab12cd34ef56-4411 é1234abcdé 1234abcdé ü12345678abü",
            "_1234abcd_ 1234abcd_ 0xff 9 99 <n> <hex>",
            "",
            "🦀1a2b3c4d5e🦀",
        ] {
            assert_eq!(
                numbers(&hex_ids(text)),
                hex_ids_and_numbers_by_regex(text),
                "{text}"
            );
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
}
