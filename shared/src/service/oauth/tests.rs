//! The flows over the in-memory stores and a provider faked at the HTTP port (its ID tokens
//! signed for real); the same flows run against the local OpenID provider and DynamoDB Local
//! in `tests/`.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use async_trait::async_trait;
use serde_json::{json, Value};

use super::*;
use crate::adapters::memory::{key_set, FakeClock, MemoryStore, StaticKeySource};
use crate::config::Config;
use crate::crypto::keyring::KeyRing;
use crate::crypto::keys::{check_private_key, generate};
use crate::crypto::password::Passwords;
use crate::domain::SigningAlg;
use crate::domain::{email_token_hash, Email, User, Username, FLOW_TTL};
use crate::error::KeyError;
use crate::ports::ProviderCallError;
use crate::ports::{IdentityStore, UserStore};
use crate::service::accounts::Caller;
use crate::service::{LoginInput, Stores};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

const T0: u64 = 1_700_000_000;
const ISSUER: &str = "https://op.example";
const APP: &str = "https://app.example";
const API: &str = "https://api.example";

/// A provider at the HTTP port: its documents, and a token endpoint answering with the ID
/// token the test set (minted for the nonce the flow sent).
struct FakeProvider {
    encoding: jsonwebtoken::EncodingKey,
    jwks: Mutex<Value>,
    kid: Mutex<String>,
    jwks_fetches: AtomicUsize,
    down: AtomicBool,
    /// Claims to put in (or take out of) the next ID token.
    overrides: Mutex<Value>,
    /// The forms the token endpoint received.
    exchanges: Mutex<Vec<Vec<(String, String)>>>,
    nonce: Mutex<String>,
}

impl FakeProvider {
    fn new() -> Arc<Self> {
        crate::crypto::jwt_crypto::install();
        let der = generate(SigningAlg::Rs256).unwrap();
        let (encoding, verify) = check_private_key(
            SigningAlg::Rs256,
            secrecy::ExposeSecret::expose_secret(&der),
        )
        .unwrap();
        let mut jwk = verify.jwk().unwrap();
        jwk["kid"] = json!("k1");
        Arc::new(FakeProvider {
            encoding,
            jwks: Mutex::new(json!({ "keys": [jwk] })),
            kid: Mutex::new("k1".into()),
            jwks_fetches: AtomicUsize::new(0),
            down: AtomicBool::new(false),
            overrides: Mutex::new(json!({})),
            exchanges: Mutex::new(Vec::new()),
            nonce: Mutex::new(String::new()),
        })
    }

    fn id_token(&self) -> String {
        let mut claims = json!({"iss": ISSUER, "sub": "sub-1", "aud": "client-1",
            "exp": T0 + 600, "iat": T0, "nonce": *self.nonce.lock().unwrap(),
            "email": "ana@example.com", "email_verified": true});
        for (k, v) in self.overrides.lock().unwrap().as_object().unwrap() {
            match v {
                Value::Null => claims.as_object_mut().unwrap().remove(k),
                v => claims.as_object_mut().unwrap().insert(k.clone(), v.clone()),
            };
        }
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
        header.kid = Some(self.kid.lock().unwrap().clone());
        jsonwebtoken::encode(&header, &claims, &self.encoding).unwrap()
    }
}

#[async_trait]
impl ProviderHttp for FakeProvider {
    async fn get_json(&self, url: &str) -> Result<Value, ProviderCallError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(ProviderCallError::Unreachable("refused".into()));
        }
        match url.strip_prefix(ISSUER) {
            Some("/.well-known/openid-configuration") => Ok(json!({
                "issuer": ISSUER,
                "authorization_endpoint": format!("{ISSUER}/authorize"),
                "token_endpoint": format!("{ISSUER}/token"),
                "jwks_uri": format!("{ISSUER}/jwks"),
                "response_types_supported": ["code"],
                "id_token_signing_alg_values_supported": ["RS256"],
            })),
            Some("/jwks") => {
                self.jwks_fetches.fetch_add(1, Ordering::SeqCst);
                Ok(self.jwks.lock().unwrap().clone())
            }
            _ => Err(ProviderCallError::Status {
                status: 404,
                body: Value::Null,
            }),
        }
    }

    async fn post_form(
        &self,
        _url: &str,
        form: &[(&str, &str)],
        _basic: Option<(&str, &secrecy::SecretString)>,
    ) -> Result<Value, ProviderCallError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(ProviderCallError::Unreachable("refused".into()));
        }
        self.exchanges.lock().unwrap().push(
            form.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        );
        Ok(json!({ "id_token": self.id_token(), "token_type": "Bearer" }))
    }
}

struct NoSecrets;

#[async_trait]
impl ClientSecrets for NoSecrets {
    async fn client_secret(&self, _: &str) -> Result<secrecy::SecretString, KeyError> {
        Err(KeyError::Malformed("no secrets here".into()))
    }
}

struct Fixture {
    svc: AuthService,
    store: Arc<MemoryStore>,
    clock: Arc<FakeClock>,
    op: Arc<FakeProvider>,
}

fn fixture_with(signup: bool) -> Fixture {
    let cfg = Config::from_lookup(|name| match name {
        "OIDC_PROVIDERS" => Some(format!(
            r#"[{{"id":"op","issuer":"{ISSUER}","client_id":"client-1"}}]"#
        )),
        "APP_URL" => Some(APP.into()),
        "SIGNUP_ENABLED" => Some(signup.to_string()),
        _ => None,
    })
    .unwrap();
    let cfg = Arc::new(cfg);
    let store = Arc::new(MemoryStore::new());
    let clock = Arc::new(FakeClock::new(T0));
    let ring = Arc::new(KeyRing::new(
        Arc::new(StaticKeySource::new(key_set(("v1", 1), None))),
        SigningAlg::Hs256,
        clock.clone(),
        cfg.signing.cache_ttl,
    ));
    let mut svc = AuthService::new(
        cfg,
        Stores::all_in(store.clone()),
        ring,
        clock.clone(),
        Passwords::with_params(8, 1, 1).unwrap(),
    );
    let op = FakeProvider::new();
    svc.set_oauth(OauthClient::new(
        op.clone(),
        Arc::new(NoSecrets),
        clock.clone(),
    ));
    Fixture {
        svc,
        store,
        clock,
        op,
    }
}

/// A query parameter of `url`, decoded.
fn param(url: &str, name: &str) -> String {
    let query = url.split_once('?').unwrap().1;
    let raw = query
        .split('&')
        .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
        .unwrap();
    percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .unwrap()
        .into_owned()
}

impl Fixture {
    /// Starts a sign-in flow; the provider will answer for its nonce. (state, cookie)
    async fn begin(&self) -> (String, String) {
        let flow = self
            .svc
            .oauth_start("op", &format!("{APP}/signed-in"), API)
            .await
            .unwrap();
        *self.op.nonce.lock().unwrap() = param(&flow.authorize_url, "nonce");
        (param(&flow.authorize_url, "state"), flow.binding)
    }

    async fn callback(&self, state: &str, binding: Option<&str>) -> CallbackOutcome {
        self.svc
            .oauth_callback(Callback {
                provider: "op".into(),
                code: Some("code-1".into()),
                state: Some(state.into()),
                error: None,
                binding: binding.map(str::to_string),
                api_base: API.into(),
            })
            .await
    }

    /// A whole sign-in: the session's tokens, or the `#error=` code.
    async fn sign_in(&self) -> Result<Issued, &'static str> {
        let (state, binding) = self.begin().await;
        match self.callback(&state, Some(&binding)).await.result {
            Ok(Landed::SignedIn(issued)) => Ok(issued),
            Ok(Landed::Linked) => panic!("a sign-in flow linked"),
            Err(e) => Err(e.code()),
        }
    }

    async fn user_of(&self, issued: &Issued) -> User {
        let sub = claims_of(&issued.access_token)["username"]
            .as_str()
            .unwrap()
            .to_string();
        self.store
            .get_user(&Username::parse(&sub).unwrap())
            .await
            .unwrap()
            .unwrap()
    }
}

fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

#[tokio::test]
async fn start_sends_pkce_s256_state_and_nonce_and_keeps_the_flow_server_side() {
    let f = fixture_with(true);
    let flow = f
        .svc
        .oauth_start("op", &format!("{APP}/x"), API)
        .await
        .unwrap();
    let url = &flow.authorize_url;
    assert!(url.starts_with(&format!("{ISSUER}/authorize?")), "{url}");
    assert_eq!(param(url, "response_type"), "code");
    assert_eq!(param(url, "client_id"), "client-1");
    assert_eq!(
        param(url, "redirect_uri"),
        format!("{API}/auth/oauth/op/callback")
    );
    assert_eq!(param(url, "scope"), "openid email profile");
    assert_eq!(param(url, "code_challenge_method"), "S256");
    // The challenge is the S256 of the verifier kept with the flow (RFC 7636 §4.2), and only
    // the hashes of the state and cookie are stored.
    let state = param(url, "state");
    let stored = f
        .store
        .take_flow(&email_token_hash(&state).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        param(url, "code_challenge"),
        URL_SAFE_NO_PAD.encode(Sha256::digest(stored.code_verifier.as_bytes()))
    );
    assert_eq!(param(url, "nonce"), stored.nonce);
    assert!(email_token_hash(&flow.binding)
        .unwrap()
        .matches(&stored.binding));
    assert_eq!(stored.expires_at, T0 + FLOW_TTL);
    // Unknown provider, foreign redirect.
    let other = f.svc.oauth_start("nope", &format!("{APP}/x"), API).await;
    assert_eq!(other.unwrap_err(), AuthError::ProviderNotFound);
    let foreign = f.svc.oauth_start("op", "https://evil.example/", API).await;
    assert_eq!(foreign.unwrap_err().code(), "invalid_request");
}

#[tokio::test]
async fn a_first_sign_in_creates_a_user_without_a_password_and_the_next_finds_it() {
    let f = fixture_with(true);
    let issued = f.sign_in().await.unwrap();
    assert_eq!(claims_of(&issued.access_token)["amr"], json!(["fed"]));
    let user = f.user_of(&issued).await;
    assert_eq!(user.username.as_str(), "ana@example.com");
    assert_eq!(
        user.email.as_ref().map(Email::as_str),
        Some("ana@example.com")
    );
    assert!(user.email_verified);
    assert!(user.password().is_none());
    assert_eq!(user.identities[0].subject, "sub-1");
    // The code exchange carried the flow's verifier and the same redirect URI.
    let form = f.op.exchanges.lock().unwrap()[0].clone();
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    assert_eq!(get("grant_type").as_deref(), Some("authorization_code"));
    assert_eq!(get("code_verifier").map(|v| v.len()), Some(43));
    assert_eq!(
        get("redirect_uri"),
        Some(format!("{API}/auth/oauth/op/callback"))
    );
    // Again: the same user, no second one.
    let again = f.sign_in().await.unwrap();
    assert_eq!(f.user_of(&again).await.user_id, user.user_id);
    // No password to guess: a login with any is refused as for an unknown user.
    let login = f
        .svc
        .login(LoginInput {
            username: "ana@example.com".into(),
            password: "".to_string().into(),
            device_id: "d".into(),
            device_tokens: vec![],
        })
        .await;
    assert_eq!(login.unwrap_err(), AuthError::InvalidCredentials);
}

#[tokio::test]
async fn an_account_is_never_joined_by_email() {
    let f = fixture_with(true);
    let ana = User::new(
        "ana-id",
        Username::parse("ana").unwrap(),
        "x".into(),
        vec![],
        T0,
    );
    f.store.create_user(&ana).await.unwrap();
    let address = Email::parse("ana@example.com").unwrap();
    crate::ports::EmailStore::set_email(f.store.as_ref(), &ana, &address, true)
        .await
        .unwrap();
    // The provider vouches for ana's (verified) address: still a new account, without it.
    let issued = f.sign_in().await.unwrap();
    let user = f.user_of(&issued).await;
    assert_ne!(user.user_id, "ana-id");
    assert_eq!(user.email, None);
    // Nor named after it.
    assert!(
        user.username.as_str().starts_with("op-"),
        "{}",
        user.username
    );
    // An unverified address is not taken either (nor used as a username).
    *f.op.overrides.lock().unwrap() =
        json!({"sub": "sub-2", "email": "bo@example.com", "email_verified": false});
    let bo = f.user_of(&f.sign_in().await.unwrap()).await;
    assert_eq!(bo.email, None);
    assert!(bo.username.as_str().starts_with("op-"), "{}", bo.username);
}

#[tokio::test]
async fn a_state_works_once_in_its_own_browser_for_ten_minutes() {
    let f = fixture_with(true);
    let (state, binding) = f.begin().await;
    // Another browser (no cookie, or another flow's): refused, and the flow is spent.
    assert_eq!(
        f.callback(&state, None).await.result.err().unwrap().code(),
        "invalid_state"
    );
    let replay = f.callback(&state, Some(&binding)).await;
    assert_eq!(replay.result.err().unwrap().code(), "invalid_state");
    assert_eq!(replay.redirect_to, None);
    let (state, _) = f.begin().await;
    let (_, other_cookie) = f.begin().await;
    let wrong = f.callback(&state, Some(&other_cookie)).await;
    assert_eq!(wrong.result.err().unwrap().code(), "invalid_state");
    // A flow's own target comes back even when refused (it is on the allowlist).
    assert_eq!(
        wrong.redirect_to.as_deref(),
        Some("https://app.example/signed-in")
    );
    // Expired.
    let (state, binding) = f.begin().await;
    f.clock.advance(FLOW_TTL);
    let late = f.callback(&state, Some(&binding)).await;
    assert_eq!(late.result.err().unwrap().code(), "invalid_state");
    // Forged: not one of ours.
    let forged = f.callback("forged", Some(&binding)).await;
    assert_eq!(forged.result.err().unwrap().code(), "invalid_state");
    assert!(
        f.op.exchanges.lock().unwrap().is_empty(),
        "no code was exchanged"
    );
}

#[tokio::test]
async fn a_bad_id_token_ends_the_flow_with_no_user_and_no_session() {
    for (claims, why) in [
        (json!({"nonce": "another"}), "nonce"),
        (json!({"aud": "client-2"}), "audience"),
        (json!({"iss": "https://evil.example"}), "issuer"),
        (json!({"exp": T0 - 61}), "expired"),
        (json!({"nonce": null}), "no nonce"),
    ] {
        let f = fixture_with(true);
        *f.op.overrides.lock().unwrap() = claims;
        assert_eq!(f.sign_in().await.err(), Some("invalid_id_token"), "{why}");
        assert!(f.store.identity("op", "sub-1").await.unwrap().is_none());
        assert!(f
            .store
            .get_user(&Username::parse("ana@example.com").unwrap())
            .await
            .unwrap()
            .is_none());
    }
}

#[tokio::test]
async fn an_unknown_kid_refetches_the_keys_at_most_once_a_minute() {
    let f = fixture_with(true);
    f.sign_in().await.unwrap();
    assert_eq!(f.op.jwks_fetches.load(Ordering::SeqCst), 1);
    // The provider rotates: the new key is found by one refetch...
    f.clock.advance(61);
    let der = generate(SigningAlg::Rs256).unwrap();
    let (encoding, verify) = check_private_key(
        SigningAlg::Rs256,
        secrecy::ExposeSecret::expose_secret(&der),
    )
    .unwrap();
    let mut jwk = verify.jwk().unwrap();
    jwk["kid"] = json!("k2");
    *f.op.jwks.lock().unwrap() = json!({ "keys": [jwk] });
    *f.op.kid.lock().unwrap() = "k2".into();
    // (The fake signs with its first key under the new kid: refused, after one refetch.)
    assert_eq!(f.sign_in().await.err(), Some("invalid_id_token"));
    assert_eq!(f.op.jwks_fetches.load(Ordering::SeqCst), 2);
    // ...and within the minute, tokens with unknown kids cost no fetch at all.
    *f.op.kid.lock().unwrap() = "k3".into();
    for _ in 0..5 {
        assert_eq!(f.sign_in().await.err(), Some("invalid_id_token"));
    }
    assert_eq!(f.op.jwks_fetches.load(Ordering::SeqCst), 2);
    drop(encoding);
}

#[tokio::test]
async fn a_provider_that_is_down_is_temporarily_unavailable() {
    let f = fixture_with(true);
    f.op.down.store(true, Ordering::SeqCst);
    let start = f.svc.oauth_start("op", &format!("{APP}/x"), API).await;
    assert_eq!(start.unwrap_err().code(), "temporarily_unavailable");
    f.op.down.store(false, Ordering::SeqCst);
    let (state, binding) = f.begin().await;
    f.op.down.store(true, Ordering::SeqCst);
    let down = f.callback(&state, Some(&binding)).await;
    assert_eq!(down.result.err().unwrap().code(), "temporarily_unavailable");
}

#[tokio::test]
async fn without_sign_up_an_unknown_identity_gets_no_account() {
    let f = fixture_with(false);
    assert_eq!(f.sign_in().await.err(), Some("signup_disabled"));
    assert!(f.store.identity("op", "sub-1").await.unwrap().is_none());
}

#[tokio::test]
async fn linking_and_the_last_sign_in_method() {
    let f = fixture_with(true);
    // A federated user: its identity is its only way in.
    let issued = f.sign_in().await.unwrap();
    let user = f.user_of(&issued).await;
    let caller = Caller {
        user_id: user.user_id.clone(),
        username: user.username.clone(),
        session_id: issued.session_id.clone(),
    };
    assert_eq!(
        f.svc.unlink_identity(&caller, "op").await.unwrap_err(),
        AuthError::LastSignInMethod
    );
    assert_eq!(
        f.svc.unlink_identity(&caller, "other").await.unwrap_err(),
        AuthError::IdentityNotFound
    );
    // A password user links an identity, then unlinks it (the password remains).
    let hash = Passwords::with_params(8, 1, 1)
        .unwrap()
        .hash_blocking("password-1")
        .unwrap();
    let pw = User::new("pw-id", Username::parse("carol").unwrap(), hash, vec![], T0);
    f.store.create_user(&pw).await.unwrap();
    let login = f
        .svc
        .login(LoginInput {
            username: "carol".into(),
            password: "password-1".to_string().into(),
            device_id: "d".into(),
            device_tokens: vec![],
        })
        .await
        .unwrap();
    let carol = Caller {
        user_id: "pw-id".into(),
        username: pw.username.clone(),
        session_id: login.session_id,
    };
    let link = |caller: Caller, sub: &'static str| {
        let f = &f;
        async move {
            let flow = f
                .svc
                .oauth_link(&caller, "op", &format!("{APP}/linked"), API)
                .await
                .unwrap();
            *f.op.nonce.lock().unwrap() = param(&flow.authorize_url, "nonce");
            *f.op.overrides.lock().unwrap() = json!({ "sub": sub });
            let state = param(&flow.authorize_url, "state");
            f.callback(&state, Some(&flow.binding)).await.result
        }
    };
    // sub-1 is the federated user's: taken.
    let taken = link(carol.clone(), "sub-1").await;
    assert_eq!(taken.err().unwrap().code(), "identity_taken");
    assert!(matches!(
        link(carol.clone(), "sub-9").await,
        Ok(Landed::Linked)
    ));
    let stored = f.store.get_user(&pw.username).await.unwrap().unwrap();
    assert_eq!(stored.identity_at("op").unwrap().subject, "sub-9");
    // One per provider.
    let second = link(carol.clone(), "sub-10").await;
    assert_eq!(second.err().unwrap().code(), "already_linked");
    // Signing in with sub-9 is carol now.
    *f.op.overrides.lock().unwrap() = json!({ "sub": "sub-9" });
    let (state, binding) = f.begin().await;
    *f.op.overrides.lock().unwrap() = json!({ "sub": "sub-9" });
    match f.callback(&state, Some(&binding)).await.result {
        Ok(Landed::SignedIn(i)) => assert_eq!(f.user_of(&i).await.user_id, "pw-id"),
        _ => panic!("sub-9 did not sign in"),
    }
    f.svc.unlink_identity(&carol, "op").await.unwrap();
    assert!(f.store.identity("op", "sub-9").await.unwrap().is_none());
    assert!(f
        .store
        .get_user(&pw.username)
        .await
        .unwrap()
        .unwrap()
        .identities
        .is_empty());
    // With a passkey beside it, the identity may go; then the passkey is the last way in.
    let passkey = crate::domain::Passkey {
        credential_id: "cred-1".into(),
        username: user.username.clone(),
        user_id: user.user_id.clone(),
        name: "laptop".into(),
        public_key: vec![1],
        sign_count: 0,
        state: vec![],
        created_at: T0,
        last_used_at: None,
    };
    crate::ports::PasskeyStore::add_passkey(f.store.as_ref(), &passkey)
        .await
        .unwrap();
    f.svc.unlink_identity(&caller, "op").await.unwrap();
    assert_eq!(
        f.svc.remove_passkey(&caller, "cred-1").await.unwrap_err(),
        AuthError::LastSignInMethod
    );
    assert_eq!(
        f.svc.remove_passkey(&caller, "cred-2").await.unwrap_err(),
        AuthError::PasskeyNotFound
    );
}
