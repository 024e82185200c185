//! The shooter's lag compensation, end to end on the harness: what a client saw in its
//! snapshots is what its shot is judged against, within the bound and not beyond it.
//!
//! Ana stands still; Bo runs across her line of fire, 120 units to her right. Ana's screen
//! shows the world some ticks behind the newest snapshot (interpolation, latency), and her
//! input says which tick it showed. She leads Bo as her screen shows him: she aims where
//! her screen will show him when her bullet gets to his path, some ticks of flight later.

use std::collections::VecDeque;

use glam::Vec2;
use tickwire_server::Config;
use tickwire_server::game::{Game, InputValue, Schema};
use tickwire_server::games::shooter::Shooter;
use tickwire_server::testing::{ClientId, Harness};
use tickwire_shared::ServerMsg;

const ROOM: &str = "duel";

struct Duel {
    h: Harness<Shooter>,
    schema: Schema,
    ana: ClientId,
    bo: ClientId,
    seq: u32,
    /// Bo's place in Ana's snapshots, newest last: (tick, position).
    seen: VecDeque<(u64, Vec2)>,
}

impl Duel {
    /// Past the warm-up (whose end puts every ship somewhere new), Ana at (400, 800)
    /// facing Bo's path 120 units to her right, Bo running up it at full speed.
    fn new() -> Self {
        let mut h = Harness::<Shooter>::for_game(Config::default());
        let ana = h.join("ana", Some(ROOM));
        let bo = h.join("bo", Some(ROOM));
        let mut duel = Self {
            schema: Shooter::schema(),
            ana,
            bo,
            seq: 0,
            seen: VecDeque::new(),
            h,
        };
        let warmup = (Shooter::new().rules().warmup * 60.0) as u64 + 30;
        for _ in 0..warmup {
            duel.tick(None);
        }
        let (a, b) = (duel.h.client(ana).id, duel.h.client(bo).id);
        let game = duel.h.game_mut(ROOM).expect("the room is open");
        game.place(a, Vec2::new(400.0, 800.0));
        game.place(b, Vec2::new(520.0, 600.0));
        for _ in 0..40 {
            duel.tick(None);
        }
        duel.h.client_mut(ana).inbox.clear();
        duel
    }

    fn bo_in_anas_view(&self) -> Option<Vec2> {
        let ship = &self.schema.kinds[0];
        let client = self.h.client(self.ana);
        let bo = client.replica.entity(self.h.client(self.bo).id)?;
        let coord = |name| {
            let at = usize::from(ship.index_of(name).expect("a ship has x and y"));
            ship.fields[at].from_wire(bo.values[at].int()) as f32
        };
        Some(Vec2::new(coord("x"), coord("y")))
    }

    /// One tick: Bo runs up (+y), Ana stands, and fires at `shot` (where she aims, and the
    /// view tick she claims) when given one.
    fn tick(&mut self, shot: Option<(Vec2, u64)>) {
        self.seq += 1;
        let run = vec![
            InputValue::Float(0.0),
            InputValue::Float(1.0),
            InputValue::Float(0.0),
            InputValue::Bool(false),
        ];
        self.h.send_values(self.bo, self.seq, 0, run);
        let (aim, fire, view) = match shot {
            Some((at, view)) => {
                let d = at - Vec2::new(400.0, 800.0);
                (f64::from(d.y.atan2(d.x)), true, view)
            }
            None => (0.0, false, 0),
        };
        let stand = vec![
            InputValue::Float(0.0),
            InputValue::Float(0.0),
            InputValue::Float(aim),
            InputValue::Bool(fire),
        ];
        self.h.send_values(self.ana, self.seq, view, stand);
        self.h.step();
        let tick = self
            .h
            .client(self.ana)
            .snapshots
            .last()
            .map_or(0, |s| s.tick);
        if let Some(pos) = self.bo_in_anas_view() {
            self.seen.push_back((tick, pos));
            if self.seen.len() > 120 {
                self.seen.pop_front();
            }
        }
    }

    /// Where Ana's snapshots showed Bo `ago` ticks before the newest.
    fn seen_ago(&self, ago: usize) -> (u64, Vec2) {
        self.seen[self.seen.len() - 1 - ago]
    }

    /// Where Ana aims when her screen is `behind` ticks behind the newest snapshot: where
    /// her screen will show Bo when the bullet reaches his path. The bullet flies in the
    /// present, so that is where he was `behind` ticks before it arrives.
    fn lead(&self, behind: usize) -> Vec2 {
        let speed = Shooter::new().rules().bullet_speed / 60.0;
        let mut at = self.seen_ago(behind).1;
        for _ in 0..3 {
            let flight = (at.distance(Vec2::new(400.0, 800.0)) / speed).round() as usize;
            at = self.seen_ago(behind.saturating_sub(flight)).1;
        }
        at
    }

    /// Fires once at `at`, claiming `view`, then waits out the bullet's flight: true when
    /// Ana's client was told of a hit of hers on Bo.
    fn shoot(&mut self, at: Vec2, view: u64) -> bool {
        self.tick(Some((at, view)));
        for _ in 0..60 {
            self.tick(None);
        }
        let hit = self.schema.event_id("hit").expect("the shooter has hits");
        let (a, b) = (self.h.client(self.ana).id, self.h.client(self.bo).id);
        self.h.client(self.ana).inbox.iter().any(|m| match m {
            ServerMsg::Events(events) => events.events.iter().any(|e| {
                e.kind == hit
                    && e.values[0].int() == i64::from(a)
                    && e.values[1].int() == i64::from(b)
            }),
            _ => false,
        })
    }
}

#[test]
fn a_shot_that_hits_on_the_shooters_screen_hits_on_the_server() {
    // Ten ticks behind (167 ms, inside the 200 ms bound).
    let mut duel = Duel::new();
    let (view, _) = duel.seen_ago(10);
    let aim = duel.lead(10);
    assert!(duel.shoot(aim, view), "judged where Ana saw Bo: a hit");

    // The same aim, claimed as the newest snapshot: judged against the present, where Bo
    // has run 42 units further up.
    let mut duel = Duel::new();
    let aim = duel.lead(10);
    let newest = duel.seen_ago(0).0;
    assert!(
        !duel.shoot(aim, newest),
        "judged at the present: Bo has moved on"
    );
}

#[test]
fn a_claim_older_than_the_bound_is_judged_at_the_bound() {
    // Led as a screen 40 ticks behind would, claiming so: judged at the bound, a miss.
    let mut duel = Duel::new();
    let room = duel.h.room(ROOM).expect("the room is open");
    let bound = room.game().max_rewind_ticks() as usize;
    assert_eq!(bound, 12, "200 ms at 60 Hz");
    let (view, _) = duel.seen_ago(40);
    let aim = duel.lead(40);
    assert!(!duel.shoot(aim, view), "no shooting into the distant past");

    // Led as a screen at the bound would, claiming 40 ticks: clamped to the bound, a hit.
    let mut duel = Duel::new();
    let (view, _) = duel.seen_ago(40);
    let aim = duel.lead(bound);
    assert!(duel.shoot(aim, view), "the claim is clamped to the bound");
}
