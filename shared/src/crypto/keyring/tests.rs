use super::*;
use crate::adapters::memory::{key_set, FakeClock, StaticKeySource};
use crate::ports::{KeyMaterial, KeySet};
use secrecy::ExposeSecret;

fn ring(source: &Arc<StaticKeySource>, clock: &Arc<FakeClock>, ttl: u64) -> KeyRing {
    KeyRing::new(source.clone(), SigningAlg::Hs256, clock.clone(), ttl)
}

#[test]
fn secret_json_is_parsed_and_short_keys_refused() {
    let key = [9u8; 32];
    let hs = SigningAlg::Hs256;
    let rendered = render_signing_secret(hs, &key.to_vec().into(), None);
    assert_eq!(
        parse_signing_secret(hs, rendered.expose_secret())
            .unwrap()
            .signing
            .expose_secret(),
        key
    );
    let short = render_signing_secret(hs, &vec![1u8; 31].into(), None);
    assert!(matches!(
        parse_signing_secret(hs, short.expose_secret()),
        Err(KeyError::TooShort(31))
    ));
    assert!(matches!(
        parse_signing_secret(hs, "{\"signing_key\": \"***\"}"),
        Err(KeyError::Malformed(_))
    ));
    assert!(matches!(
        parse_signing_secret(hs, "plain text"),
        Err(KeyError::Malformed(_))
    ));
}

#[tokio::test]
async fn caches_for_the_ttl_then_reloads() {
    let source = Arc::new(StaticKeySource::new(key_set(("v1", 1), None)));
    let clock = Arc::new(FakeClock::new(1_000));
    let ring = ring(&source, &clock, 300);
    assert_eq!(ring.current().await.unwrap().kid, "v1");
    assert_eq!(ring.current().await.unwrap().kid, "v1");
    assert_eq!(source.loads(), 1);

    source.set(key_set(("v2", 2), Some(("v1", 1))));
    clock.advance(299);
    assert_eq!(ring.current().await.unwrap().kid, "v1");
    clock.advance(1);
    assert_eq!(ring.current().await.unwrap().kid, "v2");
    assert!(ring.key_for("v1").await.unwrap().is_some());
    assert_eq!(source.loads(), 2);
}

#[tokio::test]
async fn unknown_kids_reload_at_most_once_per_interval() {
    let source = Arc::new(StaticKeySource::new(key_set(("v1", 1), None)));
    let clock = Arc::new(FakeClock::new(1_000));
    let ring = ring(&source, &clock, 300);
    for i in 0..100 {
        assert!(ring
            .key_for(&format!("forged-{i}"))
            .await
            .unwrap()
            .is_none());
    }
    assert_eq!(
        source.loads(),
        2,
        "one initial load, one rate-limited reload"
    );

    // A genuinely new version is picked up on its first sighting after the interval.
    source.set(key_set(("v2", 2), Some(("v1", 1))));
    clock.advance(UNKNOWN_KID_RELOAD_INTERVAL);
    assert!(ring.key_for("v2").await.unwrap().is_some());
    assert_eq!(source.loads(), 3);
}

#[tokio::test]
async fn keeps_serving_cached_keys_while_the_source_is_down() {
    let source = Arc::new(StaticKeySource::new(key_set(("v1", 1), None)));
    let clock = Arc::new(FakeClock::new(1_000));
    let ring = ring(&source, &clock, 60);
    ring.current().await.unwrap();
    source.fail(true);
    clock.advance(61);
    assert_eq!(ring.current().await.unwrap().kid, "v1");
    assert!(ring.key_for("v1").await.unwrap().is_some());
}

#[tokio::test]
async fn with_no_key_at_all_a_failed_source_is_an_error() {
    let source = Arc::new(StaticKeySource::new(key_set(("v1", 1), None)));
    source.fail(true);
    let ring = ring(&source, &Arc::new(FakeClock::new(0)), 60);
    assert!(ring.current().await.is_err());
}

#[tokio::test]
async fn refuses_a_current_key_shorter_than_32_bytes() {
    let source = Arc::new(StaticKeySource::new(KeySet {
        current: KeyMaterial {
            kid: "short".into(),
            secret: vec![1; 16].into(),
        },
        previous: None,
        pending: None,
        next: None,
    }));
    let ring = ring(&source, &Arc::new(FakeClock::new(0)), 60);
    assert!(matches!(ring.current().await, Err(KeyError::TooShort(16))));
}
