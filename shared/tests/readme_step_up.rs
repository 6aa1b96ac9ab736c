//! The README's step-up example ("Requiring a second factor"), compiled and run here against
//! a real API Gateway v2 event, and checked to be the README's own text (whitespace and
//! comments aside), so the two cannot drift.

use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};

/// Defines the items and keeps their tokens as text.
macro_rules! readme_example {
    ($($item:item)*) => {
        $($item)*
        const EXAMPLE: &str = stringify!($($item)*);
    };
}

readme_example! {
    fn signed_in_with_mfa(req: &Request) -> bool {
        let amr = match req.request_context_ref() {
            Some(RequestContext::ApiGatewayV2(ctx)) => {
                ctx.authorizer.as_ref().and_then(|a| a.fields.get("amr"))
            }
            _ => None,
        };
        amr.and_then(|v| v.as_str())
            .is_some_and(|amr| amr.split(',').any(|m| m == "mfa"))
    }

    fn refused_without_mfa(req: &Request) -> Option<Response<Body>> {
        if signed_in_with_mfa(req) {
            return None;
        }
        Some(Response::builder()
            .status(403)
            .header("content-type", "application/json")
            .body(r#"{"error":"mfa_required","error_description":"Sign in with a second factor."}"#.into())
            .expect("a static response"))
    }
}

/// The sample `GET /hello` event, its authorizer context's `amr` set to `amr`.
fn hello_with_amr(amr: &str) -> Request {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../events/hello.json");
    let mut event: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    event["requestContext"]["authorizer"]["lambda"]["amr"] = amr.into();
    lambda_http::request::from_str(&event.to_string()).unwrap()
}

#[test]
fn the_step_up_example_lets_mfa_through_and_nothing_else() {
    assert!(refused_without_mfa(&hello_with_amr("pwd,otp,mfa")).is_none());
    assert!(refused_without_mfa(&hello_with_amr("pwd,mfa")).is_none());
    for weaker in ["pwd", "", "pwd,otp", "mfax"] {
        let refused = refused_without_mfa(&hello_with_amr(weaker)).unwrap();
        assert_eq!(refused.status(), 403, "{weaker:?}");
    }
}

#[test]
fn the_example_is_the_readmes_text() {
    let squash = |text: &str| -> String {
        text.lines()
            .filter(|l| !l.trim_start().starts_with("///") && !l.trim_start().starts_with("use "))
            .collect::<String>()
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect()
    };
    let readme = include_str!("../../README.md");
    let block = readme
        .split("```rust\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("the README has a rust block");
    assert_eq!(squash(block), squash(EXAMPLE));
}
