//! `authctl`: administration of users, sessions and the signing key, with the same environment
//! variables as the functions. Exit 0 on success; otherwise one line on stderr and exit 1
//! (2 for a usage error).

use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use secrecy::zeroize::Zeroize;
use secrecy::{ExposeSecret, SecretString};
use shared::aws::rotation::RotationError;
use shared::config::ConfigError;
use shared::domain::rfc3339;
use shared::error::Chain;
use shared::service::admin::{self, AdminError};

#[derive(Parser)]
#[command(
    name = "authctl",
    version,
    about = "Administer lambda-jwt-auth users and sessions"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create, disable or enable users.
    #[command(subcommand)]
    User(UserCommand),
    /// List or revoke a user's sessions.
    #[command(subcommand)]
    Sessions(SessionsCommand),
    /// The signing secret.
    #[command(subcommand)]
    Secret(SecretCommand),
}

#[derive(Subcommand)]
enum SecretCommand {
    /// Rotate the signing key now: the rotation function's four steps, run locally. In an
    /// asymmetric mode it refuses within 2 h 5 min of the last rotation (verifiers may not
    /// have fetched the next key yet) unless --force (a leaked key).
    Rotate {
        #[arg(long)]
        force: bool,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user (prompts for the password without echo, or reads it from stdin).
    Create {
        username: String,
        /// A role for the access token's `roles` claim; repeat for several.
        #[arg(long = "role", value_name = "R")]
        roles: Vec<String>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Disable a user: login answers 403 and refresh fails at once.
    Disable { username: String },
    /// Enable a disabled user.
    Enable { username: String },
    /// Set a user's password (prompts twice, or reads stdin) and revoke all their sessions.
    SetPassword {
        username: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set a user's email address at once (no mail is sent); unverified unless --verified.
    SetEmail {
        username: String,
        email: String,
        /// Mark the address verified (the administrator vouches for it).
        #[arg(long)]
        verified: bool,
    },
    /// Turn a user's TOTP off and delete their recovery codes (a lost authenticator).
    MfaReset { username: String },
}

#[derive(Subcommand)]
enum SessionsCommand {
    /// List a user's sessions: id, device, created, last used, expires.
    List { username: String },
    /// Revoke one session or all of a user's sessions.
    Revoke(RevokeArgs),
}

#[derive(Args)]
#[group(required = true, multiple = false)]
struct RevokeTarget {
    /// The session id to revoke.
    #[arg(long = "session", value_name = "ID")]
    session: Option<String>,
    /// Revoke every session of the user.
    #[arg(long)]
    all: bool,
}

#[derive(Args)]
struct RevokeArgs {
    username: String,
    #[command(flatten)]
    target: RevokeTarget,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // The whole chain, once, on one line.
            eprintln!("authctl: error: {}", Chain(&e));
            ExitCode::FAILURE
        }
    }
}

/// Everything a command can fail with; the causes are kept for the one line `main` prints.
#[derive(Debug, thiserror::Error)]
enum CliError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Admin(#[from] AdminError),
    #[error("rotating the signing key")]
    Rotation(#[from] RotationError),
    #[error("reading the password")]
    ReadPassword(#[source] std::io::Error),
    #[error("no terminal to prompt for the password: use --password-stdin")]
    NoTerminal,
    #[error("the passwords do not match")]
    PasswordMismatch,
    #[error("done, but the security event was not published to SECURITY_EVENT_BUS")]
    Publish(#[source] shared::aws::security_events::ForwardError),
}

/// With `SECURITY_EVENT_BUS` set, puts `event` on that bus (the functions' events travel
/// through their logs; authctl runs outside Lambda, so it publishes its own).
async fn publish(
    cfg: &shared::Config,
    event: &str,
    user: Option<(&str, &str)>,
) -> Result<(), CliError> {
    let Some(bus) = cfg.security_event_bus.clone() else {
        return Ok(());
    };
    let sdk = shared::aws::sdk_config(cfg.trust_store).await;
    let events = shared::aws::security_events::SecurityEvents::new(
        aws_sdk_eventbridge::Client::new(&sdk),
        bus,
    );
    events
        .publish(&[shared::aws::security_events::SecurityEvent {
            detail_type: event.to_string(),
            detail: match user {
                Some((name, user_id)) => serde_json::json!({
                    "event": event,
                    "username": name.to_ascii_lowercase(),
                    "user_id": user_id,
                    "by": "authctl",
                }),
                None => serde_json::json!({"event": event, "by": "authctl"}),
            },
        }])
        .await
        .map_err(CliError::Publish)
}

fn read_password(from_stdin: bool) -> Result<SecretString, CliError> {
    if from_stdin {
        let mut line = String::new();
        let read = std::io::stdin().lock().read_line(&mut line);
        let password = SecretString::from(line.trim_end_matches(['\r', '\n']));
        line.zeroize();
        read.map_err(CliError::ReadPassword)?;
        return Ok(password);
    }
    if !std::io::stdin().is_terminal() {
        return Err(CliError::NoTerminal);
    }
    let first = SecretString::from(
        rpassword::prompt_password("Password: ").map_err(CliError::ReadPassword)?,
    );
    let again = SecretString::from(
        rpassword::prompt_password("Repeat password: ").map_err(CliError::ReadPassword)?,
    );
    if first.expose_secret() != again.expose_secret() {
        return Err(CliError::PasswordMismatch);
    }
    Ok(first)
}

async fn run(cli: Cli) -> Result<(), CliError> {
    let cfg = shared::Config::from_env()?;
    let app = shared::app::App::from_config_with_default_chain(cfg).await;
    let store = app.store.as_ref();
    match cli.command {
        Command::User(UserCommand::Create {
            username,
            roles,
            password_stdin,
        }) => {
            let password = read_password(password_stdin)?;
            let user = admin::create_user(
                store,
                &shared::crypto::password::Passwords::default(),
                app.clock.as_ref(),
                &username,
                password,
                roles,
            )
            .await?;
            println!("created user {} (id {})", user.username, user.user_id);
        }
        Command::User(UserCommand::Disable { username }) => {
            let user_id = admin::set_disabled(store, &username, true).await?;
            println!("disabled {}", username.to_ascii_lowercase());
            publish(&app.cfg, "user_disabled", Some((&username, &user_id))).await?;
        }
        Command::User(UserCommand::Enable { username }) => {
            let user_id = admin::set_disabled(store, &username, false).await?;
            println!("enabled {}", username.to_ascii_lowercase());
            publish(&app.cfg, "user_enabled", Some((&username, &user_id))).await?;
        }
        Command::User(UserCommand::SetPassword {
            username,
            password_stdin,
        }) => {
            let password = read_password(password_stdin)?;
            let revoked = admin::set_password(
                store,
                store,
                &shared::crypto::password::Passwords::default(),
                app.clock.as_ref(),
                shared::app::breach_check(&app.cfg).as_deref(),
                &username,
                password,
            )
            .await?;
            println!(
                "password set for {}; revoked {} session(s)",
                username.to_ascii_lowercase(),
                revoked.0
            );
            publish(&app.cfg, "password_changed", Some((&username, &revoked.1))).await?;
        }
        Command::User(UserCommand::SetEmail {
            username,
            email,
            verified,
        }) => {
            let user_id = admin::set_email(store, store, &username, &email, verified).await?;
            println!(
                "email set for {} ({})",
                username.to_ascii_lowercase(),
                if verified { "verified" } else { "unverified" }
            );
            publish(&app.cfg, "email_changed", Some((&username, &user_id))).await?;
        }
        Command::User(UserCommand::MfaReset { username }) => {
            let (user_id, was_on) = admin::reset_mfa(store, store, &username).await?;
            let name = username.to_ascii_lowercase();
            if was_on {
                println!("TOTP turned off for {name}; recovery codes deleted");
                publish(&app.cfg, "mfa_disabled", Some((&username, &user_id))).await?;
            } else {
                println!("TOTP was not on for {name}; nothing pending is left either");
            }
        }
        Command::Sessions(SessionsCommand::List { username }) => {
            let sessions = admin::list_sessions(store, store, &username).await?;
            println!("SESSION_ID\tDEVICE\tCREATED\tLAST_USED\tEXPIRES");
            for s in sessions {
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    s.session_id,
                    s.device_id.replace(['\t', '\n'], " "),
                    rfc3339(s.created_at_ms / 1000),
                    rfc3339(s.last_used_at),
                    rfc3339(s.expires_at)
                );
            }
        }
        Command::Secret(SecretCommand::Rotate { force }) => {
            // SIGNING_ALG only when the operator set it; otherwise the current value says.
            let configured = std::env::var("SIGNING_ALG")
                .ok()
                .filter(|v| !v.is_empty())
                .map(|_| app.cfg.signing.alg);
            let mut rotator = shared::aws::rotation::Rotator::for_cli_detecting(
                app.secrets.client().clone(),
                &app.cfg,
                configured,
            )
            .await?;
            if force {
                rotator = rotator.forced();
            }
            let version = rotator.rotate_now(&app.cfg.signing.secret_id).await?;
            println!(
                "rotated {}: AWSCURRENT is now version {version}",
                app.cfg.signing.secret_id
            );
            publish(&app.cfg, "key_rotated", None).await?;
        }
        Command::Sessions(SessionsCommand::Revoke(args)) => {
            let n = admin::revoke_sessions(
                store,
                store,
                &args.username,
                args.target.session.as_deref(),
            )
            .await?;
            println!("revoked {n} session(s)");
        }
    }
    Ok(())
}
