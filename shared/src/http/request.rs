//! Reading requests: the body as strict JSON within the contract's limits, cookies, and the
//! cross-site checks every POST under /auth runs first.

use lambda_http::http::header;
use lambda_http::{Body, Request};
use serde_json::{Map, Value};

use crate::error::AuthError;
use secrecy::SecretString;

pub const MAX_BODY_BYTES: usize = 16 * 1024;
pub const MAX_DEVICE_ID_CHARS: usize = 128;
/// Longest `Cookie` header we read (browsers cap one cookie at 4 KiB; API Gateway caps all
/// headers at 10 KiB). Longer is an invalid request, not something to parse.
pub const MAX_COOKIE_HEADER_BYTES: usize = 8 * 1024;

pub(crate) fn bad(why: &'static str) -> AuthError {
    AuthError::InvalidRequest(why)
}

/// The body as a JSON object, which the route requires (400 `invalid_request` otherwise,
/// an empty body included).
pub(crate) fn json_body(req: &Request) -> Result<Map<String, Value>, AuthError> {
    json_object(req)?.ok_or(bad("The request body must be a JSON object."))
}

/// The body as a JSON object; `None` for an empty body.
pub(crate) fn json_object(req: &Request) -> Result<Option<Map<String, Value>>, AuthError> {
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
/// The body's `name` as an email address: `None` if absent or null, 400 if malformed.
pub(crate) fn email_field(
    body: &Map<String, Value>,
    name: &str,
) -> Result<Option<crate::domain::Email>, AuthError> {
    const WHY: &str = "email must be an address like name@example.com (at most 254 bytes).";
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => crate::domain::Email::parse(s)
            .map(Some)
            .map_err(|_| bad(WHY)),
        Some(_) => Err(bad(WHY)),
    }
}

pub(crate) fn required_string(
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
    crate::config::is_loopback(host) && origin.strip_prefix("http://") == Some(host)
}

/// A new password: any non-empty string the body limit lets through; its length is the
/// password policy's to judge (`weak_password`, with the rule), not a malformed request.
/// The body's `current_password` (a password being proved, so only the length limit).
pub(crate) fn current_password(body: &Map<String, Value>) -> Result<SecretString, AuthError> {
    required_string(
        body,
        "current_password",
        crate::domain::MAX_PASSWORD_BYTES,
        "current_password must be a non-empty string of at most 1024 bytes.",
    )
    .map(SecretString::from)
}

pub(crate) fn new_password(
    body: &Map<String, Value>,
    name: &str,
    why: &'static str,
) -> Result<SecretString, AuthError> {
    required_string(body, name, MAX_BODY_BYTES, why).map(SecretString::from)
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
