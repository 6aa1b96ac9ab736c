//! End to end over HTTP: the `make dev` server code on a free port, against the real engines,
//! driven by a plain HTTP/1.1 client exactly as the contract describes.

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine;
use hmac::Mac;
use integration_tests::http_client::{post_json, request, with_bearer, Reply};
use integration_tests::TestEnv;
use serde_json::json;

async fn start(env: &TestEnv) -> (u16, tokio::sync::oneshot::Sender<()>) {
    start_with_cache(env, devserver::AuthorizerCache::disabled()).await
}

async fn start_with_cache(
    env: &TestEnv,
    authorizer_cache: devserver::AuthorizerCache,
) -> (u16, tokio::sync::oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    let verify_keys =
        shared::app::verify_key_ring(env.app.secrets.clone(), &env.cfg, env.app.clock.clone());
    // As `make dev`: the discovery document's issuer is the server's own base URL.
    let mut config = env.cfg.clone();
    config.tokens.issuer = format!("http://127.0.0.1:{port}");
    let server = Arc::new(devserver::DevServer {
        api: env.app.api(),
        config: std::sync::Arc::new(config),
        authorizer: Arc::new(shared::app::authorizer(
            &env.cfg,
            verify_keys.clone(),
            env.app.clock.clone(),
            Some(env.app.store.clone()),
        )),
        authorizer_cache,
        public_keys: env.cfg.signing.alg.is_asymmetric().then_some(verify_keys),
        outbox: None,
    });
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(devserver::serve(listener, server, async {
        let _ = stopped.await;
    }));
    (port, stop)
}

/// `POST /auth/login` as the demo user, JSON, with `headers` added (e.g. an `origin`).
async fn demo_login(port: u16, headers: &[(&str, &str)]) -> Reply {
    let mut all = vec![("content-type", "application/json")];
    all.extend_from_slice(headers);
    request(
        port,
        "POST",
        "/auth/login",
        &all,
        r#"{"username":"demo","password":"demo-password-123"}"#,
    )
    .await
}

/// A CORS preflight for a `POST` to `path` from `origin`.
async fn preflight(port: u16, path: &str, origin: &str, headers: &[(&str, &str)]) -> Reply {
    let mut all = vec![
        ("origin", origin),
        ("access-control-request-method", "POST"),
    ];
    all.extend_from_slice(headers);
    request(port, "OPTIONS", path, &all, "").await
}

fn cookie_attrs(set_cookie: &str) -> HashMap<String, String> {
    set_cookie
        .split(';')
        .skip(1)
        .map(|a| {
            let (k, v) = a.trim().split_once('=').unwrap_or((a.trim(), ""));
            (k.to_ascii_lowercase(), v.to_string())
        })
        .collect()
}

#[tokio::test]
async fn login_hello_refresh_logout_over_http() {
    let env = TestEnv::new().await;
    env.create_user("demo", "demo-password-123", &["demo", "reader"])
        .await;
    let (port, _stop) = start(&env).await;

    // login
    let login = post_json(
        port,
        "/auth/login",
        &json!({"username": "demo", "password": "demo-password-123"}),
    )
    .await;
    assert_eq!(login.status, 200, "{}", login.body);
    assert_eq!(login.header("content-type"), Some("application/json"));
    let b = login.json();
    for field in [
        "access_token",
        "token_type",
        "expires_in",
        "refresh_token",
        "refresh_expires_in",
        "session_id",
        "device_token",
    ] {
        assert!(b.get(field).is_some(), "login body lacks {field}");
    }
    let set = login.all("set-cookie");
    assert_eq!(set.len(), 2, "the refresh and the device cookie: {set:?}");
    let device = cookie_attrs(set[1]);
    assert!(set[1].starts_with(&format!(
        "device_token={};",
        b["device_token"].as_str().unwrap()
    )));
    assert_eq!(device["path"], "/auth/login");
    assert_eq!(device["samesite"], "Strict");
    for flag in ["httponly", "secure"] {
        assert!(device.contains_key(flag), "device cookie: {flag}");
    }
    assert!(set[0].starts_with(&format!(
        "refresh_token={};",
        b["refresh_token"].as_str().unwrap()
    )));
    let attrs = cookie_attrs(set[0]);
    for flag in ["httponly", "secure"] {
        assert!(attrs.contains_key(flag), "{flag}");
    }
    assert_eq!(attrs["samesite"], "Strict");
    assert_eq!(attrs["path"], "/auth");
    assert_eq!(attrs["max-age"], b["refresh_expires_in"].to_string());
    let access = b["access_token"].as_str().unwrap().to_string();
    let refresh_cookie = format!("refresh_token={}", b["refresh_token"].as_str().unwrap());

    // hello, guarded by the authorizer
    let hello = with_bearer(port, "GET", "/hello", &access).await;
    assert_eq!(hello.status, 200, "{}", hello.body);
    let h = hello.json();
    assert_eq!(h["username"], "demo");
    assert_eq!(h["roles"], json!(["demo", "reader"]));
    assert_eq!(h["session_id"], b["session_id"]);
    assert!(h["sub"].as_str().is_some_and(|s| s.len() == 36));
    let lower = request(
        port,
        "GET",
        "/hello",
        &[("Authorization", &format!("bearer {access}"))],
        "",
    )
    .await;
    assert_eq!(lower.status, 200);

    // refresh with the cookie
    let refreshed = request(
        port,
        "POST",
        "/auth/refresh",
        &[("Cookie", &refresh_cookie)],
        "",
    )
    .await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.body);
    let r = refreshed.json();
    assert_ne!(r["refresh_token"], b["refresh_token"]);
    let new_cookie = format!("refresh_token={}", r["refresh_token"].as_str().unwrap());

    // logout clears the cookie
    let out = request(port, "POST", "/auth/logout", &[("Cookie", &new_cookie)], "").await;
    assert_eq!(out.status, 204);
    assert!(out.body.is_empty());
    let cleared = out.all("set-cookie");
    assert_eq!(cleared.len(), 1);
    assert!(cleared[0].starts_with("refresh_token=;"));
    assert_eq!(cookie_attrs(cleared[0])["max-age"], "0");
    assert_eq!(cookie_attrs(cleared[0])["path"], "/auth");

    // and the session is gone
    let refused = request(
        port,
        "POST",
        "/auth/refresh",
        &[("Cookie", &new_cookie)],
        "",
    )
    .await;
    assert_eq!(refused.status, 401);
    assert_eq!(refused.json()["error"], "invalid_grant");
    assert!(refused.all("set-cookie")[0].contains("Max-Age=0"));
}

#[tokio::test]
async fn hello_refuses_missing_garbage_and_expired_tokens_as_api_gateway_does() {
    let env = TestEnv::new().await;
    let user = env.create_user("demo", "demo-password-123", &[]).await;
    let (port, _stop) = start(&env).await;

    let missing = request(port, "GET", "/hello", &[], "").await;
    assert_eq!(missing.status, 401);
    assert_eq!(missing.json(), json!({"message": "Unauthorized"}));

    let garbage = request(
        port,
        "GET",
        "/hello",
        &[("Authorization", "Bearer not.a.jwt")],
        "",
    )
    .await;
    assert_eq!(garbage.status, 403);
    assert_eq!(garbage.json(), json!({"message": "Forbidden"}));

    let key = env.app.keys.current().await.unwrap();
    let now = shared::ports::Clock::now(env.app.clock.as_ref());
    let (expired, _) = shared::crypto::tokens::mint_access_token(
        &key,
        &shared::crypto::tokens::TokenSettings::from(&env.cfg),
        &user,
        "0123456789abcdef0123456789abcdef",
        &[],
        now - 2 * env.cfg.tokens.access_ttl,
    )
    .unwrap();
    let old = with_bearer(port, "GET", "/hello", &expired).await;
    assert_eq!(old.status, 403);

    let health = request(port, "GET", "/health", &[], "").await;
    assert_eq!(
        (health.status, health.json()),
        (200, json!({"status": "ok"}))
    );

    let unknown = request(port, "GET", "/nope", &[], "").await;
    assert_eq!(unknown.status, 404);
    let wrong_method = request(port, "GET", "/auth/login", &[], "").await;
    assert_eq!(wrong_method.status, 404);
}

#[tokio::test]
async fn every_login_status_of_the_contract_is_served_over_http() {
    let env = TestEnv::new().await;
    let user = env.create_user("demo", "demo-password-123", &[]).await;
    let (port, _stop) = start(&env).await;
    let post = |body: String| async move {
        request(
            port,
            "POST",
            "/auth/login",
            &[("Content-Type", "application/json")],
            &body,
        )
        .await
    };

    let bad = post("{".into()).await;
    assert_eq!(
        (bad.status, bad.json()["error"].clone()),
        (400, json!("invalid_request"))
    );
    let wrong = post(json!({"username": "demo", "password": "nope"}).to_string()).await;
    assert_eq!(
        (wrong.status, wrong.json()["error"].clone()),
        (401, json!("invalid_credentials"))
    );
    shared::ports::UserStore::set_disabled(env.app.store.as_ref(), &user.username, true)
        .await
        .unwrap();
    let disabled =
        post(json!({"username": "demo", "password": "demo-password-123"}).to_string()).await;
    assert_eq!(
        (disabled.status, disabled.json()["error"].clone()),
        (403, json!("account_disabled"))
    );
    for reply in [&bad, &wrong, &disabled] {
        let body = reply.json();
        assert_eq!(body.as_object().unwrap().len(), 2, "{body}");
        assert!(body["error_description"].is_string());
        assert_eq!(reply.header("content-type"), Some("application/json"));
    }
}

/// API Gateway's authorizer cache, as deployed: an allow is reused per Authorization value
/// for the TTL, even past the token's expiry; without the cache every request is verified.
#[tokio::test]
async fn authorizer_answers_are_cached_per_token_for_the_ttl_as_api_gateway_does() {
    let env = TestEnv::new().await;
    let user = env.create_user("demo", "demo-password-123", &[]).await;
    let (cached_port, _stop1) = start_with_cache(
        &env,
        devserver::AuthorizerCache::new(std::time::Duration::from_secs(300)),
    )
    .await;
    let (uncached_port, _stop2) = start(&env).await;

    let key = env.app.keys.current().await.unwrap();
    let now = shared::ports::Clock::now(env.app.clock.as_ref());
    let (token, _) = shared::crypto::tokens::mint_access_token(
        &key,
        &shared::crypto::tokens::TokenSettings::from(&env.cfg),
        &user,
        "0123456789abcdef0123456789abcdef",
        &[],
        now,
    )
    .unwrap();
    let bearer = format!("Bearer {token}");
    let hello = |port| {
        let bearer = bearer.clone();
        async move {
            request(
                port,
                "GET",
                "/hello",
                &[("Authorization", bearer.as_str())],
                "",
            )
            .await
            .status
        }
    };
    assert_eq!(hello(cached_port).await, 200);
    assert_eq!(hello(uncached_port).await, 200);

    // The token expires (beyond the leeway); the authorizer would now refuse it.
    env.clock
        .advance(env.cfg.tokens.access_ttl + shared::crypto::tokens::LEEWAY_SECS + 1);
    assert_eq!(hello(uncached_port).await, 403, "verified again: expired");
    assert_eq!(
        hello(cached_port).await,
        200,
        "the cached allow still stands"
    );

    // A token not seen before is verified (and refused) even with the cache on.
    let (other, _) = shared::crypto::tokens::mint_access_token(
        &key,
        &shared::crypto::tokens::TokenSettings::from(&env.cfg),
        &user,
        "fedcba9876543210fedcba9876543210",
        &[],
        now,
    )
    .unwrap();
    let other = with_bearer(cached_port, "GET", "/hello", &other).await;
    assert_eq!(other.status, 403);
}

#[tokio::test]
async fn account_routes_over_http_sit_behind_the_authorizer() {
    let env = TestEnv::with(|c| c.signup.enabled = true).await;
    let (port, _stop) = start(&env).await;
    let json_ct = [("Content-Type", "application/json")];
    let registered = post_json(
        port,
        "/auth/register",
        &json!({"username": "nora", "password": "violet kettle orbit 42"}),
    )
    .await;
    assert_eq!(registered.status, 201, "{}", registered.body);
    let b = registered.json();
    let access = b["access_token"].as_str().unwrap().to_string();
    let sid = b["session_id"].as_str().unwrap().to_string();
    let bearer = format!("Bearer {access}");
    let auth = [("Authorization", bearer.as_str())];

    // Every account route: no token → 401, a refused token → 403 (API Gateway's answers,
    // the function never runs); with the token, the function answers.
    let forged = format!("Bearer {}x", &access[..access.len() - 1]);
    let routes = [
        ("GET", "/auth/sessions".to_string(), String::new()),
        ("DELETE", "/auth/sessions".to_string(), String::new()),
        ("DELETE", format!("/auth/sessions/{sid}"), String::new()),
        (
            "POST",
            "/auth/password".to_string(),
            json!({"current_password": "x", "new_password": "y"}).to_string(),
        ),
    ];
    for (method, path, body) in &routes {
        let none = request(port, method, path, &json_ct, body).await;
        assert_eq!(none.status, 401, "{method} {path}: {}", none.body);
        let refused = request(
            port,
            method,
            path,
            &[
                ("Authorization", forged.as_str()),
                ("Content-Type", "application/json"),
            ],
            body,
        )
        .await;
        assert_eq!(refused.status, 403, "{method} {path}: {}", refused.body);
    }
    let listed = request(port, "GET", "/auth/sessions", &auth, "").await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert_eq!(listed.json()["sessions"][0]["session_id"], sid.as_str());
    assert_eq!(listed.json()["sessions"][0]["current"], true);
    let unknown = request(port, "DELETE", "/auth/sessions/0000", &auth, "").await;
    assert_eq!(unknown.status, 404);
    let others = request(port, "DELETE", "/auth/sessions", &auth, "").await;
    assert_eq!(others.status, 204);
    let changed = request(
        port,
        "POST",
        "/auth/password",
        &[("Authorization", bearer.as_str()), ("Content-Type", "application/json")],
        &json!({"current_password": "violet kettle orbit 42", "new_password": "amber lantern quietly 77"})
            .to_string(),
    )
    .await;
    assert_eq!(changed.status, 204, "{}", changed.body);
    let mine = request(port, "DELETE", &format!("/auth/sessions/{sid}"), &auth, "").await;
    assert_eq!(mine.status, 204);
}

#[tokio::test]
async fn discovery_documents_over_http_are_public_and_cacheable() {
    let env = TestEnv::new().await;
    let (port, _stop) = start(&env).await;
    let doc = request(port, "GET", "/.well-known/openid-configuration", &[], "").await;
    assert_eq!(doc.status, 200, "{}", doc.body);
    assert_eq!(doc.header("cache-control"), Some("public, max-age=300"));
    let jwks_uri = doc.json()["jwks_uri"].as_str().unwrap().to_string();
    assert_eq!(
        jwks_uri,
        format!("http://127.0.0.1:{port}/.well-known/jwks.json")
    );
    assert_eq!(
        doc.json()["issuer"].as_str(),
        Some(format!("http://127.0.0.1:{port}").as_str())
    );
    // Built from the issuer, never from the Host header (the document is cacheable by all).
    let spoofed = request(
        port,
        "GET",
        "/.well-known/openid-configuration",
        &[("Host", "evil.example")],
        "",
    )
    .await;
    assert_eq!(spoofed.json()["jwks_uri"].as_str(), Some(jwks_uri.as_str()));
    let jwks = request(port, "GET", "/.well-known/jwks.json", &[], "").await;
    assert_eq!(jwks.status, 200);
    assert_eq!(jwks.json(), json!({"keys": []}));
}

/// `SIGNING_ALG=ES256 make dev`: login signs with the private key, the authorizer in front of
/// /hello and the discovery routes hold only the published public keys, and the JWKS served
/// over HTTP names the key that signed.
#[tokio::test]
async fn an_asymmetric_dev_server_serves_its_public_keys_and_verifies_with_them() {
    let env = TestEnv::with(|cfg| cfg.signing.alg = shared::config::SigningAlg::Es256).await;
    env.create_user("demo", "demo-password-123", &["reader"])
        .await;
    let (port, _stop) = start(&env).await;
    let doc = request(port, "GET", "/.well-known/openid-configuration", &[], "").await;
    assert_eq!(
        doc.json()["id_token_signing_alg_values_supported"],
        json!(["ES256"])
    );
    let jwks = request(port, "GET", "/.well-known/jwks.json", &[], "").await;
    assert_eq!(jwks.status, 200);
    let kids: Vec<String> = jwks.json()["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(kids.len(), 2, "{}", jwks.body);

    let login = demo_login(port, &[]).await;
    assert_eq!(login.status, 200, "{}", login.body);
    let access = login.json()["access_token"].as_str().unwrap().to_string();
    let header = jsonwebtoken::decode_header(&access).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::ES256);
    assert_eq!(header.kid.as_deref(), Some(kids[0].as_str()));
    let bearer = format!("Bearer {access}");
    let hello = request(port, "GET", "/hello", &[("authorization", &bearer)], "").await;
    assert_eq!(hello.status, 200, "{}", hello.body);
    // An HS256 token under the published kid (keyed with the public JWK): refused.
    let payload = access.split('.').nth(1).unwrap();
    let forged_head = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(json!({"alg": "HS256", "typ": "at+jwt", "kid": kids[0]}).to_string());
    let input = format!("{forged_head}.{payload}");
    let mut mac =
        hmac::Hmac::<sha2::Sha256>::new_from_slice(jwks.json()["keys"][0].to_string().as_bytes())
            .unwrap();
    mac.update(input.as_bytes());
    let forged = format!(
        "Bearer {input}.{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    );
    let refused = request(port, "GET", "/hello", &[("authorization", &forged)], "").await;
    assert_eq!(refused.status, 403);
}

/// `AUTHORIZER_REVOCATION=session make dev`: after a logout over HTTP, the logged-out access
/// token is refused as soon as API Gateway's cached answer (here 1 s) runs out, and never
/// before the logout; the bound is the cache TTL.
#[tokio::test]
async fn with_session_checks_a_logout_reaches_the_access_token_within_the_cache_ttl() {
    let env =
        TestEnv::with(|c| c.authorizer.revocation = shared::config::AuthorizerRevocation::Session)
            .await;
    env.create_user("demo", "demo-password-123", &[]).await;
    let ttl = std::time::Duration::from_secs(1);
    let (port, _stop) = start_with_cache(&env, devserver::AuthorizerCache::new(ttl)).await;
    let login = demo_login(port, &[]).await;
    let bearer = format!("Bearer {}", login.json()["access_token"].as_str().unwrap());
    let refresh = login.json()["refresh_token"].as_str().unwrap().to_string();
    let hello = request(port, "GET", "/hello", &[("authorization", &bearer)], "").await;
    assert_eq!(hello.status, 200);

    let out = request(
        port,
        "POST",
        "/auth/logout",
        &[("content-type", "application/json")],
        &json!({ "refresh_token": refresh }).to_string(),
    )
    .await;
    assert_eq!(out.status, 204, "{}", out.body);
    let logged_out = std::time::Instant::now();
    let refused_after = loop {
        let hello = request(port, "GET", "/hello", &[("authorization", &bearer)], "").await;
        if hello.status == 403 {
            break logged_out.elapsed();
        }
        assert_eq!(hello.status, 200);
        assert!(logged_out.elapsed() < ttl * 3, "still allowed");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert!(
        refused_after <= ttl + std::time::Duration::from_millis(250),
        "{refused_after:?}"
    );
    eprintln!("revocation -> refusal through the dev server: {refused_after:?} (cache {ttl:?})");
}

/// `CORS_ALLOW_ORIGIN=http://localhost:5173 make dev` answers CORS as the template's API:
/// preflights on any path with the template's headers for the allowed origin and none for
/// another, actual responses (gateway errors included) carrying the origin and credentials.
#[tokio::test]
async fn the_dev_server_answers_cors_as_the_templates_api() {
    let app = "http://localhost:5173";
    let env = TestEnv::with(|c| c.cors.allow_origins = vec![app.into()]).await;
    env.create_user("demo", "demo-password-123", &[]).await;
    let (port, _stop) = start(&env).await;
    for path in ["/auth/login", "/hello", "/no/such/route"] {
        let pre = preflight(
            port,
            path,
            app,
            &[("access-control-request-headers", "content-type")],
        )
        .await;
        assert_eq!(pre.status, 204, "{path}");
        assert_eq!(pre.header("access-control-allow-origin"), Some(app));
        assert_eq!(pre.header("access-control-allow-credentials"), Some("true"));
        assert_eq!(
            pre.header("access-control-allow-methods"),
            Some("GET,POST,DELETE,OPTIONS")
        );
        assert_eq!(
            pre.header("access-control-allow-headers"),
            Some("authorization,content-type")
        );
        assert_eq!(pre.header("access-control-max-age"), Some("600"));
    }
    let other = preflight(port, "/auth/login", "http://localhost:6000", &[]).await;
    assert_eq!(other.status, 204);
    assert_eq!(other.header("access-control-allow-origin"), None);

    let login = demo_login(port, &[("origin", app)]).await;
    assert_eq!(login.status, 200, "{}", login.body);
    assert_eq!(login.header("access-control-allow-origin"), Some(app));
    assert_eq!(
        login.header("access-control-allow-credentials"),
        Some("true")
    );
    let denied = request(port, "GET", "/hello", &[("origin", app)], "").await;
    assert_eq!(denied.status, 401);
    assert_eq!(denied.header("access-control-allow-origin"), Some(app));
    let refused = demo_login(port, &[("origin", "http://localhost:6000")]).await;
    assert_eq!(refused.status, 403, "the functions' own cross-site check");
    assert_eq!(refused.header("access-control-allow-origin"), None);
}

#[tokio::test]
async fn without_cors_origins_the_dev_server_answers_no_preflight() {
    let env = TestEnv::new().await;
    let (port, _stop) = start(&env).await;
    let pre = preflight(port, "/auth/login", "http://localhost:5173", &[]).await;
    assert_eq!(pre.status, 404);
    assert_eq!(pre.header("access-control-allow-origin"), None);
}

#[tokio::test]
async fn the_dev_server_serves_the_browser_client_and_its_demo_page() {
    let env = TestEnv::new().await;
    let (port, _stop) = start(&env).await;
    let page = request(port, "GET", "/", &[], "").await;
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    // No inline script for an injection to hide in; never framed; its own origin only.
    assert!(page
        .body
        .contains(r#"<script type="module" src="/client/demo.js"></script>"#));
    assert!(!page.body.contains("?api="));
    let csp = page.header("content-security-policy").unwrap_or_default();
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(directive), "{csp}");
    }
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    let demo = request(port, "GET", "/client/demo.js", &[], "").await;
    assert_eq!(demo.status, 200);
    assert!(demo.body.contains(r#"from "/client/auth-client.js""#));
    assert!(demo.body.contains(r#"createAuthClient({ baseUrl: "" })"#));
    let css = request(port, "GET", "/client/demo.css", &[], "").await;
    assert_eq!(css.header("content-type"), Some("text/css; charset=utf-8"));
    let js = request(port, "GET", "/client/auth-client.js", &[], "").await;
    assert_eq!(js.status, 200);
    assert_eq!(
        js.header("content-type"),
        Some("text/javascript; charset=utf-8")
    );
    assert!(js.body.contains("export function createAuthClient"));
    assert_eq!(request(port, "POST", "/", &[], "").await.status, 404);
}
