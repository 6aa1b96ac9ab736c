//! The second factor through the functions' real handlers, against DynamoDB Local and moto's
//! Secrets Manager (the data keys): enrolment, the login's second step, turning it off, new
//! recovery codes, every status code of the contract's MFA routes; a code replayed (same step,
//! an earlier one); 20 wrong codes at once; one recovery code presented 8 times at once; and a
//! scan of both tables showing no secret and no recovery code in clear.

use std::sync::Arc;

use integration_tests::*;
use serde_json::{json, Value};
use shared::crypto::totp::{self, TotpSecret};
use shared::http::handlers::Endpoint;
use shared::ports::Clock;

const PASSWORD: &str = "violet kettle orbit 42";

/// A user with a live session: the authorizer's identity for the account routes.
async fn signed_in(env: &TestEnv, name: &str) -> Value {
    env.create_user(name, PASSWORD, &[]).await;
    let resp = env.login(name, PASSWORD).await;
    assert_eq!(status(&resp), 200, "{resp}");
    identity_of(&resp)
}

async fn account(env: &TestEnv, sample: &str, who: &Value, body: Value) -> Value {
    let event = with_body(account_event(sample, who), Some(&body.to_string()));
    env.invoke(Endpoint::Account, event).await
}

async fn login_mfa(env: &TestEnv, body: Value) -> Value {
    let event = with_body(load_event("login-mfa.json"), Some(&body.to_string()));
    env.invoke(Endpoint::Login, event).await
}

/// The code of the step the test clock is in.
fn code_now(env: &TestEnv, secret: &TotpSecret) -> String {
    secret.code_at_step(totp::step_of(env.clock.now()))
}

/// Enrols and confirms TOTP for `who`: the secret and the ten recovery codes. The clock then
/// moves on one step (the confirming code's step is spent).
async fn enrol(env: &TestEnv, who: &Value) -> (TotpSecret, Vec<String>) {
    let resp = account(
        env,
        "mfa-enroll.json",
        who,
        json!({"current_password": PASSWORD}),
    )
    .await;
    assert_eq!(status(&resp), 200, "{resp}");
    assert_eq!(header(&resp, "cache-control"), Some("no-store"));
    let secret = TotpSecret::from_base32(body(&resp)["secret"].as_str().unwrap()).unwrap();
    let code = code_now(env, &secret);
    let resp = account(env, "mfa-confirm.json", who, json!({ "code": code })).await;
    assert_eq!(status(&resp), 200, "{resp}");
    let codes: Vec<String> = serde_json::from_value(body(&resp)["recovery_codes"].clone()).unwrap();
    env.clock.advance(totp::STEP);
    (secret, codes)
}

/// The login's first step for a user with TOTP: 403 `mfa_required`, no cookie; the token.
async fn mfa_token(env: &TestEnv, name: &str) -> String {
    let resp = env.login(name, PASSWORD).await;
    assert_eq!(status(&resp), 403, "{resp}");
    assert!(
        cookies(&resp).is_empty(),
        "no cookie before the second factor"
    );
    let b = body(&resp);
    assert_eq!(b["error"], "mfa_required");
    assert_eq!(b["expires_in"], 300);
    assert!(b.get("access_token").is_none() && b.get("refresh_token").is_none());
    b["mfa_token"].as_str().unwrap().to_string()
}

/// `GET /auth/me`'s `mfa`.
async fn mfa_of(env: &TestEnv, who: &Value) -> Value {
    let resp = env
        .invoke(Endpoint::Account, account_event("me.json", who))
        .await;
    body(&resp)["mfa"].clone()
}

fn error_of(resp: &Value) -> (u64, String) {
    (
        status(resp),
        body(resp)["error"].as_str().unwrap_or_default().to_string(),
    )
}

#[tokio::test]
async fn enrolment_login_and_turning_it_off_answer_every_contract_status() {
    // Room for every wrong answer below (the lockout itself is the next tests' subject).
    let env = TestEnv::with(|c| c.lockout.max_failures = 50).await;
    let who = signed_in(&env, "ana").await;
    assert_eq!(
        mfa_of(&env, &who).await,
        json!({"totp": false, "passkeys": 0, "recovery_codes_left": 0})
    );
    // Enrolment: a wrong password is a failed login; malformed bodies are 400.
    let wrong = account(
        &env,
        "mfa-enroll.json",
        &who,
        json!({"current_password": "nope"}),
    )
    .await;
    assert_eq!(error_of(&wrong), (401, "invalid_credentials".into()));
    let malformed = account(
        &env,
        "mfa-enroll.json",
        &who,
        json!({"current_password": 7}),
    )
    .await;
    assert_eq!(error_of(&malformed), (400, "invalid_request".into()));
    let resp = account(
        &env,
        "mfa-enroll.json",
        &who,
        json!({"current_password": PASSWORD}),
    )
    .await;
    let uri = body(&resp)["otpauth_uri"].as_str().unwrap().to_string();
    assert!(
        uri.starts_with("otpauth://totp/")
            && uri.contains(":ana?secret=")
            && uri.ends_with("&algorithm=SHA1&digits=6&period=30"),
        "{uri}"
    );
    let secret = TotpSecret::from_base32(body(&resp)["secret"].as_str().unwrap()).unwrap();
    let wrong = account(&env, "mfa-confirm.json", &who, json!({"code": "12345x"})).await;
    assert_eq!(error_of(&wrong), (400, "invalid_code".into()));
    let ok = account(
        &env,
        "mfa-confirm.json",
        &who,
        json!({"code": code_now(&env, &secret)}),
    )
    .await;
    assert_eq!(status(&ok), 200, "{ok}");
    let codes: Vec<String> = serde_json::from_value(body(&ok)["recovery_codes"].clone()).unwrap();
    assert_eq!(codes.len(), 10);
    env.clock.advance(totp::STEP);
    assert_eq!(
        mfa_of(&env, &who).await,
        json!({"totp": true, "passkeys": 0, "recovery_codes_left": 10})
    );
    let again = account(
        &env,
        "mfa-enroll.json",
        &who,
        json!({"current_password": PASSWORD}),
    )
    .await;
    assert_eq!(error_of(&again), (409, "mfa_already_enabled".into()));

    // Login: a wrong password is 401 as for anyone; the right one 403 mfa_required.
    assert_eq!(
        error_of(&env.login("ana", "wrong password").await),
        (401, "invalid_credentials".into())
    );
    let token = mfa_token(&env, "ana").await;
    for bad in [
        json!({"mfa_token": token}),
        json!({"mfa_token": token, "code": "1", "recovery_code": "2"}),
        json!({"mfa_token": token, "code": 123456}),
        json!({"code": "123456"}),
    ] {
        let resp = login_mfa(&env, bad.clone()).await;
        assert_eq!(error_of(&resp), (400, "invalid_request".into()), "{bad}");
    }
    let unknown = login_mfa(&env, json!({"mfa_token": "x".repeat(43), "code": "123456"})).await;
    assert_eq!(error_of(&unknown), (401, "invalid_grant".into()));
    let wrong = login_mfa(&env, json!({"mfa_token": token, "code": "000000"})).await;
    assert_eq!(error_of(&wrong), (401, "invalid_code".into()));
    let done = login_mfa(
        &env,
        json!({"mfa_token": token, "code": code_now(&env, &secret)}),
    )
    .await;
    assert_eq!(status(&done), 200, "{done}");
    assert_eq!(amr_of(&done), json!(["pwd", "otp", "mfa"]));
    assert!(cookies(&done)
        .iter()
        .any(|c| c.starts_with("refresh_token=")));
    assert!(
        env.authorizer_allows(body(&done)["access_token"].as_str().unwrap())
            .await
    );
    // Used once: the same token again is invalid_grant, whatever the code.
    let used = login_mfa(
        &env,
        json!({"mfa_token": token, "code": code_now(&env, &secret)}),
    )
    .await;
    assert_eq!(error_of(&used), (401, "invalid_grant".into()));
    // Expired after 300 s.
    let token = mfa_token(&env, "ana").await;
    env.clock.advance(301);
    let late = login_mfa(
        &env,
        json!({"mfa_token": token, "code": code_now(&env, &secret)}),
    )
    .await;
    assert_eq!(error_of(&late), (401, "invalid_grant".into()));
    // A recovery code: amr without otp, and one fewer left.
    let token = mfa_token(&env, "ana").await;
    let rec = login_mfa(&env, json!({"mfa_token": token, "recovery_code": codes[0]})).await;
    assert_eq!(status(&rec), 200, "{rec}");
    assert_eq!(amr_of(&rec), json!(["pwd", "mfa"]));
    assert_eq!(mfa_of(&env, &who).await["recovery_codes_left"], 9);

    // New recovery codes: a TOTP code; the old ones void.
    env.clock.advance(totp::STEP);
    let wrong = account(
        &env,
        "mfa-recovery-codes.json",
        &who,
        json!({"code": "000000"}),
    )
    .await;
    assert_eq!(error_of(&wrong), (401, "invalid_code".into()));
    let fresh = account(
        &env,
        "mfa-recovery-codes.json",
        &who,
        json!({"code": code_now(&env, &secret)}),
    )
    .await;
    assert_eq!(status(&fresh), 200, "{fresh}");
    assert_eq!(mfa_of(&env, &who).await["recovery_codes_left"], 10);
    let token = mfa_token(&env, "ana").await;
    let old = login_mfa(&env, json!({"mfa_token": token, "recovery_code": codes[1]})).await;
    assert_eq!(error_of(&old), (401, "invalid_code".into()));

    // Off: the password and a code; each wrong one 401.
    env.clock.advance(totp::STEP);
    let off = |password: &str, code: String| json!({"current_password": password, "code": code});
    let resp = account(
        &env,
        "mfa-disable.json",
        &who,
        off("nope", code_now(&env, &secret)),
    )
    .await;
    assert_eq!(error_of(&resp), (401, "invalid_credentials".into()));
    let resp = account(
        &env,
        "mfa-disable.json",
        &who,
        off(PASSWORD, "000000".into()),
    )
    .await;
    assert_eq!(error_of(&resp), (401, "invalid_code".into()));
    let fresh_code = body(&fresh)["recovery_codes"][0]
        .as_str()
        .unwrap()
        .to_string();
    let resp = account(&env, "mfa-disable.json", &who, off(PASSWORD, fresh_code)).await;
    assert_eq!(status(&resp), 204, "{resp}");
    let resp = account(
        &env,
        "mfa-disable.json",
        &who,
        off(PASSWORD, code_now(&env, &secret)),
    )
    .await;
    assert_eq!(error_of(&resp), (409, "mfa_not_enabled".into()));
    assert_eq!(
        mfa_of(&env, &who).await,
        json!({"totp": false, "passkeys": 0, "recovery_codes_left": 0})
    );
    assert_eq!(status(&env.login("ana", PASSWORD).await), 200);
}

#[tokio::test]
async fn a_code_is_accepted_once_and_never_an_earlier_steps() {
    let env = TestEnv::new().await;
    let who = signed_in(&env, "bo").await;
    let (secret, _) = enrol(&env, &who).await;
    let step = totp::step_of(env.clock.now());
    let token = mfa_token(&env, "bo").await;
    let code = secret.code_at_step(step);
    assert_eq!(
        status(&login_mfa(&env, json!({"mfa_token": token, "code": code})).await),
        200
    );
    // The same code with a new pending login: a replay.
    let token = mfa_token(&env, "bo").await;
    let replay = login_mfa(&env, json!({"mfa_token": token, "code": code})).await;
    assert_eq!(error_of(&replay), (401, "invalid_code".into()));
    // The previous step's code is within the skew but spent with the later one.
    let earlier = secret.code_at_step(step - 1);
    let resp = login_mfa(&env, json!({"mfa_token": token, "code": earlier})).await;
    assert_eq!(error_of(&resp), (401, "invalid_code".into()));
    // Two steps ahead is outside the skew; one ahead is inside it.
    let far = secret.code_at_step(step + 2);
    let resp = login_mfa(&env, json!({"mfa_token": token, "code": far})).await;
    assert_eq!(error_of(&resp), (401, "invalid_code".into()));
    let next = secret.code_at_step(step + 1);
    assert_eq!(
        status(&login_mfa(&env, json!({"mfa_token": token, "code": next})).await),
        200
    );
}

#[tokio::test]
async fn twenty_wrong_codes_at_once_get_at_most_five_checked() {
    let env = Arc::new(TestEnv::new().await);
    let who = signed_in(&env, "cy").await;
    let (secret, _) = enrol(&env, &who).await;
    let token = mfa_token(&env, "cy").await;
    let calls: Vec<_> = (0..20)
        .map(|i| {
            let env = env.clone();
            let token = token.clone();
            tokio::spawn(async move {
                let code = format!("{:06}", 100_000 + i);
                error_of(&login_mfa(&env, json!({"mfa_token": token, "code": code})).await)
            })
        })
        .collect();
    let mut checked = 0;
    for call in calls {
        match call.await.unwrap() {
            (401, e) if e == "invalid_code" => checked += 1,
            (429, e) if e == "too_many_attempts" => {}
            other => panic!("unexpected answer {other:?}"),
        }
    }
    let max = env.cfg.lockout_policy().max_failures as usize;
    // The password step took one attempt of the window, and a right password did not clear it.
    assert_eq!(checked, max - 1, "{checked} codes checked");
    // Locked: the right code is not even looked at, nor the right password.
    let right = login_mfa(
        &env,
        json!({"mfa_token": token, "code": code_now(&env, &secret)}),
    )
    .await;
    assert_eq!(error_of(&right), (429, "too_many_attempts".into()));
    assert_eq!(status(&env.login("cy", PASSWORD).await), 429);
}

#[tokio::test]
async fn a_recovery_code_presented_eight_times_at_once_logs_in_once() {
    let env = Arc::new(TestEnv::with(|c| c.lockout.max_failures = 50).await);
    let who = signed_in(&env, "di").await;
    let (_, codes) = enrol(&env, &who).await;
    let mut tokens = Vec::new();
    for _ in 0..8 {
        tokens.push(mfa_token(&env, "di").await);
    }
    let calls: Vec<_> = tokens
        .into_iter()
        .map(|token| {
            let env = env.clone();
            let code = codes[4].clone();
            tokio::spawn(async move {
                status(&login_mfa(&env, json!({"mfa_token": token, "recovery_code": code})).await)
            })
        })
        .collect();
    let mut ok = 0;
    for call in calls {
        match call.await.unwrap() {
            200 => ok += 1,
            401 => {}
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!(ok, 1, "one recovery code, one login");
}

#[tokio::test]
async fn no_table_holds_a_totp_secret_or_a_recovery_code_in_clear() {
    let env = TestEnv::new().await;
    let who = signed_in(&env, "eve").await;
    let resp = account(
        &env,
        "mfa-enroll.json",
        &who,
        json!({"current_password": PASSWORD}),
    )
    .await;
    let base32 = body(&resp)["secret"].as_str().unwrap().to_string();
    let secret = TotpSecret::from_base32(&base32).unwrap();
    let ok = account(
        &env,
        "mfa-confirm.json",
        &who,
        json!({"code": code_now(&env, &secret)}),
    )
    .await;
    let codes: Vec<String> = serde_json::from_value(body(&ok)["recovery_codes"].clone()).unwrap();
    env.clock.advance(totp::STEP);
    mfa_token(&env, "eve").await; // a pending login's item too
    let mut dump = String::new();
    for table in [&env.cfg.tables.users, &env.cfg.tables.sessions] {
        let items = env
            .app
            .dynamodb
            .scan()
            .table_name(table)
            .send()
            .await
            .unwrap()
            .items
            .unwrap_or_default();
        dump.push_str(&format!("{items:?}"));
    }
    assert!(dump.contains("totp_secret"), "the scan sees the user item");
    let hex: String = secret
        .as_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    for needle in [base32.as_str(), &base32.to_lowercase(), &hex] {
        assert!(!dump.contains(needle), "the secret is in a table");
    }
    for code in &codes {
        let bare = code.replace('-', "");
        assert!(
            !dump.contains(code) && !dump.contains(&bare),
            "a recovery code is in a table"
        );
    }
    // Sealed under the data key in Secrets Manager: the value opens there, and only for eve.
    let keys = shared::adapters::secrets_manager::SecretsManagerDataKeys::new(
        env.app.secrets.clone(),
        env.cfg.mfa.key_secret_id.clone(),
    )
    .load()
    .await
    .unwrap();
    let user = shared::ports::UserStore::get_user(
        env.app.store.as_ref(),
        &shared::domain::Username::parse("eve").unwrap(),
    )
    .await
    .unwrap()
    .unwrap();
    let sealed = user.totp.secret.unwrap();
    assert_eq!(
        keys.open(&sealed, &user.user_id).unwrap(),
        secret.as_bytes()
    );
    assert!(keys.open(&sealed, "another-user").is_err());
}

#[tokio::test]
async fn a_backing_service_gone_mid_second_step_is_a_503_that_spends_nothing() {
    use integration_tests::proxy::Mode;
    use shared::domain::SecondFactor;
    use shared::service::mfa::MfaLoginInput;
    let (env, ddb, sm) = TestEnv::through_proxies().await;
    let who = signed_in(&env, "fi").await;
    let (secret, _) = enrol(&env, &who).await;
    // A new instance: the password step caches its signing key; the data keys are not read yet.
    let other = env.another_instance();
    let token = match other
        .service
        .login(shared::service::LoginInput {
            username: "fi".into(),
            password: PASSWORD.into(),
            device_id: "laptop".into(),
            device_tokens: vec![],
        })
        .await
    {
        Err(shared::error::AuthError::MfaRequired(p)) => p.mfa_token,
        other => panic!("{other:?}"),
    };
    let second = || MfaLoginInput {
        mfa_token: token.clone(),
        factor: SecondFactor::Totp(code_now(&env, &secret)),
    };
    sm.set(Mode::Cut);
    let refused = other.service.login_mfa(second()).await.unwrap_err();
    assert_eq!(refused.code(), "temporarily_unavailable");
    sm.set(Mode::Forward);
    ddb.set(Mode::Cut);
    let refused = other.service.login_mfa(second()).await.unwrap_err();
    assert_eq!(refused.code(), "temporarily_unavailable");
    ddb.set(Mode::Forward);
    // Nothing was spent or counted: the password step's attempt is the only one on the
    // counter, so three wrong codes still leave room for the right one with the same token.
    for _ in 0..3 {
        let wrong = other.service.login_mfa(MfaLoginInput {
            mfa_token: token.clone(),
            factor: SecondFactor::Totp("000000".into()),
        });
        assert_eq!(wrong.await.unwrap_err().code(), "invalid_code");
    }
    assert!(other.service.login_mfa(second()).await.is_ok());
}
