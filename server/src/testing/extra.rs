//! Conveniences for tests: inputs in one call, one request at a time, connections whose
//! token named a user, and the server's counters read as an operator reads them.

use tickwire_shared::{ClientMsg, Hello, Input, InputValue, PROTOCOL_VERSION, ServerMsg};

use super::{ClientId, Harness};
use crate::game::Game;
use crate::games::arena::Arena;
use crate::identity::Identity;

impl Harness<Arena> {
    /// Client `c` sends its arena input number `seq`: running toward `dir`, facing 0, no
    /// buttons, showing no snapshot in particular.
    pub fn send_input(&mut self, c: ClientId, seq: u32, dir: [f32; 2]) {
        let [dx, dy] = dir.map(|x| InputValue::Float(x.into()));
        self.send_values(
            c,
            seq,
            0,
            vec![dx, dy, InputValue::Float(0.0), InputValue::Int(0)],
        );
    }
}

impl<G: Game> Harness<G> {
    /// Client `c` sends its input number `seq` of `values` (one per input field of the
    /// game's schema), saying it was showing the snapshot of `view_tick`.
    pub fn send_values(&mut self, c: ClientId, seq: u32, view_tick: u64, values: Vec<InputValue>) {
        let input = Input {
            seq,
            view_tick,
            values,
        };
        self.send(c, ClientMsg::Input(input));
    }

    /// Client `c` sends `msg` and takes the answer: the oldest `Welcome`, `Resumed`,
    /// `Joined` or `Error` in its inbox, within two seconds of virtual time. For the
    /// requests a client makes one at a time (hello, resume, join, create).
    ///
    /// # Panics
    /// When no answer came in time.
    pub fn ask(&mut self, c: ClientId, msg: ClientMsg) -> ServerMsg {
        self.send(c, msg);
        self.expect(c, |m| {
            matches!(
                m,
                ServerMsg::Welcome(_)
                    | ServerMsg::Resumed(_)
                    | ServerMsg::Joined(_)
                    | ServerMsg::Error(_)
            )
        })
    }

    /// A new connection whose handshake's token said `identity`, greeted with a hello as
    /// `name` (the token's name, when it has one, is the player's instead).
    ///
    /// # Panics
    /// When the server does not welcome it.
    pub fn greet_as(&mut self, identity: Identity, name: &str) -> ClientId {
        let c = self.connect_as(identity);
        let hello = ClientMsg::Hello(Hello {
            version: PROTOCOL_VERSION,
            name: name.into(),
        });
        let answer = self.ask(c, hello);
        assert!(
            matches!(answer, ServerMsg::Welcome(_)),
            "client {c}: {answer:?}"
        );
        c
    }

    /// The value of one series of the server's metrics, named as the admin endpoint's
    /// `/metrics` shows it (`tickwire_connections_closed_total{reason="flood"}`); 0 when
    /// there is no such series.
    pub fn metric(&self, series: &str) -> f64 {
        super::metric_value(&self.metrics().encode(), series)
    }
}
