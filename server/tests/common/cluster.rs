//! A cluster on loopback for the cluster tests: a real `redis-server` and three
//! `tickwire-server` processes (`n1`, `n2`, `n3`) sharing it.

use std::time::{Duration, Instant};

use super::process::Process;
use super::redis::Redis;
use super::{TestServer, WAIT};

const SECRET: &str = "a cluster secret for the tests, 32+ bytes";

/// Redis and three nodes, `n1`, `n2`, `n3`.
pub struct Cluster {
    pub redis: Redis,
    pub nodes: Vec<Process>,
}

impl Cluster {
    pub fn start() -> Self {
        let redis = Redis::start();
        let url = redis.url();
        let nodes = (1..=3)
            .map(|i| {
                Process::start(&[
                    "--redis-url",
                    &url,
                    "--node-id",
                    &format!("n{i}"),
                    "--cluster-secret",
                    SECRET,
                    "--shutdown-grace-ms",
                    "300",
                ])
            })
            .collect();
        let cluster = Self { redis, nodes };
        cluster.wait_listed(3);
        cluster
    }

    /// Every node's game URL.
    pub fn urls(&self) -> Vec<String> {
        self.nodes
            .iter()
            .map(|n| format!("ws://{}/", n.addr))
            .collect()
    }

    pub fn node(&self, i: usize) -> TestServer {
        self.nodes[i].target()
    }

    /// Waits until the directory lists `n` live nodes.
    pub fn wait_listed(&self, n: usize) {
        let deadline = Instant::now() + WAIT;
        loop {
            let listed = self
                .redis
                .command("SCARD tickwire:nodes")
                .and_then(|r| r.trim_start_matches(':').parse::<usize>().ok());
            if listed == Some(n) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{listed:?} nodes listed, not {n}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
