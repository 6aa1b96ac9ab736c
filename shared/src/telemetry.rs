//! Structured JSON logs via `tracing`, one line per event, level from `RUST_LOG` (default info).
//! Nothing here logs requests; handlers log outcomes and never tokens, passwords or keys.
//! `RUST_LOG` takes one level (`error`, `warn`, `info`, `debug`, `trace`): a full env-filter
//! would link a regex engine into every bootstrap for no use here.
//!
//! That level applies to this project's own crates only. Every other crate is capped at
//! `info`, whatever `RUST_LOG` says: at `debug` and `trace` the Lambda runtime logs the raw
//! event (passwords, tokens) and the AWS SDK request and response bodies (password hashes,
//! token hashes, the new key in the rotation's PutSecretValue). Their `info` and above says
//! nothing secret.

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// The crates (tracing targets) whose events follow `RUST_LOG` to any level: ours.
pub const OWN_TARGETS: [&str; 10] = [
    "shared",
    "login",
    "refresh",
    "logout",
    "authorizer",
    "hello",
    "rotate_secret",
    "authctl",
    "devserver",
    "integration_tests",
];

/// The most verbose any other crate may log.
pub const THIRD_PARTY_MAX: LevelFilter = LevelFilter::INFO;

/// `level` for our crates, at most [`THIRD_PARTY_MAX`] for every other.
pub fn filter(level: LevelFilter) -> Targets {
    Targets::new()
        .with_default(level.min(THIRD_PARTY_MAX))
        .with_targets(OWN_TARGETS.iter().map(|t| (*t, level)))
}

fn level_from_env() -> LevelFilter {
    std::env::var("RUST_LOG")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(LevelFilter::INFO)
}

/// Installs the JSON subscriber once (to stdout, which Lambda ships to CloudWatch); later
/// calls are no-ops.
pub fn init() {
    init_with_writer(std::io::stdout);
}

/// The same, to stderr (the dev server keeps stdout for its NAME=value lines).
pub fn init_to_stderr() {
    init_with_writer(std::io::stderr);
}

pub fn init_with_writer<W>(writer: W)
where
    W: for<'a> tracing_subscriber::fmt::MakeWriter<'a> + Send + Sync + 'static,
{
    let level = level_from_env();
    let _ = tracing_subscriber::fmt()
        .with_writer(writer)
        .json()
        .with_max_level(level)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .without_time()
        .finish()
        .with(filter(level))
        .try_init();
}

#[cfg(test)]
mod tests {
    use tracing::Level;

    use super::*;

    #[test]
    fn trace_reaches_our_crates_but_never_a_third_partys() {
        let f = filter(LevelFilter::TRACE);
        assert!(f.would_enable("shared::service", &Level::TRACE));
        assert!(f.would_enable("rotate_secret", &Level::TRACE));
        for other in [
            "lambda_runtime::runtime",
            "aws_smithy_runtime::client",
            "hyper_util",
            "rustls",
        ] {
            assert!(!f.would_enable(other, &Level::DEBUG), "{other}");
            assert!(f.would_enable(other, &Level::INFO), "{other}");
        }
        let quiet = filter(LevelFilter::WARN);
        assert!(!quiet.would_enable("shared::service", &Level::INFO));
        assert!(!quiet.would_enable("lambda_runtime", &Level::INFO));
    }
}
