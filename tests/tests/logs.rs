//! Captures every log line of a busy session (logins good and bad, lockout, rotation, theft,
//! logout, authorizer, admin) and checks that they are JSON, carry the security events, and
//! contain no password, token, refresh-token hash or key.

use std::io::Write;
use std::sync::{Arc, Mutex};

use base64::Engine;
use integration_tests::oidc;
use integration_tests::runtime_api::{run_binary_logged, Outcome};
use integration_tests::*;
use serde_json::{json, Value};
use shared::http::handlers::Endpoint;
use shared::ports::Clock;
use shared::service::authorizer::Authorizer;

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn logs_carry_security_events_and_never_a_secret() {
    let capture = Capture::default();
    let sink = capture.clone();
    // Trace, the most anyone can ask for: nothing at this level, the SDK's and the runtime's
    // included, may carry a secret. The only test in this binary that installs a subscriber.
    std::env::set_var("RUST_LOG", "trace");
    shared::telemetry::init_with_writer(move || sink.clone());

    let env = TestEnv::with(|c| c.signup.enabled = true).await;
    let password = "Sup3r-secret-pw-42";
    env.create_user("alice", password, &["admin"]).await;
    let mut secrets: Vec<String> = vec![password.to_string(), "wrong-guess-pw-7".to_string()];

    // Failures, then a lockout of another name.
    env.login("alice", "wrong-guess-pw-7").await;
    for _ in 0..env.cfg.lockout.max_failures + 1 {
        env.login("bob", "wrong-guess-pw-7").await;
    }
    // A session, rotated, then its spent token replayed after the grace window (theft).
    let first = body(&env.login("alice", password).await);
    let t0 = first["refresh_token"].as_str().unwrap().to_string();
    let access = first["access_token"].as_str().unwrap().to_string();
    let t1 = refresh_token_of(&env.refresh_with_cookie(&t0).await);
    env.clock.advance(env.cfg.sessions.reuse_grace_secs + 1);
    assert_eq!(status(&env.refresh_with_body(&t0).await), 401);
    // Another session, logged out everywhere.
    let t2 = env.login_token("alice", password).await;
    env.logout_everywhere(&t2).await;
    // The authorizer, both ways.
    let authorizer = Authorizer::new(&env.cfg, env.app.keys.clone(), env.app.clock.clone());
    for header in [
        format!("Bearer {access}"),
        "Bearer garbage.token.here".into(),
    ] {
        let mut event = load_event("authorizer-v2.json");
        event["headers"]["authorization"] = json!(header);
        authorizer.handle_json(&event).await.unwrap();
    }
    // Sign-up, a weak try, and a password change: none of the three passwords is logged.
    let (signed_up, weaker, changed) = (
        "violet kettle orbit 42",
        "password1",
        "amber lantern quietly 77",
    );
    secrets.extend([signed_up, weaker, changed].map(String::from));
    let weak = env
        .invoke(
            Endpoint::Register,
            register_event(&json!({"username": "carol", "password": weaker}).to_string()),
        )
        .await;
    assert_eq!(status(&weak), 400);
    let carol = env
        .invoke(
            Endpoint::Register,
            register_event(&json!({"username": "carol", "password": signed_up}).to_string()),
        )
        .await;
    assert_eq!(status(&carol), 201);
    let change = account_event("password-change.json", &identity_of(&carol));
    let change = with_body(
        change,
        Some(&json!({"current_password": signed_up, "new_password": changed}).to_string()),
    );
    assert_eq!(status(&env.invoke(Endpoint::Account, change).await), 204);
    secrets.push(body(&carol)["refresh_token"].as_str().unwrap().to_string());
    shared::service::admin::set_disabled(env.app.store.as_ref(), "alice", true)
        .await
        .unwrap();

    for token in [&t0, &t1, &t2] {
        let parsed = shared::domain::RefreshToken::parse(token).unwrap();
        secrets.push(token.to_string());
        secrets.push(token.rsplit('.').next().unwrap().to_string());
        secrets.push(parsed.hash().to_hex());
    }
    secrets.push(access.clone());
    secrets.push(access.rsplit('.').next().unwrap().to_string());
    let (_, key) = env.current_key().await;
    secrets.push(base64::engine::general_purpose::STANDARD.encode(&key));

    // A sign-in through an OpenID provider (the re-signing proxy in front of the local one, so
    // the tokens it handed out are known): no code, state, nonce, PKCE challenge, flow cookie,
    // client secret, ID or access token of the provider, or session token in any line.
    let op = oidc::TamperingProvider::start().await;
    let fed = oidc::oauth_env(Some(&op), true).await;
    let (authorize, flow) = oidc::start(&fed, "evil").await;
    let back = oidc::authorize_as(&authorize, "logged-sub").await;
    let signed_in = oidc::callback(&fed, &back, Some(&flow)).await;
    let session = oidc::refresh_cookie_of(&signed_in).expect("signed in");
    let param = |url: &str, name: &str| {
        url.split(['?', '&'])
            .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("{name} in {url}"))
            .to_string()
    };
    secrets.extend([
        param(&back, "code"),
        param(&back, "state"),
        param(&authorize, "nonce"),
        param(&authorize, "code_challenge"),
        flow.trim_start_matches("oauth_flow=").to_string(),
        session.trim_start_matches("refresh_token=").to_string(),
    ]);
    secrets.extend(op.issued());
    assert!(!op.issued().is_empty());
    let secret_id = fed
        .cfg
        .oauth
        .provider("evil")
        .unwrap()
        .client_secret_id
        .clone()
        .unwrap();
    let sdk = shared::aws::sdk_config(Default::default()).await;
    let stored = aws_sdk_secretsmanager::Client::new(&sdk)
        .get_secret_value()
        .secret_id(secret_id)
        .send()
        .await
        .unwrap();
    let client_secret: Value = serde_json::from_str(stored.secret_string().unwrap()).unwrap();
    let client_secret = client_secret["client_secret"].as_str().unwrap().to_string();
    // As sent: HTTP Basic (the secret is alphanumeric, so its form-encoding is itself).
    secrets.push(
        base64::engine::general_purpose::STANDARD.encode(format!("it-client:{client_secret}")),
    );
    secrets.push(client_secret);

    let text = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(lines.len() > 10, "{text}");
    for secret in &secrets {
        assert!(
            !text.contains(secret.as_str()),
            "a secret leaked into the logs: {secret:.12}…"
        );
    }
    let events: Vec<&Value> = lines.iter().map(|l| &l["fields"]["event"]).collect();
    for wanted in [
        "login_failed",
        "login_locked",
        "refresh_reuse_detected",
        "session_revoked",
        "user_disabled",
        "authorizer_allowed",
        "authorizer_denied",
        "federated_signup",
    ] {
        assert!(
            events.iter().any(|e| *e == wanted),
            "no {wanted} event in:\n{text}"
        );
    }
    // The federated sign-up's line becomes an EventBridge event naming the provider and who.
    let signup_line = text
        .lines()
        .find(|l| l.contains(r#""event":"federated_signup""#))
        .unwrap();
    let event = shared::aws::security_events::from_log_line(signup_line, "oauth").unwrap();
    assert_eq!(event.detail["provider"], "evil");
    assert!(event.detail["user_id"].is_string() && event.detail["session_id"].is_string());
    let theft = lines
        .iter()
        .find(|l| l["fields"]["event"] == "refresh_reuse_detected")
        .unwrap();
    assert_eq!(theft["fields"]["session_id"], first["session_id"]);
}

fn answer(outcomes: &[Option<Outcome>], i: usize) -> &Value {
    match &outcomes[i] {
        Some(Outcome::Response(v)) => v,
        other => panic!("expected a response, got {other:?}"),
    }
}

/// The deployed binaries at `RUST_LOG=trace`, each with the events that make it touch every
/// secret it handles: passwords (right and wrong), the stored password hash, refresh tokens
/// and their hashes, the access token, the device token, the signing key, and the new key the
/// rotation writes with PutSecretValue.
#[tokio::test]
async fn the_function_binaries_log_no_secret_at_trace() {
    binaries_log_no_secret_at_trace(shared::config::SigningAlg::Hs256).await;
}

/// The same with an RSA key pair: no PEM line of a private key (the signing key, its next key,
/// the keys the rotation writes) in any binary's trace logs.
#[tokio::test]
async fn the_function_binaries_log_no_private_key_at_trace() {
    binaries_log_no_secret_at_trace(shared::config::SigningAlg::Rs256).await;
}

/// What of a key could show in a log: its base64, and for a private key each line of its PEM.
fn key_fragments(alg: shared::config::SigningAlg, key: &[u8]) -> Vec<String> {
    let mut out = vec![base64::engine::general_purpose::STANDARD.encode(key)];
    if alg.is_asymmetric() {
        let pem = shared::crypto::keys::to_pem(&key.to_vec().into());
        use secrecy::ExposeSecret;
        out.extend(
            pem.expose_secret()
                .lines()
                .filter(|l| !l.starts_with("-----"))
                .map(String::from),
        );
    }
    out
}

async fn binaries_log_no_secret_at_trace(alg: shared::config::SigningAlg) {
    let env = TestEnv::with(|c| c.signing.alg = alg).await;
    let password = "Binary-secret-pw-9";
    let wrong = "Wrong-guess-pw-3";
    let user = env.create_user("carol", password, &["admin"]).await;
    let mut vars = function_env(&env.cfg);
    vars.push(("RUST_LOG".into(), "trace".into()));
    let mut logs = String::new();

    let login = |p: &str| login_event(&json!({"username": "carol", "password": p}).to_string());
    let (out, _, log) = run_binary_logged(
        &built_binary("login"),
        &vars,
        vec![login(wrong), login(password)],
    )
    .await;
    logs.push_str(&log);
    let first = body(answer(&out, 1));
    let t0 = first["refresh_token"].as_str().unwrap().to_string();
    let access = first["access_token"].as_str().unwrap().to_string();
    let device = first["device_token"]
        .as_str()
        .unwrap_or_default()
        .to_string();

    let (out, _, log) = run_binary_logged(
        &built_binary("refresh"),
        &vars,
        vec![refresh_event(None, &[&format!("refresh_token={t0}")])],
    )
    .await;
    logs.push_str(&log);
    let t1 = refresh_token_of(answer(&out, 0));

    let (_, _, log) = run_binary_logged(
        &built_binary("logout"),
        &vars,
        vec![logout_event(
            Some(&json!({"refresh_token": t1, "all_devices": true}).to_string()),
            &[],
        )],
    )
    .await;
    logs.push_str(&log);

    // The second factor: enrolment and confirmation (account), then a login's two steps
    // with a wrong code, a TOTP code and a recovery code (login).
    // (A session of its own: the logout above ended every one.)
    let who = identity_of(&env.login("carol", password).await);
    let account =
        |sample: &str, b: Value| with_body(account_event(sample, &who), Some(&b.to_string()));
    let (out, _, log) = run_binary_logged(
        &built_binary("account"),
        &vars,
        vec![account(
            "mfa-enroll.json",
            json!({ "current_password": password }),
        )],
    )
    .await;
    logs.push_str(&log);
    let enrolled = body(answer(&out, 0));
    let totp_base32 = enrolled["secret"]
        .as_str()
        .unwrap_or_else(|| panic!("{enrolled}"))
        .to_string();
    let totp_secret = shared::crypto::totp::TotpSecret::from_base32(&totp_base32).unwrap();
    let step = shared::crypto::totp::step_of(shared::ports::SystemClock.now());
    let (out, _, log) = run_binary_logged(
        &built_binary("account"),
        &vars,
        vec![account(
            "mfa-confirm.json",
            json!({ "code": totp_secret.code_at_step(step) }),
        )],
    )
    .await;
    logs.push_str(&log);
    let recovery_codes: Vec<String> =
        serde_json::from_value(body(answer(&out, 0))["recovery_codes"].clone()).unwrap();
    let mut mfa_tokens = Vec::new();
    for _ in 0..2 {
        let (out, _, log) =
            run_binary_logged(&built_binary("login"), &vars, vec![login(password)]).await;
        logs.push_str(&log);
        mfa_tokens.push(
            body(answer(&out, 0))["mfa_token"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let second = |b: Value| with_body(load_event("login-mfa.json"), Some(&b.to_string()));
    let (out, _, log) = run_binary_logged(
        &built_binary("login"),
        &vars,
        vec![
            second(json!({"mfa_token": mfa_tokens[0], "code": "000000"})),
            second(json!({"mfa_token": mfa_tokens[0], "code": totp_secret.code_at_step(step + 1)})),
            second(json!({"mfa_token": mfa_tokens[1], "recovery_code": recovery_codes[0]})),
        ],
    )
    .await;
    logs.push_str(&log);
    assert_eq!(status(answer(&out, 1)), 200, "{out:?}");
    assert_eq!(status(answer(&out, 2)), 200, "{out:?}");
    let data_keys =
        integration_tests::secret_at(&env.app, &env.cfg.mfa.key_secret_id, "AWSCURRENT").await;
    let data_keys: Value = serde_json::from_str(data_keys.secret_string().unwrap()).unwrap();

    // A way back in: forgot, then reset with the mailed token (SES is moto's).
    let address = fresh_email("carol");
    env.set_email(&user, &address).await;
    let mut mail_vars = vars.clone();
    mail_vars.push(("EMAIL_FROM".into(), MAIL_FROM.into()));
    mail_vars.push(("APP_URL".into(), APP_URL.into()));
    let forgot = with_body(
        load_event("password-forgot.json"),
        Some(&json!({"email": address}).to_string()),
    );
    let (out, _, log) =
        run_binary_logged(&built_binary("recovery"), &mail_vars, vec![forgot]).await;
    logs.push_str(&log);
    assert_eq!(status(answer(&out, 0)), 202);
    let mailed = mails_to(&address).await;
    assert_eq!(mailed.len(), 1, "the recovery binary mailed through SES");
    let reset_token = mailed[0].token();
    let new_password = "Reset-secret-pw-7 lantern";
    let reset = with_body(
        load_event("password-reset.json"),
        Some(&json!({"token": reset_token, "new_password": new_password}).to_string()),
    );
    let (out, _, log) = run_binary_logged(&built_binary("recovery"), &mail_vars, vec![reset]).await;
    logs.push_str(&log);
    assert_eq!(status(answer(&out, 0)), 204, "{:?}", out);

    let mut authorize = load_event("authorizer-v2.json");
    authorize["headers"]["authorization"] = json!(format!("Bearer {access}"));
    let (out, _, log) =
        run_binary_logged(&built_binary("authorizer"), &vars, vec![authorize]).await;
    logs.push_str(&log);
    assert_eq!(answer(&out, 0)["isAuthorized"], true);

    // A whole rotation by the rotation function (moto enables rotation without a Lambda).
    let (_, old_key) = env.current_key().await;

    env.app
        .secrets
        .client()
        .rotate_secret()
        .secret_id(&env.cfg.signing.secret_id)
        .rotation_rules(
            aws_sdk_secretsmanager::types::RotationRulesType::builder()
                .automatically_after_days(30)
                .build(),
        )
        .rotate_immediately(false)
        .send()
        .await
        .expect("moto enables rotation");
    if alg.is_asymmetric() {
        // The key pair was made a moment ago: an unforced rotation now would be refused
        // (MIN_ROTATION_INTERVAL). From the deploy-time placeholder it always runs.
        env.app
            .secrets
            .put_secret_value()
            .secret_id(&env.cfg.signing.secret_id)
            .secret_string(r#"{"placeholder":"first rotation"}"#)
            .send()
            .await
            .unwrap();
    }
    let token = uuid::Uuid::new_v4().to_string();
    let steps: Vec<Value> = ["createSecret", "setSecret", "testSecret", "finishSecret"]
        .iter()
        .map(|step| {
            json!({"Step": step, "SecretId": env.cfg.signing.secret_id, "ClientRequestToken": token})
        })
        .collect();
    let (out, _, log) = run_binary_logged(&built_binary("rotate-secret"), &vars, steps).await;
    logs.push_str(&log);
    for (i, o) in out.iter().enumerate() {
        assert!(matches!(o, Some(Outcome::Response(_))), "step {i}: {o:?}");
    }
    let (new_kid, new_key) = env.current_key().await;
    assert_eq!(new_kid, token, "the rotation ran");

    let stored = shared::ports::UserStore::get_user(env.app.store.as_ref(), &user.username)
        .await
        .unwrap()
        .unwrap();
    let mut secrets = vec![
        password.to_string(),
        wrong.to_string(),
        stored.password_hash.clone(),
        access.clone(),
        access.rsplit('.').next().unwrap().to_string(),
        device.clone(),
        address.clone(),
        reset_token.clone(),
        shared::domain::email_token_hash(&reset_token)
            .unwrap()
            .to_hex(),
        new_password.to_string(),
        totp_base32.clone(),
        totp_base32.to_lowercase(),
        stored.totp.secret.clone().expect("TOTP is on"),
        data_keys["k1"].as_str().unwrap().to_string(),
    ];
    for token in &mfa_tokens {
        secrets.push(token.clone());
        secrets.push(shared::domain::email_token_hash(token).unwrap().to_hex());
    }
    for code in &recovery_codes {
        secrets.push(code.clone());
        secrets.push(shared::crypto::totp::recovery_code_hash(code).unwrap());
    }
    secrets.extend(key_fragments(alg, &old_key));
    secrets.extend(key_fragments(alg, &new_key));
    if alg.is_asymmetric() {
        // The next key the rotation drew too.
        let value =
            integration_tests::secret_at(&env.app, &env.cfg.signing.secret_id, "AWSCURRENT").await;
        let parsed =
            shared::crypto::keyring::parse_signing_secret(alg, value.secret_string().unwrap())
                .unwrap();
        use secrecy::ExposeSecret;
        let next = parsed.next.expect("a next key");
        secrets.extend(key_fragments(alg, next.expose_secret()));
    }
    assert!(!device.is_empty(), "login hands out a device token");
    for token in [&t0, &t1] {
        secrets.push(token.to_string());
        secrets.push(token.rsplit('.').next().unwrap().to_string());
        secrets.push(
            shared::domain::RefreshToken::parse(token)
                .unwrap()
                .hash()
                .to_hex(),
        );
    }
    // The logs are real: every binary said something, the SDK's info lines included.
    assert!(logs.lines().count() > 10, "{logs}");
    for secret in &secrets {
        assert!(
            !logs.contains(secret.as_str()),
            "a secret leaked into a binary's trace logs: {secret:.12}…"
        );
    }
}

/// The oauth function's own binary at `RUST_LOG=trace`, cold for each request as a fresh
/// Lambda instance would be: a sign-in through the re-signing proxy in front of the local
/// provider (start, the provider's page, the callback); no code, state, nonce, flow cookie,
/// client secret, provider token or session token in its lines.
#[tokio::test]
async fn the_oauth_binary_signs_in_and_logs_no_secret_at_trace() {
    let op = oidc::TamperingProvider::start().await;
    let env = oidc::oauth_env(Some(&op), true).await;
    let mut vars = function_env(&env.cfg);
    vars.push(("RUST_LOG".into(), "trace".into()));
    let binary = built_binary("oauth");
    let (out, _, mut logs) =
        run_binary_logged(&binary, &vars, vec![oidc::start_event("evil")]).await;
    let started = answer(&out, 0);
    let authorize = oidc::location(started);
    let flow = oidc::flow_cookie(started);
    let back = oidc::authorize_as(&authorize, "binary-sub").await;
    let (out, _, log) = run_binary_logged(
        &binary,
        &vars,
        vec![oidc::callback_event(&back, Some(&flow))],
    )
    .await;
    logs.push_str(&log);
    let landed = answer(&out, 0);
    assert_eq!(oidc::location(landed), format!("{APP_URL}/signed-in"));
    let session = oidc::refresh_cookie_of(landed).expect("a session");
    let param = |url: &str, name: &str| {
        url.split(['?', '&'])
            .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("{name} in {url}"))
            .to_string()
    };
    let mut secrets = vec![
        param(&back, "code"),
        param(&back, "state"),
        param(&authorize, "nonce"),
        flow.trim_start_matches("oauth_flow=").to_string(),
        session.trim_start_matches("refresh_token=").to_string(),
    ];
    secrets.extend(op.issued());
    assert!(logs.contains(r#""event":"federated_signup""#), "{logs}");
    for secret in &secrets {
        assert!(
            !logs.contains(secret.as_str()),
            "a secret leaked into the oauth binary's logs: {secret:.12}…"
        );
    }
}
