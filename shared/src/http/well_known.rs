//! Discovery: `GET /.well-known/openid-configuration` and `GET /.well-known/jwks.json`, so a
//! JWT library (or API Gateway's JWT authorizer) can find the issuer's public keys. Public,
//! cacheable, and holding public parameters only. With `HS256` nothing is public: the key set
//! is empty, and only a holder of the shared secret can verify a token. In an asymmetric mode
//! the key set is what the rotation published: the key that signs, the next one, and the
//! previous one.

use lambda_http::http::{header, HeaderValue, StatusCode};
use lambda_http::{Body, Request, Response};
use serde::Serialize;

use super::response::{error_response, json_response};
use crate::config::Config;
use crate::crypto::keyring::KeyRing;
use crate::error::{AuthError, Chain, UNAVAILABLE_RETRY_AFTER};

/// How long clients and caches may keep the documents, seconds. Short, so a key published
/// ahead of a rotation is seen well before it signs.
pub const MAX_AGE_SECS: u64 = 300;

pub const JWKS_PATH: &str = "/.well-known/jwks.json";
pub const DISCOVERY_PATH: &str = "/.well-known/openid-configuration";

/// `GET /.well-known/jwks.json`: `{"keys": [...]}`, the public keys that verify tokens (none
/// in HS256, and then `keys` is `None`: nothing is read).
pub async fn jwks(keys: Option<&KeyRing>) -> Response<Body> {
    #[derive(Serialize)]
    struct Jwks {
        keys: Vec<serde_json::Value>,
    }
    let published = match keys {
        None => Vec::new(),
        Some(ring) => match ring.published().await {
            Ok(published) => published.iter().filter_map(|k| k.jwk()).collect(),
            Err(e) => {
                tracing::error!(error = %Chain(&e), "public keys unavailable");
                return error_response(&AuthError::Unavailable {
                    retry_after: UNAVAILABLE_RETRY_AFTER,
                });
            }
        },
    };
    cacheable(json_response(StatusCode::OK, &Jwks { keys: published }))
}

/// `GET /.well-known/openid-configuration`: the issuer and where its keys are. The key set's
/// URL is built from the host the request was sent to (API Gateway sets `Host` to the domain
/// the client used, custom domains included): `https://`, or `http://` on loopback (`make dev`).
pub fn openid_configuration(req: &Request, cfg: &Config) -> Response<Body> {
    #[derive(Serialize)]
    struct Discovery<'a> {
        issuer: &'a str,
        jwks_uri: String,
        id_token_signing_alg_values_supported: [&'a str; 1],
        response_types_supported: [&'a str; 1],
        subject_types_supported: [&'a str; 1],
        claims_supported: [&'a str; 10],
    }
    let Some(host) = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| valid_host(h))
    else {
        return error_response(&AuthError::InvalidRequest(
            "The Host header is missing or malformed.",
        ));
    };
    let loopback = ["localhost", "127.0.0.1", "[::1]"]
        .iter()
        .any(|l| host == *l || host.strip_prefix(l).is_some_and(|p| p.starts_with(':')));
    let scheme = if loopback { "http" } else { "https" };
    cacheable(json_response(
        StatusCode::OK,
        &Discovery {
            issuer: &cfg.issuer,
            jwks_uri: format!("{scheme}://{host}{JWKS_PATH}"),
            id_token_signing_alg_values_supported: [cfg.signing_alg.as_str()],
            response_types_supported: ["token"],
            subject_types_supported: ["public"],
            claims_supported: [
                "iss", "aud", "sub", "username", "roles", "sid", "iat", "nbf", "exp", "jti",
            ],
        },
    ))
}

/// A host name and optional port as a URL may carry them: nothing that could end the
/// authority or start a path.
fn valid_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 253
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
}

/// Public documents: cacheable by anyone for [`MAX_AGE_SECS`].
fn cacheable(mut resp: Response<Body>) -> Response<Body> {
    let headers = resp.headers_mut();
    headers.remove(header::PRAGMA);
    if let Ok(v) = HeaderValue::from_str(&format!("public, max-age={MAX_AGE_SECS}")) {
        headers.insert(header::CACHE_CONTROL, v);
    }
    resp
}

/// The discovery routes' handler (one function serves both). `keys`: the verify-only key
/// ring in an asymmetric mode, `None` in HS256.
pub async fn route(req: &Request, cfg: &Config, keys: Option<&KeyRing>) -> Response<Body> {
    match req.uri().path() {
        JWKS_PATH => jwks(keys).await,
        _ => openid_configuration(req, cfg),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(path: &str, host: Option<&str>) -> Request {
        let mut req = Request::new(Body::Empty);
        *req.uri_mut() = path.parse().unwrap();
        if let Some(h) = host {
            req.headers_mut()
                .insert(header::HOST, HeaderValue::from_str(h).unwrap());
        }
        req
    }

    fn json(resp: &Response<Body>) -> serde_json::Value {
        match resp.body() {
            Body::Text(t) => serde_json::from_str(t).unwrap(),
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn discovery_names_the_issuer_and_the_key_set_on_the_host_called() {
        let cfg = Config::from_lookup(|k| {
            (k == "TOKEN_ISSUER").then(|| "https://auth.example.com".into())
        })
        .unwrap();
        let resp = route(&get(DISCOVERY_PATH, Some("auth.example.com")), &cfg, None).await;
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["cache-control"], "public, max-age=300");
        assert!(resp.headers().get("pragma").is_none());
        let doc = json(&resp);
        assert_eq!(doc["issuer"], "https://auth.example.com");
        assert_eq!(
            doc["jwks_uri"],
            "https://auth.example.com/.well-known/jwks.json"
        );
        assert_eq!(doc["id_token_signing_alg_values_supported"][0], "HS256");
        let local = json(&route(&get(DISCOVERY_PATH, Some("127.0.0.1:3000")), &cfg, None).await);
        assert_eq!(
            local["jwks_uri"],
            "http://127.0.0.1:3000/.well-known/jwks.json"
        );
        for bad in [None, Some("evil.example/path"), Some("a@b")] {
            let resp = route(&get(DISCOVERY_PATH, bad), &cfg, None).await;
            assert_eq!(resp.status(), 400, "{bad:?}");
        }
    }

    #[tokio::test]
    async fn the_hs256_key_set_is_empty_and_cacheable() {
        let cfg = Config::from_lookup(|_| None).unwrap();
        let resp = route(&get(JWKS_PATH, Some("x")), &cfg, None).await;
        assert_eq!(resp.status(), 200);
        assert_eq!(json(&resp), serde_json::json!({"keys": []}));
        assert_eq!(resp.headers()["cache-control"], "public, max-age=300");
    }
}
