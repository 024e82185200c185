//! One game over real sockets, end to end: two WebSocket clients join one room and see one
//! move, and the shutdown closes every real socket, in a room or in the lobby, with 1001.
//!
//! The room's behaviour is tested on the in-memory harness (`rooms.rs`, `sessions.rs`,
//! `src/room/tests.rs`); this smoke test stays over real sockets to show that the pieces
//! the harness replaces (the listener, the handshake, the lobby and room tasks on the wall
//! clock, tungstenite on TCP) carry that behaviour too.

mod common;

use common::arena::Body;
use common::{Client, TestServer, input};
use tickwire_server::Config;

#[tokio::test]
async fn two_real_clients_see_one_move_and_shutdown_closes_every_socket_with_1001() {
    let server = TestServer::start(Config::default()).await;
    let (mut ana, _) = Client::joined(&server, "ana", Some("arena")).await;
    let (mut bo, joined) = Client::joined(&server, "bo", Some("arena")).await;
    assert_eq!(joined.players.len(), 1, "{joined:?}");
    let mut idle = Client::greeted(&server, "idle").await;

    let id = ana.id;
    ana.send(input(1, [1.0, 0.0])).await;
    for client in [&mut ana, &mut bo] {
        // Within a few ticks; every snapshot read on the way is applied and hash-checked.
        let moved = async {
            for _ in 0..30 {
                let snap = client.recv_snapshot().await;
                let p = Body::of(snap.entity(id).expect("ana is in the room"));
                // Ana's own snapshots also acknowledge the input; Bo's carry Bo's ack.
                let acked = client.id != id || snap.ack == 1;
                if acked && p.vel()[0] > 0.0 {
                    return true;
                }
            }
            false
        };
        assert!(moved.await, "the move showed within 30 snapshots");
    }

    server.shutdown.cancel();
    for client in [&mut ana, &mut bo, &mut idle] {
        assert_eq!(client.recv_close().await.0, 1001);
    }
    // Hung up, so that the shutdown does not wait out its grace for replies nobody sends.
    drop((ana, bo, idle));
    server.stop().await;
}
