//! Keep-alive over real sockets: the server pings, clients that answer stay, and a client
//! from which nothing arrives is closed with 1008 after the idle timeout, in the lobby and
//! in a room, where the others are told it left once its resume grace is over.

mod common;

use common::{Client, TestServer};
use tickwire_server::Config;
use tickwire_shared::*;

/// Quick pings and timeout; a long close grace, so a test client that reads only after
/// the timeout still finds the close frame waiting rather than a reset connection.
fn quick_keep_alive() -> Config {
    Config {
        ping_interval_ms: 100,
        idle_timeout_ms: 400,
        shutdown_grace_ms: 1_500,
        resume_grace_ms: 200,
        ..Config::default()
    }
}

#[tokio::test]
async fn a_silent_player_is_closed_and_the_room_told_while_an_answering_one_stays() {
    let server = TestServer::start(quick_keep_alive()).await;
    let (mut sleeper, _) = Client::joined(&server, "sleeper", Some("r")).await;
    // Sends nothing and reads nothing from here on, so it answers no ping.
    let (mut quiet, _) = Client::joined(&server, "quiet", Some("r")).await;
    // Sends nothing either, but reads, and its library answers the server's pings.
    let left = quiet
        .recv_where(|m| matches!(m, ServerMsg::PlayerLeft(_)))
        .await;
    assert_eq!(
        left,
        ServerMsg::PlayerLeft(PlayerLeft {
            id: sleeper.id,
            name: "sleeper".into()
        })
    );
    let (code, reason) = sleeper.recv_close().await;
    assert_eq!(code, 1008);
    assert!(reason.contains("idle"), "{reason}");
    // Well past the idle timeout, the answering player is still in the room.
    for _ in 0..60 {
        let snap = quiet.recv_snapshot().await;
        assert_eq!(snap.players.len(), 1);
        assert_eq!(snap.players[0].id, quiet.id);
    }
    server.stop().await;
}

#[tokio::test]
async fn a_connection_that_never_says_hello_is_closed_after_the_idle_timeout() {
    let server = TestServer::start(quick_keep_alive()).await;
    let mut mute = Client::connect(&server).await;
    // Reading would answer the server's pings; read only once the timeout has passed.
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    let (code, _) = mute.recv_close().await;
    assert_eq!(code, 1008);
    server.stop().await;
}
