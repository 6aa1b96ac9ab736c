//! Issued access tokens checked by an independent JOSE implementation (PyJWT in `.venv`,
//! installed by the engines' script): what our verifier accepts, a standard library accepts
//! too, with the algorithm pinned and every contract claim required. With HS256 the key set is
//! empty, so PyJWT gets the shared secret; in RS256, ES256 and EdDSA it gets only the JWKS the
//! discovery function publishes, and picks the key by `kid` as any JWKS client does.

use std::io::Write;
use std::process::{Command, Stdio};

use base64::Engine;
use integration_tests::*;
use serde_json::Value;
use shared::config::SigningAlg;

/// Runs `scripts/jose-verify.py` with the HS256 secret.
fn pyjwt_verify(token: &str, key: &[u8], env: &TestEnv) -> Result<Value, String> {
    pyjwt(
        "HS256",
        &base64::engine::general_purpose::STANDARD.encode(key),
        token,
        env,
    )
}

/// Runs `scripts/jose-verify.py`; `Ok(claims and header)` or `Err(PyJWT's complaint)`.
fn pyjwt(alg: &str, key: &str, token: &str, env: &TestEnv) -> Result<Value, String> {
    let python = repo_root().join(".venv/bin/python");
    assert!(
        python.exists(),
        "no .venv: run under scripts/with-engines.sh (make test)"
    );
    let mut child = Command::new(python)
        .arg(repo_root().join("scripts/jose-verify.py"))
        .args([alg, key, &env.cfg.tokens.issuer, &env.cfg.tokens.audience])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(token.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if out.status.success() {
        Ok(serde_json::from_str(&text).unwrap())
    } else {
        Err(format!("{text}{}", String::from_utf8_lossy(&out.stderr)))
    }
}

#[tokio::test]
async fn pyjwt_accepts_our_access_tokens_and_refuses_altered_ones() {
    let env = TestEnv::new().await;
    let user = env
        .create_user("rita", "rita-password-1", &["admin", "reader"])
        .await;
    let login = env.login("rita", "rita-password-1").await;
    let access = body(&login)["access_token"].as_str().unwrap().to_string();
    let (kid, key) = env.current_key().await;

    let checked = pyjwt_verify(&access, &key, &env).expect("PyJWT verifies the token");
    assert_eq!(checked["header"]["alg"], "HS256");
    assert_eq!(checked["header"]["typ"], "at+jwt");
    assert_eq!(checked["header"]["kid"], kid.as_str());
    let claims = &checked["claims"];
    assert_eq!(claims["sub"], user.user_id.as_str());
    assert_eq!(claims["username"], "rita");
    assert_eq!(claims["roles"], serde_json::json!(["admin", "reader"]));
    assert_eq!(claims["sid"], body(&login)["session_id"]);

    // The other way round: what PyJWT refuses, so must we (and we do: the authorizer suite).
    let mut other_key = key.clone();
    other_key[0] ^= 1;
    let wrong = pyjwt_verify(&access, &other_key, &env).unwrap_err();
    assert!(wrong.contains("Signature"), "{wrong}");
    let (head, rest) = access.split_once('.').unwrap();
    let (payload, sig) = rest.split_once('.').unwrap();
    let mut claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    claims["roles"] = serde_json::json!(["superuser"]);
    let forged = format!(
        "{head}.{}.{sig}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    assert!(pyjwt_verify(&forged, &key, &env).is_err());
}

/// Alters one claim of a token, keeping its header and signature.
fn with_roles(token: &str, roles: Value) -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let (head, rest) = token.split_once('.').unwrap();
    let (payload, sig) = rest.split_once('.').unwrap();
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    claims["roles"] = roles;
    format!(
        "{head}.{}.{sig}",
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

#[tokio::test]
async fn in_every_asymmetric_mode_pyjwt_verifies_our_tokens_with_only_the_published_jwks() {
    for alg in [SigningAlg::Rs256, SigningAlg::Es256, SigningAlg::EdDsa] {
        let env = TestEnv::with(|cfg| cfg.signing.alg = alg).await;
        env.create_user("rita", "rita-password-1", &["reader"])
            .await;
        let login = env.login("rita", "rita-password-1").await;
        assert_eq!(status(&login), 200, "{alg}");
        let access = body(&login)["access_token"].as_str().unwrap().to_string();

        let jwks = env.published_jwks().await;
        let keys = jwks["keys"].as_array().unwrap();
        assert_eq!(
            keys.len(),
            2,
            "{alg}: the signing key and the next one: {jwks}"
        );
        for key in keys {
            assert_eq!(key["alg"], alg.as_str());
            assert_eq!(key["use"], "sig");
            assert!(
                key.get("d").is_none() && key.get("p").is_none(),
                "{alg}: private member"
            );
        }
        let checked = pyjwt(alg.as_str(), &jwks.to_string(), &access, &env)
            .unwrap_or_else(|e| panic!("{alg}: PyJWT refused our token: {e}"));
        assert_eq!(checked["header"]["alg"], alg.as_str());
        assert_eq!(
            checked["header"]["kid"], keys[0]["kid"],
            "{alg}: signed by the first key"
        );
        assert_eq!(checked["claims"]["username"], "rita");
        assert!(env.authorizer_allows(&access).await, "{alg}");

        // Altered claims: PyJWT and our authorizer both refuse.
        let forged = with_roles(&access, serde_json::json!(["admin"]));
        let e = pyjwt(alg.as_str(), &jwks.to_string(), &forged, &env).unwrap_err();
        assert!(e.contains("Signature"), "{alg}: {e}");
        assert!(!env.authorizer_allows(&forged).await, "{alg}");
        // A key set without the signing key: PyJWT finds no key (the next key does not verify).
        let only_next = serde_json::json!({ "keys": [keys[1]] }).to_string();
        assert!(
            pyjwt(alg.as_str(), &only_next, &access, &env).is_err(),
            "{alg}"
        );
    }
}
