//! HTTP requests to API Gateway's payload 2.0 events, Lambda responses back to HTTP.

use std::collections::HashMap;
use std::net::SocketAddr;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderName, HeaderValue};
use hyper::{Method, Response, StatusCode};
use lambda_http::aws_lambda_events::apigw::{
    ApiGatewayV2httpRequest, ApiGatewayV2httpRequestContext,
    ApiGatewayV2httpRequestContextHttpDescription,
};
use serde_json::{json, Value};

use crate::*;

/// API Gateway's own error bodies.
pub(crate) fn gateway_error(status: StatusCode, message: &str) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(
        json!({ "message": message }).to_string(),
    )));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

/// The HTTP API (payload 2.0) event for a request, as API Gateway builds it, in the type the
/// functions' runtime (lambda_http) parses that event's JSON into. Built directly rather than
/// as a JSON tree to be parsed again: the handlers get the same request either way, and that
/// JSON round trip (API Gateway's printing, the runtime's parsing) is not the dev server's to
/// pay on every request. Header names arrive lower-case from hyper, as API Gateway sends them;
/// repeated headers are joined with commas and `Cookie` moves to `cookies`, as API Gateway does.
pub fn v2_request(
    method: &Method,
    path: &str,
    query: &str,
    headers: &hyper::HeaderMap,
    body: &[u8],
    peer: SocketAddr,
) -> ApiGatewayV2httpRequest {
    let mut event_headers = hyper::HeaderMap::with_capacity(headers.keys_len());
    let mut cookies = Vec::new();
    for name in headers.keys() {
        // A JSON event carries strings: values that are not UTF-8 cannot travel.
        let mut values = headers
            .get_all(name)
            .iter()
            .filter_map(|v| Some((v, std::str::from_utf8(v.as_bytes()).ok()?)));
        if name == hyper::header::COOKIE {
            for (_, v) in values {
                cookies.extend(
                    v.split(';')
                        .map(str::trim)
                        .filter(|c| !c.is_empty())
                        .map(str::to_string),
                );
            }
            continue;
        }
        let Some((first, _)) = values.next() else {
            continue;
        };
        let value = match values.next() {
            // The usual case: the value as hyper read it (no copy).
            None => first.clone(),
            Some(second) => {
                let mut joined = first.as_bytes().to_vec();
                for (v, _) in std::iter::once(second).chain(values) {
                    joined.push(b',');
                    joined.extend_from_slice(v.as_bytes());
                }
                match HeaderValue::from_bytes(&joined) {
                    Ok(v) => v,
                    Err(_) => continue,
                }
            }
        };
        event_headers.insert(name.clone(), value);
    }
    let text = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| std::str::from_utf8(v.as_bytes()).ok())
            .map(str::to_string)
    };
    let time_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    let route_key = Route::key(method, path);

    let mut http = ApiGatewayV2httpRequestContextHttpDescription::default();
    http.method = method.clone();
    http.path = Some(path.to_string());
    http.protocol = Some("HTTP/1.1".into());
    http.source_ip = Some(peer.ip().to_string());
    http.user_agent = Some(text(hyper::header::USER_AGENT).unwrap_or_default());

    let mut context = ApiGatewayV2httpRequestContext::default();
    context.account_id = Some("000000000000".into());
    context.apiid = Some("local".into());
    context.domain_name = Some(text(hyper::header::HOST).unwrap_or_else(|| "127.0.0.1".into()));
    context.domain_prefix = Some("local".into());
    context.http = http;
    context.request_id = Some(uuid::Uuid::new_v4().to_string());
    context.route_key = Some(route_key.clone());
    context.stage = Some("$default".into());
    context.time_epoch = time_epoch;

    let mut event = ApiGatewayV2httpRequest::default();
    event.version = Some("2.0".into());
    event.route_key = Some(route_key);
    event.raw_path = Some(path.to_string());
    if let Some((name, _, value)) = path_param(path) {
        event.path_parameters = HashMap::from([(name.to_string(), value.to_string())]);
    }
    event.raw_query_string = Some(query.to_string());
    event.headers = event_headers;
    event.cookies = (!cookies.is_empty()).then_some(cookies);
    event.request_context = context;
    if !body.is_empty() {
        match std::str::from_utf8(body) {
            Ok(text) => event.body = Some(text.to_string()),
            Err(_) => {
                event.body = Some(STANDARD.encode(body));
                event.is_base64_encoded = true;
            }
        }
    }
    event
}

/// The HTTP response API Gateway makes of a Lambda's payload 2.0 response.
pub fn http_response(lambda: &Value) -> Response<Full<Bytes>> {
    let status = lambda["statusCode"]
        .as_u64()
        .and_then(|s| StatusCode::from_u16(s as u16).ok())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = match lambda["body"].as_str() {
        Some(b) if lambda["isBase64Encoded"].as_bool() == Some(true) => {
            STANDARD.decode(b).unwrap_or_default()
        }
        Some(b) => b.as_bytes().to_vec(),
        None => Vec::new(),
    };
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    if let Some(headers) = lambda["headers"].as_object() {
        for (name, value) in headers {
            if let (Ok(n), Some(Ok(v))) = (
                HeaderName::from_bytes(name.as_bytes()),
                value.as_str().map(HeaderValue::from_str),
            ) {
                resp.headers_mut().append(n, v);
            }
        }
    }
    for cookie in lambda["cookies"].as_array().into_iter().flatten() {
        if let Some(Ok(v)) = cookie.as_str().map(HeaderValue::from_str) {
            resp.headers_mut().append(hyper::header::SET_COOKIE, v);
        }
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_request_joins_repeated_headers_and_moves_cookies_as_api_gateway_does() {
        let mut headers = hyper::HeaderMap::new();
        headers.append("x-forwarded-for", HeaderValue::from_static("10.0.0.1"));
        headers.append("x-forwarded-for", HeaderValue::from_static(""));
        headers.append("x-forwarded-for", HeaderValue::from_static("10.0.0.2"));
        headers.append("accept", HeaderValue::from_static("application/json"));
        headers.append("cookie", HeaderValue::from_static("a=1; b=2"));
        headers.append("cookie", HeaderValue::from_static("c=3"));
        headers.append("x-latin1", HeaderValue::from_bytes(b"caf\xe9").unwrap());
        headers.append("user-agent", HeaderValue::from_static("curl/8"));
        let peer: SocketAddr = "127.0.0.1:4000".parse().unwrap();
        let event = v2_request(&Method::GET, "/hello", "x=1", &headers, b"\xff\x00", peer);
        // What the functions see is what they would parse from the event's JSON.
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["version"], "2.0");
        assert_eq!(json["headers"]["x-forwarded-for"], "10.0.0.1,,10.0.0.2");
        assert_eq!(json["headers"]["accept"], "application/json");
        assert!(json["headers"].get("cookie").is_none());
        assert!(json["headers"].get("x-latin1").is_none());
        assert_eq!(json["cookies"], json!(["a=1", "b=2", "c=3"]));
        assert_eq!(json["routeKey"], "GET /hello");
        assert_eq!(json["rawPath"], "/hello");
        assert_eq!(json["rawQueryString"], "x=1");
        assert_eq!(json["body"], "/wA=");
        assert_eq!(json["isBase64Encoded"], true);
        let context = &json["requestContext"];
        assert_eq!(context["routeKey"], "GET /hello");
        assert_eq!(context["stage"], "$default");
        assert_eq!(context["http"]["method"], "GET");
        assert_eq!(context["http"]["sourceIp"], "127.0.0.1");
        assert_eq!(context["http"]["userAgent"], "curl/8");
        assert!(context["timeEpoch"].as_i64().unwrap() > 1_700_000_000_000);
        assert_eq!(context["requestId"].as_str().unwrap().len(), 36);
    }
}
