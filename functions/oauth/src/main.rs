//! The oauth Lambda (`GET /auth/oauth/{provider}/start`, `GET /auth/oauth/{provider}/callback`
//! open; `POST /auth/oauth/{provider}/link`, `DELETE /auth/identities/{provider}` behind the
//! authorizer): a thin entry point over `shared`, the only function that talks to OpenID
//! providers and reads their client secrets.

// One thread: Lambda hands an environment one event at a time.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    use shared::app::{run_wired, App};
    use shared::http::handlers::{oauth, Endpoint};
    run_wired(Endpoint::Oauth, oauth, |cfg| {
        App::from_config(cfg).with_oauth()
    })
    .await
}
