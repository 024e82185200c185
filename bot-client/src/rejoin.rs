//! Getting back into a room once a bot has left its connection: lost (a node killed, say),
//! dropped on purpose (`--chaos`), or ended by a redirect while playing (a draining node).
//!
//! A redirect is followed at once, as it asks ([`get_back`]). Otherwise, or when following
//! it failed, the bot goes back by the reconnect policy ([`crate::reconnect`]): each
//! attempt ([`Rejoiner`]) goes to the next node round the list ([`crate::urls`]) and
//! presents the bot's resume token first. Resumed, the bot is the same player; refused,
//! it says hello and joins its room anew on the same connection, as a new player; sent on,
//! it follows the redirects ([`crate::session`]). Without a token, it says hello and joins.
//! The same for every kind of bot: the honest ones resume, the misbehaving ones have no
//! token to present.

use tickwire_shared::Redirect;
use tokio::time::{Instant, timeout_at};

use crate::CONNECT_TIMEOUT;
use crate::reconnect::{Outcome, ReconnectPolicy, Rejoin, reconnect};
use crate::rng::XorShift64;
use crate::session::{Ask, Dial, Seated, Seating, Tally, ask_after};
use crate::urls::NodeRing;

/// One reconnect attempt: the next node, the token first (see the module doc).
pub(crate) struct Rejoiner<'a, D, T> {
    pub(crate) seating: Seating<'a, D, T>,
    pub(crate) nodes: &'a mut NodeRing,
}

impl<D: Dial, T: Tally> Rejoin for Rejoiner<'_, D, T> {
    type Conn = Seated<D::Line>;

    async fn attempt(&mut self) -> anyhow::Result<Seated<D::Line>> {
        let url = self.nodes.advance().to_owned();
        // A refused token is taken from the seating, so a later attempt joins at once.
        let ask = if self.seating.token.is_some() {
            Ask::Resume
        } else {
            Ask::Join
        };
        let seated = self.seating.seat(&url, ask, 0).await?;
        self.nodes.seated_on(&seated.node);
        Ok(seated)
    }
}

/// Back in a room: by `redirect`'s way first when the server sent the bot on while it
/// played, at once and within [`CONNECT_TIMEOUT`]; then, or without a redirect, by
/// `policy`'s attempts until `deadline`. When following the redirect failed, the attempts
/// join afresh: the drained node's session is not worth a resume elsewhere.
pub(crate) async fn get_back<D: Dial, T: Tally>(
    rejoiner: &mut Rejoiner<'_, D, T>,
    redirect: Option<Redirect>,
    policy: &ReconnectPolicy,
    deadline: Instant,
    rng: &mut XorShift64,
) -> Outcome<Seated<D::Line>> {
    if let Some(redirect) = redirect {
        let limit = deadline.min(Instant::now() + CONNECT_TIMEOUT);
        let ask = ask_after(&redirect);
        // This redirect is the first of the trip's row.
        match timeout_at(limit, rejoiner.seating.seat(&redirect.url, ask, 1)).await {
            Ok(Ok(seated)) => {
                rejoiner.nodes.seated_on(&seated.node);
                return Outcome::Back(seated);
            }
            Ok(Err(why)) => tracing::debug!("following a redirect failed: {why}"),
            Err(_) if limit == deadline => return Outcome::Deadline,
            Err(_) => tracing::debug!("following a redirect took over {CONNECT_TIMEOUT:?}"),
        }
        rejoiner.seating.token = None;
    }
    reconnect(policy, deadline, rng, rejoiner).await
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use futures::{SinkExt as _, StreamExt as _};
    use tickwire_shared::{
        ClientMsg, Error, ErrorCode, Joined as JoinedMsg, PROTOCOL_VERSION, Resume, Resumed,
        Schema, ServerMsg, Welcome, encode_server,
    };
    use tokio::net::TcpListener;
    use tokio::sync::mpsc;
    use tokio::task::JoinHandle;
    use tokio::time::timeout;
    use tokio_tungstenite::tungstenite::Message;

    use super::*;
    use crate::cluster::JoinPath;
    use crate::session::Entry;
    use crate::ws::{WsDial, WsLine};

    #[derive(Default)]
    struct Count {
        sent: usize,
        received: usize,
        redirects: u32,
        claims: u32,
        joins: Vec<JoinPath>,
    }

    impl Tally for Count {
        fn sent(&mut self, bytes: usize) {
            self.sent += bytes;
        }
        fn received(&mut self, bytes: usize) {
            self.received += bytes;
        }
        fn redirected(&mut self) {
            self.redirects += 1;
        }
        fn claimed(&mut self) {
            self.claims += 1;
        }
        fn joined(&mut self, path: JoinPath, _took: Duration) {
            self.joins.push(path);
        }
    }

    type Script = dyn Fn(&ClientMsg) -> Vec<ServerMsg> + Send + Sync;

    /// A node that answers each message a client sends with what its script says, on as
    /// many connections as come, and closes (1000) right after any `Redirect`, as a real
    /// node does. Each connection's messages come out of `heard` when it ends.
    struct Node {
        url: String,
        listener: Option<TcpListener>,
        heard: mpsc::UnboundedReceiver<Vec<ClientMsg>>,
        sender: mpsc::UnboundedSender<Vec<ClientMsg>>,
        accept: Option<JoinHandle<()>>,
    }

    impl Node {
        async fn bind() -> Self {
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            let url = format!("ws://{}", listener.local_addr().expect("address"));
            let (sender, heard) = mpsc::unbounded_channel();
            Self {
                url,
                listener: Some(listener),
                heard,
                sender,
                accept: None,
            }
        }

        fn serve(
            mut self,
            script: impl Fn(&ClientMsg) -> Vec<ServerMsg> + Send + Sync + 'static,
        ) -> Self {
            let listener = self.listener.take().expect("served once");
            let script: Arc<Script> = Arc::new(script);
            let sender = self.sender.clone();
            self.accept = Some(tokio::spawn(async move {
                while let Ok((tcp, _)) = listener.accept().await {
                    tokio::spawn(connection(tcp, Arc::clone(&script), sender.clone()));
                }
            }));
            self
        }

        /// What the next connection to end heard.
        async fn next_heard(&mut self) -> Vec<ClientMsg> {
            timeout(Duration::from_secs(5), self.heard.recv())
                .await
                .expect("a connection ends in time")
                .expect("the node is up")
        }
    }

    impl Drop for Node {
        fn drop(&mut self) {
            if let Some(accept) = &self.accept {
                accept.abort();
            }
        }
    }

    async fn connection(
        tcp: tokio::net::TcpStream,
        script: Arc<Script>,
        heard_out: mpsc::UnboundedSender<Vec<ClientMsg>>,
    ) {
        let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
            return;
        };
        let mut heard = Vec::new();
        'conn: while let Some(Ok(Message::Binary(frame))) = ws.next().await {
            let msg = ClientMsg::decode(&frame).expect("the bot speaks the protocol");
            let answers = script(&msg);
            heard.push(msg);
            for answer in answers {
                let redirect = matches!(answer, ServerMsg::Redirect(_));
                if ws
                    .send(Message::Binary(encode_server(&answer)))
                    .await
                    .is_err()
                {
                    break 'conn;
                }
                if redirect {
                    let _ = ws.close(None).await;
                    while let Some(Ok(_)) = ws.next().await {}
                    break 'conn;
                }
            }
        }
        let _ = heard_out.send(heard);
    }

    fn welcome(token: &str) -> ServerMsg {
        ServerMsg::Welcome(Welcome {
            player_id: 9,
            tick_rate: 60,
            protocol_version: PROTOCOL_VERSION,
            resume_token: token.into(),
            user_id: "anon-9".into(),
        })
    }

    fn schema() -> Schema {
        Schema::new("arena")
    }

    fn joined() -> ServerMsg {
        ServerMsg::Joined(JoinedMsg {
            room: "bots-0".into(),
            players: vec![],
            schema: schema(),
        })
    }

    fn redirect(url: &str, ticket: Option<&str>, in_reply_to: Option<u8>) -> ServerMsg {
        ServerMsg::Redirect(Redirect {
            url: url.to_owned(),
            room: Some("bots-0".into()),
            ticket: ticket.map(str::to_owned),
            in_reply_to,
        })
    }

    fn ring(urls: &[&str]) -> NodeRing {
        let urls: Arc<[String]> = urls.iter().map(|u| (*u).to_owned()).collect();
        NodeRing::for_bot(urls, 0)
    }

    fn kinds(heard: &[ClientMsg]) -> Vec<u8> {
        heard.iter().map(ClientMsg::kind).collect()
    }

    /// One attempt of a bot holding `token`, on the ring `nodes`.
    async fn attempt(
        nodes: &mut NodeRing,
        token: Option<&str>,
        count: &mut Count,
    ) -> (anyhow::Result<Seated<WsLine>>, Option<String>) {
        let mut dial = WsDial::new(None);
        let mut rejoin = Rejoiner {
            seating: Seating {
                dial: &mut dial,
                name: "bot-0",
                room: "bots-0",
                tally: count,
                token: token.map(str::to_owned),
            },
            nodes,
        };
        let back = timeout(Duration::from_secs(5), rejoin.attempt())
            .await
            .expect("in time");
        (back, rejoin.seating.token)
    }

    #[tokio::test]
    async fn a_refused_resume_says_hello_and_joins_on_the_same_connection() {
        let mut node = Node::bind().await.serve(|msg| match msg {
            ClientMsg::Resume(_) => vec![ServerMsg::Error(Error {
                code: ErrorCode::RESUME_REFUSED,
                message: "the room is gone".into(),
                in_reply_to: Some(6),
            })],
            ClientMsg::Hello(_) => vec![welcome("fresh")],
            ClientMsg::Join(_) => vec![joined()],
            _ => vec![],
        });
        let mut count = Count::default();
        let (back, token) = attempt(&mut ring(&[&node.url]), Some("old"), &mut count).await;
        let conn = back.expect("back");
        // Spent: a later attempt would not present it again.
        assert_eq!(token, None);
        assert_eq!(conn.entry, Entry::Joined, "a refused resume joins afresh");
        assert_eq!((conn.player_id, conn.resume_token.as_str()), (9, "fresh"));
        assert_eq!(conn.tick_rate, Some(60), "the Welcome's");
        assert_eq!(conn.schema, Some(schema()), "the Joined's");
        drop(conn);
        let heard = node.next_heard().await;
        assert_eq!(
            kinds(&heard),
            vec![6, 0, 1],
            "Resume, then Hello and Join: {heard:?}"
        );
        assert_eq!(
            heard[0],
            ClientMsg::Resume(Resume {
                token: "old".into()
            })
        );
        assert!(count.sent > 0 && count.received > 0);
        assert_eq!(count.joins, vec![JoinPath::Direct]);
    }

    #[tokio::test]
    async fn a_resume_outside_the_room_joins_it_as_the_same_player() {
        let mut node = Node::bind().await.serve(|msg| match msg {
            ClientMsg::Resume(_) => vec![ServerMsg::Resumed(Resumed {
                player_id: 4,
                room: None,
                players: vec![],
                resume_token: "next".into(),
                schema: None,
            })],
            ClientMsg::Join(_) => vec![joined()],
            _ => vec![],
        });
        let mut count = Count::default();
        let (back, token) = attempt(&mut ring(&[&node.url]), Some("t"), &mut count).await;
        let conn = back.expect("back");
        assert_eq!(conn.entry, Entry::Resumed { room: None });
        assert_eq!(
            token.as_deref(),
            Some("next"),
            "the Resumed's is the session's now"
        );
        assert_eq!((conn.player_id, conn.resume_token.as_str()), (4, "next"));
        assert_eq!(conn.tick_rate, None, "no Welcome on a resume");
        assert_eq!(
            conn.schema,
            Some(schema()),
            "the Joined's, after the Resumed"
        );
        drop(conn);
        let heard = node.next_heard().await;
        assert_eq!(
            kinds(&heard),
            vec![6, 1],
            "Resume, then Join, no Hello: {heard:?}"
        );
    }

    #[tokio::test]
    async fn a_resume_into_the_room_keeps_the_resumed_schema() {
        let mut node = Node::bind().await.serve(|msg| match msg {
            ClientMsg::Resume(_) => vec![ServerMsg::Resumed(Resumed {
                player_id: 4,
                room: Some("bots-0".into()),
                players: vec![],
                resume_token: "next".into(),
                schema: Some(Schema::new("shooter")),
            })],
            _ => vec![],
        });
        let mut count = Count::default();
        let (back, _) = attempt(&mut ring(&[&node.url]), Some("t"), &mut count).await;
        let conn = back.expect("back");
        assert_eq!(
            conn.entry,
            Entry::Resumed {
                room: Some("bots-0".into())
            }
        );
        assert_eq!(conn.schema, Some(Schema::new("shooter")), "the Resumed's");
        drop(conn);
        let heard = node.next_heard().await;
        assert_eq!(kinds(&heard), vec![6], "Resume only: {heard:?}");
        assert!(count.joins.is_empty(), "no join: {:?}", count.joins);
    }

    #[tokio::test]
    async fn another_error_in_reply_to_a_resume_fails_the_attempt() {
        let node = Node::bind().await.serve(|msg| match msg {
            ClientMsg::Resume(_) => vec![ServerMsg::Error(Error {
                code: ErrorCode::BAD_STATE,
                message: "say hello first".into(),
                in_reply_to: Some(6),
            })],
            _ => vec![],
        });
        let mut count = Count::default();
        let (back, token) = attempt(&mut ring(&[&node.url]), Some("t"), &mut count).await;
        let Err(why) = back else {
            panic!("only RESUME_REFUSED falls back");
        };
        assert!(why.to_string().contains("say hello first"), "{why}");
        // Not refused: the token may still be good for the next attempt.
        assert_eq!(token.as_deref(), Some("t"));
    }

    #[tokio::test]
    async fn an_attempt_goes_to_the_next_node_round_the_list() {
        // Nothing listens where the bot was: a killed node.
        let dead = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let dead_url = format!("ws://{}", dead.local_addr().expect("address"));
        drop(dead);
        let mut alive = Node::bind().await.serve(|msg| match msg {
            ClientMsg::Hello(_) => vec![welcome("w")],
            ClientMsg::Join(_) => vec![joined()],
            _ => vec![],
        });
        let mut nodes = ring(&[&dead_url, &alive.url]);
        let mut count = Count::default();
        let (back, _) = attempt(&mut nodes, None, &mut count).await;
        let conn = back.expect("back on the next node");
        assert_eq!(conn.node, alive.url);
        assert_eq!(nodes.current(), alive.url);
        drop(conn);
        assert_eq!(kinds(&alive.next_heard().await), vec![0, 1]);
        // And the one after that is the dead one again: round the list.
        let (back, _) = attempt(&mut nodes, None, &mut count).await;
        assert!(back.is_err());
    }

    #[tokio::test]
    async fn a_redirected_resume_is_presented_again_where_the_redirect_says_without_hello() {
        let mut home = Node::bind().await.serve(|msg| match msg {
            ClientMsg::Resume(_) => vec![ServerMsg::Resumed(Resumed {
                player_id: 4,
                room: Some("bots-0".into()),
                players: vec![],
                resume_token: "next".into(),
                schema: Some(schema()),
            })],
            _ => vec![],
        });
        let home_url = home.url.clone();
        let mut other = Node::bind().await.serve(move |msg| match msg {
            ClientMsg::Resume(_) => vec![redirect(&home_url, None, Some(6))],
            _ => vec![],
        });
        let mut count = Count::default();
        let (back, _) = attempt(&mut ring(&[&other.url]), Some("tok"), &mut count).await;
        let conn = back.expect("back");
        assert_eq!(conn.node, home.url);
        assert!(matches!(conn.entry, Entry::Resumed { .. }));
        drop(conn);
        let resume = ClientMsg::Resume(Resume {
            token: "tok".into(),
        });
        assert_eq!(other.next_heard().await, vec![resume.clone()]);
        assert_eq!(home.next_heard().await, vec![resume], "no Hello first");
        assert_eq!((count.redirects, count.claims), (1, 0));
    }

    #[tokio::test]
    async fn a_redirected_join_claims_its_ticket_on_the_other_node() {
        let mut there = Node::bind().await.serve(|msg| match msg {
            ClientMsg::Hello(_) => vec![welcome("there")],
            ClientMsg::Claim(_) => vec![joined()],
            _ => vec![],
        });
        let there_url = there.url.clone();
        let mut here = Node::bind().await.serve(move |msg| match msg {
            ClientMsg::Hello(_) => vec![welcome("here")],
            ClientMsg::Join(_) => vec![redirect(&there_url, Some("ticket-7"), Some(1))],
            _ => vec![],
        });
        let mut count = Count::default();
        let mut nodes = ring(&[&here.url, &there.url]);
        let mut dial = WsDial::new(None);
        let mut seating = Seating {
            dial: &mut dial,
            name: "bot-0",
            room: "bots-0",
            tally: &mut count,
            token: None,
        };
        let conn = timeout(
            Duration::from_secs(5),
            seating.seat(nodes.current(), Ask::Join, 0),
        )
        .await
        .expect("in time")
        .expect("seated");
        nodes.seated_on(&conn.node);
        assert_eq!(conn.node, there.url);
        assert_eq!(nodes.current(), there.url);
        assert_eq!(
            conn.resume_token, "there",
            "the Welcome of the node that seated it"
        );
        drop(conn);
        assert_eq!(kinds(&here.next_heard().await), vec![0, 1]);
        let claimed = there.next_heard().await;
        assert_eq!(
            kinds(&claimed),
            vec![0, 9],
            "Hello, then Claim: {claimed:?}"
        );
        assert_eq!(
            claimed[1],
            ClientMsg::Claim(tickwire_shared::Claim {
                ticket: "ticket-7".into()
            })
        );
        assert_eq!((count.redirects, count.claims), (1, 1));
        assert_eq!(count.joins, vec![JoinPath::Redirected]);
    }

    #[tokio::test]
    async fn a_redirect_loop_is_given_up_after_five() {
        let node = Node::bind().await;
        let own = node.url.clone();
        let mut node = node.serve(move |msg| match msg {
            ClientMsg::Hello(_) => vec![welcome("w")],
            ClientMsg::Join(_) => vec![redirect(&own, None, Some(1))],
            _ => vec![],
        });
        let mut count = Count::default();
        let mut dial = WsDial::new(None);
        let mut seating = Seating {
            dial: &mut dial,
            name: "bot-0",
            room: "bots-0",
            tally: &mut count,
            token: None,
        };
        let url = node.url.clone();
        let failed = timeout(Duration::from_secs(5), seating.seat(&url, Ask::Join, 0))
            .await
            .expect("a loop ends");
        let Err(why) = failed else {
            panic!("a loop is no seat");
        };
        assert!(why.to_string().contains("redirect loop"), "{why}");
        // The first connection and five followed redirects; the sixth is not followed.
        for _ in 0..6 {
            assert_eq!(kinds(&node.next_heard().await), vec![0, 1]);
        }
        assert_eq!(count.redirects, 6);
        assert!(count.joins.is_empty());
    }

    #[tokio::test]
    async fn a_drains_redirect_is_followed_at_once_with_a_join() {
        let mut there = Node::bind().await.serve(|msg| match msg {
            ClientMsg::Hello(_) => vec![welcome("there")],
            ClientMsg::Join(_) => vec![joined()],
            _ => vec![],
        });
        let mut count = Count::default();
        let mut nodes = ring(&["ws://127.0.0.1:1"]);
        let mut dial = WsDial::new(None);
        let mut rejoin = Rejoiner {
            seating: Seating {
                dial: &mut dial,
                name: "bot-0",
                room: "bots-0",
                tally: &mut count,
                token: Some("old".into()),
            },
            nodes: &mut nodes,
        };
        let drained = Redirect {
            url: there.url.clone(),
            room: None,
            ticket: None,
            in_reply_to: None,
        };
        let far = Instant::now() + Duration::from_secs(10);
        let mut rng = XorShift64::seeded(1);
        let back = get_back(
            &mut rejoin,
            Some(drained),
            &ReconnectPolicy::default(),
            far,
            &mut rng,
        )
        .await;
        let Outcome::Back(conn) = back else {
            panic!("back at once");
        };
        assert_eq!(conn.node, there.url);
        drop(conn);
        assert_eq!(
            kinds(&there.next_heard().await),
            vec![0, 1],
            "Hello and Join, no Resume"
        );
    }
}
