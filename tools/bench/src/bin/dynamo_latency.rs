//! Refresh and logout handler latency against DynamoDB Local vs a bare GetItem, interleaved
//! in one run (`make bench`, under the local engines). Usage: dynamo_latency [rounds]

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
    let env = TestEnv::with(|c| c.max_sessions_per_user = 1000).await;
    env.create_user("bench", "bench-password-1", &[]).await;
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
            .table_name(&env.cfg.sessions_table)
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
    for (name, v) in [("refresh handler", refresh), ("logout handler", logout)] {
        let m = median(v);
        println!("  {name:<27} {m:6.2} ms   {:.2}x", m / base);
    }
}
