//! Wiring: builds the SDK clients, stores and key ring once per container (cold start) and
//! the [`AuthService`] over them. Functions, the dev server and `authctl` all start here.

use std::sync::Arc;

use crate::adapters::dynamodb::DynamoStore;
use crate::adapters::secrets_manager::{
    SecretsClient, SecretsManagerDataKeys, SecretsManagerKeySource, SecretsManagerPublicKeys,
};
use crate::adapters::ses::SesMailer;
use crate::config::{AuthorizerRevocation, Config};
use crate::crypto::keyring::KeyRing;
use crate::crypto::password::Passwords;
use crate::error::{Chain, KeyError};
use crate::http::handlers::{Api, Endpoint};
use crate::http::runtime::handle_logged_with;
use crate::ports::{Clock, Mailer, RevocationStore, SystemClock};
use crate::service::authorizer::Authorizer;
use crate::service::AuthService;

pub struct App {
    pub cfg: Arc<Config>,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub secrets: SecretsClient,
    pub store: Arc<DynamoStore>,
    pub keys: Arc<KeyRing>,
    pub service: Arc<AuthService>,
    pub clock: Arc<dyn Clock>,
}

/// What the authorizer and the discovery function need: a key ring, and no DynamoDB client
/// at all (they work offline; leaving the DynamoDB SDK out also keeps the bootstraps small).
/// In an asymmetric mode the ring holds only the published public keys
/// ([`verify_key_ring`]): these functions never read, and their roles cannot read, a private
/// key.
pub struct KeyRingApp {
    pub cfg: Arc<Config>,
    pub secrets: SecretsClient,
    pub keys: Arc<KeyRing>,
    pub clock: Arc<dyn Clock>,
    sdk: aws_config::SdkConfig,
}

impl KeyRingApp {
    /// For the authorizer Lambda: the SDK configured from Lambda's environment only.
    pub fn from_config(cfg: Config) -> KeyRingApp {
        let sdk = crate::aws::lambda_sdk_config(cfg.trust_store);
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let secrets = SecretsClient::new(&sdk);
        let keys = verify_key_ring(secrets.clone(), &cfg, clock.clone());
        KeyRingApp {
            cfg: Arc::new(cfg),
            secrets,
            keys,
            clock,
            sdk,
        }
    }

    /// The authorizer over this ring; with `AUTHORIZER_REVOCATION=session` also over DynamoDB
    /// (a client built only in that mode).
    pub fn authorizer(&self) -> Authorizer {
        let store: Option<Arc<dyn RevocationStore>> = match self.cfg.authorizer.revocation {
            AuthorizerRevocation::Off => None,
            AuthorizerRevocation::Session => Some(Arc::new(DynamoStore::new(
                aws_sdk_dynamodb::Client::new(&self.sdk),
                self.cfg.tables.users.clone(),
                self.cfg.tables.sessions.clone(),
            ))),
        };
        authorizer(&self.cfg, self.keys.clone(), self.clock.clone(), store)
    }

    /// See [`warm_up`].
    pub async fn warm_up(&self) -> Result<(), KeyError> {
        warm_up(&self.secrets, &self.keys).await
    }
}

/// An authorizer as `cfg` asks for it: over `keys`, checking sessions in `store` when
/// `AUTHORIZER_REVOCATION=session` (the store is ignored otherwise).
pub fn authorizer(
    cfg: &Config,
    keys: Arc<KeyRing>,
    clock: Arc<dyn Clock>,
    store: Option<Arc<dyn RevocationStore>>,
) -> Authorizer {
    let authorizer = Authorizer::new(cfg, keys, clock);
    match (cfg.authorizer.revocation, store) {
        (AuthorizerRevocation::Session, Some(store)) => {
            authorizer.checking_sessions(store, cfg.authorizer.on_error)
        }
        _ => authorizer,
    }
}

/// The key ring over the signing secret.
fn key_ring(secrets: SecretsClient, cfg: &Config, clock: Arc<dyn Clock>) -> Arc<KeyRing> {
    Arc::new(KeyRing::new(
        Arc::new(SecretsManagerKeySource::new(
            secrets,
            cfg.signing.secret_id.clone(),
            cfg.signing.alg,
        )),
        cfg.signing.alg,
        clock,
        cfg.signing.cache_ttl,
    ))
}

/// The ring a verifier needs: in an asymmetric mode the public keys only (the public-keys
/// secret); in HS256 the signing secret, since the shared key is the only way to verify.
pub fn verify_key_ring(
    secrets: SecretsClient,
    cfg: &Config,
    clock: Arc<dyn Clock>,
) -> Arc<KeyRing> {
    if !cfg.signing.alg.is_asymmetric() {
        return key_ring(secrets, cfg, clock);
    }
    Arc::new(KeyRing::public(
        Arc::new(SecretsManagerPublicKeys::new(
            secrets,
            cfg.signing.public_keys_secret_id.clone(),
        )),
        cfg.signing.alg,
        clock,
        cfg.signing.cache_ttl,
    ))
}

/// Loads the key ring during the Lambda init phase so the first request does not pay for it.
/// Secrets Manager unreachable is logged, not fatal: the ring retries on first use. A key that
/// is there but unusable (malformed, too short, of another type or size than `SIGNING_ALG`)
/// is fatal: the function stops at start-up with the reason, as for a bad variable.
/// The client is built first, so the logged `latency_ms` is the fetch alone (two concurrent
/// `GetSecretValue`, with the first connection's set-up), which CloudWatch then shows per cold
/// start and `make bench` reports apart from the rest of init.
async fn warm_up(secrets: &SecretsClient, keys: &KeyRing) -> Result<(), KeyError> {
    secrets.client();
    let started = std::time::Instant::now();
    match keys.load().await {
        Ok(_) => {
            tracing::info!(
                event = "signing_keys_loaded",
                latency_ms = started.elapsed().as_secs_f64() * 1000.0,
                "signing keys loaded at start-up"
            );
            Ok(())
        }
        Err(e @ KeyError::Unavailable(_)) => {
            tracing::warn!(error = %Chain(&e), "could not load the signing key at start-up");
            Ok(())
        }
        Err(e) => {
            tracing::error!(error = %Chain(&e), "unusable signing key");
            Err(e)
        }
    }
}

impl App {
    /// For the Lambda functions (and the dev server, which runs them as Lambda would): the
    /// SDK configured from Lambda's environment only ([`crate::aws::lambda_sdk_config`]).
    pub fn from_config(cfg: Config) -> App {
        let sdk = crate::aws::lambda_sdk_config(cfg.trust_store);
        Self::with_sdk_config(cfg, &sdk, Passwords::default())
    }

    /// For `authctl`: the SDK's default chains (environment, profiles, web identity, container
    /// and instance credentials), as an admin on a laptop or CI runner expects.
    pub async fn from_config_with_default_chain(cfg: Config) -> App {
        let sdk = crate::aws::sdk_config(cfg.trust_store).await;
        Self::with_sdk_config(cfg, &sdk, Passwords::default())
    }

    pub fn with_sdk_config(cfg: Config, sdk: &aws_config::SdkConfig, passwords: Passwords) -> App {
        Self::with_mailer(cfg, sdk, passwords, None)
    }

    /// As [`App::from_config`], mailing through Amazon SES when `EMAIL_FROM` is set (its
    /// client built on the first mail): for the functions that mail (register, account,
    /// recovery) only, so the SES client stays out of every other bootstrap.
    pub fn from_config_mailing(cfg: Config) -> App {
        let sdk = crate::aws::lambda_sdk_config(cfg.trust_store);
        let mailer = cfg
            .email
            .enabled()
            .then(|| Arc::new(SesMailer::new(&sdk)) as Arc<dyn Mailer>);
        Self::with_mailer(cfg, &sdk, Passwords::default(), mailer)
    }

    /// As [`App::from_config`], mail going to `mailer` (the dev server's outbox).
    pub fn from_config_with_mailer(cfg: Config, mailer: Arc<dyn Mailer>) -> App {
        let sdk = crate::aws::lambda_sdk_config(cfg.trust_store);
        Self::with_mailer(cfg, &sdk, Passwords::default(), Some(mailer))
    }

    fn with_mailer(
        cfg: Config,
        sdk: &aws_config::SdkConfig,
        passwords: Passwords,
        mailer: Option<Arc<dyn Mailer>>,
    ) -> App {
        Self::wire(
            cfg,
            aws_sdk_dynamodb::Client::new(sdk),
            SecretsClient::new(sdk),
            Arc::new(SystemClock),
            passwords,
            mailer,
        )
    }

    /// Wires the app over given clients and clock (tests count calls or move time).
    #[cfg(any(test, feature = "test-util"))]
    pub fn from_parts(
        cfg: Config,
        dynamodb: aws_sdk_dynamodb::Client,
        secrets: aws_sdk_secretsmanager::Client,
        clock: Arc<dyn Clock>,
        passwords: Passwords,
        mailer: Option<Arc<dyn Mailer>>,
    ) -> App {
        Self::wire(
            cfg,
            dynamodb,
            SecretsClient::built(secrets),
            clock,
            passwords,
            mailer,
        )
    }

    fn wire(
        cfg: Config,
        dynamodb: aws_sdk_dynamodb::Client,
        secrets: SecretsClient,
        clock: Arc<dyn Clock>,
        passwords: Passwords,
        mailer: Option<Arc<dyn Mailer>>,
    ) -> App {
        let cfg = Arc::new(cfg);
        let store = Arc::new(DynamoStore::new(
            dynamodb.clone(),
            cfg.tables.users.clone(),
            cfg.tables.sessions.clone(),
        ));
        let keys = key_ring(secrets.clone(), &cfg, clock.clone());
        let mut service = AuthService::new(
            cfg.clone(),
            crate::service::Stores::all_in(store.clone()),
            keys.clone(),
            clock.clone(),
            passwords,
        );
        if let Some(breaches) = breach_check(&cfg) {
            service = service.with_breach_check(breaches);
        }
        if let Some(mailer) = mailer {
            service = service.with_mailer(mailer);
        }
        // Read on first use only (a TOTP enrolment or a TOTP user's second step).
        let service = Arc::new(service.with_data_keys(Arc::new(
            SecretsManagerDataKeys::cached_for(
                secrets.clone(),
                cfg.mfa.key_secret_id.clone(),
                std::time::Duration::from_secs(cfg.signing.cache_ttl),
            ),
        )));
        App {
            clock,
            cfg,
            dynamodb,
            secrets,
            store,
            keys,
            service,
        }
    }

    /// See [`warm_up`].
    pub async fn warm_up(&self) -> Result<(), KeyError> {
        warm_up(&self.secrets, &self.keys).await
    }

    /// The token endpoints over this app's service and `CORS_ALLOW_ORIGIN`.
    pub fn api(&self) -> Api {
        Api::new(self.service.clone(), &self.cfg.cors.allow_origins)
            .with_cookies(self.cfg.cookies.clone())
    }
}

#[cfg(feature = "passkeys")]
impl App {
    /// Runs the passkey ceremonies (the passkeys function, the dev server, the tests) when
    /// `WEBAUTHN_RP_ID` (or `APP_URL`) names a relying party. Call it on a fresh app.
    pub fn with_passkeys(mut self) -> App {
        let Some(rp) = crate::crypto::webauthn::WebAuthnRp::new(&self.cfg.passkeys) else {
            tracing::warn!("passkeys are off: no WEBAUTHN_RP_ID, and APP_URL names no domain");
            return self;
        };
        match Arc::get_mut(&mut self.service) {
            Some(service) => service.set_relying_party(Arc::new(rp)),
            None => tracing::error!("passkeys not wired: the service is shared already"),
        }
        self
    }
}

impl App {
    /// Signs in through the OpenID providers of `OIDC_PROVIDERS` (the oauth function, the dev
    /// server, the tests): their documents over HTTPS, client secrets from Secrets Manager
    /// (read on first use, kept `SECRET_CACHE_TTL`). Call it on a fresh app.
    pub fn with_oauth(mut self) -> App {
        let client = crate::service::oauth::OauthClient::new(
            Arc::new(crate::adapters::provider_http::HyperProviderHttp::new()),
            Arc::new(
                crate::adapters::secrets_manager::SecretsManagerClientSecrets::new(
                    self.secrets.clone(),
                    std::time::Duration::from_secs(self.cfg.signing.cache_ttl),
                ),
            ),
            self.clock.clone(),
        );
        match Arc::get_mut(&mut self.service) {
            Some(service) => service.set_oauth(client),
            None => tracing::error!("OpenID sign-in not wired: the service is shared already"),
        }
        self
    }
}

/// The Pwned Passwords client `PWNED_PASSWORDS_URL` asks for (built on its first use).
pub fn breach_check(cfg: &Config) -> Option<Arc<dyn crate::ports::BreachedPasswords>> {
    let url = cfg.pwned_passwords_url.as_deref()?;
    Some(Arc::new(crate::adapters::pwned::PwnedPasswords::new(url)))
}

/// `main` of the login, refresh and logout functions: config, clients, `run` with the
/// function's own handler (e.g. `run_endpoint(Endpoint::Login, handlers::login)`).
pub async fn run_endpoint<F, Fut>(endpoint: Endpoint, handler: F) -> Result<(), lambda_http::Error>
where
    F: Fn(Api, lambda_http::Request) -> Fut + Copy + Send + Sync + 'static,
    Fut: std::future::Future<Output = lambda_http::Response<lambda_http::Body>> + Send + 'static,
{
    run_wired(endpoint, handler, App::from_config).await
}

/// `main` of the functions that mail (register, account, recovery): as [`run_endpoint`],
/// with the SES mailer ([`App::from_config_mailing`]).
pub async fn run_mailing_endpoint<F, Fut>(
    endpoint: Endpoint,
    handler: F,
) -> Result<(), lambda_http::Error>
where
    F: Fn(Api, lambda_http::Request) -> Fut + Copy + Send + Sync + 'static,
    Fut: std::future::Future<Output = lambda_http::Response<lambda_http::Body>> + Send + 'static,
{
    run_wired(endpoint, handler, App::from_config_mailing).await
}

/// `main` of a function wired by `wire` (the passkeys function: `App::from_config` and then
/// `with_passkeys`): config, telemetry, the key at start-up if it signs, then `handler`.
pub async fn run_wired<F, Fut>(
    endpoint: Endpoint,
    handler: F,
    wire: fn(Config) -> App,
) -> Result<(), lambda_http::Error>
where
    F: Fn(Api, lambda_http::Request) -> Fut + Copy + Send + Sync + 'static,
    Fut: std::future::Future<Output = lambda_http::Response<lambda_http::Body>> + Send + 'static,
{
    crate::telemetry::init();
    crate::telemetry::init_metrics(&format!("{endpoint:?}").to_lowercase());
    let cfg = Config::from_env().inspect_err(|e| {
        tracing::error!(error = %Chain(&e), "invalid configuration");
    })?;
    let app = wire(cfg);
    // Only the endpoints that sign tokens need the key (the others' roles have no access).
    if endpoint.signs() {
        app.warm_up().await?;
    }
    let api = app.api();
    lambda_http::run(lambda_http::service_fn(move |req: lambda_http::Request| {
        let api = api.clone();
        async move {
            Ok::<_, lambda_http::Error>(handle_logged_with(api, endpoint, req, handler).await)
        }
    }))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_secrets_manager_client_is_built_by_the_first_key_load_only() {
        // Nothing listens on port 1: the load fails at once, after building the client.
        let sdk = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("eu-west-1"))
            .endpoint_url("http://127.0.0.1:1")
            .build();
        let cfg = Config::from_lookup(|_| None).unwrap();
        let app = App::with_sdk_config(cfg, &sdk, Passwords::default());
        // What the logout function does at init: no Secrets Manager client.
        assert!(!app.secrets.is_built());
        assert!(app.keys.current().await.is_err());
        assert!(app.secrets.is_built());
    }
}
