//! Light bots (`--check-every K`): bots that load the server as a full bot does but only
//! count their snapshots, so that one bot thread drives thousands of clients and the machine
//! measures the server rather than the bots.
//!
//! With `K` above 1, bot `i` checks everything (the full bot of [`crate::bot`]: every
//! snapshot decoded, applied and its hash checked) when `i % K == 0` ([`checks_fully`]),
//! and the others are light. A light bot says hello and joins its room as a full bot does,
//! sends its game's inputs (from the room's schema) and pings at the same rates, answers the
//! server's WebSocket pings, and closes at the deadline; what it does not do is decode its
//! snapshots. It recognises one by its envelope and records when it came, which is all the
//! snapshot rate and interval figures need; its tick, read in passing
//! ([`tickwire_shared::Snapshot::peek_tick`]), is its inputs' `view_tick`. Every other message (pongs, errors, events) is rare
//! and decoded as usual, so a light bot reports round trips, server errors and closes as
//! honestly as a full one. It does not track acknowledgements: input-to-ack latency comes
//! from the full bots only.
//!
//! A light bot is cheap because nothing on its hot path allocates or copies: its frames
//! are read in place by a small parser of its own ([`frame`]) from one buffer per bot
//! ([`conn`]), and each input goes out with one non-blocking write, at the input rate
//! even when the thread wakes late ([`pace`]). Light bots neither drop
//! their connections on purpose nor chat, so `--check-every` above 1 refuses `--chaos` and
//! `--chat-rate`.

mod conn;
mod frame;
mod pace;
mod play;

use std::sync::Arc;

use anyhow::bail;
use tickwire_shared::{ClientMsg, Hello, Join, PROTOCOL_VERSION, Schema, ServerMsg, encode_client};
use tokio::time::{sleep_until, timeout};

use self::conn::RawWs;
use crate::CONNECT_TIMEOUT;
use crate::bot::{BotPlan, Shared, connect_failed};
use crate::session::room_name;
use crate::stats::BotStats;

/// Mixed into a bot's index to seed its frame masks.
const MASK_SEED: u64 = 0x3A5C_F00D;

/// True when bot `index` decodes and checks everything, with one bot in `every` doing so.
pub(crate) fn checks_fully(index: usize, every: usize) -> bool {
    every <= 1 || index % every == 0
}

/// Runs one light bot from its start to its end and returns what it measured.
pub(crate) async fn run(plan: BotPlan, shared: Arc<Shared>) -> BotStats {
    let mut stats = BotStats::new();
    stats.light_bots = 1;
    let name = format!("bot-{}", plan.index);
    let room = room_name(plan.index, shared.rooms);
    sleep_until(plan.start_at).await;
    let handshake = async {
        let url = shared.url_for(plan.index, &name)?;
        let mut ws = RawWs::open(&url, MASK_SEED ^ plan.index as u64).await?;
        let joined = hello_and_join(&mut ws, name, room, &mut stats).await?;
        anyhow::Ok((ws, joined))
    };
    let (mut ws, joined) = match timeout(CONNECT_TIMEOUT, handshake).await {
        Ok(Ok(connection)) => connection,
        failed => {
            let why = match failed {
                Ok(Err(why)) => why.to_string(),
                _ => format!("no Joined within {CONNECT_TIMEOUT:?}"),
            };
            return connect_failed(plan.index, stats, why, &shared);
        }
    };
    stats.connected = 1;
    play::LightBot::new(plan.index, &shared, stats, joined)
        .run(&mut ws)
        .await
}

/// What the server said at hello and join.
pub(crate) struct Joined {
    pub(crate) player_id: u32,
    pub(crate) schema: Schema,
}

/// Says hello as `name` and joins `room`, as a full bot does.
async fn hello_and_join(
    ws: &mut RawWs,
    name: String,
    room: String,
    stats: &mut BotStats,
) -> anyhow::Result<Joined> {
    let hello = ClientMsg::Hello(Hello {
        version: PROTOCOL_VERSION,
        name,
    });
    send(ws, stats, &hello).await?;
    let welcome = wait_for(ws, stats, "Welcome", |msg| match msg {
        ServerMsg::Welcome(welcome) => Some(welcome),
        _ => None,
    })
    .await?;
    let join = ClientMsg::Join(Join {
        room: Some(room),
        key: None,
    });
    send(ws, stats, &join).await?;
    let joined = wait_for(ws, stats, "Joined", |msg| match msg {
        ServerMsg::Joined(joined) => Some(joined),
        _ => None,
    })
    .await?;
    Ok(Joined {
        player_id: welcome.player_id,
        schema: joined.schema,
    })
}

/// Sends one message and waits until the socket took it.
async fn send(ws: &mut RawWs, stats: &mut BotStats, msg: &ClientMsg) -> anyhow::Result<()> {
    let payload = encode_client(msg);
    stats.bytes_out += payload.len() as u64;
    ws.split().1.queue(frame::BINARY, &payload);
    ws.flush()
        .await
        .map_err(|e| anyhow::anyhow!("sending message type {}: {e}", msg.kind()))
}

/// Reads messages until `pick` accepts one, and leaves whatever follows it unread. Other
/// messages are skipped; an `Error`, a close, a bad frame or the end is a failure.
async fn wait_for<T>(
    ws: &mut RawWs,
    stats: &mut BotStats,
    what: &str,
    pick: impl Fn(ServerMsg) -> Option<T>,
) -> anyhow::Result<T> {
    loop {
        let (mut read, mut write) = ws.split();
        while let Some(head) = read
            .next_frame()
            .map_err(|e| anyhow::anyhow!("bad frame while waiting for {what}: {e}"))?
        {
            let payload = read.payload(&head);
            match head.opcode {
                frame::BINARY => {
                    stats.bytes_in += payload.len() as u64;
                    let msg = ServerMsg::decode(payload).map_err(|e| {
                        anyhow::anyhow!("undecodable frame while waiting for {what}: {e}")
                    })?;
                    if let ServerMsg::Error(e) = &msg {
                        bail!(
                            "server error {} while waiting for {what}: {}",
                            e.code.0,
                            e.message
                        );
                    }
                    if let Some(found) = pick(msg) {
                        read.consume(&head);
                        return Ok(found);
                    }
                }
                frame::TEXT => bail!("text frame while waiting for {what}"),
                frame::CLOSE => bail!(
                    "closed while waiting for {what}: {}",
                    frame::close_reason(payload)
                ),
                frame::PING => write.queue(frame::PONG, payload),
                _ => {}
            }
            read.consume(&head);
        }
        write
            .write_now()
            .map_err(|e| anyhow::anyhow!("websocket error while waiting for {what}: {e}"))?;
        match read.fill().await {
            Ok(0) => bail!("connection ended while waiting for {what}"),
            Ok(_) => {}
            Err(e) => bail!("websocket error while waiting for {what}: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_bot_in_every_k_checks_and_every_one_by_default() {
        let checking: Vec<usize> = (0..10).filter(|&i| checks_fully(i, 4)).collect();
        assert_eq!(checking, vec![0, 4, 8]);
        assert!((0..10).all(|i| checks_fully(i, 1)));
        assert!((0..10).all(|i| checks_fully(i, 0)), "0 reads as 1");
        assert_eq!((0..40).filter(|&i| checks_fully(i, 4)).count(), 10);
        assert_eq!((0..3000).filter(|&i| checks_fully(i, 50)).count(), 60);
    }
}
