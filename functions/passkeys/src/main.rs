//! The passkeys Lambda (`POST /auth/passkeys/register/options`, `POST /auth/passkeys/register`
//! behind the authorizer; `POST /auth/passkeys/login/options`, `POST /auth/passkeys/login`
//! open): a thin entry point over `shared`, the only function that links a WebAuthn crate.

// One thread: Lambda hands an environment one event at a time.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    use shared::http::handlers::{passkeys, Endpoint};
    shared::app::run_passkeys_endpoint(Endpoint::Passkeys, passkeys).await
}
