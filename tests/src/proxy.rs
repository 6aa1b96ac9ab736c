//! A TCP proxy in front of a local engine that a test can cut (connections refused and
//! existing ones dropped) or black-hole (accepted, never answered), to simulate an engine
//! that is down or hanging, mid-run, without disturbing other tests.

use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Forward,
    /// New connections are closed at once; open ones are dropped.
    Cut,
    /// Connections are accepted and held without an answer; open ones are dropped.
    BlackHole,
}

pub struct Proxy {
    pub url: String,
    mode: watch::Sender<Mode>,
}

impl Proxy {
    /// Proxies `upstream` (`http://host:port`).
    pub async fn start(upstream: &str) -> Proxy {
        let target = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (mode, watcher) = watch::channel(Mode::Forward);
        let target = Arc::new(target);
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    continue;
                };
                let mut watcher = watcher.clone();
                let target = target.clone();
                tokio::spawn(async move {
                    let current = *watcher.borrow_and_update();
                    match current {
                        Mode::Cut => {}
                        Mode::BlackHole => {
                            let _ = watcher.changed().await;
                            std::future::pending::<()>().await;
                        }
                        Mode::Forward => {
                            let Ok(mut outbound) = TcpStream::connect(target.as_str()).await else {
                                return;
                            };
                            tokio::select! {
                                _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                                _ = watcher.changed() => {}
                            }
                        }
                    }
                });
            }
        });
        Proxy { url, mode }
    }

    pub fn set(&self, mode: Mode) {
        let _ = self.mode.send(mode);
    }
}
