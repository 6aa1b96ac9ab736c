//! Issued access tokens checked by an independent JOSE implementation (PyJWT in `.venv`,
//! installed by the engines' script): what our verifier accepts, a standard library accepts
//! too, with the algorithm pinned and every contract claim required. With HS256 the key set is
//! empty, so PyJWT gets the shared secret; asymmetric keys (issue 18) will use the JWKS.

use std::io::Write;
use std::process::{Command, Stdio};

use base64::Engine;
use integration_tests::*;
use serde_json::Value;

/// Runs `scripts/jose-verify.py`; `Ok(claims and header)` or `Err(PyJWT's complaint)`.
fn pyjwt_verify(token: &str, key: &[u8], env: &TestEnv) -> Result<Value, String> {
    let python = repo_root().join(".venv/bin/python");
    assert!(
        python.exists(),
        "no .venv: run under scripts/with-engines.sh (make test)"
    );
    let mut child = Command::new(python)
        .arg(repo_root().join("scripts/jose-verify.py"))
        .args([
            "HS256",
            &base64::engine::general_purpose::STANDARD.encode(key),
            &env.cfg.issuer,
            &env.cfg.audience,
        ])
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
