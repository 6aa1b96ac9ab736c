//! Refresh under concurrency through the dev server (`make bench`): S sessions, each refreshed
//! R times in a row by its own client, all clients at once, plus C clients presenting one and
//! the same token together (the grace path). Reports any 5xx and checks no session was lost:
//! every final token still refreshes. Usage: refresh_load <port> [sessions] [rounds]

use std::time::Instant;

use integration_tests::http_client::request;
use serde_json::json;

async fn login(port: u16) -> String {
    let r = request(
        port,
        "POST",
        "/auth/login",
        &[("Content-Type", "application/json")],
        &json!({"username": "demo", "password": "demo-password-123"}).to_string(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["refresh_token"].as_str().unwrap().to_string()
}

async fn refresh(port: u16, token: &str) -> (u16, Option<String>) {
    let r = request(
        port,
        "POST",
        "/auth/refresh",
        &[("Cookie", &format!("refresh_token={token}"))],
        "",
    )
    .await;
    let next = (r.status == 200).then(|| r.json()["refresh_token"].as_str().unwrap().to_string());
    (r.status, next)
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let port: u16 = args.next().expect("port").parse().unwrap();
    let sessions: usize = args.next().map(|v| v.parse().unwrap()).unwrap_or(16);
    let rounds: usize = args.next().map(|v| v.parse().unwrap()).unwrap_or(20);

    let mut tokens = Vec::new();
    for _ in 0..sessions {
        tokens.push(login(port).await);
    }
    let started = Instant::now();
    let workers: Vec<_> = tokens
        .into_iter()
        .map(|mut token| {
            tokio::spawn(async move {
                let mut statuses = Vec::new();
                for _ in 0..rounds {
                    let (status, next) = refresh(port, &token).await;
                    statuses.push(status);
                    if let Some(next) = next {
                        token = next;
                    }
                }
                (statuses, token)
            })
        })
        .collect();
    let (mut ok, mut other, mut server_errors, mut lost) = (0, 0, 0, 0);
    let mut finals = Vec::new();
    for w in workers {
        let (statuses, token) = w.await.unwrap();
        for s in statuses {
            match s {
                200 => ok += 1,
                500..=599 => server_errors += 1,
                _ => other += 1,
            }
        }
        finals.push(token);
    }
    let elapsed = started.elapsed();
    for token in &finals {
        if refresh(port, token).await.0 != 200 {
            lost += 1;
        }
    }
    // One token, many tabs at once.
    let shared = login(port).await;
    let tabs: Vec<_> = (0..8)
        .map(|_| {
            let t = shared.clone();
            tokio::spawn(async move { refresh(port, &t).await })
        })
        .collect();
    let mut successors = Vec::new();
    let mut tab_errors = 0;
    for t in tabs {
        match t.await.unwrap() {
            (200, Some(next)) => successors.push(next),
            _ => tab_errors += 1,
        }
    }
    successors.dedup();
    let total = sessions * rounds;
    println!(
        "refresh load: {sessions} sessions x {rounds} rounds = {total} refreshes in {:.2} s ({:.0}/s)",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64()
    );
    println!("  200: {ok}, other 4xx: {other}, 5xx: {server_errors}, sessions lost: {lost}");
    println!(
        "  8 tabs refreshing one token at once: {} ok, {tab_errors} failed, {} distinct successor(s)",
        8 - tab_errors,
        successors.len()
    );
    if server_errors > 0 || lost > 0 || other > 0 || tab_errors > 0 || successors.len() != 1 {
        std::process::exit(1);
    }
}
