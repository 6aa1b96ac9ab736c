//! A small Lambda Runtime API on loopback, to run the *built* function binaries exactly as
//! Lambda does: the binary polls `GET /2018-06-01/runtime/invocation/next`, gets an event, and
//! posts `/response` or `/error`. Used by the smoke tests and the cold-start benchmark.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::sync::Notify;

/// What a function answered for one event.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Response(Value),
    /// `{"errorType", "errorMessage"}` as posted to `/error`.
    Error(Value),
}

#[derive(Default)]
struct State {
    queue: Mutex<VecDeque<(String, Value)>>,
    outcomes: Mutex<HashMap<String, Outcome>>,
    init_error: Mutex<Option<Value>>,
    first_poll: Mutex<Option<Instant>>,
    changed: Notify,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

async fn serve(state: Arc<State>, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let path = req.uri().path().to_string();
    let body = body_bytes(req).await;
    let parsed = || serde_json::from_slice::<Value>(&body).unwrap_or(Value::Null);
    if path == "/2018-06-01/runtime/invocation/next" {
        lock(&state.first_poll).get_or_insert_with(Instant::now);
        state.changed.notify_waiters();
        let next = lock(&state.queue).pop_front();
        let Some((id, event)) = next else {
            // Nothing left: hold the poll, as Lambda does between invocations.
            std::future::pending::<()>().await;
            unreachable!()
        };
        let deadline = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() + 30_000)
            .unwrap_or(0);
        return Response::builder()
            .header("lambda-runtime-aws-request-id", id)
            .header("lambda-runtime-deadline-ms", deadline.to_string())
            .header(
                "lambda-runtime-invoked-function-arn",
                "arn:aws:lambda:eu-west-1:123456789012:function:smoke",
            )
            .header(
                "lambda-runtime-trace-id",
                "Root=1-00000000-000000000000000000000000",
            )
            .body(Full::new(Bytes::from(event.to_string())))
            .unwrap_or_default();
    }
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match segments.as_slice() {
        ["2018-06-01", "runtime", "invocation", id, "response"] => {
            lock(&state.outcomes).insert(id.to_string(), Outcome::Response(parsed()));
        }
        ["2018-06-01", "runtime", "invocation", id, "error"] => {
            lock(&state.outcomes).insert(id.to_string(), Outcome::Error(parsed()));
        }
        ["2018-06-01", "runtime", "init", "error"] => {
            *lock(&state.init_error) = Some(parsed());
        }
        _ => {
            let mut not_found = Response::new(Full::new(Bytes::new()));
            *not_found.status_mut() = hyper::StatusCode::NOT_FOUND;
            return not_found;
        }
    }
    state.changed.notify_waiters();
    let mut accepted = Response::new(Full::new(Bytes::from_static(b"{\"status\":\"OK\"}")));
    *accepted.status_mut() = hyper::StatusCode::ACCEPTED;
    accepted
}

/// A request's whole body (empty if it could not be read): the loopback servers' bodies are
/// small JSON documents.
pub async fn body_bytes(req: Request<Incoming>) -> Bytes {
    req.into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default()
}

/// Serves HTTP/1.1 on `listener` in the background, one task per connection, every request
/// answered by `handle` (the mock Runtime API and the Secrets Manager stub both use it).
pub fn serve_loopback<F, Fut>(listener: tokio::net::TcpListener, handle: F)
where
    F: Fn(Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Response<Full<Bytes>>> + Send + 'static,
{
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let handle = handle.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    let answer = handle(req);
                    async move { Ok::<_, Infallible>(answer.await) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
}

/// A running mock Runtime API.
pub struct RuntimeApi {
    pub addr: std::net::SocketAddr,
    state: Arc<State>,
}

impl RuntimeApi {
    pub async fn start(events: Vec<Value>) -> RuntimeApi {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(State::default());
        {
            let mut q = lock(&state.queue);
            for (i, e) in events.into_iter().enumerate() {
                q.push_back((format!("req-{i}"), e));
            }
        }
        let server_state = state.clone();
        serve_loopback(listener, move |req| serve(server_state.clone(), req));
        RuntimeApi { addr, state }
    }

    /// The time of the first `next` poll, once there has been one.
    pub fn first_poll(&self) -> Option<Instant> {
        *lock(&self.state.first_poll)
    }

    pub fn init_error(&self) -> Option<Value> {
        lock(&self.state.init_error).clone()
    }

    /// Waits until `n` outcomes arrived (or `timeout`), returning them in event order.
    pub async fn outcomes(&self, n: usize, timeout: Duration) -> Vec<Option<Outcome>> {
        let _ = tokio::time::timeout(timeout, async {
            loop {
                let notified = self.state.changed.notified();
                if lock(&self.state.outcomes).len() >= n || self.init_error().is_some() {
                    return;
                }
                notified.await;
            }
        })
        .await;
        let outcomes = lock(&self.state.outcomes);
        (0..n)
            .map(|i| outcomes.get(&format!("req-{i}")).cloned())
            .collect()
    }

    /// Waits for the first poll (or `timeout`).
    pub async fn wait_first_poll(&self, timeout: Duration) -> Option<Instant> {
        let _ = tokio::time::timeout(timeout, async {
            loop {
                let notified = self.state.changed.notified();
                if self.first_poll().is_some() {
                    return;
                }
                notified.await;
            }
        })
        .await;
        self.first_poll()
    }
}

/// Runs a built function binary against a fresh mock Runtime API with `events`, as Lambda
/// would, and returns what it answered to each (then kills it).
pub async fn run_binary(
    binary: &Path,
    env: &[(String, String)],
    events: Vec<Value>,
) -> (Vec<Option<Outcome>>, Option<Value>) {
    let (outcomes, init_error, _) = run_binary_logged(binary, env, events).await;
    (outcomes, init_error)
}

/// [`run_binary`], also returning everything the binary wrote to stdout and stderr (its logs;
/// read while it runs, so a chatty log level cannot fill a pipe and stall it).
pub async fn run_binary_logged(
    binary: &Path,
    env: &[(String, String)],
    events: Vec<Value>,
) -> (Vec<Option<Outcome>>, Option<Value>, String) {
    use tokio::io::AsyncReadExt;
    let n = events.len();
    let api = RuntimeApi::start(events).await;
    let mut child = tokio::process::Command::new(binary)
        .env_clear()
        .envs(env.iter().cloned())
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_LAMBDA_RUNTIME_API", api.addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", "smoke")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "smoke")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "smoke")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
    let drain = |pipe: Option<Box<dyn tokio::io::AsyncRead + Send + Unpin>>| {
        tokio::spawn(async move {
            let mut text = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut text).await;
            }
            text
        })
    };
    let stdout = drain(child.stdout.take().map(|p| Box::new(p) as _));
    let stderr = drain(child.stderr.take().map(|p| Box::new(p) as _));
    let outcomes = api.outcomes(n, Duration::from_secs(60)).await;
    let init_error = api.init_error();
    let _ = child.kill().await;
    let mut logs = stdout.await.unwrap_or_default();
    logs.extend(stderr.await.unwrap_or_default());
    (
        outcomes,
        init_error,
        String::from_utf8_lossy(&logs).into_owned(),
    )
}
