//! Writes what one client of a full room receives, frame by frame, for the TypeScript
//! SDK's decode bench (`clients/typescript/bench/decode.ts`): a real server in this
//! process, 63 players sending random valid inputs of the game's schema, and a 64th that
//! joins once they are in and keeps every binary frame for `TICKS` snapshots.
//!
//! `cargo run --release -p tickwire-server --example sdk_frames -- DIR [GAME]` writes
//! `DIR/GAME-64.bin` (GAME: arena by default): frames as `[u32 little-endian length][bytes]`,
//! `Joined` first.

use std::time::Duration;

use anyhow::{Context as _, bail};
use futures::{SinkExt as _, StreamExt as _};
use tickwire_server::Config;
use tickwire_server::testing::LocalServer;
use tickwire_shared::schema::{InputField, InputType};
use tickwire_shared::{
    ClientMsg, Hello, Input, InputValue, Join, PROTOCOL_VERSION, ServerMsg, encode_client,
};
use tokio_tungstenite::tungstenite::Message;

const PLAYERS: usize = 64;
const ROOM: &str = "bench";
/// Ten seconds at 60 Hz: keyframes and deltas as a client sees them.
const TICKS: usize = 600;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = std::path::PathBuf::from(args.next().context("usage: sdk_frames DIR [GAME]")?);
    let game = args.next().unwrap_or_else(|| "arena".into());
    let server = LocalServer::start(Config {
        game: game.clone(),
        max_room_players: PLAYERS as u32,
        ..Config::default()
    })
    .await;
    let url = server.url();
    let walkers: Vec<_> = (0..PLAYERS - 1)
        .map(|i| {
            let url = url.clone();
            tokio::spawn(async move { walk(&url, i as u64 + 1).await })
        })
        .collect();
    while server
        .admin_get("/rooms")
        .await
        .1
        .matches("\"players\":63")
        .count()
        == 0
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (mut ws, _, joined) =
        tokio::time::timeout(Duration::from_secs(30), connect(&url, "recorder"))
            .await
            .context("the recorder did not join in time")??;
    // The `Joined` (with the schema) is the file's first frame.
    let mut out = Vec::new();
    out.extend_from_slice(&u32::try_from(joined.len())?.to_le_bytes());
    out.extend_from_slice(&joined);
    let mut snapshots = 0;
    while snapshots < TICKS {
        let frame = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .context("no frame within 5 s")?
            .context("the server closed")??;
        let Message::Binary(bytes) = frame else {
            continue;
        };
        if matches!(ServerMsg::decode(&bytes), Ok(ServerMsg::Snapshot(_))) {
            snapshots += 1;
        }
        out.extend_from_slice(&u32::try_from(bytes.len())?.to_le_bytes());
        out.extend_from_slice(&bytes);
    }
    for walker in walkers {
        walker.abort();
    }
    server.stop().await;
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!("{game}-{PLAYERS}.bin"));
    std::fs::write(&path, &out)?;
    println!(
        "wrote {} ({snapshots} snapshots, {} bytes)",
        path.display(),
        out.len()
    );
    Ok(())
}

/// Connects, says hello and joins the room: the socket, the `Joined` and its bytes.
async fn connect(url: &str, name: &str) -> anyhow::Result<(Socket, ServerMsg, Vec<u8>)> {
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await?;
    let hello = ClientMsg::Hello(Hello {
        version: PROTOCOL_VERSION,
        name: name.into(),
    });
    let join = ClientMsg::Join(Join {
        room: Some(ROOM.into()),
        key: None,
    });
    ws.send(Message::Binary(encode_client(&hello))).await?;
    ws.send(Message::Binary(encode_client(&join))).await?;
    while let Some(frame) = ws.next().await {
        if let Message::Binary(bytes) = frame? {
            match ServerMsg::decode(&bytes)? {
                joined @ ServerMsg::Joined(_) => return Ok((ws, joined, bytes.to_vec())),
                ServerMsg::Error(e) => bail!("join refused: {}", e.message),
                _ => {}
            }
        }
    }
    bail!("closed before Joined")
}

/// A player that sends a random valid input every tick until aborted, and reads (and
/// drops) everything it is sent, so the server never sees it stall.
async fn walk(url: &str, seed: u64) -> anyhow::Result<()> {
    let (ws, joined, _) = connect(url, &format!("walker-{seed}")).await?;
    let ServerMsg::Joined(joined) = joined else {
        bail!("not joined")
    };
    let (mut tx, mut rx) = ws.split();
    tokio::spawn(async move { while rx.next().await.is_some() {} });
    let mut rng = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut tick = tokio::time::interval(Duration::from_millis(16));
    let mut values = Vec::new();
    for seq in 1.. {
        tick.tick().await;
        // A new intent about twice a second, as a person would change their mind.
        if seq % 30 == 1 || values.is_empty() {
            values = joined
                .schema
                .input
                .iter()
                .map(|f| random_value(f, &mut rng))
                .collect();
        }
        let input = ClientMsg::Input(Input {
            seq,
            view_tick: 0,
            values: values.clone(),
        });
        tx.send(Message::Binary(encode_client(&input))).await?;
    }
    Ok(())
}

/// A value the field accepts, from a xorshift generator.
fn random_value(field: &InputField, rng: &mut u64) -> InputValue {
    *rng ^= *rng << 13;
    *rng ^= *rng >> 7;
    *rng ^= *rng << 17;
    let unit = (*rng >> 11) as f64 / (1u64 << 53) as f64;
    match field.ty {
        InputType::Float => InputValue::Float(field.min + unit * (field.max - field.min)),
        InputType::Angle => InputValue::Float((unit * 2.0 - 1.0) * std::f64::consts::PI),
        InputType::Int | InputType::Enum => {
            InputValue::Int(field.min as i64 + (unit * (field.max - field.min + 1.0)) as i64)
        }
        InputType::Bool => InputValue::Bool(unit < 0.3),
    }
}
