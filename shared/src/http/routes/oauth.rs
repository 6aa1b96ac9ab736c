//! The OpenID sign-in routes (the oauth function): `GET /auth/oauth/{provider}/start` and
//! `GET /auth/oauth/{provider}/callback` (browser navigations, open), `POST
//! /auth/oauth/{provider}/link` and `DELETE /auth/identities/{provider}` (behind the
//! authorizer). A callback always answers with a redirect: to its flow's `redirect_to`, with
//! `#error=CODE` when it failed, and never with a token in the URL.

use lambda_http::http::{header, HeaderValue, StatusCode};
use lambda_http::{Body, Request, RequestExt, Response};

use crate::error::{AuthError, Cause};
use crate::http::handlers::Api;
use crate::http::request::{bad, check_cross_site, cookie, json_body, required_string};
use crate::http::response::{
    device_cookie, error_response, json_response, no_content, refresh_cookie, respond, with_cookie,
};
use crate::service::oauth::{Callback, Landed, FLOW_COOKIE, FLOW_COOKIE_PATH};

/// Longest query parameter or `redirect_to` read (Google's codes are ~100 characters).
const MAX_PARAM_BYTES: usize = 2048;

pub const OAUTH_PREFIX: &str = "/auth/oauth/";
pub const IDENTITY_PATH: &str = "/auth/identities/";

/// The oauth function's four routes.
pub async fn oauth(api: Api, req: Request) -> Response<Body> {
    let path = req.uri().path().to_string();
    let result = if let Some(provider) = path.strip_prefix(IDENTITY_PATH) {
        unlink(&api, &req, provider).await
    } else {
        match path
            .strip_prefix(OAUTH_PREFIX)
            .and_then(|rest| rest.split_once('/'))
        {
            Some((provider, "start")) => start(&api, &req, provider).await,
            Some((provider, "callback")) => Ok(callback(&api, &req, provider).await),
            Some((provider, "link")) => link(&api, &req, provider).await,
            _ => Err(AuthError::NotFound),
        }
    };
    result.unwrap_or_else(|e| error_response(&e))
}

/// A provider id as the routes take it (what `OIDC_PROVIDERS` allows); anything else is no
/// provider at all.
fn provider_param<'a>(req: &'a Request, from_path: &'a str) -> Result<&'a str, AuthError> {
    let id = req
        .path_parameters_ref()
        .and_then(|p| p.first("provider"))
        .unwrap_or(from_path);
    let valid = !id.is_empty()
        && id.len() <= 32
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    valid.then_some(id).ok_or(AuthError::ProviderNotFound)
}

fn query<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.query_string_parameters_ref()
        .and_then(|q| q.first(name))
        .filter(|v| v.len() <= MAX_PARAM_BYTES)
}

/// This API's public base URL: `API_URL`, else the domain API Gateway says the request came
/// to (never the `Host` header: a request's own, and this URL goes to a provider).
fn api_base(api: &Api, req: &Request) -> Result<String, AuthError> {
    use lambda_http::request::RequestContext;
    if let Some(url) = &api.service.config().oauth.api_url {
        return Ok(url.clone());
    }
    let from_gateway = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.domain_name.clone(),
        Some(RequestContext::ApiGatewayV1(ctx)) => ctx
            .domain_name
            .as_ref()
            .map(|d| format!("{d}/{}", ctx.stage.as_deref().unwrap_or_default())),
        _ => None,
    };
    from_gateway
        .filter(|d| !d.is_empty())
        .map(|d| format!("https://{}", d.trim_end_matches('/')))
        .ok_or_else(|| {
            AuthError::Internal(Cause::msg(
                "no API_URL and no API Gateway domain name to build the redirect URI from",
            ))
        })
}

/// 302 to `location`, uncached, sending no `Referer` on.
fn redirect(location: &str) -> Result<Response<Body>, AuthError> {
    let mut resp = respond(StatusCode::FOUND, Body::Empty);
    let value = HeaderValue::from_str(location)
        .map_err(|_| AuthError::Internal(Cause::msg("a redirect target that is no header")))?;
    let headers = resp.headers_mut();
    headers.insert(header::LOCATION, value);
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    Ok(resp)
}

/// The flow cookie: host-only, `SameSite=Lax` (it must come back with the provider's
/// top-level redirect to the callback, which `Strict` would withhold), ten minutes.
fn flow_cookie(value: &str, max_age: u64) -> String {
    format!(
        "{FLOW_COOKIE}={value}; HttpOnly; Secure; SameSite=Lax; Path={FLOW_COOKIE_PATH}; Max-Age={max_age}"
    )
}

/// `GET /auth/oauth/{provider}/start?redirect_to=URL`: 302 to the provider. A provider that
/// cannot be reached sends the browser back with `#error=temporarily_unavailable`.
async fn start(api: &Api, req: &Request, provider: &str) -> Result<Response<Body>, AuthError> {
    let provider = provider_param(req, provider)?;
    let redirect_to =
        query(req, "redirect_to").ok_or(bad("redirect_to must be the URL to return to."))?;
    let base = api_base(api, req)?;
    match api.service.oauth_start(provider, redirect_to, &base).await {
        Ok(flow) => Ok(with_cookie(
            redirect(&flow.authorize_url)?,
            flow_cookie(&flow.binding, crate::domain::FLOW_TTL),
        )),
        Err(e @ AuthError::Unavailable { .. }) => {
            crate::telemetry::count(crate::telemetry::Metric::FederatedFailed(
                "temporarily_unavailable",
            ));
            tracing::warn!(event = "oauth_failed", reason = "temporarily_unavailable", error = %crate::error::Chain(&e), "provider unavailable at start");
            redirect(&format!("{redirect_to}#error=temporarily_unavailable"))
        }
        Err(e) => Err(e),
    }
}

/// `GET /auth/oauth/{provider}/callback`: always a redirect, the flow cookie cleared.
async fn callback(api: &Api, req: &Request, provider: &str) -> Response<Body> {
    let provider = match provider_param(req, provider)
        .and_then(|p| api.service.oauth_provider(p).map(|_| p))
    {
        Ok(p) => p,
        Err(e) => return error_response(&e),
    };
    let base = match api_base(api, req) {
        Ok(base) => base,
        Err(e) => return error_response(&e),
    };
    let input = Callback {
        provider: provider.to_string(),
        code: query(req, "code").map(str::to_string),
        state: query(req, "state").map(str::to_string),
        error: query(req, "error").map(str::to_string),
        binding: cookie(req, FLOW_COOKIE),
        api_base: base,
    };
    let outcome = api.service.oauth_callback(input).await;
    let target = outcome
        .redirect_to
        .or_else(|| api.service.default_redirect());
    let Some(target) = target else {
        return error_response(&AuthError::InvalidRequest(
            "The sign-in is unknown, used or expired; start it again.",
        ));
    };
    let resp = match &outcome.result {
        Ok(_) => redirect(&target),
        Err(e) => redirect(&format!("{target}#error={}", e.code())),
    };
    let resp = match resp {
        Ok(resp) => with_cookie(resp, flow_cookie("", 0)),
        Err(e) => return error_response(&e),
    };
    match outcome.result {
        Ok(Landed::SignedIn(issued)) => {
            let resp = with_cookie(
                resp,
                refresh_cookie(
                    &api.cookies,
                    &issued.refresh_token,
                    issued.refresh_expires_in,
                ),
            );
            match &issued.device_token {
                Some(d) => with_cookie(resp, device_cookie(&api.cookies, &d.token, d.max_age)),
                None => resp,
            }
        }
        _ => resp,
    }
}

/// The caller, as the authorizer passed it on.
fn caller_of(req: &Request) -> Result<crate::service::accounts::Caller, AuthError> {
    super::account::caller(req).ok_or_else(|| {
        // Only reachable if a route was deployed without the authorizer.
        AuthError::Internal(Cause::msg(
            "an oauth route invoked without an authorizer context",
        ))
    })
}

/// `POST /auth/oauth/{provider}/link` `{"redirect_to"}`: 200 `{"authorize_url"}` and the flow
/// cookie (the browser that follows the URL must be the one that asked).
async fn link(api: &Api, req: &Request, provider: &str) -> Result<Response<Body>, AuthError> {
    check_cross_site(req, &api.allowed_origins)?;
    let caller = caller_of(req)?;
    let provider = provider_param(req, provider)?;
    let body = json_body(req)?;
    let redirect_to = required_string(
        &body,
        "redirect_to",
        MAX_PARAM_BYTES,
        "redirect_to must be the URL to return to.",
    )?;
    let base = api_base(api, req)?;
    let flow = api
        .service
        .oauth_link(&caller, provider, &redirect_to, &base)
        .await?;
    Ok(with_cookie(
        json_response(
            StatusCode::OK,
            &serde_json::json!({ "authorize_url": flow.authorize_url }),
        ),
        flow_cookie(&flow.binding, crate::domain::FLOW_TTL),
    ))
}

/// `DELETE /auth/identities/{provider}`: 204, 404, or 409 `last_sign_in_method`.
async fn unlink(api: &Api, req: &Request, provider: &str) -> Result<Response<Body>, AuthError> {
    check_cross_site(req, &api.allowed_origins)?;
    let caller = caller_of(req)?;
    let provider = provider_param(req, provider).map_err(|_| AuthError::IdentityNotFound)?;
    api.service.unlink_identity(&caller, provider).await?;
    Ok(no_content())
}
