//! Sign-in through an OpenID provider: the oauth function's real handler against DynamoDB
//! Local, moto (the client secret) and the local OpenID provider (`oidc-provider-mock`), its
//! authorization page submitted as a person would. Then one thing broken at a time through a
//! proxy that re-signs the provider's ID tokens (nonce, audience, issuer, expiry, `alg: none`,
//! signature), the state (forged, replayed, another browser's), the redirect target, a
//! provider that is down or hangs; linking, unlinking and the last-method rule.

use std::time::{Duration, Instant};

use integration_tests::oidc::*;
use integration_tests::*;
use serde_json::{json, Value};
use shared::http::handlers::Endpoint;
use shared::ports::IdentityStore;

async fn me(env: &TestEnv, who: &Value) -> Value {
    let resp = env
        .invoke(Endpoint::Account, account_event("me.json", who))
        .await;
    assert_eq!(status(&resp), 200, "{resp}");
    body(&resp)
}

fn fresh_sub(name: &str) -> String {
    format!("{name}-{}", uuid::Uuid::new_v4().simple())
}

#[tokio::test]
async fn a_sign_in_through_the_local_provider_begins_a_session_and_finds_its_user_again() {
    let env = oauth_env(None, true).await;
    let (authorize, cookie) = start(&env, "dev").await;
    // The provider's endpoint, with PKCE S256, state and nonce, and our redirect URI.
    assert!(
        authorize.starts_with(&format!("{}/", mock_issuer())),
        "{authorize}"
    );
    for part in [
        "response_type=code",
        "code_challenge_method=S256",
        "client_id=it-client",
        "redirect_uri=https%3A%2F%2Fapi.example.com%2Fauth%2Foauth%2Fdev%2Fcallback",
    ] {
        assert!(authorize.contains(part), "{part} in {authorize}");
    }
    assert!(authorize.contains("&state=") && authorize.contains("&nonce="));
    let sub = fresh_sub("ana");
    let back = authorize_as(&authorize, &sub).await;
    let resp = callback(&env, &back, Some(&cookie)).await;
    // Back to the app, no token in the URL, the flow cookie cleared.
    assert_eq!(location(&resp), format!("{APP_URL}/signed-in"));
    assert!(cookies(&resp)
        .iter()
        .any(|c| c.starts_with("oauth_flow=;") && c.contains("Max-Age=0")));
    assert_eq!(header(&resp, "referrer-policy"), Some("no-referrer"));
    let refreshed = picked_up(&env, &resp).await;
    assert_eq!(amr_of(&refreshed), json!(["fed"]));
    let who = identity_of(&refreshed);
    let profile = me(&env, &who).await;
    assert_eq!(profile["identities"][0]["provider"], "dev");
    assert!(profile["identities"][0]["linked_at"].is_string());
    // The same person again: the same user, a new session.
    let again = picked_up(&env, &sign_in(&env, "dev", &sub).await).await;
    assert_eq!(identity_of(&again)["sub"], who["sub"]);
    assert_ne!(identity_of(&again)["session_id"], who["session_id"]);
    // Someone else: another user.
    let other = picked_up(&env, &sign_in(&env, "dev", &fresh_sub("bo")).await).await;
    assert_ne!(identity_of(&other)["sub"], who["sub"]);
}

#[tokio::test]
async fn id_tokens_broken_one_way_at_a_time_are_refused_and_leave_no_user() {
    let evil = TamperingProvider::start().await;
    let env = oauth_env(Some(&evil), true).await;
    // The proxy re-signing honestly works (so each refusal below is that one change's).
    let ok = sign_in(&env, "evil", &fresh_sub("honest")).await;
    assert_eq!(location(&ok), format!("{APP_URL}/signed-in"));
    for tamper in [
        Tamper::Nonce,
        Tamper::Audience,
        Tamper::Issuer,
        Tamper::Expired,
        Tamper::AlgNone,
        Tamper::BadSignature,
    ] {
        evil.set(tamper);
        let sub = fresh_sub("mallory");
        let resp = sign_in(&env, "evil", &sub).await;
        assert_eq!(
            location(&resp),
            format!("{APP_URL}/signed-in#error=invalid_id_token"),
            "{tamper:?}"
        );
        assert_eq!(refresh_cookie_of(&resp), None, "{tamper:?}");
        let identity = env.app.store.identity("evil", &sub).await.unwrap();
        assert!(identity.is_none(), "{tamper:?} made a user");
    }
}

#[tokio::test]
async fn a_forged_replayed_or_unbound_state_and_a_foreign_redirect_are_refused() {
    let env = oauth_env(None, true).await;
    let app_home = format!("{APP_URL}/");
    // A callback without the flow's cookie (a login CSRF: the attacker's code and state in
    // the victim's browser): refused, and the flow is spent.
    let (authorize, cookie) = start(&env, "dev").await;
    let back = authorize_as(&authorize, &fresh_sub("victim")).await;
    let unbound = callback(&env, &back, None).await;
    assert_eq!(
        location(&unbound),
        format!("{APP_URL}/signed-in#error=invalid_state")
    );
    assert_eq!(refresh_cookie_of(&unbound), None);
    let replayed = callback(&env, &back, Some(&cookie)).await;
    assert_eq!(
        location(&replayed),
        format!("{app_home}#error=invalid_state")
    );
    // Another flow's cookie.
    let (authorize, _) = start(&env, "dev").await;
    let (_, other_cookie) = start(&env, "dev").await;
    let back = authorize_as(&authorize, &fresh_sub("victim")).await;
    let crossed = callback(&env, &back, Some(&other_cookie)).await;
    assert!(location(&crossed).ends_with("#error=invalid_state"));
    // A used flow's code and state again, with its own cookie.
    let (authorize, cookie) = start(&env, "dev").await;
    let back = authorize_as(&authorize, &fresh_sub("ana")).await;
    assert!(refresh_cookie_of(&callback(&env, &back, Some(&cookie)).await).is_some());
    let again = callback(&env, &back, Some(&cookie)).await;
    assert_eq!(location(&again), format!("{app_home}#error=invalid_state"));
    // A forged state.
    let forged = format!(
        "{API}/auth/oauth/dev/callback?code=abc&state=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    );
    let resp = callback(&env, &forged, Some(&cookie)).await;
    assert_eq!(location(&resp), format!("{app_home}#error=invalid_state"));
    // The person said no at the provider: with the state (RFC 6749 §4.1.2.1), back to the
    // flow's target; the local provider's denial carries no state, so there is no flow to go
    // back to.
    let (authorize, cookie) = start(&env, "dev").await;
    let state = authorize
        .split(['?', '&'])
        .find_map(|kv| kv.strip_prefix("state="))
        .expect("a state")
        .to_string();
    let denied = format!("{API}/auth/oauth/dev/callback?error=access_denied&state={state}");
    let denied = callback(&env, &denied, Some(&cookie)).await;
    assert_eq!(
        location(&denied),
        format!("{APP_URL}/signed-in#error=access_denied")
    );
    assert_eq!(refresh_cookie_of(&denied), None);
    let (authorize, cookie) = start(&env, "dev").await;
    let without_state = callback(&env, &deny(&authorize).await, Some(&cookie)).await;
    assert_eq!(
        location(&without_state),
        format!("{app_home}#error=invalid_state")
    );
    // redirect_to off the allowlist (another origin, a look-alike, a port): 400, no flow.
    for target in [
        "https://evil.example/",
        "http://localhost:5173.evil.example/",
        "http://localhost:5174/",
        "//evil.example/",
    ] {
        let resp = env
            .invoke(
                Endpoint::Oauth,
                get_event(
                    "/auth/oauth/dev/start",
                    &format!("redirect_to={target}"),
                    &[],
                ),
            )
            .await;
        assert_eq!(status(&resp), 400, "{target}: {resp}");
        assert_eq!(body(&resp)["error"], "invalid_request");
        assert!(cookies(&resp).is_empty());
    }
    // An unknown provider.
    let resp = env
        .invoke(
            Endpoint::Oauth,
            get_event(
                "/auth/oauth/nope/start",
                &format!("redirect_to={APP_URL}/"),
                &[],
            ),
        )
        .await;
    assert_eq!(status(&resp), 404, "{resp}");
}

#[tokio::test]
async fn a_provider_that_is_down_or_hangs_answers_temporarily_unavailable_within_seconds() {
    let evil = TamperingProvider::start().await;
    let env = oauth_env(Some(&evil), true).await;
    let began = Instant::now();
    let resp = env
        .invoke(
            Endpoint::Oauth,
            get_event(
                "/auth/oauth/down/start",
                &format!("redirect_to={APP_URL}/x"),
                &[],
            ),
        )
        .await;
    assert_eq!(
        location(&resp),
        format!("{APP_URL}/x#error=temporarily_unavailable")
    );
    let refused_in = began.elapsed();
    assert!(refused_in < Duration::from_secs(5), "{refused_in:?}");
    // A token endpoint that never answers: the callback gives up after its 3 s budget.
    let (authorize, cookie) = start(&env, "evil").await;
    let back = authorize_as(&authorize, &fresh_sub("slow")).await;
    evil.set(Tamper::Hang);
    let began = Instant::now();
    let resp = callback(&env, &back, Some(&cookie)).await;
    let took = began.elapsed();
    assert_eq!(
        location(&resp),
        format!("{APP_URL}/signed-in#error=temporarily_unavailable")
    );
    assert!(took < Duration::from_secs(5), "{took:?}");
    eprintln!(
        "provider down: #error=temporarily_unavailable after {refused_in:?} (refused), {took:?} (hung token endpoint)"
    );
}

#[tokio::test]
async fn without_sign_up_an_unknown_identity_is_refused() {
    let env = oauth_env(None, false).await;
    let sub = fresh_sub("nobody");
    let resp = sign_in(&env, "dev", &sub).await;
    assert_eq!(
        location(&resp),
        format!("{APP_URL}/signed-in#error=signup_disabled")
    );
    assert!(env.app.store.identity("dev", &sub).await.unwrap().is_none());
}

#[tokio::test]
async fn linking_unlinking_and_the_last_sign_in_method() {
    let env = oauth_env(None, true).await;
    env.create_user("carol", "amber lantern fjord 17", &[])
        .await;
    let carol = identity_of(&env.login("carol", "amber lantern fjord 17").await);
    let link = |who: Value| {
        let env = &env;
        async move {
            let event = with_body(
                account_event("oauth-link.json", &who),
                Some(&json!({ "redirect_to": format!("{APP_URL}/settings") }).to_string()),
            );
            let resp = env.invoke(Endpoint::Oauth, event).await;
            assert_eq!(status(&resp), 200, "{resp}");
            (
                body(&resp)["authorize_url"].as_str().unwrap().to_string(),
                flow_cookie(&resp),
            )
        }
    };
    // An identity already someone's cannot be linked to carol.
    let ana_sub = fresh_sub("ana");
    let ana = picked_up(&env, &sign_in(&env, "dev", &ana_sub).await).await;
    let (authorize, cookie) = link(carol.clone()).await;
    let back = authorize_as(&authorize, &ana_sub).await;
    let taken = callback(&env, &back, Some(&cookie)).await;
    assert_eq!(
        location(&taken),
        format!("{APP_URL}/settings#error=identity_taken")
    );
    // A fresh one is linked; signing in with it is carol.
    let carol_sub = fresh_sub("carol");
    let (authorize, cookie) = link(carol.clone()).await;
    let back = authorize_as(&authorize, &carol_sub).await;
    let linked = callback(&env, &back, Some(&cookie)).await;
    assert_eq!(location(&linked), format!("{APP_URL}/settings"));
    assert_eq!(
        refresh_cookie_of(&linked),
        None,
        "linking begins no session"
    );
    assert_eq!(me(&env, &carol).await["identities"][0]["provider"], "dev");
    let as_carol = picked_up(&env, &sign_in(&env, "dev", &carol_sub).await).await;
    assert_eq!(identity_of(&as_carol)["sub"], carol["sub"]);
    // Unlinked (carol keeps her password): 204, and the identity signs in as no one now.
    let unlink = |who: &Value| account_event("identity-unlink.json", who);
    let resp = env.invoke(Endpoint::Oauth, unlink(&carol)).await;
    assert_eq!(status(&resp), 204, "{resp}");
    assert!(me(&env, &carol).await["identities"]
        .as_array()
        .unwrap()
        .is_empty());
    let resp = env.invoke(Endpoint::Oauth, unlink(&carol)).await;
    assert_eq!(status(&resp), 404, "{resp}");
    // Ana has nothing else: 409, and she still signs in with it.
    let ana_who = identity_of(&ana);
    let resp = env.invoke(Endpoint::Oauth, unlink(&ana_who)).await;
    assert_eq!(status(&resp), 409, "{resp}");
    assert_eq!(body(&resp)["error"], "last_sign_in_method");
    let again = picked_up(&env, &sign_in(&env, "dev", &ana_sub).await).await;
    assert_eq!(identity_of(&again)["sub"], ana_who["sub"]);
}

#[tokio::test]
async fn one_callback_sent_eight_times_at_once_signs_in_once() {
    let env = std::sync::Arc::new(oauth_env(None, true).await);
    let sub = fresh_sub("racer");
    let (authorize, cookie) = start(&env, "dev").await;
    let back = authorize_as(&authorize, &sub).await;
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (env, back, cookie) = (env.clone(), back.clone(), cookie.clone());
        tasks.push(tokio::spawn(async move {
            callback(&env, &back, Some(&cookie)).await
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.push(t.await.unwrap());
    }
    let sessions = all
        .iter()
        .filter(|r| refresh_cookie_of(r).is_some())
        .count();
    assert_eq!(sessions, 1, "{all:?}");
    let refused = all
        .iter()
        .filter(|r| location(r).ends_with("#error=invalid_state"))
        .count();
    assert_eq!(refused, 7);
    assert!(env.app.store.identity("dev", &sub).await.unwrap().is_some());
}

#[tokio::test]
async fn dynamodb_or_secrets_manager_gone_mid_flow_is_temporarily_unavailable_and_loses_nothing() {
    use integration_tests::proxy::Mode;
    let (env, ddb, _sm) = TestEnv::through_proxies_with(|cfg| configure(cfg, None, true)).await;
    // DynamoDB cut before the callback: the flow cannot be taken (nor anything written).
    let sub = fresh_sub("patient");
    let (authorize, cookie) = start(&env, "dev").await;
    let back = authorize_as(&authorize, &sub).await;
    ddb.set(Mode::Cut);
    let cut = callback(&env, &back, Some(&cookie)).await;
    assert_eq!(
        location(&cut),
        format!("{APP_URL}/#error=temporarily_unavailable")
    );
    assert_eq!(refresh_cookie_of(&cut), None);
    // Back: the same callback goes through (the flow and the code were never spent).
    ddb.set(Mode::Forward);
    let retried = callback(&env, &back, Some(&cookie)).await;
    assert!(refresh_cookie_of(&retried).is_some(), "{retried}");
    // Secrets Manager cut (the client secret not yet cached by this instance): the flow is
    // spent, no user is made; a new sign-in works once it is back.
    let (env, _ddb, sm) = TestEnv::through_proxies_with(|cfg| configure(cfg, None, true)).await;
    let sub = fresh_sub("patient");
    let (authorize, cookie) = start(&env, "dev").await;
    let back = authorize_as(&authorize, &sub).await;
    sm.set(Mode::Cut);
    let cut = callback(&env, &back, Some(&cookie)).await;
    assert_eq!(
        location(&cut),
        format!("{APP_URL}/signed-in#error=temporarily_unavailable")
    );
    assert!(env.app.store.identity("dev", &sub).await.unwrap().is_none());
    sm.set(Mode::Forward);
    assert!(refresh_cookie_of(&sign_in(&env, "dev", &sub).await).is_some());
}

#[tokio::test]
async fn a_verified_address_names_a_new_account_but_never_joins_another() {
    let env = oauth_env(None, true).await;
    // A free, verified address: the new account's username and (verified) address.
    let free = fresh_email("fed");
    let sub = fresh_sub("fed");
    set_claims(&sub, &json!({ "email": free, "email_verified": true })).await;
    let fed = picked_up(&env, &sign_in(&env, "dev", &sub).await).await;
    let profile = me(&env, &identity_of(&fed)).await;
    assert_eq!(profile["username"], json!(free));
    assert_eq!(profile["email"], json!(free));
    assert_eq!(profile["email_verified"], true);
    // Ana's address, vouched for by the provider for someone else: a new account without it.
    let ana = env.create_user("ana", "amber lantern fjord 17", &[]).await;
    let taken = fresh_email("ana");
    env.set_email(&ana, &taken).await;
    let sub = fresh_sub("mallory");
    set_claims(&sub, &json!({ "email": taken, "email_verified": true })).await;
    let other = picked_up(&env, &sign_in(&env, "dev", &sub).await).await;
    let profile = me(&env, &identity_of(&other)).await;
    assert_ne!(profile["sub"], json!(ana.user_id));
    assert_eq!(profile["email"], Value::Null);
    assert!(profile["username"].as_str().unwrap().starts_with("dev-"));
    // Ana still signs in with her password, as herself.
    let again = env.login("ana", "amber lantern fjord 17").await;
    assert_eq!(identity_of(&again)["sub"], json!(ana.user_id));
}

#[tokio::test]
async fn a_federated_accounts_last_passkey_cannot_be_removed_even_by_a_stale_writer() {
    use shared::ports::{PasskeyStore, UserStore};
    let env = oauth_env(None, true).await;
    let fed = picked_up(&env, &sign_in(&env, "dev", &fresh_sub("pk")).await).await;
    let who = identity_of(&fed);
    let username = shared::domain::Username::parse(who["username"].as_str().unwrap()).unwrap();
    let user = env.app.store.get_user(&username).await.unwrap().unwrap();
    let passkey = shared::domain::Passkey {
        credential_id: format!("cred-{}", uuid::Uuid::new_v4().simple()),
        username: user.username.clone(),
        user_id: user.user_id.clone(),
        name: "laptop".into(),
        public_key: vec![1],
        sign_count: 0,
        state: vec![],
        created_at: 0,
        last_used_at: None,
    };
    env.app.store.add_passkey(&passkey).await.unwrap();
    // With the passkey, the identity may go (204); then the passkey is the last way in.
    let unlink = env
        .invoke(Endpoint::Oauth, account_event("identity-unlink.json", &who))
        .await;
    assert_eq!(status(&unlink), 204, "{unlink}");
    let mut delete = account_event("passkey-delete.json", &who);
    let path = format!("/auth/passkeys/{}", passkey.credential_id);
    delete["rawPath"] = json!(path);
    delete["requestContext"]["http"]["path"] = json!(path);
    delete["pathParameters"] = json!({ "passkey_id": passkey.credential_id });
    let resp = env.invoke(Endpoint::Account, delete).await;
    assert_eq!(status(&resp), 409, "{resp}");
    assert_eq!(body(&resp)["error"], "last_sign_in_method");
    // A writer holding the user as it was before the unlink (its check passes) is refused by
    // the write's own condition.
    assert!(matches!(
        env.app
            .store
            .remove_passkey(&user, &passkey.credential_id)
            .await,
        Err(shared::error::StoreError::Conflict)
    ));
    assert!(env
        .app
        .store
        .passkey(&passkey.credential_id)
        .await
        .unwrap()
        .is_some());
}
