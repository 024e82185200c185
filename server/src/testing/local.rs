//! A real server for tests that are about the transport: the whole server started in this
//! process on free ports of 127.0.0.1 (the game and the admin endpoint), shut down and
//! waited for at the end. The server's own tests and the bot's use the same one.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::Config;

/// How long a test waits for the server to answer an admin request or to stop.
pub const WAIT: Duration = Duration::from_secs(5);

/// A server running in this process (see the module doc).
#[derive(Debug)]
pub struct LocalServer {
    /// Where the game listens.
    pub addr: SocketAddr,
    /// Where the admin endpoint listens (`/healthz`, `/metrics`, `/rooms`).
    pub admin_addr: SocketAddr,
    shutdown: CancellationToken,
    task: JoinHandle<anyhow::Result<()>>,
}

impl LocalServer {
    /// Starts a server with `config` on free ports.
    ///
    /// # Panics
    /// When no port can be bound: the machine cannot run the test.
    pub async fn start(config: Config) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the game port");
        let admin = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the admin port");
        let addr = listener.local_addr().expect("the game port's address");
        let admin_addr = admin.local_addr().expect("the admin port's address");
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(crate::run_with_admin(
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

    /// The game port's WebSocket URL.
    pub fn url(&self) -> String {
        format!("ws://{}/", self.addr)
    }

    /// The token that shuts the server down, for a test that watches it drain.
    pub fn shutdown(&self) -> &CancellationToken {
        &self.shutdown
    }

    /// GETs `path` from the admin endpoint: the status and the body.
    pub async fn admin_get(&self, path: &str) -> (u16, String) {
        http_get(self.admin_addr, path).await
    }

    /// The value of one series of `/metrics`, named and labelled exactly as shown, such as
    /// `tickwire_connections_closed_total{reason="flood"}`; 0 when absent.
    pub async fn metric(&self, series: &str) -> f64 {
        let (_, page) = self.admin_get("/metrics").await;
        metric_value(&page, series)
    }

    /// Shuts the server down and waits for it to return.
    ///
    /// # Panics
    /// When it does not stop within [`WAIT`], or stops with an error.
    pub async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(WAIT, self.task)
            .await
            .expect("the server stops within the wait")
            .expect("the server task does not panic")
            .expect("the server returns no error");
    }
}

/// A bare HTTP/1.1 GET over a fresh connection: the status and the body.
///
/// # Panics
/// When no answer comes within [`WAIT`], or it is not HTTP.
pub async fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    let (head, body) = http_get_with_head(addr, path).await;
    let status = head
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .expect("an HTTP status");
    (status, body)
}

/// A bare HTTP/1.1 GET over a fresh connection: the head (status line and headers,
/// lower-cased, for tests of a header) and the body.
///
/// # Panics
/// When no answer comes within [`WAIT`], or it is not HTTP.
pub async fn http_get_with_head(addr: SocketAddr, path: &str) -> (String, String) {
    let answer = tokio::time::timeout(WAIT, async {
        let mut stream = TcpStream::connect(addr).await.expect("connect for a GET");
        let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        stream
            .write_all(request.as_bytes())
            .await
            .expect("send the GET");
        let mut answer = Vec::new();
        stream
            .read_to_end(&mut answer)
            .await
            .expect("read the answer");
        answer
    })
    .await
    .expect("an HTTP answer within the wait");
    let answer = String::from_utf8(answer).expect("a text answer");
    let (head, body) = answer.split_once("\r\n\r\n").expect("an HTTP answer");
    (head.to_ascii_lowercase(), body.to_owned())
}

/// The value of `series` (name and labels, exactly as exposed) in a Prometheus text page;
/// 0 when absent.
pub fn metric_value(page: &str, series: &str) -> f64 {
    page.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0)
}
