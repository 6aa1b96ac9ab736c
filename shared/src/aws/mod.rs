//! Building the AWS SDK configuration once per container: our own HTTPS client (rustls on
//! ring, no aws-lc build), and timeouts and retries chosen so a request never waits past the
//! Lambda's time budget. Endpoints, region and credentials come from the SDK's own settings
//! (`AWS_ENDPOINT_URL_DYNAMODB`, ...), so the same binary runs against AWS or local engines.
//!
//! TLS trust: by default only the Amazon Trust Services roots, compiled in. Every endpoint the
//! functions call (DynamoDB, Secrets Manager, their FIPS and VPC endpoints) chains to them, and
//! loading the system store instead (hundreds of files, parsed at the first client) was the
//! largest single cost of a cold start (docs/performance.md).
//! `TLS_TRUST_STORE=system` trusts the system store instead (a TLS-inspecting proxy, a
//! partition whose endpoints use other CAs); `SSL_CERT_FILE` / `SSL_CERT_DIR` then apply.

pub mod rotation;
pub mod security_events;
pub mod setup;

use std::time::Duration;

use aws_config::environment::EnvironmentVariableCredentialsProvider;
use aws_config::identity::IdentityCache;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_smithy_async::rt::sleep::default_async_sleep;
use aws_smithy_async::time::SharedTimeSource;
use aws_smithy_http_client::tls;
use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_types::sdk_config::SharedCredentialsProvider;
use aws_types::service_config::{LoadServiceConfig, ServiceConfigKey};

use crate::config::TrustStore;

/// The Amazon Trust Services roots, PEM.
pub const AMAZON_TRUST_SERVICES_PEM: &str = include_str!("../../certs/amazon-trust-services.pem");

/// Connect timeout: a healthy regional endpoint answers in a few ms.
pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(1_000);
/// One attempt of one call.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_millis(1_500);
/// A whole call, retries included; well inside the functions' 10 s timeouts.
pub const OPERATION_TIMEOUT: Duration = Duration::from_millis(3_500);
/// Attempts per call (first try plus retries), with the SDK's standard backoff.
pub const MAX_ATTEMPTS: u32 = 3;

fn trust(store: TrustStore) -> tls::TrustStore {
    match store {
        TrustStore::Aws => tls::TrustStore::empty()
            .with_native_roots(false)
            .with_pem_certificate(AMAZON_TRUST_SERVICES_PEM.as_bytes()),
        TrustStore::System => tls::TrustStore::default(),
    }
}

fn http_client(trust_store: TrustStore) -> SharedHttpClient {
    let tls_context = tls::TlsContext::builder()
        .with_trust_store(trust(trust_store))
        .build()
        .expect("a TLS context without extra server names always builds");
    let client = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .tls_context(tls_context)
        .build_https();
    SharedHttpClient::new(BuiltOnFirstUse(client))
}

/// The SDK's hyper client, minus its eager check: on every `Client::new` it builds a complete
/// HTTPS connector (TLS roots parsed, rustls config) only to drop it, "so that native certs
/// load at client initialization". The connector the calls use is built on the first
/// request and cached either way, so the check was pure cold-start cost (two clients: two
/// thrown-away connectors; docs/performance.md).
#[derive(Debug)]
struct BuiltOnFirstUse(SharedHttpClient);

impl HttpClient for BuiltOnFirstUse {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        self.0.http_connector(settings, components)
    }

    fn connector_metadata(&self) -> Option<ConnectorMetadata> {
        self.0.connector_metadata()
    }
}

fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .operation_timeout(OPERATION_TIMEOUT)
        .build()
}

fn retries() -> RetryConfig {
    RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS)
}

/// The SDK's full default chains (profiles, web identity, container and instance
/// credentials): for `authctl` and tests, which run on laptops and CI machines.
pub async fn sdk_config(trust_store: TrustStore) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(http_client(trust_store))
        .timeout_config(timeouts())
        .retry_config(retries())
        .load()
        .await
}

/// What a Lambda function needs, and only that: region and credentials from the variables
/// Lambda sets (`AWS_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
/// `AWS_SESSION_TOKEN`), endpoint overrides from `AWS_ENDPOINT_URL_<SERVICE>` /
/// `AWS_ENDPOINT_URL`, FIPS and dual-stack from `AWS_USE_FIPS_ENDPOINT` /
/// `AWS_USE_DUALSTACK_ENDPOINT`. Not calling the default loader keeps its credential chain
/// (STS, SSO, IMDS, ECS, profile files) out of the bootstraps and out of the cold start.
pub fn lambda_sdk_config(trust_store: TrustStore) -> SdkConfig {
    lambda_sdk_config_from(trust_store, |name| std::env::var(name).ok())
}

fn lambda_sdk_config_from(
    trust_store: TrustStore,
    env: impl Fn(&str) -> Option<String> + Send + Sync + 'static,
) -> SdkConfig {
    let var = |name: &str| env(name).filter(|v| !v.is_empty());
    let flag = |name: &str| var(name).is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let mut builder = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(
            var("AWS_REGION")
                .or_else(|| var("AWS_DEFAULT_REGION"))
                .map(Region::new),
        )
        .credentials_provider(SharedCredentialsProvider::new(
            EnvironmentVariableCredentialsProvider::new(),
        ))
        .identity_cache(IdentityCache::lazy().build())
        .http_client(http_client(trust_store))
        .timeout_config(timeouts())
        .retry_config(retries())
        .time_source(SharedTimeSource::default())
        .use_fips(flag("AWS_USE_FIPS_ENDPOINT"))
        .use_dual_stack(flag("AWS_USE_DUALSTACK_ENDPOINT"));
    if let Some(sleep) = default_async_sleep() {
        builder = builder.sleep_impl(sleep);
    }
    builder.service_config(EndpointsFromEnv(env)).build()
}

/// The endpoint variables the SDK's own loader honours: `AWS_ENDPOINT_URL_<SERVICE ID>`
/// (upper case, spaces as `_`: `AWS_ENDPOINT_URL_SECRETS_MANAGER`), then `AWS_ENDPOINT_URL`.
struct EndpointsFromEnv<F>(F);

impl<F> std::fmt::Debug for EndpointsFromEnv<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EndpointsFromEnv")
    }
}

impl<F: Fn(&str) -> Option<String> + Send + Sync> LoadServiceConfig for EndpointsFromEnv<F> {
    fn load_config(&self, key: ServiceConfigKey<'_>) -> Option<String> {
        let service = key.service_id().to_ascii_uppercase().replace(' ', "_");
        let get = |name: &str| (self.0)(name).filter(|v| !v.is_empty());
        get(&format!("{}_{service}", key.env())).or_else(|| get(key.env()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The SDK parses the PEM when it builds its first connector and panics on a bad one;
    /// this parses it the same way (rustls's PEM reader, then a webpki trust anchor each).
    #[test]
    fn the_compiled_in_roots_are_five_valid_trust_anchors() {
        use rustls::pki_types::{pem::PemObject, CertificateDer};
        let ders = CertificateDer::pem_slice_iter(AMAZON_TRUST_SERVICES_PEM.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .expect("valid PEM");
        let mut roots = rustls::RootCertStore::empty();
        for der in ders {
            roots.add(der).expect("a parsable root certificate");
        }
        assert_eq!(roots.len(), 5);
        let names: Vec<String> = roots
            .roots
            .iter()
            .map(|a| String::from_utf8_lossy(a.subject.as_ref()).into_owned())
            .collect();
        for cn in [
            "Amazon Root CA 1",
            "Amazon Root CA 4",
            "Starfield Services Root",
        ] {
            assert!(names.iter().any(|n| n.contains(cn)), "{cn} missing");
        }
    }
}

#[cfg(test)]
mod lambda_config_tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> SdkConfig {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        lambda_sdk_config_from(TrustStore::Aws, move |k| map.get(k).cloned())
    }

    fn endpoint(sdk: &SdkConfig, service_id: &str) -> Option<String> {
        let key = ServiceConfigKey::builder()
            .service_id(service_id)
            .env("AWS_ENDPOINT_URL")
            .profile("endpoint_url")
            .build()
            .unwrap();
        sdk.service_config().unwrap().load_config(key)
    }

    #[test]
    fn region_and_service_endpoints_come_from_lambda_variables() {
        let sdk = config(&[
            ("AWS_REGION", "eu-west-1"),
            ("AWS_DEFAULT_REGION", "us-east-1"),
            ("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:8000"),
            ("AWS_ENDPOINT_URL_SECRETS_MANAGER", "http://127.0.0.1:5000"),
        ]);
        assert_eq!(sdk.region().map(|r| r.as_ref()), Some("eu-west-1"));
        assert_eq!(
            endpoint(&sdk, "DynamoDB").as_deref(),
            Some("http://127.0.0.1:8000")
        );
        assert_eq!(
            endpoint(&sdk, "Secrets Manager").as_deref(),
            Some("http://127.0.0.1:5000")
        );
        assert_eq!(sdk.use_fips(), Some(false));
        assert!(sdk.credentials_provider().is_some());
        assert!(sdk.sleep_impl().is_some());
        let t = sdk.timeout_config().unwrap();
        assert_eq!(t.operation_attempt_timeout(), Some(ATTEMPT_TIMEOUT));
        assert_eq!(sdk.retry_config().unwrap().max_attempts(), MAX_ATTEMPTS);
    }

    #[test]
    fn the_global_endpoint_and_region_are_fallbacks_and_empty_means_unset() {
        let sdk = config(&[
            ("AWS_REGION", ""),
            ("AWS_DEFAULT_REGION", "us-east-1"),
            ("AWS_ENDPOINT_URL", "http://localhost:4566"),
            ("AWS_ENDPOINT_URL_DYNAMODB", ""),
            ("AWS_USE_FIPS_ENDPOINT", "TRUE"),
        ]);
        assert_eq!(sdk.region().map(|r| r.as_ref()), Some("us-east-1"));
        assert_eq!(
            endpoint(&sdk, "DynamoDB").as_deref(),
            Some("http://localhost:4566")
        );
        assert_eq!(sdk.use_fips(), Some(true));
        let none = config(&[]);
        assert_eq!(none.region(), None);
        assert_eq!(endpoint(&none, "DynamoDB"), None);
    }
}
