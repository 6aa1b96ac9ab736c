//! Helpers for the integration tests: each test gets its own tables and signing secret on the
//! DynamoDB Local and moto engines that `scripts/with-engines.sh` started (see the Makefile),
//! and drives the real handlers with real API Gateway events through the real SDK clients.

pub mod authenticator;
pub mod event_queue;
pub mod http_client;
pub mod oidc;
pub mod proxy;
pub mod pwned_stub;
pub mod runtime_api;
pub mod secrets_stub;

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use shared::adapters::memory::FakeClock;
use shared::ports::{Clock, SystemClock};

use serde_json::{json, Value};
use shared::app::App;
use shared::config::Config;
use shared::crypto::password::Passwords;
use shared::domain::{User, Username};
use shared::http::handlers::Endpoint;
use shared::ports::UserStore;

/// A secret's version at `stage`, read straight from the engine (the tests' view of what a
/// rotation or set-up wrote).
pub async fn secret_at(
    app: &App,
    secret_id: &str,
    stage: &str,
) -> aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueOutput {
    app.secrets
        .get_secret_value()
        .secret_id(secret_id)
        .version_stage(stage)
        .send()
        .await
        .expect("the secret is readable")
}

/// The sender every test world mails from (an identity moto knows: [`ses_mailer`]).
pub const MAIL_FROM: &str = "auth@example.com";
/// The app the mailed links lead to in the tests.
pub const APP_URL: &str = "http://localhost:5173";

/// An SES v2 mailer against moto, with [`MAIL_FROM`] a verified identity there.
pub async fn ses_mailer(sdk: &aws_config::SdkConfig) -> Arc<dyn shared::ports::Mailer> {
    let client = aws_sdk_sesv2::Client::from_conf(
        aws_sdk_sesv2::config::Builder::from(sdk)
            .endpoint_url(moto_url())
            .build(),
    );
    // Already there from another test: fine.
    let _ = client
        .create_email_identity()
        .email_identity(MAIL_FROM)
        .send()
        .await;
    Arc::new(shared::adapters::ses::SesMailer::built(client))
}

/// moto's base URL (Secrets Manager, SES, EventBridge and SQS all answer there).
pub fn moto_url() -> String {
    std::env::var("AWS_ENDPOINT_URL_SECRETS_MANAGER").expect("run under scripts/with-engines.sh")
}

/// One mail as moto's SES kept it.
#[derive(Clone, Debug)]
pub struct SentMail {
    pub subject: String,
    pub text: String,
}

impl SentMail {
    /// The token of the one link the mail holds (`…#token=TOKEN`).
    pub fn token(&self) -> String {
        let at = self.text.find("#token=").expect("a link with a token");
        self.text[at + 7..]
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_string()
    }
}

/// Every mail moto's SES sent to `to`, oldest first (moto's state API, over HTTP).
pub async fn mails_to(to: &str) -> Vec<SentMail> {
    let url = format!("{}/moto-api/data.json", moto_url());
    let data: Value = http_client::get_json(&url).await;
    data["ses"]["Message"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter(|m| {
            m["destinations"]["ToAddresses"]
                .as_array()
                .is_some_and(|a| a.iter().any(|t| t == to))
        })
        .map(|m| SentMail {
            subject: m["subject"].as_str().unwrap_or_default().to_string(),
            text: m["body"].as_str().unwrap_or_default().to_string(),
        })
        .collect()
}

/// A fresh address no other test uses.
pub fn fresh_email(name: &str) -> String {
    format!("{name}-{}@example.com", uuid::Uuid::new_v4().simple())
}

/// The repository root (for `events/`).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default()
}

/// A function binary built by `cargo build --bins` (make test builds them first).
pub fn built_binary(name: &str) -> PathBuf {
    let dir = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| repo_root().join("target"));
    let path = dir.join("debug").join(name);
    assert!(
        path.exists(),
        "{} is not built: run `cargo build --bins` first (make test does)",
        path.display()
    );
    path
}

pub fn load_event(name: &str) -> Value {
    let path = repo_root().join("events").join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

fn require_engines() {
    for var in [
        "AWS_ENDPOINT_URL_DYNAMODB",
        "AWS_ENDPOINT_URL_SECRETS_MANAGER",
    ] {
        if std::env::var(var).is_err() {
            panic!(
                "{var} is not set: integration tests need the local engines. Run `make test`, \
                 or `scripts/with-engines.sh cargo test -p integration-tests`."
            );
        }
    }
}

/// Counts DynamoDB HTTP requests (every attempt is one round trip).
#[derive(Clone, Debug, Default)]
pub struct RoundTrips(Arc<AtomicUsize>);

impl RoundTrips {
    pub fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }

    pub fn reset(&self) {
        self.0.store(0, Ordering::SeqCst);
    }
}

impl Intercept for RoundTrips {
    fn name(&self) -> &'static str {
        "RoundTrips"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

/// The environment a function binary needs to reach the local engines with `cfg`'s tables
/// and secret (what the smoke tests and the cold-start benchmark give each binary).
pub fn function_env(cfg: &Config) -> Vec<(String, String)> {
    let mut vars: Vec<(String, String)> = [
        "AWS_REGION",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_ENDPOINT_URL_DYNAMODB",
        "AWS_ENDPOINT_URL_SECRETS_MANAGER",
        "AWS_ENDPOINT_URL_SESV2",
    ]
    .iter()
    .filter_map(|k| std::env::var(k).ok().map(|v| (k.to_string(), v)))
    .collect();
    vars.push(("USERS_TABLE".into(), cfg.tables.users.clone()));
    vars.push(("SESSIONS_TABLE".into(), cfg.tables.sessions.clone()));
    vars.push(("SIGNING_SECRET_ID".into(), cfg.signing.secret_id.clone()));
    vars.push(("SIGNING_ALG".into(), cfg.signing.alg.to_string()));
    vars.push((
        "PUBLIC_KEYS_SECRET_ID".into(),
        cfg.signing.public_keys_secret_id.clone(),
    ));
    vars.push(("MFA_KEY_SECRET_ID".into(), cfg.mfa.key_secret_id.clone()));
    vars.push(("SIGNUP_ENABLED".into(), cfg.signup.enabled.to_string()));
    if !cfg.oauth.providers.is_empty() {
        let providers = serde_json::to_string(&cfg.oauth.providers).expect("JSON");
        vars.push(("OIDC_PROVIDERS".into(), providers));
        let allowlist = cfg.oauth.redirect_allowlist.join(",");
        vars.push(("OAUTH_REDIRECT_ALLOWLIST".into(), allowlist));
    }
    if let Some(url) = &cfg.oauth.api_url {
        vars.push(("API_URL".into(), url.clone()));
    }
    vars
}

/// Which SDK timeouts a test's clients run with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timeouts {
    /// The functions' own (`shared::aws`): the failure tests measure them.
    Production,
    /// Generous ones, so that a loaded 2-core machine (DynamoDB Local is a JVM) does not make
    /// a test that measures nothing about time flaky.
    Lenient,
}

/// One test's world: unique tables and secret, and the app wired over them, with a clock the
/// test can move and a count of DynamoDB round trips.
pub struct TestEnv {
    pub app: App,
    pub cfg: Config,
    pub clock: Arc<FakeClock>,
    pub dynamodb_calls: RoundTrips,
}

impl TestEnv {
    pub async fn new() -> TestEnv {
        Self::with(|_| {}).await
    }

    /// Like [`TestEnv::new`], with configuration changes applied first.
    pub async fn with(change: impl FnOnce(&mut Config)) -> TestEnv {
        Self::build(change, Timeouts::Lenient, None, None).await
    }

    /// A fresh world with one user (no roles) in it.
    pub async fn with_user(name: &str, password: &str) -> TestEnv {
        let env = Self::new().await;
        env.create_user(name, password, &[]).await;
        env
    }

    /// Like [`TestEnv::new`], with the functions' clients going through proxies the test can
    /// cut (set-up itself goes direct), and the production timeouts the test measures.
    pub async fn through_proxies() -> (TestEnv, proxy::Proxy, proxy::Proxy) {
        Self::through_proxies_with(|_| {}).await
    }

    /// [`TestEnv::through_proxies`] with configuration changes applied first.
    pub async fn through_proxies_with(
        change: impl FnOnce(&mut Config),
    ) -> (TestEnv, proxy::Proxy, proxy::Proxy) {
        require_engines();
        let ddb = proxy::Proxy::start(&std::env::var("AWS_ENDPOINT_URL_DYNAMODB").unwrap()).await;
        let sm =
            proxy::Proxy::start(&std::env::var("AWS_ENDPOINT_URL_SECRETS_MANAGER").unwrap()).await;
        let env = Self::build(
            change,
            Timeouts::Production,
            Some(ddb.url.clone()),
            Some(sm.url.clone()),
        )
        .await;
        (env, ddb, sm)
    }

    async fn build(
        change: impl FnOnce(&mut Config),
        timeouts: Timeouts,
        dynamodb_endpoint: Option<String>,
        secrets_endpoint: Option<String>,
    ) -> TestEnv {
        require_engines();
        let id = uuid::Uuid::new_v4().simple().to_string();
        let mut cfg = Config::from_lookup(|_| None).expect("default config is valid");
        cfg.tables.users = format!("users-{id}");
        cfg.tables.sessions = format!("sessions-{id}");
        cfg.signing.secret_id = format!("signing-{id}");
        cfg.signing.public_keys_secret_id = format!("public-keys-{id}");
        cfg.mfa.key_secret_id = format!("mfa-key-{id}");
        cfg.email.from = Some(MAIL_FROM.into());
        cfg.email.app_url = Some(APP_URL.into());
        cfg.passkeys.rp_id = Some("localhost".into());
        cfg.passkeys.origins = vec![APP_URL.into()];
        change(&mut cfg);
        let sdk = shared::aws::sdk_config(Default::default()).await;
        let sdk = match timeouts {
            Timeouts::Production => sdk,
            Timeouts::Lenient => sdk
                .to_builder()
                .timeout_config(
                    aws_sdk_dynamodb::config::timeout::TimeoutConfig::builder()
                        .connect_timeout(std::time::Duration::from_secs(5))
                        .operation_attempt_timeout(std::time::Duration::from_secs(15))
                        .operation_timeout(std::time::Duration::from_secs(30))
                        .build(),
                )
                .build(),
        };
        let dynamodb_calls = RoundTrips::default();
        let mut dynamodb =
            aws_sdk_dynamodb::config::Builder::from(&sdk).interceptor(dynamodb_calls.clone());
        if let Some(url) = dynamodb_endpoint {
            dynamodb = dynamodb.endpoint_url(url);
        }
        let dynamodb = aws_sdk_dynamodb::Client::from_conf(dynamodb.build());
        let mut secrets = aws_sdk_secretsmanager::config::Builder::from(&sdk);
        if let Some(url) = secrets_endpoint {
            secrets = secrets.endpoint_url(url);
        }
        let secrets = aws_sdk_secretsmanager::Client::from_conf(secrets.build());
        shared::aws::setup::ensure_tables(&aws_sdk_dynamodb::Client::new(&sdk), &cfg)
            .await
            .expect("tables can be created");
        shared::aws::setup::ensure_signing_secret(&aws_sdk_secretsmanager::Client::new(&sdk), &cfg)
            .await
            .expect("secret can be created");
        let secrets_client = shared::adapters::secrets_manager::SecretsClient::new(&sdk);
        shared::aws::setup::ensure_mfa_key_secret(&secrets_client, &cfg)
            .await
            .expect("the data key secret can be created");
        shared::aws::setup::ensure_client_secrets(&secrets_client, &cfg)
            .await
            .expect("the providers' client secrets can be created");
        let clock = Arc::new(FakeClock::new(SystemClock.now()));
        let app = App::from_parts(
            cfg.clone(),
            dynamodb,
            secrets,
            clock.clone(),
            Passwords::default(),
            Some(ses_mailer(&sdk).await),
        )
        .with_passkeys()
        .with_oauth();
        TestEnv {
            app,
            cfg,
            clock,
            dynamodb_calls,
        }
    }

    /// Another "Lambda instance": its own service and caches over the same tables, secret and
    /// clock.
    pub fn another_instance(&self) -> App {
        App::from_parts(
            self.cfg.clone(),
            self.app.dynamodb.clone(),
            self.app.secrets.client().clone(),
            self.clock.clone(),
            Passwords::default(),
            None,
        )
        .with_passkeys()
    }

    /// The signing secret's AWSCURRENT version id and key bytes, read straight from the engine.
    pub async fn current_key(&self) -> (String, Vec<u8>) {
        let current = secret_at(&self.app, &self.cfg.signing.secret_id, "AWSCURRENT").await;
        let key = shared::crypto::keyring::parse_signing_secret(
            self.cfg.signing.alg,
            current.secret_string().unwrap_or(""),
        )
        .expect("the secret has the contract's shape");
        use secrecy::ExposeSecret;
        (
            current.version_id.unwrap_or_default(),
            key.signing.expose_secret().to_vec(),
        )
    }

    /// A fresh verifier's key ring, as the authorizer builds it (public keys only in an
    /// asymmetric mode), over the test's clock.
    pub fn verify_ring(&self) -> Arc<shared::crypto::keyring::KeyRing> {
        shared::app::verify_key_ring(self.app.secrets.clone(), &self.cfg, self.clock.clone())
    }

    /// `GET /.well-known/jwks.json` as the discovery function answers it now (a fresh ring).
    pub async fn published_jwks(&self) -> Value {
        let ring = self.verify_ring();
        let keys = self.cfg.signing.alg.is_asymmetric().then_some(&*ring);
        let resp = shared::http::well_known::jwks(keys).await;
        assert_eq!(resp.status(), 200);
        match resp.body() {
            lambda_http::Body::Text(t) => serde_json::from_str(t).unwrap(),
            other => panic!("{other:?}"),
        }
    }

    /// Whether a fresh authorizer (its own ring, as a new container) allows `token`.
    pub async fn authorizer_allows(&self, token: &str) -> bool {
        let authorizer = shared::service::authorizer::Authorizer::new(
            &self.cfg,
            self.verify_ring(),
            self.clock.clone(),
        );
        authorizer
            .verify_header(Some(&format!("Bearer {token}")))
            .await
            .is_ok()
    }

    /// Every raw item of the sessions table (tests look at what is really stored).
    pub async fn session_items(
        &self,
    ) -> Vec<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
        self.app
            .dynamodb
            .scan()
            .table_name(&self.cfg.tables.sessions)
            .send()
            .await
            .expect("the sessions table can be scanned")
            .items
            .unwrap_or_default()
    }

    pub async fn create_user(&self, name: &str, password: &str, roles: &[&str]) -> User {
        let hash = Passwords::default()
            .hash(password.into())
            .await
            .expect("hash");
        let user = User::new(
            uuid::Uuid::new_v4().to_string(),
            Username::parse(name).expect("valid test username"),
            hash,
            roles.iter().map(|r| r.to_string()).collect(),
            0,
        );
        self.app
            .store
            .create_user(&user)
            .await
            .expect("create user");
        user
    }

    /// Invokes an endpoint with a raw API Gateway event, exactly as the Lambda runtime would
    /// (the functions' own entry point: span, panic guard, handler), and returns the
    /// serialized Lambda response.
    pub async fn invoke(&self, endpoint: Endpoint, event: Value) -> Value {
        let api = self.app.api();
        shared::http::runtime::invoke(
            move |req| {
                let api = api.clone();
                async move {
                    Ok::<_, lambda_http::Error>(
                        shared::http::runtime::handle_logged(api, endpoint, req).await,
                    )
                }
            },
            event,
        )
        .await
        .expect("the handler answers every event")
    }

    pub async fn refresh_with_body(&self, token: &str) -> Value {
        self.invoke(
            Endpoint::Refresh,
            refresh_event(Some(&json!({ "refresh_token": token }).to_string()), &[]),
        )
        .await
    }

    pub async fn refresh_with_cookie(&self, token: &str) -> Value {
        let cookie = format!("refresh_token={token}");
        self.invoke(Endpoint::Refresh, refresh_event(None, &[&cookie]))
            .await
    }

    /// `POST /auth/logout` with `{"refresh_token": token, "all_devices": true}`.
    pub async fn logout_everywhere(&self, token: &str) -> Value {
        let body = json!({"refresh_token": token, "all_devices": true}).to_string();
        self.invoke(Endpoint::Logout, logout_event(Some(&body), &[]))
            .await
    }

    /// Gives `user` the verified address `email` (as `authctl user set-email --verified`).
    pub async fn set_email(&self, user: &User, email: &str) {
        shared::ports::EmailStore::set_email(
            self.app.store.as_ref(),
            user,
            &shared::domain::Email::parse(email).expect("a valid test address"),
            true,
        )
        .await
        .expect("the address is set");
    }

    /// Logs in and returns the refresh token (panics unless 200).
    pub async fn login_token(&self, username: &str, password: &str) -> String {
        let resp = self.login(username, password).await;
        assert_eq!(status(&resp), 200, "login failed: {resp}");
        body(&resp)["refresh_token"]
            .as_str()
            .expect("refresh_token")
            .to_string()
    }

    pub async fn login(&self, username: &str, password: &str) -> Value {
        self.invoke(
            Endpoint::Login,
            login_event(&json!({"username": username, "password": password}).to_string()),
        )
        .await
    }
}

/// The sample sign-up event with another body.
pub fn register_event(body: &str) -> Value {
    with_body(load_event("register.json"), Some(body))
}

/// A sample account event (`sessions-list.json`, `password-change.json`, ...) as API Gateway
/// passes it on after the authorizer allowed an access token of `identity`
/// (`{"sub", "username", "session_id"}`, e.g. from [`identity_of`]).
pub fn account_event(sample: &str, identity: &Value) -> Value {
    let mut event = load_event(sample);
    let context = &mut event["requestContext"]["authorizer"]["lambda"];
    for field in ["sub", "username", "session_id"] {
        context[field] = identity[field].clone();
    }
    event
}

/// The identity a login or sign-up response's access token carries, as the authorizer
/// would pass it on (the claims, decoded without checking: the tests made the token).
pub fn identity_of(resp: &Value) -> Value {
    use base64::Engine;
    let token = body(resp)["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let payload = token.split('.').nth(1).unwrap_or_default();
    let claims: Value = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(Value::Null);
    json!({"sub": claims["sub"], "username": claims["username"], "session_id": claims["sid"]})
}

/// The `amr` claim of a login or refresh response's access token (decoded without checking:
/// the tests made the token).
pub fn amr_of(resp: &Value) -> Value {
    use base64::Engine;
    let token = body(resp)["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let payload = token.split('.').nth(1).unwrap_or_default();
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .map(|claims| claims["amr"].clone())
        .unwrap_or(Value::Null)
}

/// The sample login event with another body.
pub fn login_event(body: &str) -> Value {
    with_body(load_event("login-ok.json"), Some(body))
}

/// The sample refresh event with the given body (sent as `application/json`, as every client
/// does) and cookies.
pub fn refresh_event(body: Option<&str>, cookies: &[&str]) -> Value {
    let mut event = with_cookies(with_body(load_event("refresh-cookie.json"), body), cookies);
    if body.is_some() {
        event["headers"]["content-type"] = Value::String("application/json".into());
    }
    event
}

pub fn logout_event(body: Option<&str>, cookies: &[&str]) -> Value {
    with_cookies(with_body(load_event("logout-all.json"), body), cookies)
}

pub fn with_body(mut event: Value, body: Option<&str>) -> Value {
    match body {
        Some(b) => event["body"] = Value::String(b.to_string()),
        None => {
            if let Some(obj) = event.as_object_mut() {
                obj.remove("body");
            }
        }
    }
    event
}

pub fn with_cookies(mut event: Value, cookies: &[&str]) -> Value {
    if cookies.is_empty() {
        if let Some(obj) = event.as_object_mut() {
            obj.remove("cookies");
        }
    } else {
        event["cookies"] = json!(cookies);
    }
    event
}

/// The refresh token a 200 response carries.
pub fn refresh_token_of(resp: &Value) -> String {
    assert_eq!(status(resp), 200, "expected 200: {resp}");
    body(resp)["refresh_token"]
        .as_str()
        .expect("refresh_token")
        .to_string()
}

/// Whether the response clears the refresh cookie.
pub fn clears_cookie(resp: &Value) -> bool {
    cookies(resp)
        == vec![
            "refresh_token=; HttpOnly; Secure; SameSite=Strict; Path=/auth; Max-Age=0".to_string(),
        ]
}

/// Status code of a serialized API Gateway v2 response.
pub fn status(resp: &Value) -> u64 {
    resp["statusCode"].as_u64().expect("statusCode")
}

/// Parsed JSON body of a serialized response.
pub fn body(resp: &Value) -> Value {
    serde_json::from_str(resp["body"].as_str().expect("text body")).expect("JSON body")
}

/// The `cookies` array of an HTTP API v2 response.
pub fn cookies(resp: &Value) -> Vec<String> {
    resp["cookies"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|c| c.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

pub fn header<'a>(resp: &'a Value, name: &str) -> Option<&'a str> {
    resp["headers"][name].as_str()
}
