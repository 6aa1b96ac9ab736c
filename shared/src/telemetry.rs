//! Structured JSON logs via `tracing`, one line per event, level from `RUST_LOG` (default info).
//! Nothing here logs requests; handlers log outcomes and never tokens, passwords or keys.

use tracing_subscriber::EnvFilter;

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
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_writer(writer)
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .without_time()
        .try_init();
}
