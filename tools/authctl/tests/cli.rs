//! `authctl` as a user runs it: the built binary, against DynamoDB Local and moto (started by
//! `scripts/with-engines.sh`, see the Makefile), checking exit codes and output.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use shared::app::App;
use shared::config::Config;
use shared::service::LoginInput;

struct Env {
    cfg: Config,
    app: App,
}

async fn env() -> Env {
    env_with(shared::config::SigningAlg::Hs256).await
}

async fn env_with(alg: shared::config::SigningAlg) -> Env {
    assert!(
        std::env::var("AWS_ENDPOINT_URL_DYNAMODB").is_ok(),
        "run under scripts/with-engines.sh (make test)"
    );
    let id = uuid::Uuid::new_v4().simple().to_string();
    let mut cfg = Config::from_lookup(|_| None).unwrap();
    cfg.tables.users = format!("users-{id}");
    cfg.tables.sessions = format!("sessions-{id}");
    cfg.signing.secret_id = format!("signing-{id}");
    cfg.signing.public_keys_secret_id = format!("public-keys-{id}");
    cfg.signing.alg = alg;
    let app = App::from_config(cfg.clone());
    shared::aws::setup::ensure_tables(&app.dynamodb, &cfg)
        .await
        .unwrap();
    shared::aws::setup::ensure_signing_secret(&app.secrets, &cfg)
        .await
        .unwrap();
    Env { cfg, app }
}

impl Env {
    fn authctl(&self, args: &[&str], stdin: Option<&str>) -> Output {
        self.authctl_with_alg(args, stdin, Some(self.cfg.signing.alg.as_str()))
    }

    /// `authctl` with `SIGNING_ALG` set to `alg`, or unset.
    fn authctl_with_alg(&self, args: &[&str], stdin: Option<&str>, alg: Option<&str>) -> Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_authctl"));
        command.env_remove("SIGNING_ALG");
        if let Some(alg) = alg {
            command.env("SIGNING_ALG", alg);
        }
        let mut child = command
            .args(args)
            .env("USERS_TABLE", &self.cfg.tables.users)
            .env("SESSIONS_TABLE", &self.cfg.tables.sessions)
            .env("SIGNING_SECRET_ID", &self.cfg.signing.secret_id)
            .env(
                "PUBLIC_KEYS_SECRET_ID",
                &self.cfg.signing.public_keys_secret_id,
            )
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        {
            let mut pipe = child.stdin.take().unwrap();
            if let Some(text) = stdin {
                pipe.write_all(text.as_bytes()).unwrap();
            }
        }
        child.wait_with_output().unwrap()
    }

    async fn login(&self, username: &str, password: &str, device: &str) -> String {
        self.app
            .service
            .login(LoginInput {
                username: username.into(),
                password: password.into(),
                device_id: device.into(),
                device_tokens: Vec::new(),
            })
            .await
            .unwrap()
            .session_id
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A failure is exit 1 and exactly one line on stderr, never a panic.
fn assert_one_line_error(o: &Output, contains: &str) {
    assert_eq!(o.status.code(), Some(1), "stderr: {}", stderr(o));
    let err = stderr(o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains(contains), "{err:?} lacks {contains:?}");
    assert!(!err.contains("panicked"), "{err}");
}

#[tokio::test]
async fn user_create_then_login_works_and_duplicates_are_refused() {
    let env = env().await;
    let out = env.authctl(
        &[
            "user",
            "create",
            "Carol",
            "--role",
            "admin",
            "--role",
            "reader",
            "--password-stdin",
        ],
        Some("carol-password-1\n"),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("created user carol"));
    env.login("carol", "carol-password-1", "cli").await;

    let again = env.authctl(
        &["user", "create", "carol", "--password-stdin"],
        Some("another-pw-1\n"),
    );
    assert_one_line_error(&again, "already exists");
}

#[tokio::test]
async fn bad_usernames_passwords_and_roles_are_refused() {
    let env = env().await;
    assert_one_line_error(
        &env.authctl(
            &["user", "create", "not valid", "--password-stdin"],
            Some("long-enough-pw\n"),
        ),
        "invalid username",
    );
    assert_one_line_error(
        &env.authctl(
            &["user", "create", "dave", "--password-stdin"],
            Some("short\n"),
        ),
        "password must be",
    );
    assert_one_line_error(
        &env.authctl(
            &[
                "user",
                "create",
                "dave",
                "--role",
                "a,b",
                "--password-stdin",
            ],
            Some("long-enough-pw\n"),
        ),
        "invalid role",
    );
    // No terminal and no --password-stdin: no silent empty password.
    assert_one_line_error(
        &env.authctl(&["user", "create", "dave"], None),
        "--password-stdin",
    );
}

#[tokio::test]
async fn disable_makes_login_fail_and_enable_restores_it() {
    let env = env().await;
    env.authctl(
        &["user", "create", "erin", "--password-stdin"],
        Some("erin-password-1\n"),
    );
    assert!(env
        .authctl(&["user", "disable", "erin"], None)
        .status
        .success());
    let refused = env
        .app
        .service
        .login(LoginInput {
            username: "erin".into(),
            password: "erin-password-1".into(),
            device_id: "cli".into(),
            device_tokens: Vec::new(),
        })
        .await;
    assert_eq!(refused.unwrap_err(), shared::AuthError::AccountDisabled);
    assert!(env
        .authctl(&["user", "enable", "erin"], None)
        .status
        .success());
    env.login("erin", "erin-password-1", "cli").await;

    assert_one_line_error(
        &env.authctl(&["user", "disable", "nobody"], None),
        "no user named nobody",
    );
}

#[tokio::test]
async fn sessions_are_listed_and_revoked_one_or_all() {
    let env = env().await;
    env.authctl(
        &["user", "create", "frank", "--password-stdin"],
        Some("frank-password-1\n"),
    );
    let laptop = env.login("frank", "frank-password-1", "laptop").await;
    let phone = env.login("frank", "frank-password-1", "phone").await;
    env.login("frank", "frank-password-1", "tablet").await;

    let list = env.authctl(&["sessions", "list", "frank"], None);
    assert!(list.status.success());
    let text = stdout(&list);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "SESSION_ID\tDEVICE\tCREATED\tLAST_USED\tEXPIRES");
    assert_eq!(lines.len(), 4, "{text}");
    assert!(lines
        .iter()
        .any(|l| l.starts_with(&laptop) && l.contains("\tlaptop\t")));
    assert!(lines[1].split('\t').nth(2).unwrap().ends_with('Z'));

    let one = env.authctl(&["sessions", "revoke", "frank", "--session", &phone], None);
    assert!(one.status.success(), "{}", stderr(&one));
    let after = stdout(&env.authctl(&["sessions", "list", "frank"], None));
    assert_eq!(after.lines().count(), 3);
    assert!(!after.contains(&phone));

    assert_one_line_error(
        &env.authctl(&["sessions", "revoke", "frank", "--session", &phone], None),
        "has no session",
    );
    let all = env.authctl(&["sessions", "revoke", "frank", "--all"], None);
    assert!(stdout(&all).contains("revoked 2 session(s)"));
    assert_eq!(
        stdout(&env.authctl(&["sessions", "list", "frank"], None))
            .lines()
            .count(),
        1
    );
    assert_one_line_error(
        &env.authctl(&["sessions", "list", "ghost"], None),
        "no user named ghost",
    );
}

#[tokio::test]
async fn usage_errors_exit_2() {
    let env = env().await;
    for args in [
        vec!["sessions", "revoke", "frank"],
        vec!["sessions", "revoke", "frank", "--all", "--session", "x"],
        vec!["user"],
        vec!["frobnicate"],
    ] {
        assert_eq!(env.authctl(&args, None).status.code(), Some(2), "{args:?}");
    }
}

#[tokio::test]
async fn an_unreachable_engine_is_one_clear_line() {
    let env = env().await;
    let out = Command::new(env!("CARGO_BIN_EXE_authctl"))
        .args(["user", "disable", "someone"])
        .env("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:9")
        .env("USERS_TABLE", &env.cfg.tables.users)
        .output()
        .unwrap();
    assert_one_line_error(&out, "backing store");
}

#[tokio::test]
async fn the_one_line_keeps_every_cause_down_to_the_root() {
    let env = env().await;
    let out = Command::new(env!("CARGO_BIN_EXE_authctl"))
        .args(["sessions", "list", "someone"])
        .env("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:9")
        .env("USERS_TABLE", &env.cfg.tables.users)
        .output()
        .unwrap();
    // What failed, the SDK's own layer, and the operating system's reason, in that order.
    assert_one_line_error(&out, "backing store unavailable: dispatch failure");
    let err = stderr(&out);
    let (outer, root) = (
        err.find("backing store unavailable"),
        err.find("Connection refused"),
    );
    assert!(
        matches!((outer, root), (Some(o), Some(r)) if o < r),
        "{err}"
    );
}

#[tokio::test]
async fn secret_rotate_moves_awscurrent_to_a_new_version() {
    let env = env().await;
    let current = || async {
        integration_tests::secret_at(&env.app, &env.cfg.signing.secret_id, "AWSCURRENT")
            .await
            .version_id
            .unwrap()
    };
    let before = current().await;
    let out = env.authctl(&["secret", "rotate"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    let after = current().await;
    assert_ne!(before, after, "{}", stdout(&out));
    assert!(stdout(&out).contains(&after), "{}", stdout(&out));
}

/// An ES256 stack rotated by an operator who did not set SIGNING_ALG: the new value is an ES256
/// key pair (the functions load it); with SIGNING_ALG naming another algorithm the rotation is
/// refused with the reason, and nothing changes.
#[tokio::test]
async fn secret_rotate_keeps_the_current_values_algorithm_or_refuses() {
    let env = env_with(shared::config::SigningAlg::Es256).await;
    let current = || async {
        integration_tests::secret_at(&env.app, &env.cfg.signing.secret_id, "AWSCURRENT").await
    };
    let before = current().await;
    let out = env.authctl_with_alg(&["secret", "rotate", "--force"], None, Some("HS256"));
    assert_one_line_error(
        &out,
        "SIGNING_ALG is HS256 but the secret's current value is an ES256 key",
    );
    assert_eq!(current().await.version_id, before.version_id);

    let out = env.authctl_with_alg(&["secret", "rotate", "--force"], None, None);
    assert!(out.status.success(), "{}", stderr(&out));
    let after = current().await;
    assert_ne!(after.version_id, before.version_id);
    assert_eq!(
        shared::aws::rotation::detect_alg(after.secret_string().unwrap()),
        Some(shared::config::SigningAlg::Es256)
    );
}

/// ES256: a rotation right after the last one is refused with the reason (exit 1, nothing
/// changed); `--force` rotates and publishes the new next key.
#[tokio::test]
async fn secret_rotate_of_a_key_pair_needs_force_within_the_interval() {
    let env = env_with(shared::config::SigningAlg::Es256).await;
    let published = || async {
        integration_tests::secret_at(
            &env.app,
            &env.cfg.signing.public_keys_secret_id,
            "AWSCURRENT",
        )
        .await
        .secret_string
        .unwrap()
    };
    let before = published().await;
    let out = env.authctl(&["secret", "rotate"], None);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(stderr(&out).contains("--force"), "{}", stderr(&out));
    assert_eq!(stderr(&out).trim().lines().count(), 1, "{}", stderr(&out));
    assert_eq!(published().await, before);

    let out = env.authctl(&["secret", "rotate", "--force"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    let after: serde_json::Value = serde_json::from_str(&published().await).unwrap();
    let before: serde_json::Value = serde_json::from_str(&before).unwrap();
    assert_eq!(
        after["keys"][0], before["keys"][1],
        "the old next key signs now"
    );
    assert_eq!(
        after["keys"][2], before["keys"][0],
        "the old signing key is kept"
    );
}

#[tokio::test]
async fn set_password_swaps_the_password_and_revokes_every_session() {
    let env = env().await;
    let out = env.authctl(
        &["user", "create", "olga", "--password-stdin"],
        Some("olga-password-1\n"),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let first = env.login("olga", "olga-password-1", "laptop").await;
    let second = env.login("olga", "olga-password-1", "phone").await;
    let listed = stdout(&env.authctl(&["sessions", "list", "olga"], None));
    assert!(listed.contains(&first) && listed.contains(&second));

    let out = env.authctl(
        &["user", "set-password", "Olga", "--password-stdin"],
        Some("violet kettle orbit 42\n"),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("password set for olga; revoked 2 session(s)"));
    let listed = stdout(&env.authctl(&["sessions", "list", "olga"], None));
    assert!(
        !listed.contains(&first) && !listed.contains(&second),
        "{listed}"
    );
    let old = env
        .app
        .service
        .login(LoginInput {
            username: "olga".into(),
            password: "olga-password-1".into(),
            device_id: "laptop".into(),
            device_tokens: Vec::new(),
        })
        .await;
    assert_eq!(old.unwrap_err(), shared::AuthError::InvalidCredentials);
    env.login("olga", "violet kettle orbit 42", "laptop").await;

    for (args, stdin, says) in [
        (
            vec!["user", "set-password", "nobody", "--password-stdin"],
            "whatever-1234\n",
            "no user named nobody",
        ),
        (
            vec!["user", "set-password", "olga", "--password-stdin"],
            "short\n",
            "password must be",
        ),
        // The rules every new password meets, as sign-up and a password change.
        (
            vec!["user", "set-password", "olga", "--password-stdin"],
            "Olga.Password-9\n",
            "must not contain the username",
        ),
        (
            vec!["user", "set-password", "olga", "--password-stdin"],
            "password123\n",
            "too easy to guess",
        ),
    ] {
        assert_one_line_error(&env.authctl(&args, Some(stdin)), says);
    }
}

/// With `SECURITY_EVENT_BUS` set, disabling and enabling a user put `user_disabled` and
/// `user_enabled` on the bus (moto: a rule delivers them to a queue this test reads).
#[tokio::test]
async fn user_disable_and_enable_publish_security_events() {
    let env = env().await;
    let queue = integration_tests::event_queue::EventQueue::start().await;
    let out = env.authctl(
        &["user", "create", "pia", "--password-stdin"],
        Some("pia-password-1\n"),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    for action in ["disable", "enable"] {
        let out = Command::new(env!("CARGO_BIN_EXE_authctl"))
            .args(["user", action, "pia"])
            .env("USERS_TABLE", &env.cfg.tables.users)
            .env("SESSIONS_TABLE", &env.cfg.tables.sessions)
            .env("SIGNING_SECRET_ID", &env.cfg.signing.secret_id)
            .env("SECURITY_EVENT_BUS", &queue.bus)
            .env("AWS_ENDPOINT_URL_EVENTBRIDGE", &queue.moto)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let mut types = Vec::new();
    for e in queue.receive(2).await {
        assert_eq!(e["detail"]["username"], "pia");
        types.push(e["detail-type"].as_str().unwrap().to_string());
    }
    types.sort();
    assert_eq!(types, ["user_disabled", "user_enabled"]);
}

#[tokio::test]
async fn set_email_claims_the_address_for_one_user_only() {
    use shared::ports::{EmailStore, UserStore};
    let env = env().await;
    for name in ["dana", "eve"] {
        let out = env.authctl(
            &["user", "create", name, "--password-stdin"],
            Some("a-good-password-1\n"),
        );
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let addr = format!("Dana-{}@Example.com", uuid::Uuid::new_v4().simple());
    let out = env.authctl(&["user", "set-email", "dana", &addr, "--verified"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("email set for dana (verified)"),
        "{}",
        stdout(&out)
    );
    let dana = shared::domain::Username::parse("dana").unwrap();
    let user = env.app.store.get_user(&dana).await.unwrap().unwrap();
    let email = shared::domain::Email::parse(&addr).unwrap();
    assert_eq!(
        (user.email.as_ref(), user.email_verified),
        (Some(&email), true)
    );
    assert_eq!(env.app.store.owner_of(&email).await.unwrap(), Some(dana));

    let taken = env.authctl(&["user", "set-email", "eve", &addr], None);
    assert_one_line_error(&taken, "belongs to another user");
    let bad = env.authctl(&["user", "set-email", "eve", "not-an-address"], None);
    assert_one_line_error(&bad, "invalid email");
    let nobody = env.authctl(&["user", "set-email", "zed", "zed@example.com"], None);
    assert_one_line_error(&nobody, "no user named zed");
}

#[tokio::test]
async fn mfa_reset_turns_totp_off_so_the_password_alone_logs_in() {
    use shared::ports::{MfaStore, UserStore};
    let env = env().await;
    let out = env.authctl(
        &["user", "create", "fay", "--password-stdin"],
        Some("a-good-password-1\n"),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let fay = shared::domain::Username::parse("fay").unwrap();
    let user = env.app.store.get_user(&fay).await.unwrap().unwrap();
    env.app
        .store
        .set_pending_totp(&user, "s1.k1.sealed")
        .await
        .unwrap();
    env.app
        .store
        .enable_totp(&user, "s1.k1.sealed", 1, &["h1".into(), "h2".into()])
        .await
        .unwrap();
    let login = || {
        env.app.service.login(LoginInput {
            username: "fay".into(),
            password: "a-good-password-1".into(),
            device_id: "cli".into(),
            device_tokens: Vec::new(),
        })
    };
    assert_eq!(login().await.unwrap_err().code(), "mfa_required");

    let out = env.authctl(&["user", "mfa-reset", "fay"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("TOTP turned off for fay; recovery codes deleted"),
        "{}",
        stdout(&out)
    );
    let user = env.app.store.get_user(&fay).await.unwrap().unwrap();
    assert_eq!(user.totp, shared::domain::TotpState::default());
    assert!(login().await.is_ok());
    // Again: nothing to turn off, said so; an unknown user is one clear line.
    let again = env.authctl(&["user", "mfa-reset", "fay"], None);
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(stdout(&again).contains("TOTP was not on for fay"));
    let nobody = env.authctl(&["user", "mfa-reset", "zed"], None);
    assert_one_line_error(&nobody, "no user named zed");
}
