//! The real Tickwire server, started in this process on a free port of 127.0.0.1, with
//! its admin endpoint on another: what the bots' tests run against, and where they read
//! the server's own counters (`/metrics`) when the server, not the bot, is the witness.

#![allow(dead_code)] // each test file uses its own part of this

use std::net::SocketAddr;
use std::time::Duration;

use tickwire_server::Config;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep, timeout};
use tokio_util::sync::CancellationToken;

/// How long the server may take to answer an admin request or to shut down.
const WAIT: Duration = Duration::from_secs(5);

/// A running server; [`RealServer::stop`] shuts it down and waits for it.
pub struct RealServer {
    addr: SocketAddr,
    admin_addr: SocketAddr,
    shutdown: CancellationToken,
    task: JoinHandle<anyhow::Result<()>>,
}

/// The defaults, but for a short shutdown grace: the bots have closed by the time a test
/// stops its server, and a test should not wait the full default for stragglers.
pub fn test_config() -> Config {
    Config {
        shutdown_grace_ms: 200,
        ..Config::default()
    }
}

impl RealServer {
    /// Starts a server with `config`.
    pub async fn start(config: Config) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let admin = TcpListener::bind("127.0.0.1:0").await.expect("bind admin");
        let addr = listener.local_addr().expect("local address");
        let admin_addr = admin.local_addr().expect("admin address");
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(tickwire_server::run_with_admin(
            listener,
            Some(admin),
            config,
            shutdown.clone(),
        ));
        Self {
            addr,
            admin_addr,
            shutdown,
            task,
        }
    }

    /// Where the game listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The WebSocket URL of the game port.
    pub fn url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    /// The value of one series of `/metrics`, named and labelled exactly as exposed, such
    /// as `tickwire_connections_closed_total{reason="abnormal"}`; 0 when absent.
    pub async fn metric(&self, series: &str) -> f64 {
        let page = http_get(self.admin_addr, "/metrics").await;
        page.lines()
            .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
            .map_or(0.0, |v| v.trim().parse().expect("a number"))
    }

    /// Waits until `series` reaches at least `at_least` (the server counts a connection's
    /// end once it has dealt with it, a tick or so after the peer went), and returns its
    /// value then; gives up after [`WAIT`] with the value it has.
    pub async fn metric_reaching(&self, series: &str, at_least: f64) -> f64 {
        let give_up = Instant::now() + WAIT;
        loop {
            let value = self.metric(series).await;
            if value >= at_least || Instant::now() >= give_up {
                return value;
            }
            // The server has no way to announce a metric; a tick is its grain.
            sleep(Duration::from_millis(10)).await;
        }
    }

    /// Shuts the server down and waits for it to return.
    pub async fn stop(self) {
        self.shutdown.cancel();
        timeout(WAIT, self.task)
            .await
            .expect("the server stops within the wait")
            .expect("the server task does not panic")
            .expect("the server returns no error");
    }
}

/// A bare HTTP/1.1 GET over a fresh connection; returns the body of a 200 answer.
async fn http_get(addr: SocketAddr, path: &str) -> String {
    let answer = timeout(WAIT, async {
        let mut stream = TcpStream::connect(addr).await.expect("admin connect");
        let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        stream
            .write_all(request.as_bytes())
            .await
            .expect("admin request");
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await.expect("admin answer");
        answer
    })
    .await
    .expect("an admin answer within the wait");
    let answer = String::from_utf8(answer).expect("a text answer");
    let (head, body) = answer.split_once("\r\n\r\n").expect("an HTTP answer");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    body.to_owned()
}
