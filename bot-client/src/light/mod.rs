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
//! even when the thread wakes late ([`pace`]). It gets seated as a full bot does, over its
//! own framing ([`line`]): redirects followed, and against a cluster, a lost connection
//! followed by a reconnect to the next node. Light bots neither drop
//! their connections on purpose nor chat, so `--check-every` above 1 refuses `--chaos` and
//! `--chat-rate`.

mod conn;
mod frame;
mod line;
mod pace;
mod play;

use std::sync::Arc;

use tokio::time::sleep_until;

use self::line::LightDial;
use self::play::{End, LightBot};
use crate::bot::{BotPlan, Shared, connect_failed};
use crate::reconnect::Outcome;
use crate::rejoin::{Rejoiner, get_back};
use crate::rng::XorShift64;
use crate::session::{Line as _, Seating, first_seat, room_name};
use crate::stats::{BotStats, ErrorKind};

/// Mixed into a bot's index to seed its frame masks.
const MASK_SEED: u64 = 0x3A5C_F00D;

/// Mixed into a bot's index to seed the jitter of its reconnects.
const RECONNECT_SEED: u64 = 0x11_6E7B_AC4D;

/// True when bot `index` decodes and checks everything, with one bot in `every` doing so.
pub(crate) fn checks_fully(index: usize, every: usize) -> bool {
    every <= 1 || index % every == 0
}

/// Runs one light bot from its start to its end and returns what it measured: seated as
/// a full bot is (redirects followed), then one round of play per connection. A round
/// ends at the deadline, by a redirect (followed at once), or with the connection's end;
/// against a cluster (several URLs) the bot then reconnects to the next node, resuming
/// its session or joining anew, and with one URL it stops, as it always did.
pub(crate) async fn run(plan: BotPlan, shared: Arc<Shared>) -> BotStats {
    let mut stats = BotStats::new();
    stats.light_bots = 1;
    let name = format!("bot-{}", plan.index);
    let room = room_name(plan.index, shared.rooms);
    let mut nodes = shared.nodes_for(plan.index);
    sleep_until(plan.start_at).await;
    let mut dial = match shared.token_for(plan.index, &name) {
        Ok(token) => LightDial::new(token, MASK_SEED ^ plan.index as u64),
        Err(why) => return connect_failed(plan.index, stats, why.to_string(), &shared),
    };
    let first = first_seat(&mut dial, &name, &room, &mut stats, nodes.current()).await;
    let mut conn = match first {
        Ok(seated) => seated,
        Err(why) => return connect_failed(plan.index, stats, why, &shared),
    };
    nodes.seated_on(&conn.node);
    stats.connected = 1;
    let mut bot = LightBot::new(plan.index, &shared, stats);
    let mut rng = XorShift64::seeded(RECONNECT_SEED ^ plan.index as u64);
    // Each round ends before the deadline or at it, and each getting back by the deadline
    // at the latest, so the rounds end.
    loop {
        bot.new_connection(conn.player_id, conn.schema.take());
        let (end, ended_at) = bot.round(&mut conn.line).await;
        let redirect = match end {
            End::Deadline => {
                line::close(&mut conn.line).await;
                break;
            }
            End::Lost => {
                bot.lost(&mut conn.line).await;
                if !nodes.is_cluster() {
                    break;
                }
                None
            }
            End::Redirected(redirect) => {
                conn.line.leave().await;
                Some(redirect)
            }
        };
        bot.room_lost(ended_at);
        let outcome = {
            let mut rejoin = Rejoiner {
                seating: Seating {
                    dial: &mut dial,
                    name: &name,
                    room: &room,
                    tally: bot.stats_mut(),
                    token: Some(std::mem::take(&mut conn.resume_token)),
                },
                nodes: &mut nodes,
            };
            get_back(
                &mut rejoin,
                redirect,
                &shared.reconnect,
                shared.deadline,
                &mut rng,
            )
            .await
        };
        match outcome {
            Outcome::Back(back) => conn = back,
            Outcome::GaveUp { last_error } => {
                let attempts = shared.reconnect.max_attempts;
                bot.error(
                    ErrorKind::Reconnect,
                    format!("gave up after {attempts} attempts: {last_error}"),
                );
                break;
            }
            Outcome::Deadline => break,
        }
    }
    bot.finish()
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
