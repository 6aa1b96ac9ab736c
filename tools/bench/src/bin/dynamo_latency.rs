//! Refresh and logout handler latency against DynamoDB Local vs a bare GetItem, interleaved
//! in one run (`make bench`, under the local engines); and the authorizer per event with
//! `AUTHORIZER_REVOCATION=session` (its one BatchGetItem) vs the offline authorizer and vs the
//! same bare GetItem. Usage: dynamo_latency [rounds]

use std::time::{Duration, Instant};

use integration_tests::*;
use serde_json::json;
use shared::http::handlers::Endpoint;

fn median(mut v: Vec<Duration>) -> f64 {
    v.sort();
    v[v.len() / 2].as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .map(|r| r.parse().unwrap())
        .unwrap_or(200);
    let env = TestEnv::with(|c| c.sessions.max_per_user = 1000).await;
    env.create_user("bench", "bench-password-1", &[]).await;
    let access = body(&env.login("bench", "bench-password-1").await)["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let mut event = load_event("authorizer-v2.json");
    event["headers"]["authorization"] = json!(format!("Bearer {access}"));
    let event = event.to_string();
    let offline = shared::app::authorizer(&env.cfg, env.verify_ring(), env.clock.clone(), None);
    let mut session_cfg = env.cfg.clone();
    session_cfg.authorizer.revocation = shared::config::AuthorizerRevocation::Session;
    let checking = shared::app::authorizer(
        &session_cfg,
        env.verify_ring(),
        env.clock.clone(),
        Some(env.app.store.clone()),
    );
    async fn authorize(authorizer: &shared::service::authorizer::Authorizer, event: &str) {
        let request: shared::http::authorizer_event::AuthorizerRequest =
            serde_json::from_str(event).unwrap();
        let answer = authorizer.handle(&request).await.unwrap();
        assert!(serde_json::to_string(&answer)
            .unwrap()
            .contains("\"isAuthorized\":true"));
    }
    authorize(&offline, &event).await;
    authorize(&checking, &event).await;
    let (mut offline_t, mut checking_t) = (Vec::new(), Vec::new());
    let mut chain = env.login_token("bench", "bench-password-1").await;
    let mut to_logout = Vec::new();
    for _ in 0..rounds {
        to_logout.push(env.login_token("bench", "bench-password-1").await);
    }
    let parsed = shared::domain::RefreshToken::parse(&chain).unwrap();
    let (mut get, mut refresh, mut logout) = (Vec::new(), Vec::new(), Vec::new());
    for token in to_logout {
        let t = Instant::now();
        env.app
            .dynamodb
            .get_item()
            .table_name(&env.cfg.tables.sessions)
            .key(
                "username",
                aws_sdk_dynamodb::types::AttributeValue::S("bench".into()),
            )
            .key(
                "session_id",
                aws_sdk_dynamodb::types::AttributeValue::S(parsed.session_id.clone()),
            )
            .consistent_read(true)
            .send()
            .await
            .unwrap();
        get.push(t.elapsed());

        let t = Instant::now();
        authorize(&checking, &event).await;
        checking_t.push(t.elapsed());
        let t = Instant::now();
        authorize(&offline, &event).await;
        offline_t.push(t.elapsed());

        let t = Instant::now();
        chain = refresh_token_of(&env.refresh_with_body(&chain).await);
        refresh.push(t.elapsed());

        let t = Instant::now();
        let out = env
            .invoke(
                Endpoint::Logout,
                logout_event(Some(&json!({ "refresh_token": token }).to_string()), &[]),
            )
            .await;
        assert_eq!(status(&out), 204);
        logout.push(t.elapsed());
    }
    let base = median(get);
    println!("DynamoDB Local, median of {rounds}, interleaved (same run)");
    println!("  bare GetItem (consistent)   {base:6.2} ms   1.00x");
    let (offline_ms, checking_ms) = (median(offline_t), median(checking_t));
    for (name, m) in [
        ("refresh handler", median(refresh)),
        ("logout handler", median(logout)),
        ("authorizer, session check", checking_ms),
        ("authorizer, offline", offline_ms),
    ] {
        println!("  {name:<27} {m:6.3} ms   {:.2}x", m / base);
    }
    println!(
        "  authorizer per event, AUTHORIZER_REVOCATION=session vs off: {:.0}x",
        checking_ms / offline_ms
    );
}
