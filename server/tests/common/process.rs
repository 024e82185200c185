//! The `tickwire-server` binary in a process of its own, as an operator runs it, for tests
//! that are about the process (signals, logs) or that must not share a runtime with it.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::TestServer;

/// A server process on free loopback ports, killed if the test ends early.
pub struct Process {
    pub child: Child,
    pub addr: SocketAddr,
    pub admin: SocketAddr,
}

impl Process {
    pub fn start(extra: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tickwire-server"))
            .args(["--bind", "127.0.0.1:0", "--admin-bind", "127.0.0.1:0"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The binary prints where it listens before it serves.
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut addr_after = |prefix: &str| -> SocketAddr {
            let line = lines.next().unwrap().unwrap();
            let rest = line
                .strip_prefix(prefix)
                .unwrap_or_else(|| panic!("{line}"));
            rest.parse().unwrap()
        };
        let addr = addr_after("tickwire-server listening on ws://");
        let admin = addr_after("tickwire-server admin on http://");
        Self { child, addr, admin }
    }

    /// A handle the shared test client can connect with.
    pub fn target(&self) -> TestServer {
        TestServer::external(self.addr, self.admin)
    }

    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits up to `limit` for the process to exit; returns its exit code and how long it took.
    pub fn wait_exit(&mut self, limit: Duration) -> (Option<i32>, Duration) {
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Some(status) = self.child.try_wait().unwrap() {
                return (status.code(), start.elapsed());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("the server did not exit within {limit:?}");
    }

    pub fn stderr(&mut self) -> String {
        let mut text = String::new();
        std::io::Read::read_to_string(self.child.stderr.as_mut().unwrap(), &mut text).unwrap();
        text
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
