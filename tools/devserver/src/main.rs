//! `make dev`: provisions the local engines (tables, signing secret, demo user; idempotent),
//! prints the variables `authctl` needs, and serves the whole API on 127.0.0.1:$PORT until
//! SIGINT or SIGTERM. `scripts/dev.sh` starts and stops the engines around it.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use devserver::{serve, DevServer};
use shared::admin::{create_user, AdminError};
use shared::authorizer::Authorizer;

const DEMO_USER: &str = "demo";
const DEMO_PASSWORD: &str = "demo-password-123";

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("devserver: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), String> {
    shared::telemetry::init_to_stderr();
    let cfg = shared::Config::from_env().map_err(|e| e.to_string())?;
    let port: u16 = match std::env::var("PORT") {
        Ok(p) => p
            .parse()
            .map_err(|_| format!("PORT must be a port number (got {p:?})"))?,
        Err(_) => 3000,
    };
    // The SAM template's AuthorizerCacheTtl default; 0 runs the authorizer on every request.
    let cache_ttl: u64 =
        match std::env::var("AUTHORIZER_CACHE_TTL") {
            Ok(t) => t.parse().ok().filter(|t| *t <= 3600).ok_or_else(|| {
                format!("AUTHORIZER_CACHE_TTL must be 0..3600 seconds (got {t:?})")
            })?,
            Err(_) => 300,
        };
    let app = shared::app::App::from_config(cfg);
    shared::setup::ensure_tables(&app.dynamodb, &app.cfg)
        .await
        .map_err(|e| format!("creating tables: {e}"))?;
    shared::setup::ensure_signing_secret(&app.secrets, &app.cfg.signing_secret_id)
        .await
        .map_err(|e| format!("creating the signing secret: {e}"))?;
    match create_user(
        app.store.as_ref(),
        &shared::password::Passwords::default(),
        app.clock.as_ref(),
        DEMO_USER,
        DEMO_PASSWORD.to_string(),
        vec!["demo".to_string()],
    )
    .await
    {
        Ok(_) | Err(AdminError::Duplicate(_)) => {}
        Err(e) => return Err(format!("creating the demo user: {e}")),
    }

    // What authctl needs, one NAME=value per line (the credentials are dummies the local
    // engines accept; any will do).
    for name in [
        "AWS_REGION",
        "AWS_ENDPOINT_URL_DYNAMODB",
        "AWS_ENDPOINT_URL_SECRETS_MANAGER",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
    ] {
        println!("{name}={}", std::env::var(name).unwrap_or_default());
    }
    println!("USERS_TABLE={}", app.cfg.users_table);
    println!("SESSIONS_TABLE={}", app.cfg.sessions_table);
    println!("SIGNING_SECRET_ID={}", app.cfg.signing_secret_id);
    println!("# demo user: {DEMO_USER} / {DEMO_PASSWORD}");
    println!("# authorizer answers cached {cache_ttl} s per Authorization header, as API Gateway (AUTHORIZER_CACHE_TTL)");

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| format!("cannot listen on 127.0.0.1:{port}: {e}"))?;
    let authorizer = Arc::new(Authorizer::new(
        &app.cfg,
        app.keys.clone(),
        app.clock.clone(),
    ));
    let server = Arc::new(DevServer {
        service: app.service.clone(),
        authorizer,
        authorizer_cache: devserver::AuthorizerCache::new(Duration::from_secs(cache_ttl)),
    });
    println!("ready on http://127.0.0.1:{port}");
    serve(listener, server, shutdown_signal()).await;
    eprintln!("devserver: stopped");
    Ok(())
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
