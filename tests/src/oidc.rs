//! The local OpenID provider (`oidc-provider-mock`, started by `scripts/with-engines.sh`) as a
//! test drives it, and a proxy in front of it that breaks one thing of its ID tokens at a time.
//!
//! The proxy is an issuer of its own: its discovery document is the provider's with its own
//! issuer, token endpoint and key set (the authorization endpoint stays the provider's, so the
//! browser side of a flow is the real one); its token endpoint forwards the code exchange to
//! the provider, takes the ID token the provider minted (nonce, audience, subject from the real
//! flow) and signs it again with its own key, after the change its [`Tamper`] asks for.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use serde_json::{json, Value};

use crate::http_client;
use crate::{cookies, header, load_event, refresh_event, status, with_cookies, TestEnv, APP_URL};
use shared::config::OidcProvider;
use shared::http::handlers::Endpoint;

/// The local provider's issuer (`OIDC_DEV_ISSUER`, `http://127.0.0.1:PORT`).
pub fn mock_issuer() -> String {
    std::env::var("OIDC_DEV_ISSUER")
        .expect("OIDC_DEV_ISSUER: run through scripts/with-engines.sh (it starts the provider)")
}

fn port_and_path(url: &str) -> (u16, String) {
    let rest = url
        .strip_prefix("http://127.0.0.1:")
        .or_else(|| url.strip_prefix("http://localhost:"))
        .unwrap_or_else(|| panic!("a loopback URL: {url}"));
    let (port, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    (port.parse().expect("a port"), path.to_string())
}

/// Signs in at the local provider's authorization page as `sub` (its form, as a person would
/// submit it): the redirect back to us (`redirect_uri?code=..&state=..`).
pub async fn authorize_as(authorize_url: &str, sub: &str) -> String {
    submit(authorize_url, &format!("sub={sub}&action=allow")).await
}

/// The same page's "deny".
pub async fn deny(authorize_url: &str) -> String {
    submit(authorize_url, "action=deny").await
}

/// Posts the authorization page's form: where the provider redirects.
async fn submit(authorize_url: &str, form: &str) -> String {
    let (port, path) = port_and_path(authorize_url);
    let reply = http_client::request(
        port,
        "POST",
        &path,
        &[("Content-Type", "application/x-www-form-urlencoded")],
        form,
    )
    .await;
    assert_eq!(reply.status, 302, "the provider's form: {}", reply.body);
    reply.header("location").expect("a redirect").to_string()
}

/// Sets the claims the provider puts in `sub`'s ID tokens (`PUT /users/{sub}`).
pub async fn set_claims(sub: &str, claims: &Value) {
    let (port, _) = port_and_path(&mock_issuer());
    let reply = http_client::request(
        port,
        "PUT",
        &format!("/users/{sub}"),
        &[("Content-Type", "application/json")],
        &claims.to_string(),
    )
    .await;
    assert!(reply.status < 300, "PUT /users/{sub}: {}", reply.body);
}

/// What the proxy does to the next ID tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tamper {
    /// Re-signed as they are (with the proxy's issuer).
    Honest,
    Nonce,
    Audience,
    Issuer,
    Expired,
    /// `alg: none`, no signature.
    AlgNone,
    /// A claim changed after signing.
    BadSignature,
    /// The token endpoint does not answer.
    Hang,
}

pub struct TamperingProvider {
    pub issuer: String,
    mode: Arc<Mutex<Tamper>>,
    issued: Arc<Mutex<Vec<String>>>,
}

struct Signer {
    encoding: jsonwebtoken::EncodingKey,
    jwk: Value,
}

fn signer() -> Signer {
    use shared::crypto::keys::{check_private_key, generate};
    use shared::domain::SigningAlg;
    shared::crypto::jwt_crypto::install();
    let der = generate(SigningAlg::Rs256).expect("an RSA key");
    let (encoding, verify) = check_private_key(
        SigningAlg::Rs256,
        secrecy::ExposeSecret::expose_secret(&der),
    )
    .expect("a usable key");
    let mut jwk = verify.jwk().expect("a JWK");
    jwk["kid"] = json!("tamper-1");
    Signer { encoding, jwk }
}

fn reply(status: u16, body: Value) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap_or_default()
}

impl TamperingProvider {
    pub async fn start() -> TamperingProvider {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .expect("bind loopback");
        let issuer = format!("http://{}", listener.local_addr().expect("local addr"));
        let mode = Arc::new(Mutex::new(Tamper::Honest));
        let issued = Arc::new(Mutex::new(Vec::new()));
        let signer = Arc::new(signer());
        let (me, state, log) = (issuer.clone(), mode.clone(), issued.clone());
        crate::runtime_api::serve_loopback(listener, move |req: Request<Incoming>| {
            let (me, mode, signer, log) = (me.clone(), state.clone(), signer.clone(), log.clone());
            async move {
                let mode = *mode.lock().expect("lock");
                match req.uri().path() {
                    "/.well-known/openid-configuration" => {
                        let mut doc = http_client::get_json(&format!(
                            "{}/.well-known/openid-configuration",
                            mock_issuer()
                        ))
                        .await;
                        doc["issuer"] = json!(me);
                        doc["token_endpoint"] = json!(format!("{me}/token"));
                        doc["jwks_uri"] = json!(format!("{me}/jwks"));
                        reply(200, doc)
                    }
                    "/jwks" => reply(200, json!({ "keys": [signer.jwk] })),
                    "/token" => {
                        if mode == Tamper::Hang {
                            tokio::time::sleep(Duration::from_secs(60)).await;
                        }
                        token(req, &me, mode, &signer, &log).await
                    }
                    _ => reply(404, json!({})),
                }
            }
        });
        TamperingProvider {
            issuer,
            mode,
            issued,
        }
    }

    /// Every ID token (and access token) its token endpoint handed out so far.
    pub fn issued(&self) -> Vec<String> {
        self.issued.lock().expect("lock").clone()
    }

    pub fn set(&self, tamper: Tamper) {
        *self.mode.lock().expect("lock") = tamper;
    }
}

/// Forwards the code exchange to the provider and re-signs its ID token.
async fn token(
    req: Request<Incoming>,
    me: &str,
    mode: Tamper,
    signer: &Signer,
    issued: &Mutex<Vec<String>>,
) -> Response<Full<Bytes>> {
    let auth = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let (port, _) = port_and_path(&mock_issuer());
    let mut headers = vec![("Content-Type", "application/x-www-form-urlencoded")];
    if let Some(auth) = auth.as_deref() {
        headers.push(("Authorization", auth));
    }
    let answer = http_client::request(
        port,
        "POST",
        "/oauth2/token",
        &headers,
        &String::from_utf8_lossy(&body),
    )
    .await;
    if answer.status != 200 {
        return reply(answer.status, answer.json());
    }
    let mut tokens = answer.json();
    let original = tokens["id_token"]
        .as_str()
        .expect("an id_token")
        .to_string();
    let payload = original.split('.').nth(1).expect("a JWT");
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url"))
            .expect("JSON claims");
    claims["iss"] = json!(me);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    match mode {
        Tamper::Nonce => claims["nonce"] = json!("not-the-flows-nonce"),
        Tamper::Audience => claims["aud"] = json!("another-client"),
        Tamper::Issuer => claims["iss"] = json!("http://127.0.0.1:1"),
        Tamper::Expired => {
            claims["iat"] = json!(now - 3600);
            claims["exp"] = json!(now - 600);
        }
        _ => {}
    }
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = Some("tamper-1".into());
    let signed = jsonwebtoken::encode(&header, &claims, &signer.encoding).expect("sign");
    tokens["id_token"] = json!(match mode {
        Tamper::AlgNone => {
            let head = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
            let body = URL_SAFE_NO_PAD.encode(claims.to_string());
            format!("{head}.{body}.")
        }
        Tamper::BadSignature => {
            let mut parts: Vec<String> = signed.split('.').map(str::to_string).collect();
            claims["sub"] = json!("someone-else");
            parts[1] = URL_SAFE_NO_PAD.encode(claims.to_string());
            parts.join(".")
        }
        _ => signed,
    });
    for name in ["id_token", "access_token", "refresh_token"] {
        if let Some(t) = tokens[name].as_str() {
            issued.lock().expect("lock").push(t.to_string());
        }
    }
    reply(200, tokens)
}

// What a test of the oauth function drives: its configuration and its requests.

pub const API: &str = "https://api.example.com";

pub fn provider(id: &str, issuer: &str, secret: Option<String>) -> OidcProvider {
    OidcProvider {
        id: id.into(),
        issuer: issuer.into(),
        client_id: "it-client".into(),
        client_secret_id: secret,
        scopes: vec!["openid".into(), "email".into()],
    }
}

/// A test environment whose providers are the local one (`dev`, a confidential client whose
/// secret is in moto), the tampering proxy in front of it (`evil`), and `down` (nothing
/// listens there).
pub async fn oauth_env(evil: Option<&TamperingProvider>, signup: bool) -> TestEnv {
    let evil = evil.map(|e| e.issuer.clone());
    TestEnv::with(move |cfg| configure(cfg, evil, signup)).await
}

/// [`oauth_env`]'s configuration: `dev` (the local provider, a confidential client whose
/// secret is in moto), `down` (nothing listens there) and, with `evil`, the proxy's issuer.
pub fn configure(cfg: &mut shared::config::Config, evil: Option<String>, signup: bool) {
    // Confidential clients (the local provider insists on a secret; it takes any).
    let secret = || Some(format!("oidc-client-{}", uuid::Uuid::new_v4().simple()));
    cfg.oauth.providers = vec![
        provider("dev", &mock_issuer(), secret()),
        provider("down", "http://127.0.0.1:9", None),
    ];
    if let Some(issuer) = evil {
        cfg.oauth
            .providers
            .push(provider("evil", &issuer, secret()));
    }
    cfg.oauth.redirect_allowlist = vec![APP_URL.into()];
    cfg.oauth.api_url = Some(API.into());
    cfg.signup.enabled = signup;
}

/// A GET of the oauth function (`path?query`, cookies), as API Gateway would send it.
pub fn get_event(path: &str, query: &str, cookies: &[&str]) -> Value {
    let mut event = load_event("oauth-start.json");
    let provider = path.split('/').nth(3).unwrap_or_default().to_string();
    event["rawPath"] = json!(path);
    event["requestContext"]["http"]["path"] = json!(path);
    event["pathParameters"] = json!({ "provider": provider });
    event["rawQueryString"] = json!(query);
    let params: serde_json::Map<String, Value> = query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| {
            let v = percent_decode(v);
            (k.to_string(), json!(v))
        })
        .collect();
    event["queryStringParameters"] = Value::Object(params);
    with_cookies(event, cookies)
}

pub fn percent_decode(v: &str) -> String {
    percent_encoding::percent_decode_str(&v.replace('+', " "))
        .decode_utf8()
        .expect("UTF-8")
        .into_owned()
}

pub fn location(resp: &Value) -> String {
    assert_eq!(status(resp), 302, "{resp}");
    header(resp, "location").expect("Location").to_string()
}

/// The flow cookie's `name=value` a response set.
pub fn flow_cookie(resp: &Value) -> String {
    cookies(resp)
        .into_iter()
        .find(|c| c.starts_with("oauth_flow="))
        .map(|c| c.split(';').next().unwrap_or_default().to_string())
        .expect("a flow cookie")
}

/// `GET /auth/oauth/{provider}/start`: (the provider's URL, the flow cookie).
pub async fn start(env: &TestEnv, provider: &str) -> (String, String) {
    let resp = env.invoke(Endpoint::Oauth, start_event(provider)).await;
    (location(&resp), flow_cookie(&resp))
}

/// The event of the callback our redirect URI receives
/// (`https://api.example.com/...?code=..&state=..`), with the flow cookie if given.
pub fn callback_event(back: &str, cookie: Option<&str>) -> Value {
    let (path, query) = back
        .strip_prefix(API)
        .expect("the provider sends the browser back to API_URL")
        .split_once('?')
        .expect("a query");
    let cookies: Vec<&str> = cookie.into_iter().collect();
    get_event(path, query, &cookies)
}

/// That callback, through the oauth function's handler.
pub async fn callback(env: &TestEnv, back: &str, cookie: Option<&str>) -> Value {
    env.invoke(Endpoint::Oauth, callback_event(back, cookie))
        .await
}

/// The event of `GET /auth/oauth/{provider}/start?redirect_to=APP_URL/signed-in`.
pub fn start_event(provider: &str) -> Value {
    get_event(
        &format!("/auth/oauth/{provider}/start"),
        &format!("redirect_to={APP_URL}/signed-in"),
        &[],
    )
}

/// A whole sign-in as `sub` through `provider`: the callback's response.
pub async fn sign_in(env: &TestEnv, provider: &str, sub: &str) -> Value {
    let (authorize, cookie) = start(env, provider).await;
    let back = authorize_as(&authorize, sub).await;
    callback(env, &back, Some(&cookie)).await
}

pub fn refresh_cookie_of(resp: &Value) -> Option<String> {
    cookies(resp)
        .into_iter()
        .find(|c| c.starts_with("refresh_token=") && !c.contains("Max-Age=0"))
        .map(|c| c.split(';').next().unwrap_or_default().to_string())
}

/// The session a successful callback began, picked up as the app does (`/auth/refresh` with
/// the cookie): the refresh answer.
pub async fn picked_up(env: &TestEnv, resp: &Value) -> Value {
    let cookie = refresh_cookie_of(resp).expect("a refresh cookie");
    let refreshed = env
        .invoke(Endpoint::Refresh, refresh_event(None, &[&cookie]))
        .await;
    assert_eq!(status(&refreshed), 200, "{refreshed}");
    refreshed
}
