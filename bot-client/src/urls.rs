//! The server nodes a swarm plays on: the `--url` list (one server, or a cluster's nodes
//! separated by commas) and the order in which one bot goes round them ([`NodeRing`]).
//!
//! Bot `i` first connects to node `i % n`, so the bots are spread evenly over the nodes.
//! Each reconnect attempt goes to the node after the one the bot was last seated on, round
//! the list: a node that was killed is tried at most once per round while the others are
//! up, instead of being retried until the bot gives up. A redirect sends the bot wherever
//! it says, which need not be a node of the list; the ring then goes on from where it was.
//!
//! Pure: no sockets, so parsing and rotation are tested on their own.

use std::sync::Arc;

use thiserror::Error;

/// Why a `--url` list is unusable.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum UrlListError {
    /// Nothing at all was given.
    #[error("no server URL given")]
    Empty,
    /// Two commas in a row, or one at either end.
    #[error("URL {position} of the list is empty")]
    EmptyEntry {
        /// Its place in the list, counted from 1.
        position: usize,
    },
    /// An entry that is not a WebSocket URL with a host.
    #[error("`{url}` is not a ws:// or wss:// URL with a host")]
    NotWebSocket {
        /// The entry as given, trimmed.
        url: String,
    },
}

/// Parses a comma-separated list of WebSocket URLs (`ws://a:4001,ws://b:4002`), trimming
/// the blanks around each: one URL is a list of one.
///
/// # Errors
/// [`UrlListError`] when the list or one of its entries is empty, or an entry is not a
/// `ws://` or `wss://` URL with something after the scheme.
pub fn parse_urls(list: &str) -> Result<Vec<String>, UrlListError> {
    if list.trim().is_empty() {
        return Err(UrlListError::Empty);
    }
    list.split(',')
        .enumerate()
        .map(|(at, entry)| {
            let url = entry.trim();
            if url.is_empty() {
                return Err(UrlListError::EmptyEntry { position: at + 1 });
            }
            check_url(url)?;
            Ok(url.to_owned())
        })
        .collect()
}

/// Checks one entry: a WebSocket scheme and a host after it. Anything finer (a port out of
/// range, say) is found when connecting, and reported as a failed connect.
pub(crate) fn check_url(url: &str) -> Result<(), UrlListError> {
    let rest = url
        .strip_prefix("ws://")
        .or_else(|| url.strip_prefix("wss://"));
    match rest {
        Some(rest) if !rest.is_empty() && !rest.starts_with(['/', '?', '#']) => Ok(()),
        _ => Err(UrlListError::NotWebSocket {
            url: url.to_owned(),
        }),
    }
}

/// One bot's way round the nodes.
#[derive(Debug, Clone)]
pub(crate) struct NodeRing {
    urls: Arc<[String]>,
    /// The node the bot is on, or was last seated on when it is on none of the list.
    at: usize,
}

impl NodeRing {
    /// Bot `index`'s ring, starting at node `index % n`.
    pub(crate) fn for_bot(urls: Arc<[String]>, index: usize) -> Self {
        let at = index % urls.len().max(1);
        Self { urls, at }
    }

    /// More than one node: a cluster, where a lost connection is worth a reconnect to
    /// another node (see [`crate::bot`]).
    pub(crate) fn is_cluster(&self) -> bool {
        self.urls.len() > 1
    }

    /// The node the ring is at: the first one a bot connects to, before any move.
    pub(crate) fn current(&self) -> &str {
        self.urls.get(self.at).map_or("", String::as_str)
    }

    /// Moves to the next node round the list and returns it: where the next reconnect
    /// attempt goes.
    pub(crate) fn advance(&mut self) -> &str {
        self.at = (self.at + 1) % self.urls.len().max(1);
        self.current()
    }

    /// The bot is seated on the node at `url` (as dialed, before any token). When that is
    /// one of the list, the ring moves there, so that the next attempt goes to the node
    /// after it and not, after a redirect, back to the one the bot was sent away from; a
    /// node off the list leaves the ring where it was.
    pub(crate) fn seated_on(&mut self, url: &str) {
        let wanted = comparable(url);
        if let Some(found) = self.urls.iter().position(|u| comparable(u) == wanted) {
            self.at = found;
        }
    }
}

/// A URL as compared with the list's: without the blanks and the trailing slashes that do
/// not change where it goes (`ws://a:1` and `ws://a:1/` are one node).
fn comparable(url: &str) -> &str {
    url.trim().trim_end_matches('/')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(urls: &[&str], index: usize) -> NodeRing {
        let urls: Arc<[String]> = urls.iter().map(|u| (*u).to_owned()).collect();
        NodeRing::for_bot(urls, index)
    }

    #[test]
    fn one_url_is_a_list_of_one() {
        assert_eq!(
            parse_urls("ws://127.0.0.1:7000"),
            Ok(vec!["ws://127.0.0.1:7000".to_owned()])
        );
    }

    #[test]
    fn a_list_is_split_at_commas_and_trimmed() {
        assert_eq!(
            parse_urls("ws://127.0.0.1:4001, ws://127.0.0.1:4002 ,wss://b/play?x=1"),
            Ok(vec![
                "ws://127.0.0.1:4001".to_owned(),
                "ws://127.0.0.1:4002".to_owned(),
                "wss://b/play?x=1".to_owned(),
            ])
        );
    }

    #[test]
    fn empty_lists_entries_and_other_schemes_are_refused() {
        assert_eq!(parse_urls(""), Err(UrlListError::Empty));
        assert_eq!(parse_urls("  "), Err(UrlListError::Empty));
        assert_eq!(
            parse_urls("ws://a:1,,ws://b:2"),
            Err(UrlListError::EmptyEntry { position: 2 })
        );
        assert_eq!(
            parse_urls("ws://a:1,"),
            Err(UrlListError::EmptyEntry { position: 2 })
        );
        for bad in ["http://a:1", "a:1", "ws://", "ws:///path", "ws://?x"] {
            assert_eq!(
                parse_urls(bad),
                Err(UrlListError::NotWebSocket {
                    url: bad.to_owned()
                }),
                "{bad}"
            );
        }
    }

    #[test]
    fn bots_start_spread_evenly_over_the_nodes() {
        let urls = ["ws://a", "ws://b", "ws://c"];
        let firsts: Vec<String> = (0..7)
            .map(|i| ring(&urls, i).current().to_owned())
            .collect();
        assert_eq!(
            firsts,
            [
                "ws://a", "ws://b", "ws://c", "ws://a", "ws://b", "ws://c", "ws://a"
            ]
        );
    }

    #[test]
    fn reconnects_go_round_the_list_from_the_bots_own_node() {
        let mut r = ring(&["ws://a", "ws://b", "ws://c"], 1);
        assert!(r.is_cluster());
        assert_eq!(r.advance(), "ws://c");
        assert_eq!(r.advance(), "ws://a");
        assert_eq!(r.advance(), "ws://b");
        assert_eq!(r.current(), "ws://b");
    }

    #[test]
    fn one_node_is_always_the_next_one() {
        let mut r = ring(&["ws://only"], 5);
        assert!(!r.is_cluster());
        assert_eq!(r.current(), "ws://only");
        assert_eq!(r.advance(), "ws://only");
        assert_eq!(r.advance(), "ws://only");
    }

    #[test]
    fn a_seat_on_a_listed_node_moves_the_ring_there() {
        let mut r = ring(&["ws://a:1", "ws://b:2", "ws://c:3"], 0);
        // Redirected from a to c: a later reconnect tries a, the node after c, not b.
        r.seated_on("ws://c:3/");
        assert_eq!(r.current(), "ws://c:3");
        assert_eq!(r.advance(), "ws://a:1");
        // A node off the list leaves the ring where it was.
        r.seated_on("ws://elsewhere:9");
        assert_eq!(r.advance(), "ws://b:2");
    }

    #[test]
    fn an_empty_ring_does_not_panic() {
        let mut r = NodeRing::for_bot(Arc::from(Vec::new()), 3);
        assert_eq!(r.current(), "");
        assert_eq!(r.advance(), "");
    }
}
