//! Passkey ceremonies through the passkeys function's real handler and the real WebAuthn crate,
//! against DynamoDB Local, answered by a software authenticator that signs for real (ES256,
//! EdDSA, RS256): registration and a sign-in without a username; then one thing broken at a
//! time: a replayed assertion, another ceremony's challenge, a foreign origin, another RP ID,
//! no user verification, a bad signature, a counter gone backwards, a deleted passkey, an
//! expired or spent challenge, another user's ceremony, the same assertion 8 times at once.

use std::sync::Arc;

use integration_tests::authenticator::{Alg, SoftAuthenticator, Tamper, UP};
use integration_tests::*;
use serde_json::{json, Value};
use shared::http::handlers::Endpoint;
use shared::ports::PasskeyStore;

const PASSWORD: &str = "amber lantern fjord 17";

async fn signed_in(env: &TestEnv, name: &str) -> Value {
    env.create_user(name, PASSWORD, &[]).await;
    let resp = env.login(name, PASSWORD).await;
    assert_eq!(status(&resp), 200, "{resp}");
    identity_of(&resp)
}

async fn passkeys(env: &TestEnv, sample: &str, who: Option<&Value>, body: Value) -> Value {
    let event = match who {
        Some(who) => account_event(sample, who),
        None => load_event(sample),
    };
    let event = with_body(event, Some(&body.to_string()));
    env.invoke(Endpoint::Passkeys, event).await
}

async fn register_options(env: &TestEnv, who: &Value) -> Value {
    let resp = passkeys(env, "passkey-register-options.json", Some(who), json!({})).await;
    assert_eq!(status(&resp), 200, "{resp}");
    body(&resp)
}

async fn login_options(env: &TestEnv) -> Value {
    let resp = passkeys(env, "passkey-login-options.json", None, json!({})).await;
    assert_eq!(status(&resp), 200, "{resp}");
    body(&resp)
}

async fn register_with(
    env: &TestEnv,
    who: &Value,
    key: &mut SoftAuthenticator,
    at: &Tamper,
) -> Value {
    let options = register_options(env, who).await;
    let credential = key.register(&options["publicKey"], at);
    let body = json!({"challenge_id": options["challenge_id"], "credential": credential, "name": "laptop"});
    passkeys(env, "passkey-register.json", Some(who), body).await
}

async fn register(env: &TestEnv, who: &Value, alg: Alg) -> SoftAuthenticator {
    let mut key = SoftAuthenticator::new(alg);
    let resp = register_with(env, who, &mut key, &Tamper::at(APP_URL)).await;
    assert_eq!(status(&resp), 201, "{alg:?}: {resp}");
    key
}

async fn sign_in(env: &TestEnv, options: &Value, credential: Value) -> Value {
    let body = json!({"challenge_id": options["challenge_id"], "credential": credential});
    passkeys(env, "passkey-login.json", None, body).await
}

/// A whole sign-in with `key` (fresh options, the counter moved on, the app's origin).
async fn sign_in_with(env: &TestEnv, key: &mut SoftAuthenticator) -> Value {
    let options = login_options(env).await;
    let assertion = key.assert(&options["publicKey"], &Tamper::at(APP_URL));
    sign_in(env, &options, assertion).await
}

fn refused(resp: &Value, code: u64) {
    assert_eq!(status(resp), code, "{resp}");
    assert_eq!(body(resp)["error"], "invalid_credential", "{resp}");
    assert!(cookies(resp).is_empty(), "no cookie: {resp}");
}

#[tokio::test]
async fn a_passkey_registers_and_then_signs_in_without_a_username_for_each_algorithm() {
    let env = TestEnv::new().await;
    let ana = signed_in(&env, "ana").await;
    for alg in [Alg::Es256, Alg::EdDsa, Alg::Rs256] {
        let options = register_options(&env, &ana).await;
        let pk = &options["publicKey"];
        assert_eq!(pk["rp"]["id"], "localhost");
        assert_eq!(
            pk["rp"]["name"],
            env.cfg.passkeys.rp_name.as_str(),
            "WEBAUTHN_RP_NAME"
        );
        assert_eq!(pk["authenticatorSelection"]["residentKey"], "required");
        assert_eq!(pk["authenticatorSelection"]["userVerification"], "required");
        assert_eq!(pk["attestation"], "none");
        let algs: Vec<i64> = pk["pubKeyCredParams"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["alg"].as_i64().unwrap())
            .collect();
        for wanted in [-7, -8, -257] {
            assert!(algs.contains(&wanted), "{algs:?}");
        }
        let mut key = SoftAuthenticator::new(alg);
        let credential = key.register(pk, &Tamper::at(APP_URL));
        let resp = passkeys(
            &env,
            "passkey-register.json",
            Some(&ana),
            json!({"challenge_id": options["challenge_id"], "credential": credential, "name": format!("{alg:?}")}),
        )
        .await;
        assert_eq!(status(&resp), 201, "{alg:?}: {resp}");
        assert_eq!(body(&resp)["passkey_id"], key.passkey_id());
        assert_eq!(body(&resp)["name"], format!("{alg:?}"));

        let options = login_options(&env).await;
        let pk = &options["publicKey"];
        assert_eq!(pk["userVerification"], "required");
        assert!(
            pk.get("allowCredentials").is_none()
                || pk["allowCredentials"].as_array().unwrap().is_empty(),
            "discoverable: no credential list: {pk}"
        );
        let resp = sign_in(&env, &options, key.assert(pk, &Tamper::at(APP_URL))).await;
        assert_eq!(status(&resp), 200, "{alg:?}: {resp}");
        assert_eq!(amr_of(&resp), json!(["hwk", "mfa"]));
        assert_eq!(identity_of(&resp)["sub"], ana["sub"]);
        assert!(body(&resp)["refresh_token"].is_string());
        assert!(cookies(&resp)
            .iter()
            .any(|c| c.starts_with("refresh_token=") && c.contains("HttpOnly")));
        // The session it began refreshes like any other, amr kept.
        let refreshed = env
            .refresh_with_body(body(&resp)["refresh_token"].as_str().unwrap())
            .await;
        assert_eq!(status(&refreshed), 200, "{refreshed}");
        assert_eq!(amr_of(&refreshed), json!(["hwk", "mfa"]));
        let stored = env
            .app
            .store
            .passkey(&key.passkey_id())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.sign_count, 1);
        assert!(stored.last_used_at.is_some());
    }
    // Registered ones are excluded from the next registration's options.
    let options = register_options(&env, &ana).await;
    assert_eq!(
        options["publicKey"]["excludeCredentials"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    let me = env
        .invoke(Endpoint::Account, account_event("me.json", &ana))
        .await;
    assert_eq!(body(&me)["mfa"]["passkeys"], 3, "{me}");
}

#[tokio::test]
async fn a_replayed_or_misdirected_or_unverified_assertion_is_refused() {
    let env = TestEnv::new().await;
    let ana = signed_in(&env, "ana").await;
    let mut key = register(&env, &ana, Alg::Es256).await;
    let ok = Tamper::at(APP_URL);

    // Replayed: the same assertion again, and again under a fresh challenge id.
    let options = login_options(&env).await;
    let assertion = key.assert(&options["publicKey"], &ok);
    assert_eq!(
        status(&sign_in(&env, &options, assertion.clone()).await),
        200
    );
    refused(&sign_in(&env, &options, assertion.clone()).await, 401);
    let fresh = login_options(&env).await;
    refused(&sign_in(&env, &fresh, assertion).await, 401);

    // Signed for one ceremony, presented with another's id.
    let first = login_options(&env).await;
    let second = login_options(&env).await;
    let for_first = key.assert(&first["publicKey"], &ok);
    refused(&sign_in(&env, &second, for_first.clone()).await, 401);
    // (Under its own ceremony it is what it always was: a good assertion.)
    assert_eq!(status(&sign_in(&env, &first, for_first).await), 200);

    // A foreign origin, another RP ID, no user verification, a bad signature.
    let foreign = Tamper::at("https://evil.example");
    let mut other_rp = Tamper::at(APP_URL);
    other_rp.rp_id = "evil.example".into();
    for (why, at, flags) in [
        ("foreign origin", &foreign, None),
        (
            "look-alike origin",
            &Tamper::at("http://localhost:5174"),
            None,
        ),
        ("other RP ID", &other_rp, None),
        ("no user verification", &ok, Some(UP)),
    ] {
        let options = login_options(&env).await;
        let saved = key.flags;
        if let Some(f) = flags {
            key.flags = f;
        }
        let assertion = key.assert(&options["publicKey"], at);
        key.flags = saved;
        let resp = sign_in(&env, &options, assertion).await;
        assert_eq!(status(&resp), 401, "{why}: {resp}");
        refused(&resp, 401);
    }
    let options = login_options(&env).await;
    let mut assertion = key.assert(&options["publicKey"], &ok);
    let sig = assertion["response"]["signature"]
        .as_str()
        .unwrap()
        .to_string();
    let mut forged = sig.into_bytes();
    forged[12] = if forged[12] == b'A' { b'B' } else { b'A' };
    assertion["response"]["signature"] = json!(String::from_utf8(forged).unwrap());
    refused(&sign_in(&env, &options, assertion).await, 401);

    // Still usable by its owner after all that.
    let resp = sign_in_with(&env, &mut key).await;
    assert_eq!(status(&resp), 200, "{resp}");
}

#[tokio::test]
async fn a_counter_that_goes_backwards_is_refused_and_the_stored_one_kept() {
    let env = TestEnv::new().await;
    let ana = signed_in(&env, "ana").await;
    let mut key = register(&env, &ana, Alg::EdDsa).await;
    let ok = Tamper::at(APP_URL);
    for _ in 0..3 {
        assert_eq!(status(&sign_in_with(&env, &mut key).await), 200);
    }
    // A clone holding the key at counter 2 (and one at the same counter as the store).
    for count in [2, 3] {
        key.sign_count = count;
        let options = login_options(&env).await;
        refused(
            &sign_in(&env, &options, key.assert_as_is(&options["publicKey"], &ok)).await,
            401,
        );
    }
    let stored = env
        .app
        .store
        .passkey(&key.passkey_id())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.sign_count, 3);
    // The real authenticator goes on.
    assert_eq!(status(&sign_in_with(&env, &mut key).await), 200);
}

#[tokio::test]
async fn a_deleted_passkey_an_expired_challenge_and_a_disabled_user_cannot_sign_in() {
    let env = TestEnv::new().await;
    let ana = signed_in(&env, "ana").await;
    let bob = signed_in(&env, "bob").await;
    let mut key = register(&env, &ana, Alg::Es256).await;
    let ok = Tamper::at(APP_URL);

    // Expired: 300 s and one later.
    let options = login_options(&env).await;
    env.clock.advance(shared::domain::CEREMONY_TTL + 1);
    refused(
        &sign_in(&env, &options, key.assert(&options["publicKey"], &ok)).await,
        401,
    );

    // Another user's passkey id: 404, kept; then deleted by its owner: no sign-in.
    let delete = |who: &Value, id: &str| {
        let mut event = account_event("passkey-delete.json", who);
        event["rawPath"] = json!(format!("/auth/passkeys/{id}"));
        event["requestContext"]["http"]["path"] = json!(format!("/auth/passkeys/{id}"));
        event["pathParameters"] = json!({ "passkey_id": id });
        env.invoke(Endpoint::Account, event)
    };
    let resp = delete(&bob, &key.passkey_id()).await;
    assert_eq!(status(&resp), 404, "{resp}");
    assert_eq!(body(&resp)["error"], "not_found");
    assert_eq!(status(&sign_in_with(&env, &mut key).await), 200);
    assert_eq!(status(&delete(&ana, &key.passkey_id()).await), 204);
    let options = login_options(&env).await;
    refused(
        &sign_in(&env, &options, key.assert(&options["publicKey"], &ok)).await,
        401,
    );

    // A disabled user: 403 account_disabled (after the passkey verified).
    let key = register(&env, &bob, Alg::Es256).await;
    let mut key = key;
    shared::ports::UserStore::set_disabled(
        env.app.store.as_ref(),
        &shared::domain::Username::parse("bob").unwrap(),
        true,
    )
    .await
    .unwrap();
    let options = login_options(&env).await;
    let resp = sign_in(&env, &options, key.assert(&options["publicKey"], &ok)).await;
    assert_eq!(status(&resp), 403, "{resp}");
    assert_eq!(body(&resp)["error"], "account_disabled");
}

#[tokio::test]
async fn registration_refuses_another_users_ceremony_a_replay_a_foreign_origin_and_a_known_key() {
    let env = TestEnv::new().await;
    let ana = signed_in(&env, "ana").await;
    let bob = signed_in(&env, "bob").await;

    // Bob's ceremony, finished by Ana.
    let options = register_options(&env, &bob).await;
    let mut key = SoftAuthenticator::new(Alg::Es256);
    let credential = key.register(&options["publicKey"], &Tamper::at(APP_URL));
    let body_ = json!({"challenge_id": options["challenge_id"], "credential": credential});
    refused(
        &passkeys(&env, "passkey-register.json", Some(&ana), body_.clone()).await,
        400,
    );
    // Spent by that attempt: not even Bob can finish it now.
    refused(
        &passkeys(&env, "passkey-register.json", Some(&bob), body_).await,
        400,
    );

    let mut key = SoftAuthenticator::new(Alg::Es256);
    for at in [Tamper::at("https://evil.example"), {
        let mut t = Tamper::at(APP_URL);
        t.rp_id = "example.com".into();
        t
    }] {
        refused(&register_with(&env, &ana, &mut key, &at).await, 400);
    }
    let mut unverified = SoftAuthenticator::new(Alg::Es256);
    unverified.flags = UP;
    refused(
        &register_with(&env, &ana, &mut unverified, &Tamper::at(APP_URL)).await,
        400,
    );
    assert!(env
        .app
        .store
        .passkey(&key.passkey_id())
        .await
        .unwrap()
        .is_none());

    // The same credential twice (for Ana, then for Bob): the second is refused.
    let resp = register_with(&env, &ana, &mut key, &Tamper::at(APP_URL)).await;
    assert_eq!(status(&resp), 201, "{resp}");
    for who in [&ana, &bob] {
        refused(
            &register_with(&env, who, &mut key, &Tamper::at(APP_URL)).await,
            400,
        );
    }
    let stored = env
        .app
        .store
        .passkey(&key.passkey_id())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.user_id, ana["sub"].as_str().unwrap());

    // Bad bodies: 400 invalid_request, nothing spent.
    for bad in [
        json!({}),
        json!({"challenge_id": 7, "credential": {}}),
        json!({"challenge_id": "x", "credential": "a string"}),
        json!({"challenge_id": "x", "credential": {}, "name": ""}),
        json!({"challenge_id": "x", "credential": {}, "name": "a".repeat(65)}),
    ] {
        let resp = passkeys(&env, "passkey-register.json", Some(&ana), bad.clone()).await;
        assert_eq!(status(&resp), 400, "{bad}: {resp}");
        assert_eq!(body(&resp)["error"], "invalid_request", "{bad}: {resp}");
    }
}

#[tokio::test]
async fn one_assertion_sent_eight_times_at_once_signs_in_once() {
    let env = Arc::new(TestEnv::new().await);
    let ana = signed_in(&env, "ana").await;
    let mut key = register(&env, &ana, Alg::Es256).await;
    let options = login_options(&env).await;
    let assertion = key.assert(&options["publicKey"], &Tamper::at(APP_URL));
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let env = env.clone();
        let options = options.clone();
        let assertion = assertion.clone();
        tasks.push(tokio::spawn(async move {
            status(&sign_in(&env, &options, assertion).await)
        }));
    }
    let mut codes = Vec::new();
    for t in tasks {
        codes.push(t.await.unwrap());
    }
    codes.sort();
    assert_eq!(codes, [200, 401, 401, 401, 401, 401, 401, 401]);
}

#[tokio::test]
async fn without_a_relying_party_the_ceremonies_are_503() {
    let env = TestEnv::with(|cfg| cfg.passkeys.rp_id = None).await;
    let ana = signed_in(&env, "ana").await;
    for (sample, who) in [
        ("passkey-register-options.json", Some(&ana)),
        ("passkey-login-options.json", None),
    ] {
        let resp = passkeys(&env, sample, who, json!({})).await;
        assert_eq!(status(&resp), 503, "{resp}");
        assert_eq!(body(&resp)["error"], "temporarily_unavailable");
    }
}

#[tokio::test]
async fn the_built_function_reports_a_cloned_passkey_on_the_event_bus() {
    use integration_tests::runtime_api::{run_binary_logged, Outcome};
    let env = TestEnv::new().await;
    let ana = signed_in(&env, "ana").await;
    let mut key = register(&env, &ana, Alg::Es256).await;
    let ok = Tamper::at(APP_URL);
    let resp = sign_in_with(&env, &mut key).await;
    assert_eq!(status(&resp), 200, "{resp}");
    let event_for = |options: &Value, credential: Value| {
        with_body(
            load_event("passkey-login.json"),
            Some(
                &json!({"challenge_id": options["challenge_id"], "credential": credential})
                    .to_string(),
            ),
        )
    };
    // Through the built passkeys function at RUST_LOG=trace: a sign-in (counter 2) whose
    // tokens appear in no log line, then a clone that kept the key at counter 1.
    let first = login_options(&env).await;
    let good = event_for(&first, key.assert(&first["publicKey"], &ok));
    key.sign_count = 1;
    let second = login_options(&env).await;
    let cloned = event_for(&second, key.assert_as_is(&second["publicKey"], &ok));
    let mut vars = function_env(&env.cfg);
    vars.push(("APP_URL".into(), APP_URL.into()));
    vars.push(("WEBAUTHN_RP_ID".into(), "localhost".into()));
    vars.push(("RUST_LOG".into(), "trace".into()));
    let (out, init, logs) =
        run_binary_logged(&built_binary("passkeys"), &vars, vec![good, cloned]).await;
    assert_eq!(init, None, "{logs}");
    match &out[..] {
        [Some(Outcome::Response(ok)), Some(Outcome::Response(clone))] => {
            assert_eq!(ok["statusCode"], 200, "{ok}");
            let issued: Value = serde_json::from_str(ok["body"].as_str().unwrap()).unwrap();
            for token in ["access_token", "refresh_token", "device_token"] {
                let value = issued[token].as_str().unwrap();
                assert!(!logs.contains(value), "{token} in the log");
            }
            assert_eq!(clone["statusCode"], 401, "{clone}");
        }
        other => panic!("{other:?}\n{logs}"),
    }
    let queue = integration_tests::event_queue::EventQueue::start().await;
    crate::security_events::forward(&env, &queue, "/aws/lambda/auth-PasskeysFunction-x", &logs)
        .await;
    let received = queue.receive(1).await;
    let event = received
        .iter()
        .find(|e| e["detail-type"] == "passkey_counter_regressed")
        .unwrap_or_else(|| panic!("{received:?}\n{logs}"));
    assert_eq!(event["detail"]["user_id"], ana["sub"]);
    assert_eq!(event["detail"]["passkey_id"], key.passkey_id());
    assert_eq!(event["detail"]["stored_count"], 2);
}
