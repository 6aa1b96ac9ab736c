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
    let (port, path) = port_and_path(authorize_url);
    let reply = http_client::request(
        port,
        "POST",
        &path,
        &[("Content-Type", "application/x-www-form-urlencoded")],
        &format!("sub={sub}&action=allow"),
    )
    .await;
    assert_eq!(reply.status, 302, "the provider's form: {}", reply.body);
    reply.header("location").expect("a redirect").to_string()
}

/// The same page's "deny".
pub async fn deny(authorize_url: &str) -> String {
    let (port, path) = port_and_path(authorize_url);
    let reply = http_client::request(
        port,
        "POST",
        &path,
        &[("Content-Type", "application/x-www-form-urlencoded")],
        "action=deny",
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
        let signer = Arc::new(signer());
        let (me, state) = (issuer.clone(), mode.clone());
        crate::runtime_api::serve_loopback(listener, move |req: Request<Incoming>| {
            let (me, mode, signer) = (me.clone(), state.clone(), signer.clone());
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
                        token(req, &me, mode, &signer).await
                    }
                    _ => reply(404, json!({})),
                }
            }
        });
        TamperingProvider { issuer, mode }
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
    reply(200, tokens)
}
