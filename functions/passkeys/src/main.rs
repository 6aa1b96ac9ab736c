//! The passkeys Lambda (`POST /auth/passkeys/register/options`, `POST /auth/passkeys/register`
//! behind the authorizer; `POST /auth/passkeys/login/options`, `POST /auth/passkeys/login`
//! open): a thin entry point over `shared`, the only function that links a WebAuthn crate.

// One thread: Lambda hands an environment one event at a time.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    use shared::app::{run_wired, App};
    use shared::http::handlers::{passkeys, Endpoint};
    // The only function that wires the WebAuthn relying party (shared's `passkeys` feature).
    run_wired(Endpoint::Passkeys, passkeys, |cfg| {
        App::from_config(cfg).with_passkeys()
    })
    .await
}
