//! Structured JSON logs via `tracing`, one line per event, level from `RUST_LOG` (default info).
//! Nothing here logs requests; handlers log outcomes and never tokens, passwords or keys.
//! `RUST_LOG` takes one level (`error`, `warn`, `info`, `debug`, `trace`): a full env-filter
//! would link a regex engine into every bootstrap for no use here.

use tracing_subscriber::filter::LevelFilter;

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
    let _ = tracing_subscriber::fmt()
        .with_writer(writer)
        .json()
        .with_max_level(level_from_env())
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .without_time()
        .try_init();
}
