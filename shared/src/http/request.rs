//! Reading requests: the body as strict JSON within the contract's limits, cookies, and the
//! cross-site checks every POST under /auth runs first.

use lambda_http::http::header;
use lambda_http::{Body, Request};
use serde_json::{Map, Value};

use crate::domain::{MAX_PASSWORD_BYTES, MAX_USERNAME_LEN};
use crate::error::AuthError;
use secrecy::SecretString;

use crate::domain::Username;
use crate::service::accounts::{Caller, RegisterInput};
use crate::service::LoginInput;

use super::response::{DEVICE_COOKIE, REFRESH_COOKIE};

pub const MAX_BODY_BYTES: usize = 16 * 1024;
pub const MAX_DEVICE_ID_CHARS: usize = 128;
/// Device tokens considered per login (the body's and a few cookies); more is not a browser.
const MAX_DEVICE_TOKENS: usize = 4;
/// Longest `Cookie` header we read (browsers cap one cookie at 4 KiB; API Gateway caps all
/// headers at 10 KiB). Longer is an invalid request, not something to parse.
pub const MAX_COOKIE_HEADER_BYTES: usize = 8 * 1024;

pub(super) fn bad(why: &'static str) -> AuthError {
    AuthError::InvalidRequest(why)
}

/// The body as a JSON object; `None` for an empty body.
fn json_object(req: &Request) -> Result<Option<Map<String, Value>>, AuthError> {
    let bytes: &[u8] = match req.body() {
        Body::Empty => return Ok(None),
        Body::Text(t) => t.as_bytes(),
        Body::Binary(b) => b,
        _ => return Err(bad("The request body could not be read.")),
    };
    if bytes.len() > MAX_BODY_BYTES {
        return Err(bad("The request body is larger than 16 KiB."));
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let text =
        std::str::from_utf8(bytes).map_err(|_| bad("The request body is not valid UTF-8."))?;
    // serde_json refuses nesting deeper than 128 levels; duplicate keys we refuse ourselves
    // (last-one-wins would let two parsers of one body disagree).
    match serde_json::from_str::<StrictJson>(text) {
        Ok(StrictJson(Value::Object(map))) => Ok(Some(map)),
        Ok(_) => Err(bad("The request body must be a JSON object.")),
        Err(e) if e.to_string().starts_with(DUPLICATE_KEY) => {
            Err(bad("The request body has a duplicate key."))
        }
        Err(_) => Err(bad("The request body is not valid JSON.")),
    }
}

const DUPLICATE_KEY: &str = "duplicate key";

/// A JSON value whose objects (at any depth) have no duplicate keys.
struct StrictJson(Value);

impl<'de> serde::Deserialize<'de> for StrictJson {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::{Error, MapAccess, SeqAccess, Visitor};
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = StrictJson;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("JSON")
            }
            fn visit_bool<E: Error>(self, v: bool) -> Result<StrictJson, E> {
                Ok(StrictJson(Value::Bool(v)))
            }
            fn visit_i64<E: Error>(self, v: i64) -> Result<StrictJson, E> {
                Ok(StrictJson(v.into()))
            }
            fn visit_u64<E: Error>(self, v: u64) -> Result<StrictJson, E> {
                Ok(StrictJson(v.into()))
            }
            fn visit_f64<E: Error>(self, v: f64) -> Result<StrictJson, E> {
                Ok(StrictJson(v.into()))
            }
            fn visit_str<E: Error>(self, v: &str) -> Result<StrictJson, E> {
                Ok(StrictJson(Value::String(v.to_string())))
            }
            fn visit_string<E: Error>(self, v: String) -> Result<StrictJson, E> {
                Ok(StrictJson(Value::String(v)))
            }
            fn visit_unit<E: Error>(self) -> Result<StrictJson, E> {
                Ok(StrictJson(Value::Null))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<StrictJson, A::Error> {
                let mut out = Vec::new();
                while let Some(StrictJson(v)) = seq.next_element()? {
                    out.push(v);
                }
                Ok(StrictJson(Value::Array(out)))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<StrictJson, A::Error> {
                let mut out = Map::new();
                while let Some(key) = map.next_key::<String>()? {
                    let StrictJson(value) = map.next_value()?;
                    if out.insert(key, value).is_some() {
                        return Err(A::Error::custom(DUPLICATE_KEY));
                    }
                }
                Ok(StrictJson(Value::Object(out)))
            }
        }
        d.deserialize_any(V)
    }
}

/// A required string field, non-empty and at most `max` bytes.
fn required_string(
    body: &Map<String, Value>,
    name: &str,
    max: usize,
    why: &'static str,
) -> Result<String, AuthError> {
    match body.get(name) {
        Some(Value::String(s)) if !s.is_empty() && s.len() <= max => Ok(s.clone()),
        _ => Err(bad(why)),
    }
}

/// The value of one cookie (the first of that name). API Gateway v2 folds the `cookies` array
/// into `Cookie` headers.
pub fn cookie(req: &Request, name: &str) -> Option<String> {
    cookies(req, name).into_iter().next()
}

/// Every non-empty value of the cookies called `name`, in the order sent. More than one
/// means another site under the same parent domain may have set one (cookie tossing).
pub fn cookies(req: &Request, name: &str) -> Vec<String> {
    req.headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(k, _)| k.trim() == name)
        .map(|(_, v)| v.trim().trim_matches('"').to_string())
        .filter(|v| !v.is_empty())
        .collect()
}

fn header_str(req: &Request, name: header::HeaderName) -> Option<&str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// The cross-site defences every POST under /auth runs before anything else (login CSRF,
/// forced logout): a browser's `Origin` must be the API's own or an allowed one, a
/// `Sec-Fetch-Site: cross-site` request must come from an allowed origin, and a body must be
/// `application/json`, which a cross-site page can send only after a CORS preflight that the
/// API answers for allowed origins only. Requests without these headers (servers, apps, curl)
/// are not browsers acting for someone else, and pass.
pub fn check_cross_site(req: &Request, allowed: &[String]) -> Result<(), AuthError> {
    let origin = header_str(req, header::ORIGIN);
    let allowed_origin =
        origin.is_some_and(|o| is_own_origin(req, o) || allowed.iter().any(|a| a == o));
    if origin.is_some() && !allowed_origin {
        return Err(AuthError::InvalidOrigin);
    }
    let fetch_site = req
        .headers()
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok());
    if fetch_site.is_some_and(|s| s.eq_ignore_ascii_case("cross-site")) && !allowed_origin {
        return Err(AuthError::InvalidOrigin);
    }
    let has_body = match req.body() {
        Body::Empty => false,
        Body::Text(t) => !t.is_empty(),
        Body::Binary(b) => !b.is_empty(),
        _ => true,
    };
    if has_body && !is_json_content_type(header_str(req, header::CONTENT_TYPE)) {
        return Err(AuthError::UnsupportedMediaType);
    }
    Ok(())
}

/// `application/json`, with or without parameters (`; charset=utf-8`), in any case.
fn is_json_content_type(value: Option<&str>) -> bool {
    value.is_some_and(|v| {
        v.split(';')
            .next()
            .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
    })
}

/// Whether `origin` is the API's own: `https://` and the `Host` the request was sent to (API
/// Gateway sets it to the domain the client used, custom domains included). Plain `http://`
/// only for a loopback host (`make dev`).
fn is_own_origin(req: &Request, origin: &str) -> bool {
    let Some(host) = header_str(req, header::HOST) else {
        return false;
    };
    if origin.strip_prefix("https://") == Some(host) {
        return true;
    }
    let loopback = ["localhost", "127.0.0.1", "[::1]"]
        .iter()
        .any(|l| host == *l || host.strip_prefix(l).is_some_and(|p| p.starts_with(':')));
    loopback && origin.strip_prefix("http://") == Some(host)
}

fn default_device_id(req: &Request) -> String {
    let ua = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let cleaned: String = ua
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_DEVICE_ID_CHARS)
        .collect();
    let cleaned = cleaned.trim();
    if cleaned.is_empty() {
        "default".to_string()
    } else {
        cleaned.to_string()
    }
}

pub fn parse_login(req: &Request) -> Result<LoginInput, AuthError> {
    let body = json_object(req)?.ok_or(bad("The request body must be a JSON object."))?;
    let username = required_string(
        &body,
        "username",
        MAX_USERNAME_LEN,
        "username must be a non-empty string of at most 128 bytes.",
    )?;
    let password = required_string(
        &body,
        "password",
        MAX_PASSWORD_BYTES,
        "password must be a non-empty string of at most 1024 bytes.",
    )?;
    let device_id = device_id(&body, req)?;
    // The body's device token first (a client that keeps its own), then the cookies.
    let mut device_tokens = match body.get("device_token") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => vec![s.clone()],
        Some(_) => return Err(bad("device_token must be a string.")),
    };
    device_tokens.extend(cookies(req, DEVICE_COOKIE));
    device_tokens.truncate(MAX_DEVICE_TOKENS);
    Ok(LoginInput {
        username,
        password: password.into(),
        device_id,
        device_tokens,
    })
}

/// The body's `device_id`, or one derived from the `User-Agent`.
fn device_id(body: &Map<String, Value>, req: &Request) -> Result<String, AuthError> {
    match body.get("device_id") {
        None | Some(Value::Null) => Ok(default_device_id(req)),
        Some(Value::String(s))
            if !s.is_empty()
                && s.chars().count() <= MAX_DEVICE_ID_CHARS
                && !s.chars().any(char::is_control) =>
        {
            Ok(s.clone())
        }
        Some(_) => Err(bad(
            "device_id must be a non-empty string of at most 128 characters.",
        )),
    }
}

/// A new password: any non-empty string the body limit lets through; its length is the
/// password policy's to judge (`weak_password`, with the rule), not a malformed request.
fn new_password(
    body: &Map<String, Value>,
    name: &str,
    why: &'static str,
) -> Result<SecretString, AuthError> {
    required_string(body, name, MAX_BODY_BYTES, why).map(SecretString::from)
}

/// `POST /auth/register`: `{"username", "password", "device_id"?}`.
pub fn parse_register(req: &Request) -> Result<RegisterInput, AuthError> {
    let body = json_object(req)?.ok_or(bad("The request body must be a JSON object."))?;
    let username = required_string(
        &body,
        "username",
        MAX_USERNAME_LEN,
        "username must be a non-empty string of at most 128 bytes.",
    )?;
    let password = new_password(&body, "password", "password must be a non-empty string.")?;
    Ok(RegisterInput {
        username,
        password,
        device_id: device_id(&body, req)?,
    })
}

/// `POST /auth/password`: `{"current_password", "new_password"}`.
pub fn parse_password_change(req: &Request) -> Result<(SecretString, SecretString), AuthError> {
    let body = json_object(req)?.ok_or(bad("The request body must be a JSON object."))?;
    let current = required_string(
        &body,
        "current_password",
        MAX_PASSWORD_BYTES,
        "current_password must be a non-empty string of at most 1024 bytes.",
    )?;
    let new = new_password(
        &body,
        "new_password",
        "new_password must be a non-empty string.",
    )?;
    Ok((current.into(), new))
}

/// Who is calling a route behind the authorizer: the `sub`, `username` and `session_id` of
/// the authorizer's context (HTTP API or REST). `None` only if the route was deployed
/// without the authorizer.
pub fn caller(req: &Request) -> Option<Caller> {
    let text = |name: &str| authorizer_text(req, name);
    Some(Caller {
        user_id: text("sub")?.to_string(),
        username: Username::parse(text("username")?).ok()?,
        session_id: text("session_id")?.to_string(),
    })
}

/// A text field of the context the authorizer returned (HTTP API `authorizer.lambda`, or a
/// REST API's `authorizer`).
pub fn authorizer_text<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    use lambda_http::request::RequestContext;
    use lambda_http::RequestExt;
    let fields = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.authorizer.as_ref().map(|a| &a.fields),
        Some(RequestContext::ApiGatewayV1(ctx)) => Some(&ctx.authorizer.fields),
        _ => None,
    }?;
    fields.get(name).and_then(Value::as_str)
}

/// A claim API Gateway's built-in JWT authorizer passed on (`authorizer.jwt.claims`, every
/// value a string; an array claim arrives as `[a b]`).
pub fn jwt_claim<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    use lambda_http::request::RequestContext;
    use lambda_http::RequestExt;
    match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx
            .authorizer
            .as_ref()?
            .jwt
            .as_ref()?
            .claims
            .get(name)
            .map(String::as_str),
        _ => None,
    }
}

/// The `{session_id}` of `DELETE /auth/sessions/{session_id}`: API Gateway's path parameter,
/// or the last path segment (the dev server's events carry only the path).
pub fn session_id_param(req: &Request) -> Option<String> {
    use lambda_http::RequestExt;
    let id = match req
        .path_parameters_ref()
        .and_then(|p| p.first("session_id"))
    {
        Some(id) => id.to_string(),
        None => req
            .uri()
            .path()
            .strip_prefix("/auth/sessions/")?
            .to_string(),
    };
    let valid = !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric());
    valid.then_some(id)
}

/// What refresh and logout read from a request.
pub(super) struct TokenRequest {
    /// The body's `refresh_token` (wins), or every `refresh_token` cookie: more than one
    /// means a sibling site tossed one in, and only logout may act on them (all of them).
    pub tokens: Vec<String>,
    /// The body's `all_devices`, `false` unless literally `true`.
    pub all_devices: bool,
}

pub(super) fn token_request(req: &Request) -> Result<TokenRequest, AuthError> {
    let cookie_bytes: usize = req
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .map(|v| v.len())
        .sum();
    if cookie_bytes > MAX_COOKIE_HEADER_BYTES {
        return Err(bad("The Cookie header is larger than 8 KiB."));
    }
    let body = json_object(req)?;
    let field = |name: &str| body.as_ref().and_then(|b| b.get(name));
    let from_body = match field("refresh_token") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(_) => return Err(bad("refresh_token must be a non-empty string.")),
    };
    Ok(TokenRequest {
        tokens: match from_body {
            Some(token) => vec![token],
            None => cookies(req, REFRESH_COOKIE),
        },
        all_devices: field("all_devices")
            .and_then(Value::as_bool)
            .unwrap_or(false),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(body: &str) -> Request {
        let mut req = Request::new(Body::Text(body.to_string()));
        *req.method_mut() = lambda_http::http::Method::POST;
        req
    }

    #[test]
    fn duplicate_keys_deep_nesting_and_bad_utf8_are_invalid_requests() {
        let dup = r#"{"username":"a","password":"x","username":"b"}"#;
        let nested_dup = r#"{"username":"a","password":"x","extra":{"k":1,"k":2}}"#;
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        let deep = format!(r#"{{"username":"a","password":"x","d":{deep}}}"#);
        for body in [dup, nested_dup, deep.as_str()] {
            assert!(
                matches!(parse_login(&post(body)), Err(AuthError::InvalidRequest(_))),
                "{body:.60}"
            );
        }
        let mut req = Request::new(Body::Binary(
            b"{\"username\":\"\xff\",\"password\":\"x\"}".to_vec(),
        ));
        *req.method_mut() = lambda_http::http::Method::POST;
        assert_eq!(
            parse_login(&req).err(),
            Some(AuthError::InvalidRequest(
                "The request body is not valid UTF-8."
            ))
        );
        assert!(parse_login(&post(
            r#"{"username":"a","password":"x","n":[1,{"a":null}]}"#
        ))
        .is_ok());
    }
}
