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

use std::sync::OnceLock;

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// The crates (tracing targets) whose events follow `RUST_LOG` to any level: ours.
pub const OWN_TARGETS: [&str; 17] = [
    "shared",
    "login",
    "refresh",
    "logout",
    "authorizer",
    "hello",
    "rotate_secret",
    "register",
    "account",
    "passkeys",
    "oauth",
    "recovery",
    "discovery",
    "security_events",
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

tokio::task_local! {
    /// The id of the request being handled (API Gateway's, through the Lambda context), for
    /// the security-event lines written anywhere below the handler.
    static REQUEST_ID: String;
}

/// Runs `fut` (one request) with `request_id` as the id its security events carry.
pub async fn with_request_id<F: std::future::Future>(request_id: String, fut: F) -> F::Output {
    REQUEST_ID.scope(request_id, fut).await
}

/// The id of the request being handled, if any (none in `authctl` or a test).
pub fn request_id() -> Option<String> {
    REQUEST_ID
        .try_with(|id| id.clone())
        .ok()
        .filter(|id| !id.is_empty())
}

/// A security-event line (the ones the forwarder sends to EventBridge): `event`, then the
/// `user_id` and `session_id` (each an `Option<&str>`, written when known) and the request's
/// id as fields of the line itself, so the forwarded event says who and which request
/// whatever span it was written in; then any other fields and the message.
///
/// ```ignore
/// security_event!(info, "session_revoked", user_id = Some(uid), session_id = Some(sid),
///     reason = "user", "session revoked");
/// ```
#[macro_export]
macro_rules! security_event {
    ($level:ident, $event:literal, user_id = $user:expr, session_id = $session:expr, $($rest:tt)+) => {
        ::tracing::$level!(
            event = $event,
            user_id = $user,
            session_id = $session,
            request_id = $crate::telemetry::request_id().as_deref(),
            $($rest)+
        )
    };
}

/// The CloudWatch namespace of every metric.
pub const METRICS_NAMESPACE: &str = "LambdaJwtAuth";

static COLLECTOR: OnceLock<&'static metrics_cloudwatch_embedded::Collector> = OnceLock::new();

/// What the service counts (CloudWatch Embedded Metric Format, one log line per invocation and
/// label set, written by [`flush_metrics`]; no network call). Names are the metric names;
/// labels become dimensions beside `Function`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    LoginSucceeded,
    LoginFailed,
    /// A login or password change refused unchecked: the account (or device) is locked.
    LoginLocked,
    Registration,
    RefreshRotated,
    /// A spent refresh token presented again: the session was revoked.
    RefreshReuseDetected,
    /// A session ended other than by expiry; the cause becomes the `Cause` dimension.
    SessionRevoked(&'static str),
    AuthorizerAllowed,
    /// The reason class becomes the `Reason` dimension: `token`, `revoked`, `store_unavailable`.
    AuthorizerDenied(&'static str),
    BackingStoreUnavailable,
    /// The breached-password service did not answer; the password was let through.
    BreachCheckUnavailable,
    /// A mail went out; the kind (`verify`, `reset`) becomes the `Kind` dimension.
    MailSent(&'static str),
    /// A mail could not be sent (the request still answered; see docs/operating.md).
    MailFailed(&'static str),
    /// A mail not sent: its address had its `EMAIL_MAX_PER_HOUR` already.
    MailSuppressed(&'static str),
    /// A `forgot` whose own work outlasted the response-time floor (its time could tell).
    ForgotOverFloor,
    /// A right password of a user with TOTP: the login waits for its second factor.
    MfaChallenged,
    /// A second factor checked and right; `totp` or `recovery_code` becomes the `Kind`.
    MfaSucceeded(&'static str),
    /// A second factor checked and wrong (a failed login); the kind as above.
    MfaFailed(&'static str),
    /// TOTP turned on (`Kind`: `user`) or off (`user`, `admin`) for an account.
    MfaEnabled,
    MfaDisabled(&'static str),
    /// A passkey registered, or removed by its user.
    PasskeyAdded,
    PasskeyRemoved,
    /// A passkey sign-in refused; `Reason`: `invalid` (unknown credential, a failed check or
    /// challenge) or `counter` (a signature counter that went backwards: a clone).
    PasskeyLoginFailed(&'static str),
    /// A sign-in through an OpenID provider (an existing user's, or a new one's).
    FederatedSignIn,
    /// A user created by a sign-in through an OpenID provider.
    FederatedSignup,
    /// A flow ended without its purpose; `Reason` is the `#error=` code it sent back.
    FederatedFailed(&'static str),
    /// An identity linked to, or unlinked from, a user.
    IdentityLinked,
    IdentityUnlinked,
}

impl Metric {
    pub fn name(self) -> &'static str {
        match self {
            Metric::LoginSucceeded => "LoginSucceeded",
            Metric::LoginFailed => "LoginFailed",
            Metric::LoginLocked => "LoginLocked",
            Metric::Registration => "Registrations",
            Metric::RefreshRotated => "RefreshRotated",
            Metric::RefreshReuseDetected => "RefreshReuseDetected",
            Metric::SessionRevoked(_) => "SessionsRevoked",
            Metric::AuthorizerAllowed => "AuthorizerAllowed",
            Metric::AuthorizerDenied(_) => "AuthorizerDenied",
            Metric::BackingStoreUnavailable => "BackingStoreUnavailable",
            Metric::BreachCheckUnavailable => "BreachCheckUnavailable",
            Metric::MailSent(_) => "MailSent",
            Metric::MailFailed(_) => "MailFailed",
            Metric::MailSuppressed(_) => "MailSuppressed",
            Metric::ForgotOverFloor => "ForgotOverFloor",
            Metric::MfaChallenged => "MfaChallenged",
            Metric::MfaSucceeded(_) => "MfaSucceeded",
            Metric::MfaFailed(_) => "MfaFailed",
            Metric::MfaEnabled => "MfaEnabled",
            Metric::MfaDisabled(_) => "MfaDisabled",
            Metric::PasskeyAdded => "PasskeyAdded",
            Metric::PasskeyRemoved => "PasskeyRemoved",
            Metric::PasskeyLoginFailed(_) => "PasskeyLoginFailed",
            Metric::FederatedSignIn => "FederatedSignIn",
            Metric::FederatedSignup => "FederatedSignup",
            Metric::FederatedFailed(_) => "FederatedFailed",
            Metric::IdentityLinked => "IdentityLinked",
            Metric::IdentityUnlinked => "IdentityUnlinked",
        }
    }
}

/// Counts one `metric`. A no-op until [`init_metrics`] ran (tests, the dev server, authctl).
pub fn count(metric: Metric) {
    count_by(metric, 1);
}

/// Counts `n` of `metric` (nothing for 0).
pub fn count_by(metric: Metric, n: usize) {
    if n == 0 {
        return;
    }
    let n = n as u64;
    let name = metric.name();
    match metric {
        Metric::SessionRevoked(cause) => metrics::counter!(name, "Cause" => cause).increment(n),
        Metric::MailSent(kind)
        | Metric::MailFailed(kind)
        | Metric::MailSuppressed(kind)
        | Metric::MfaSucceeded(kind)
        | Metric::MfaFailed(kind)
        | Metric::MfaDisabled(kind) => metrics::counter!(name, "Kind" => kind).increment(n),
        Metric::AuthorizerDenied(reason)
        | Metric::PasskeyLoginFailed(reason)
        | Metric::FederatedFailed(reason) => {
            metrics::counter!(name, "Reason" => reason).increment(n)
        }
        _ => metrics::counter!(name).increment(n),
    }
}

/// Installs the EMF recorder once, with `Function` (Lambda's function name, or `function`) as
/// a dimension of every metric.
pub fn init_metrics(function: &str) {
    let name = std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|_| function.to_string());
    if COLLECTOR.get().is_some() {
        return;
    }
    match metrics_cloudwatch_embedded::Builder::new()
        .cloudwatch_namespace(METRICS_NAMESPACE)
        .with_dimension("Function", name)
        .init()
    {
        Ok(collector) => {
            let _ = COLLECTOR.set(collector);
        }
        Err(e) => tracing::warn!(error = %e, "metrics recorder not installed"),
    }
}

/// Writes what was counted since the last flush as EMF lines to stdout (end of an invocation).
pub fn flush_metrics() {
    if let Some(collector) = COLLECTOR.get() {
        let stdout = std::io::stdout();
        if let Err(e) = collector.flush(stdout.lock()) {
            tracing::warn!(error = %e, "could not write metrics");
        }
    }
}

#[cfg(test)]
mod tests {
    use tracing::Level;

    #[tokio::test]
    async fn the_request_id_is_known_inside_its_request_only() {
        assert_eq!(request_id(), None);
        let inside = with_request_id("r-1".into(), async { request_id() }).await;
        assert_eq!(inside.as_deref(), Some("r-1"));
        let empty = with_request_id(String::new(), async { request_id() }).await;
        assert_eq!(empty, None);
    }

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
