//! Building the AWS SDK configuration once per container: our own HTTPS client (rustls on
//! ring, no aws-lc build), and timeouts and retries chosen so a request never waits past the
//! Lambda's time budget. Endpoints, region and credentials come from the SDK's own settings
//! (`AWS_ENDPOINT_URL_DYNAMODB`, ...), so the same binary runs against AWS or local engines.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_http_client::tls;

/// Connect timeout: a healthy regional endpoint answers in a few ms.
pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(1_000);
/// One attempt of one call.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_millis(1_500);
/// A whole call, retries included; well inside the functions' 10 s timeouts.
pub const OPERATION_TIMEOUT: Duration = Duration::from_millis(3_500);
/// Attempts per call (first try plus retries), with the SDK's standard backoff.
pub const MAX_ATTEMPTS: u32 = 3;

pub async fn sdk_config() -> SdkConfig {
    let http_client = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(http_client)
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                .operation_timeout(OPERATION_TIMEOUT)
                .build(),
        )
        .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS))
        .load()
        .await
}
