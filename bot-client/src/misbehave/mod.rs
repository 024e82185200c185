//! Misbehaving bots (`--misbehave`): a share of the swarm that connects, says hello and
//! joins its room like the others, then spends the run being hostile to the server (bad
//! frames, floods, a socket left unread) and reconnects whenever the server closes it.
//!
//! They test that one bad client slows only itself: the honest bots keep measuring as
//! before, and everything the misbehaving ones do or receive goes into their own books
//! ([`MisbehaveReport`]), never into the honest figures.

mod acts;
mod bot;
mod stats;

pub(crate) use bot::run;
pub use stats::MisbehaveReport;
pub(crate) use stats::MisbehaveTotals;

/// How many of `bots` misbehave at `rate` (a share from 0 to 1): `round(bots × rate)`, at
/// least 1 when the rate is above 0, and never more than all of them.
pub(crate) fn count(bots: usize, rate: f64) -> usize {
    if rate <= 0.0 || bots == 0 {
        return 0;
    }
    // f64 holds every bot count exactly, and the result is between 0 and `bots`.
    let share = (bots as f64 * rate.min(1.0)).round() as usize;
    share.clamp(1, bots)
}

/// Whether bot `index` of `bots` misbehaves when `misbehaving` of them do: the last ones.
/// So the honest bots are numbered, named and walk exactly as a swarm of only them would,
/// and the misbehaving ones are dealt round the rooms like everyone else.
pub(crate) fn is_misbehaving(index: usize, bots: usize, misbehaving: usize) -> bool {
    index >= bots.saturating_sub(misbehaving)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_share_is_rounded_and_at_least_one() {
        assert_eq!(count(60, 0.0), 0);
        assert_eq!(count(60, 0.1), 6);
        assert_eq!(count(60, 0.125), 8); // 7.5 rounds up
        assert_eq!(count(10, 0.01), 1); // 0.1 would round to 0
        assert_eq!(count(10, 1.0), 10);
        assert_eq!(count(3, 0.5), 2); // 1.5 rounds up
        assert_eq!(count(0, 0.5), 0);
    }

    #[test]
    fn the_last_bots_misbehave_and_cover_the_rooms() {
        let (bots, rooms) = (60, 2);
        let bad = count(bots, 0.1);
        let chosen: Vec<usize> = (0..bots)
            .filter(|&i| is_misbehaving(i, bots, bad))
            .collect();
        assert_eq!(chosen, (54..60).collect::<Vec<_>>());
        let in_room_0 = chosen.iter().filter(|&&i| i % rooms == 0).count();
        assert_eq!(in_room_0, 3);
        assert!((0..bots).all(|i| !is_misbehaving(i, bots, 0)));
        assert!((0..bots).all(|i| is_misbehaving(i, bots, bots)));
    }
}
