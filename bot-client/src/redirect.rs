//! What a bot does with a cluster's `Redirect` (PROTOCOL.md, server type 11): which first
//! request it makes on the node the redirect names, and how many redirects in a row it
//! follows before it calls the trip a loop.
//!
//! A redirect answers a `Join`, `Create`, `Watch` or `Resume` whose room lives on another
//! node, or comes unasked (`in_reply_to` `None`) to every member of a room whose node is
//! draining; the server closes the connection right after it. It is neither an error nor a
//! lost connection: the bot follows it. Pure, so that the rule is tested on its own; the
//! steps that carry it out are [`crate::session`]'s.

use tickwire_shared::{Message as _, Redirect, Resume, Watch};

/// Redirects a bot follows in a row, without being seated in between, before it gives the
/// trip up as a loop: a cluster sends a client on once, twice when a room moved while it
/// was on its way, never five times.
pub(crate) const MAX_REDIRECTS: u32 = 5;

/// What to send first on the connection to the node a redirect names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Next {
    /// `Resume` with the current resume token, and no `Hello`: the redirect answered a
    /// resume, and the token's session lives there.
    Resume,
    /// `Hello`, then `Claim` with this ticket: the other node reserved a seat.
    Claim(String),
    /// `Hello`, then the same `Watch` again: the room being watched lives there.
    Watch,
    /// `Hello`, then the bot's own join again (its room, or quick-join): the node is
    /// draining, or the other node takes the join without a ticket.
    Join,
}

/// The first request on the node `redirect` names.
pub(crate) fn next_after(redirect: &Redirect) -> Next {
    match (redirect.in_reply_to, &redirect.ticket) {
        (Some(Resume::KIND), _) => Next::Resume,
        (_, Some(ticket)) => Next::Claim(ticket.clone()),
        (Some(Watch::KIND), None) => Next::Watch,
        _ => Next::Join,
    }
}

#[cfg(test)]
mod tests {
    use tickwire_shared::{Claim, Create, Join};

    use super::*;

    fn redirect(in_reply_to: Option<u8>, ticket: Option<&str>) -> Redirect {
        Redirect {
            url: "ws://b:4002".into(),
            room: Some("bots-0".into()),
            ticket: ticket.map(str::to_owned),
            in_reply_to,
        }
    }

    #[test]
    fn a_redirected_resume_is_resumed_there_without_a_hello() {
        assert_eq!(
            next_after(&redirect(Some(Resume::KIND), None)),
            Next::Resume
        );
        // A ticket beside it changes nothing: the session is what travels.
        assert_eq!(
            next_after(&redirect(Some(Resume::KIND), Some("t"))),
            Next::Resume
        );
    }

    #[test]
    fn a_ticket_is_claimed() {
        for asked in [
            Some(Join::KIND),
            Some(Create::KIND),
            Some(Watch::KIND),
            None,
        ] {
            assert_eq!(
                next_after(&redirect(asked, Some("t-7"))),
                Next::Claim("t-7".into()),
                "{asked:?}"
            );
        }
    }

    #[test]
    fn a_watch_without_a_ticket_is_watched_again() {
        assert_eq!(next_after(&redirect(Some(Watch::KIND), None)), Next::Watch);
    }

    #[test]
    fn a_drain_or_a_join_without_a_ticket_joins_again() {
        assert_eq!(next_after(&redirect(None, None)), Next::Join);
        assert_eq!(next_after(&redirect(Some(Join::KIND), None)), Next::Join);
        // A type that is no request of the bot's is answered as a drain is.
        assert_eq!(next_after(&redirect(Some(Claim::KIND), None)), Next::Join);
    }
}
