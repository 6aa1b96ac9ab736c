//! The relying party against ceremonies a real browser answered: Chromium's virtual
//! authenticator (CTAP2, internal, resident key, user verification), recorded by
//! `scripts/record-webauthn-fixture.py` from `make dev` with the server state the service kept.
//! No engine: the checks are the relying party's alone. The recorded states expired minutes
//! after recording, so each test moves their expiry (the last field the crate encodes, a
//! little-endian `u64` of seconds and a `u32` of nanoseconds) to five minutes from now; the
//! challenge, the origin and every signed byte are as recorded.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::Value;
use shared::config::Passkeys;
use shared::crypto::webauthn::WebAuthnRp;
use shared::domain::{Passkey, Username};
use shared::ports::{RelyingParty, WebAuthnError};

fn fixture() -> Value {
    let path = integration_tests::repo_root().join("tests/fixtures/webauthn/chromium-es256.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn rp(f: &Value) -> WebAuthnRp {
    WebAuthnRp::new(&Passkeys {
        rp_id: Some(f["rp_id"].as_str().unwrap().to_string()),
        rp_name: "test".into(),
        origins: vec![f["origin"].as_str().unwrap().to_string()],
    })
    .unwrap()
}

/// The recorded state with its expiry, `from_end` bytes before the end, set 300 s from now.
fn live_state(state: &Value, from_end: usize) -> Vec<u8> {
    state_expiring(state, from_end, 300)
}

/// The recorded state with its expiry `in_secs` from now (negative: past).
fn state_expiring(state: &Value, from_end: usize, in_secs: i64) -> Vec<u8> {
    let mut bytes = URL_SAFE_NO_PAD.decode(state.as_str().unwrap()).unwrap();
    let at = bytes.len() - from_end - 12;
    let recorded = u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap());
    // 2026-01-01 .. 2100-01-01: the field is where the format puts it.
    assert!(
        (1_767_225_600..4_102_444_800).contains(&recorded),
        "{recorded}"
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let soon = now.checked_add_signed(in_secs).unwrap();
    bytes[at..at + 8].copy_from_slice(&soon.to_le_bytes());
    bytes
}

/// The registration's state (the 32-byte user handle follows the expiry) and answer.
fn registration(f: &Value) -> (Vec<u8>, Vec<u8>) {
    (
        live_state(&f["registration"]["state"], 32),
        serde_json::to_vec(&f["registration"]["credential"]).unwrap(),
    )
}

fn login(f: &Value) -> (Vec<u8>, Value) {
    (
        live_state(&f["login"]["state"], 0),
        f["login"]["credential"].clone(),
    )
}

fn registered(f: &Value) -> Passkey {
    let (state, credential) = registration(f);
    let new = rp(f).verify_registration(&state, &credential).unwrap();
    Passkey {
        credential_id: new.credential_id,
        username: Username::parse("demo").unwrap(),
        user_id: f["user_id"].as_str().unwrap().to_string(),
        name: "laptop".into(),
        public_key: new.public_key,
        sign_count: new.sign_count,
        state: new.state,
        created_at: 0,
        last_used_at: None,
    }
}

fn refused(result: Result<impl std::fmt::Debug, WebAuthnError>) -> String {
    match result {
        Err(WebAuthnError::Refused(why)) => why,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// `clientDataJSON` of `credential` with `change` applied (the signature then covers the
/// original bytes only).
fn with_client_data(credential: &Value, change: impl Fn(&mut Value)) -> Value {
    let mut credential = credential.clone();
    let raw = credential["response"]["clientDataJSON"].as_str().unwrap();
    let mut data: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(raw).unwrap()).unwrap();
    change(&mut data);
    credential["response"]["clientDataJSON"] =
        Value::String(URL_SAFE_NO_PAD.encode(serde_json::to_vec(&data).unwrap()));
    credential
}

#[test]
fn chromiums_registration_and_assertion_verify() {
    let f = fixture();
    let passkey = registered(&f);
    assert_eq!(passkey.credential_id, f["registration"]["credential"]["id"]);
    let (state, assertion) = login(&f);
    assert_eq!(
        rp(&f)
            .assertion_credential_id(&serde_json::to_vec(&assertion).unwrap())
            .unwrap(),
        passkey.credential_id
    );
    let used = rp(&f)
        .verify_assertion(&state, &serde_json::to_vec(&assertion).unwrap(), &passkey)
        .unwrap();
    assert!(used.sign_count > passkey.sign_count, "{used:?}");
}

#[test]
fn the_recorded_answers_are_refused_at_another_origin_or_rp_or_for_another_user() {
    let f = fixture();
    let passkey = registered(&f);
    let (reg_state, reg) = registration(&f);
    let (state, assertion) = login(&f);
    let assertion_bytes = serde_json::to_vec(&assertion).unwrap();

    // An RP whose only origin is another (the recorded one is then foreign).
    let mut other = f.clone();
    other["origin"] = "https://evil.example".into();
    refused(rp(&other).verify_registration(&reg_state, &reg));
    refused(rp(&other).verify_assertion(&state, &assertion_bytes, &passkey));
    // Another RP ID (the authenticator data hashes "localhost").
    let elsewhere = WebAuthnRp::new(&Passkeys {
        rp_id: Some("example.com".into()),
        rp_name: "test".into(),
        origins: vec![f["origin"].as_str().unwrap().to_string()],
    })
    .unwrap();
    refused(elsewhere.verify_assertion(&state, &assertion_bytes, &passkey));
    // The passkey stored as another user's: the user handle does not match.
    let mut theirs = passkey.clone();
    theirs.user_id = "someone-else".into();
    refused(rp(&f).verify_assertion(&state, &assertion_bytes, &theirs));
}

#[test]
fn the_recorded_assertion_is_refused_under_another_challenge_or_with_its_client_data_changed() {
    let f = fixture();
    let passkey = registered(&f);
    let (state, assertion) = login(&f);
    // The registration's state is another ceremony (another challenge, and not a sign-in).
    let (reg_state, _) = registration(&f);
    assert!(rp(&f)
        .verify_assertion(
            &reg_state,
            &serde_json::to_vec(&assertion).unwrap(),
            &passkey
        )
        .is_err());
    // A fresh sign-in ceremony's state: its challenge is not the one signed.
    let fresh = rp(&f).login_options().unwrap();
    refused(rp(&f).verify_assertion(
        &fresh.state,
        &serde_json::to_vec(&assertion).unwrap(),
        &passkey,
    ));
    for changed in [
        with_client_data(&assertion, |d| d["origin"] = "https://evil.example".into()),
        with_client_data(&assertion, |d| d["type"] = "webauthn.create".into()),
        with_client_data(&assertion, |d| d["crossOrigin"] = true.into()),
    ] {
        refused(rp(&f).verify_assertion(&state, &serde_json::to_vec(&changed).unwrap(), &passkey));
    }
}

#[test]
fn a_stored_counter_at_or_past_the_recorded_one_is_a_clone() {
    let f = fixture();
    let mut passkey = registered(&f);
    let (state, assertion) = login(&f);
    let assertion = serde_json::to_vec(&assertion).unwrap();
    let used = rp(&f)
        .verify_assertion(&state, &assertion, &passkey)
        .unwrap();
    // As if the real authenticator had signed in since with a higher counter.
    passkey.state = used.state.clone();
    passkey.sign_count = used.sign_count;
    let (state, _) = login(&f);
    assert!(matches!(
        rp(&f).verify_assertion(&state, &assertion, &passkey),
        Err(WebAuthnError::CounterRegressed)
    ));
}

#[test]
fn a_state_past_its_expiry_is_refused() {
    let f = fixture();
    let passkey = registered(&f);
    let (_, assertion) = login(&f);
    let expired = state_expiring(&f["login"]["state"], 0, -1);
    refused(rp(&f).verify_assertion(&expired, &serde_json::to_vec(&assertion).unwrap(), &passkey));
    let (_, credential) = registration(&f);
    let expired = state_expiring(&f["registration"]["state"], 32, -1);
    refused(rp(&f).verify_registration(&expired, &credential));
}
