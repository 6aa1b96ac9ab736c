//! Discovery: `GET /.well-known/openid-configuration` and `GET /.well-known/jwks.json`, so a
//! JWT library (or API Gateway's JWT authorizer) can find the issuer's public keys. Public,
//! cacheable, and holding public parameters only. With `HS256` nothing is public: the key set
//! is empty, and only a holder of the shared secret can verify a token. In an asymmetric mode
//! the key set is what the rotation published: the key that signs, the next one, and the
//! previous one.

use lambda_http::http::{header, HeaderValue, StatusCode};
use lambda_http::{Body, Request, Response};
use serde::Serialize;

use crate::config::Config;
use crate::crypto::keyring::KeyRing;
use crate::error::AuthError;
use crate::http::response::{error_response, json_response};

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
            Err(e) => return error_response(&AuthError::unavailable(e)),
        },
    };
    cacheable(json_response(StatusCode::OK, &Jwks { keys: published }))
}

/// `GET /.well-known/openid-configuration`: the issuer and where its keys are. Every URL is
/// built from the configured issuer (`TOKEN_ISSUER`), never from the request: a `Host` header
/// is the caller's to choose, and this answer is cacheable by anyone (OpenID Connect
/// Discovery §4.3: `issuer + "/.well-known/openid-configuration"` is this document). An issuer
/// that is not such a URL (the default `lambda-jwt-auth`) has no discovery document: 404.
pub fn openid_configuration(cfg: &Config) -> Response<Body> {
    #[derive(Serialize)]
    struct Discovery<'a> {
        issuer: &'a str,
        jwks_uri: String,
        id_token_signing_alg_values_supported: [&'a str; 1],
        response_types_supported: [&'a str; 1],
        subject_types_supported: [&'a str; 1],
        claims_supported: [&'a str; 10],
    }
    let Some(base) = issuer_url(&cfg.tokens.issuer) else {
        return json_response(
            StatusCode::NOT_FOUND,
            &serde_json::json!({
                "error": "not_found",
                "error_description": "No discovery document: TOKEN_ISSUER is not the https URL that serves it.",
            }),
        );
    };
    cacheable(json_response(
        StatusCode::OK,
        &Discovery {
            issuer: &cfg.tokens.issuer,
            jwks_uri: format!("{base}{JWKS_PATH}"),
            id_token_signing_alg_values_supported: [cfg.signing.alg.as_str()],
            response_types_supported: ["token"],
            subject_types_supported: ["public"],
            claims_supported: [
                "iss", "aud", "sub", "username", "roles", "sid", "iat", "nbf", "exp", "jti",
            ],
        },
    ))
}

/// The issuer as a base URL (no trailing `/`), if it is one a discovery client accepts:
/// `https://` (`http://` only on loopback, `make dev`), no query or fragment.
pub fn issuer_url(issuer: &str) -> Option<&str> {
    crate::config::trusted_base_url(issuer)
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
        _ => openid_configuration(cfg),
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
    async fn discovery_builds_every_url_from_the_issuer_whatever_the_host() {
        let cfg = Config::from_lookup(|k| {
            (k == "TOKEN_ISSUER").then(|| "https://auth.example.com".into())
        })
        .unwrap();
        for host in [Some("auth.example.com"), Some("evil.example"), None] {
            let resp = route(&get(DISCOVERY_PATH, host), &cfg, None).await;
            assert_eq!(resp.status(), 200);
            assert_eq!(resp.headers()["cache-control"], "public, max-age=300");
            assert!(resp.headers().get("pragma").is_none());
            let doc = json(&resp);
            assert_eq!(doc["issuer"], "https://auth.example.com");
            assert_eq!(
                doc["jwks_uri"], "https://auth.example.com/.well-known/jwks.json",
                "Host {host:?}"
            );
            assert_eq!(doc["id_token_signing_alg_values_supported"][0], "HS256");
        }
    }

    #[tokio::test]
    async fn an_issuer_that_is_not_a_url_has_no_discovery_document() {
        let cfg = Config::from_lookup(|_| None).unwrap();
        let resp = route(&get(DISCOVERY_PATH, Some("auth.example.com")), &cfg, None).await;
        assert_eq!(resp.status(), 404);
        assert_eq!(json(&resp)["error"], "not_found");
        assert!(resp
            .headers()
            .get("cache-control")
            .is_none_or(|v| v != "public, max-age=300"));
    }

    #[test]
    fn issuer_urls_are_https_or_loopback_http() {
        assert_eq!(issuer_url("https://a.example/"), Some("https://a.example"));
        assert_eq!(
            issuer_url("https://a.example/tenant"),
            Some("https://a.example/tenant")
        );
        assert_eq!(
            issuer_url("http://127.0.0.1:3000"),
            Some("http://127.0.0.1:3000")
        );
        assert_eq!(issuer_url("http://localhost"), Some("http://localhost"));
        for bad in [
            "lambda-jwt-auth",
            "http://a.example",
            "http://localhost.evil.example",
            "https://",
            "https://a.example/?x",
            "https://a.example#f",
        ] {
            assert_eq!(issuer_url(bad), None, "{bad}");
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
