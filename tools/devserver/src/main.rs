//! `make dev`: provisions the local engines (tables, signing secret, demo user; idempotent),
//! prints the variables `authctl` needs, and serves the whole API on 127.0.0.1:$PORT until
//! SIGINT or SIGTERM. `scripts/dev.sh` starts and stops the engines around it.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use devserver::{serve, DevServer};
use shared::aws::setup::SetupError;
use shared::config::ConfigError;
use shared::error::Chain;
use shared::service::admin::{create_user, AdminError};

const DEMO_USER: &str = "demo";
const DEMO_PASSWORD: &str = "demo-password-123";
/// The Secrets Manager id of provider `dev`'s client secret (created on first `make dev`).
const DEV_CLIENT_SECRET_ID: &str = "lambda-jwt-auth/oidc-dev-client-secret";

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("devserver: {}", Chain(&e));
            ExitCode::FAILURE
        }
    }
}

/// Why the dev server could not start; the causes are kept for the one line `main` prints.
#[derive(Debug, thiserror::Error)]
enum DevError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("{name} must be {expected} (got {value:?})")]
    Setting {
        name: &'static str,
        expected: &'static str,
        value: String,
    },
    #[error("provisioning the local engines")]
    Setup(#[from] SetupError),
    #[error("creating the demo user")]
    DemoUser(#[source] AdminError),
    #[error("cannot listen on 127.0.0.1:{port}")]
    Listen {
        port: u16,
        #[source]
        source: std::io::Error,
    },
}

async fn run() -> Result<(), DevError> {
    shared::telemetry::init_to_stderr();
    let port: u16 = match std::env::var("PORT") {
        Ok(p) => p.parse().map_err(|_| DevError::Setting {
            name: "PORT",
            expected: "a port number",
            value: p,
        })?,
        Err(_) => 3000,
    };
    let mut cfg = shared::Config::from_env()?;
    // The issuer is the URL that serves the discovery document (as a deployment's should be),
    // unless TOKEN_ISSUER says otherwise.
    if std::env::var_os("TOKEN_ISSUER").is_none() {
        cfg.tokens.issuer = format!("http://127.0.0.1:{port}");
    }
    // The SAM template's default (AuthorizerCacheTtl, or SessionAuthorizerCacheTtl when the
    // authorizer checks sessions); 0 runs the authorizer on every request.
    let default_ttl = match cfg.authorizer.revocation {
        shared::config::AuthorizerRevocation::Off => 300,
        shared::config::AuthorizerRevocation::Session => 5,
    };
    let cache_ttl: u64 = match std::env::var("AUTHORIZER_CACHE_TTL") {
        Ok(t) => t
            .parse()
            .ok()
            .filter(|t| *t <= 3600)
            .ok_or_else(|| DevError::Setting {
                name: "AUTHORIZER_CACHE_TTL",
                expected: "0..3600 seconds",
                value: t,
            })?,
        Err(_) => default_ttl,
    };
    // Mail stays on this machine: the outbox, listed at /_dev/mail. A sender and the app the
    // links lead to (this server's demo page) unless EMAIL_FROM / APP_URL say otherwise.
    if cfg.email.from.is_none() {
        cfg.email.from = Some("no-reply@example.com".into());
    }
    if std::env::var_os("APP_URL").is_none() {
        cfg.email.app_url = Some(format!("http://localhost:{port}"));
        // Passkeys too: the relying party is `localhost` (an IP address cannot be one), so the
        // demo page must be opened as http://localhost:PORT.
        if std::env::var_os("WEBAUTHN_RP_ID").is_none() {
            cfg.passkeys.rp_id = Some("localhost".into());
            cfg.passkeys
                .origins
                .insert(0, format!("http://localhost:{port}"));
        }
    }
    let outbox = Arc::new(shared::adapters::outbox::Outbox::new(Arc::new(
        shared::ports::SystemClock,
    )));
    // The local OpenID provider (one more engine) as provider `dev`, unless OIDC_PROVIDERS
    // names the providers itself.
    if std::env::var_os("OIDC_PROVIDERS").is_none() {
        if let Ok(issuer) = std::env::var("OIDC_DEV_ISSUER") {
            cfg.oauth.providers = vec![shared::config::OidcProvider {
                id: "dev".into(),
                issuer,
                client_id: "lambda-jwt-auth-dev".into(),
                // A confidential client, as most deployments' are (the local provider takes
                // any secret): the secret is read from Secrets Manager like a real one.
                client_secret_id: Some(DEV_CLIENT_SECRET_ID.into()),
                scopes: vec!["openid".into(), "email".into(), "profile".into()],
            }];
        }
    }
    // Flows return to the demo page, and providers send the browser back to this server as
    // http://localhost:PORT (the host the demo page is opened on: the flow cookie is set there).
    if std::env::var_os("OAUTH_REDIRECT_ALLOWLIST").is_none() {
        cfg.oauth.redirect_allowlist = vec![
            format!("http://localhost:{port}"),
            format!("http://127.0.0.1:{port}"),
        ];
    }
    if std::env::var_os("API_URL").is_none() {
        cfg.oauth.api_url = Some(format!("http://localhost:{port}"));
    }
    let app = shared::app::App::from_config_with_mailer(cfg, outbox.clone())
        .with_passkeys()
        .with_oauth();
    shared::aws::setup::ensure_tables(&app.dynamodb, &app.cfg).await?;
    shared::aws::setup::ensure_signing_secret(&app.secrets, &app.cfg).await?;
    shared::aws::setup::ensure_mfa_key_secret(&app.secrets, &app.cfg).await?;
    shared::aws::setup::ensure_client_secrets(&app.secrets, &app.cfg).await?;
    match create_user(
        app.store.as_ref(),
        &shared::crypto::password::Passwords::default(),
        app.clock.as_ref(),
        DEMO_USER,
        DEMO_PASSWORD.into(),
        vec!["demo".to_string()],
    )
    .await
    {
        Ok(_) | Err(AdminError::Duplicate(_)) => {}
        Err(e) => return Err(DevError::DemoUser(e)),
    }

    // What authctl needs, one NAME=value per line (the credentials are dummies the local
    // engines accept; any will do).
    for name in [
        "AWS_REGION",
        "AWS_ENDPOINT_URL_DYNAMODB",
        "AWS_ENDPOINT_URL_SECRETS_MANAGER",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "OIDC_DEV_ISSUER",
    ] {
        println!("{name}={}", std::env::var(name).unwrap_or_default());
    }
    println!("USERS_TABLE={}", app.cfg.tables.users);
    println!("SESSIONS_TABLE={}", app.cfg.tables.sessions);
    println!("SIGNING_SECRET_ID={}", app.cfg.signing.secret_id);
    println!("SIGNING_ALG={}", app.cfg.signing.alg);
    if app.cfg.signing.alg.is_asymmetric() {
        println!(
            "PUBLIC_KEYS_SECRET_ID={}",
            app.cfg.signing.public_keys_secret_id
        );
    }
    println!("# demo user: {DEMO_USER} / {DEMO_PASSWORD}");
    println!("# issuer (TOKEN_ISSUER): {}", app.cfg.tokens.issuer);
    match &app.cfg.passkeys.rp_id {
        Some(rp) if rp == "localhost" => println!(
            "# demo page with passkeys: http://localhost:{port}/ (the relying party is localhost; an IP address cannot be one)"
        ),
        Some(rp) => println!("# passkeys: relying party {rp}"),
        None => println!("# passkeys: off (no WEBAUTHN_RP_ID, and APP_URL names no domain)"),
    }
    for p in &app.cfg.oauth.providers {
        println!("# OpenID provider {}: {}", p.id, p.issuer);
    }
    println!("# mail stays here: http://127.0.0.1:{port}/dev-mail (JSON: /_dev/mail)");
    println!("# authorizer answers cached {cache_ttl} s per Authorization header, as API Gateway (AUTHORIZER_CACHE_TTL)");
    if app.cfg.authorizer.revocation == shared::config::AuthorizerRevocation::Session {
        println!("# the authorizer checks each token's session in DynamoDB (AUTHORIZER_REVOCATION=session)");
    }

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|source| DevError::Listen { port, source })?;
    // As deployed: in an asymmetric mode the authorizer and discovery read only the public keys.
    let verify_keys =
        shared::app::verify_key_ring(app.secrets.clone(), &app.cfg, app.clock.clone());
    let authorizer = Arc::new(shared::app::authorizer(
        &app.cfg,
        verify_keys.clone(),
        app.clock.clone(),
        Some(app.store.clone()),
    ));
    let server = Arc::new(DevServer {
        api: app.api(),
        config: app.cfg.clone(),
        authorizer,
        authorizer_cache: devserver::AuthorizerCache::new(Duration::from_secs(cache_ttl)),
        public_keys: app.cfg.signing.alg.is_asymmetric().then_some(verify_keys),
        outbox: Some(outbox),
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
