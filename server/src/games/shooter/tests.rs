//! The shooter driven through the `Game` trait, as a room drives it, with no socket and
//! no clock: every test is a list of calls and what the world says after them.

use std::sync::Arc;

use glam::Vec2;
use tickwire_shared::GameEvent;

use super::*;
use crate::game::{FIRST_GAME_ID, InputValue, KindId};

const DT: f32 = 1.0 / 60.0;

/// One room's worth of calls: the tick count, and every event so far.
struct Room {
    game: Shooter,
    tick: u64,
    schema: Arc<Schema>,
    events: Vec<(Audience, GameEvent)>,
}

impl Room {
    fn new(rules: ShooterRules) -> Self {
        Self {
            game: Shooter::with_rules(rules),
            tick: 0,
            schema: Arc::new(Shooter::schema()),
            events: Vec::new(),
        }
    }

    /// Players `1..=players` in a room whose round has just started counting.
    fn playing(rules: ShooterRules, players: u32) -> Self {
        let mut room = Self::new(rules);
        for id in 1..=players {
            room.game.handle_join(id);
        }
        while room.game.phase() != Phase::Playing {
            room.step();
        }
        room.events.clear();
        room
    }

    /// One step; returns its events.
    fn step(&mut self) -> Vec<(Audience, GameEvent)> {
        self.step_by(DT)
    }

    fn step_by(&mut self, dt: f32) -> Vec<(Audience, GameEvent)> {
        self.tick += 1;
        let mut events = Events::new(self.schema.clone());
        self.game.step(self.tick, dt, &mut events);
        let out = events.take();
        self.events.extend(out.iter().cloned());
        out
    }

    fn steps(&mut self, n: u64) {
        for _ in 0..n {
            self.step();
        }
    }

    /// Player `id`'s input, as the room passes it on (checked against the schema first).
    fn send(&mut self, id: PlayerId, dir: [f32; 2], aim: f32, fire: bool, view_tick: u64) {
        let input = checked([dir[0], dir[1], aim], fire).expect("a valid input");
        self.game.handle_input(id, &input, view_tick);
    }

    fn world(&self) -> World {
        let mut world = World::new(self.schema.clone());
        self.game.snapshot(&mut world);
        world
    }

    fn ship(&self, id: PlayerId) -> Ship {
        *self.game.ship(id).expect("the player is in the world")
    }

    /// The events of kind `kind`, as their values.
    fn events_of(&self, kind: KindId) -> Vec<Vec<i64>> {
        of_kind(&self.events, kind)
    }
}

fn of_kind(events: &[(Audience, GameEvent)], kind: KindId) -> Vec<Vec<i64>> {
    events
        .iter()
        .filter(|(_, e)| e.kind == kind)
        .map(|(_, e)| e.values.iter().map(Value::int).collect())
        .collect()
}

use crate::game::Value;

fn checked(dir_aim: [f32; 3], fire: bool) -> Result<ShooterInput, InvalidInput> {
    let mut values: Vec<InputValue> = dir_aim
        .iter()
        .map(|&x| InputValue::Float(x.into()))
        .collect();
    values.push(InputValue::Bool(fire));
    let values = InputValues::check(&Shooter::schema().input, &values)?;
    Shooter::input(&values)
}

/// The entities of kind `kind` in `world`, as (id, values).
fn entities(world: &World, kind: KindId) -> Vec<(EntityId, Vec<i64>)> {
    (0..world.len())
        .filter(|&i| world.kind(i) == kind)
        .map(|i| {
            (
                world.id(i),
                world.values(i).iter().map(Value::int).collect(),
            )
        })
        .collect()
}

/// The score row of player `id`: kills, deaths, score.
fn score_of(world: &World, id: PlayerId) -> [i64; 3] {
    let (_, v) = entities(world, SCORE)
        .into_iter()
        .find(|(_, v)| v[0] == i64::from(id))
        .expect("every player has a score row");
    [v[1], v[2], v[3]]
}

fn hits_on(events: &[(Audience, GameEvent)], target: PlayerId) -> usize {
    of_kind(events, HIT)
        .iter()
        .filter(|v| v[1] == i64::from(target))
        .count()
}

#[test]
fn the_schema_is_valid_and_long_directions_are_refused() {
    let schema = Shooter::schema();
    assert_eq!(schema.check(), Ok(()));
    assert_eq!(schema.kind_id("ship"), Some(SHIP));
    assert_eq!(schema.kind_id("bullet"), Some(BULLET));
    assert_eq!(schema.kind_id("score"), Some(SCORE));
    assert_eq!(schema.kind_id("match"), Some(MATCH));
    assert_eq!(schema.event_id("hit"), Some(HIT));
    assert_eq!(schema.event_id("kill"), Some(KILL));
    assert_eq!(schema.event_id("respawn"), Some(RESPAWN));
    assert_eq!(
        checked([0.75, 0.75, 0.0], false),
        Err(InvalidInput::new("input direction is longer than 1"))
    );
    // Within the slack: shortened to 1.
    let input = checked([0.6 * 1.005, 0.8 * 1.005, 1.0], true).unwrap();
    assert!((input.dir - Vec2::new(0.6, 0.8)).length() < 1e-6);
    assert!(input.fire && (input.aim - 1.0).abs() < 1e-6);
}

#[test]
fn ships_fly_toward_their_input_and_aim_where_told() {
    let mut room = Room::playing(ShooterRules::default(), 1);
    room.game.place(1, Vec2::splat(800.0));
    room.send(1, [1.0, 0.0], 1.5, false, 0);
    let mut last = 0.0;
    for _ in 0..60 {
        room.step();
        let speed = room.ship(1).vel.length();
        assert!(
            speed >= last - 1e-3 && speed <= 250.0 + 1e-3,
            "speed {speed}"
        );
        last = speed;
    }
    assert!((last - 250.0).abs() < 1e-2, "reaches top speed, got {last}");
    let world = room.world();
    let ships = entities(&world, SHIP);
    assert_eq!(ships.len(), 1);
    let (id, v) = &ships[0];
    assert_eq!(*id, 1, "a ship's id is its player's");
    assert_eq!(v[0], 250, "vx");
    assert_eq!(
        v[4],
        (1.5 / std::f64::consts::TAU * 1024.0).round() as i64,
        "aim"
    );
    assert_eq!((v[5], v[6]), (100, 1), "hp, alive");
    // It stops at the wall.
    room.steps(400);
    assert_eq!(room.ship(1).pos.x, 1600.0 - 14.0);
    assert_eq!(room.ship(1).vel.x, 0.0);
}

#[test]
fn firing_spawns_a_bullet_with_its_owner() {
    let mut room = Room::playing(ShooterRules::default(), 2);
    room.game.place(1, Vec2::splat(800.0));
    room.game.place(2, Vec2::new(100.0, 100.0));
    room.send(1, [0.0, 0.0], std::f32::consts::FRAC_PI_2, true, 0);
    room.step();
    let world = room.world();
    let bullets = entities(&world, BULLET);
    assert_eq!(bullets.len(), 1);
    let (id, v) = &bullets[0];
    assert!(*id >= FIRST_GAME_ID, "a game entity's id");
    assert_eq!(v[4], 1, "owned by player 1");
    assert_eq!(
        (v[0], v[1]),
        (0, 900),
        "flies at 900 u/s where the ship aims"
    );
    let bullet = (0..world.len()).find(|&i| world.kind(i) == BULLET).unwrap();
    let at = world.position(bullet).unwrap();
    assert!(
        (at.x - 800.0).abs() < 0.01 && at.y > 800.0 + 14.0,
        "ahead of the ship: {at}"
    );
}

#[test]
fn bullets_expire_after_their_lifetime() {
    for (dt, lifetime_ticks) in [(DT, 48), (1.0 / 30.0, 24)] {
        let mut room = Room::playing(ShooterRules::default(), 1);
        room.game.place(1, Vec2::new(100.0, 800.0));
        room.send(1, [0.0, 0.0], 0.0, true, 0);
        room.step_by(dt);
        room.send(1, [0.0, 0.0], 0.0, false, 0);
        let mut seen = 1;
        while !room.game.bullets().is_empty() {
            room.step_by(dt);
            seen += usize::from(!room.game.bullets().is_empty());
            assert!(seen <= 100);
        }
        assert_eq!(seen, lifetime_ticks, "0.8 s at dt {dt}");
    }
}

#[test]
fn the_gun_cools_down_between_shots() {
    let mut room = Room::playing(ShooterRules::default(), 1);
    room.game.place(1, Vec2::new(100.0, 800.0));
    room.send(1, [0.0, 0.0], 0.0, true, 0);
    let mut fired = Vec::new();
    for _ in 0..60 {
        let before = room.game.next_id;
        room.step();
        if room.game.next_id != before {
            fired.push(room.tick);
        }
    }
    let gaps: Vec<u64> = fired.windows(2).map(|w| w[1] - w[0]).collect();
    assert_eq!(
        gaps,
        [15, 15, 15],
        "one shot per 0.25 s while the trigger is held"
    );
}

#[test]
fn hits_damage_kill_score_and_the_dead_respawn() {
    let mut room = Room::playing(ShooterRules::default(), 2);
    room.game.place(1, Vec2::new(400.0, 800.0));
    room.game.place(2, Vec2::new(600.0, 800.0));
    room.send(1, [0.0, 0.0], 0.0, true, 0);
    let start = room.tick;
    while room.ship(2).alive {
        room.step();
        assert!(room.tick - start < 120, "four bullets kill within 2 s");
    }
    let died_at = room.tick;
    room.send(1, [0.0, 0.0], 0.0, false, 0);
    let hits = room.events_of(HIT);
    assert_eq!(hits.len(), 4);
    for h in &hits {
        assert_eq!(&h[..3], &[1, 2, 25], "shooter, target, damage");
        // Where the bullet met the ship: on its rim, facing the shooter.
        assert!(
            (h[3] as f32 / 100.0 - (600.0 - 16.0)).abs() < 16.0,
            "x {}",
            h[3]
        );
    }
    assert_eq!(room.events_of(KILL), [vec![1, 2]]);
    let world = room.world();
    let ship2 = entities(&world, SHIP)
        .into_iter()
        .find(|(id, _)| *id == 2)
        .unwrap()
        .1;
    assert_eq!((ship2[5], ship2[6]), (0, 0), "no hit points, not alive");
    assert_eq!(
        score_of(&world, 1),
        [1, 0, 100 + 100],
        "a kill and 100 damage"
    );
    assert_eq!(score_of(&world, 2), [0, 1, 0]);
    // A dead ship cannot fire.
    room.send(2, [1.0, 0.0], 0.0, true, 0);
    room.step();
    assert!(room.game.bullets().iter().all(|b| b.owner != 2));
    room.send(2, [0.0, 0.0], 0.0, false, 0);
    // Back after 2 s, at full health, with an event.
    while !room.ship(2).alive {
        room.step();
    }
    assert_eq!(room.tick - died_at, 120);
    assert_eq!(room.ship(2).hp, 100);
    assert_eq!(room.events_of(RESPAWN), [vec![2]]);
}

#[test]
fn the_match_warms_up_plays_ends_and_starts_a_new_round() {
    let rules = ShooterRules {
        warmup: 1.0,
        playing: 2.0,
        over: 1.0,
        ..ShooterRules::default()
    };
    let mut room = Room::new(rules);
    room.game.handle_join(1);
    room.game.handle_join(2);
    let clock = |room: &Room| entities(&room.world(), MATCH)[0].1.clone();
    room.step();
    assert_eq!(entities(&room.world(), MATCH)[0].0, MATCH_ID);
    assert_eq!(clock(&room), [0, 1, 1], "warmup, 1 s left, round 1");
    // Warmup is the 60 ticks from the first step; play starts at tick 61.
    room.steps(59);
    assert_eq!(clock(&room), [0, 1, 1], "a tick left shows as 1 s");
    room.step();
    assert_eq!(room.game.phase(), Phase::Playing);
    assert_eq!(clock(&room), [1, 2, 1]);
    // Score something in play.
    room.game.place(1, Vec2::new(400.0, 800.0));
    room.game.place(2, Vec2::new(500.0, 800.0));
    room.send(1, [0.0, 0.0], 0.0, true, 0);
    room.steps(30);
    room.send(1, [0.0, 0.0], 0.0, false, 0);
    assert!(score_of(&room.world(), 1)[2] > 0);
    assert_eq!(clock(&room), [1, 2, 1], "1.5 s left shows as 2");
    room.steps(89);
    assert_eq!(room.game.phase(), Phase::Playing, "2 s of play: 120 ticks");
    room.step();
    assert_eq!(clock(&room), [2, 1, 1], "over: the scores stand");
    assert!(score_of(&room.world(), 1)[2] > 0);
    // Nobody fires while the round is over.
    room.send(1, [0.0, 0.0], 0.0, true, 0);
    room.step();
    assert!(room.game.bullets().is_empty());
    room.send(1, [0.0, 0.0], 0.0, false, 0);
    room.steps(59);
    assert_eq!(clock(&room), [0, 1, 2], "round 2 warms up");
    assert_eq!(score_of(&room.world(), 1), [0, 0, 0], "scores reset");
    assert_eq!(score_of(&room.world(), 2), [0, 0, 0]);
    assert!(room.game.ships().iter().all(|s| s.alive && s.hp == 100));
}

/// A shooter at rest at (300, 800) and a target flying up at full speed across its line
/// of fire, at x = 360; the room stops `back` ticks after the target reached y ≈ 792.
struct Crossing {
    room: Room,
    /// Where the target was after each tick.
    track: Vec<(u64, Vec2)>,
    /// The tick the target reached y ≈ 792 (just below the shooter's line).
    seen: u64,
}

impl Crossing {
    fn new(rules: ShooterRules, back: u64) -> Self {
        let mut room = Room::playing(rules, 2);
        room.game.place(1, Vec2::new(300.0, 800.0));
        room.game.place(2, Vec2::new(360.0, 650.0));
        room.send(2, [0.0, 1.0], 0.0, false, 0);
        let mut track = Vec::new();
        let seen = loop {
            room.step();
            track.push((room.tick, room.ship(2).pos));
            if room.ship(2).pos.y >= 792.0 {
                break room.tick;
            }
        };
        assert!(
            (room.ship(2).vel.y - 250.0).abs() < 1e-3,
            "at full speed by then"
        );
        for _ in 0..back {
            room.step();
            track.push((room.tick, room.ship(2).pos));
        }
        Self { room, track, seen }
    }

    fn target_at(&self, tick: u64) -> Vec2 {
        self.track
            .iter()
            .find(|(t, _)| *t == tick)
            .expect("a tick of the track")
            .1
    }

    /// Player 1 fires one bullet at `at` from where it is, saying it was showing tick
    /// `view_tick`; true when the bullet hit the target.
    fn shoot(self, at: Vec2, view_tick: u64) -> bool {
        let from = self.room.ship(1).pos;
        self.shoot_from(from, at, view_tick)
    }

    /// [`Crossing::shoot`] from `from` (the shooter moved there first).
    fn shoot_from(mut self, from: Vec2, at: Vec2, view_tick: u64) -> bool {
        self.room.game.place(1, from);
        let aim = (at - self.room.ship(1).pos).to_angle();
        self.room.send(1, [0.0, 0.0], aim, true, view_tick);
        self.room.step();
        self.room.send(1, [0.0, 0.0], aim, false, view_tick);
        assert_eq!(self.room.game.bullets().len(), 1);
        while !self.room.game.bullets().is_empty() {
            self.room.step();
        }
        hits_on(&self.room.events, 2) == 1
    }
}

#[test]
fn a_lagging_shooter_hits_the_target_where_it_saw_it() {
    // The shooter's screen shows tick V, 6 ticks (100 ms) behind the server; it aims at
    // the target as it was then. By now the target is 25 units further on, beyond its
    // radius: only a shot judged against the past hits.
    let c = Crossing::new(ShooterRules::default(), 6);
    let (seen, now) = (c.seen, c.room.tick);
    assert_eq!(now - seen, 6);
    let where_seen = c.target_at(seen);
    assert!(
        c.room.ship(2).pos.y - where_seen.y > 14.0 + 2.0,
        "the target has moved away"
    );
    assert!(c.shoot(where_seen, seen), "compensated: a hit");
    // The very same shot from a client with no lag to claim (it says it shows the
    // present), or one that does not say: judged against the present, a miss.
    let c = Crossing::new(ShooterRules::default(), 6);
    assert!(!c.shoot(where_seen, now), "uncompensated: a miss");
    let c = Crossing::new(ShooterRules::default(), 6);
    assert!(!c.shoot(where_seen, 0), "no view tick: no compensation");
}

#[test]
fn a_claim_older_than_the_bound_is_judged_at_the_bound() {
    // The shooter claims to have been showing tick V, 100 ticks (1.7 s) ago; the bound
    // is 200 ms, 12 ticks. Aiming where the target was at V misses: the claim is judged
    // 12 ticks back, where the target was 350 units further on.
    let bound = 12;
    let c = Crossing::new(ShooterRules::default(), 100);
    assert_eq!(c.room.game.max_rewind_ticks(), bound);
    let (seen, now) = (c.seen, c.room.tick);
    let where_claimed = c.target_at(seen);
    assert!(
        !c.shoot(where_claimed, seen),
        "the claimed tick is not used"
    );
    // With the same claim, aiming where the target was at now − bound hits: that is the
    // world the shot is judged in. (The shooter is moved to face that spot as it faced
    // the target at V, so that the shot is the same as the first, 12 ticks later.)
    let c = Crossing::new(ShooterRules::default(), 100);
    let at_bound = c.target_at(now - bound);
    let from = at_bound + (Vec2::new(300.0, 800.0) - where_claimed);
    assert!(c.shoot_from(from, at_bound, seen), "judged at now − bound");
    // And the outcomes differ because of the bound alone: with a bound of 2 s the
    // claimed tick is honoured and the first shot hits.
    let long = ShooterRules {
        max_rewind: 2.0,
        ..ShooterRules::default()
    };
    let c = Crossing::new(long, 100);
    assert!(
        c.shoot(where_claimed, seen),
        "honoured within a longer bound"
    );
}

#[test]
fn a_ship_that_has_died_since_the_view_is_not_hit_again() {
    // Two shooters at the same still target. Player 1 kills it; player 3, 6 ticks
    // behind, fires at the same moment from further away, so its bullet arrives a few
    // ticks after the kill, judged against frames in which the target was still alive.
    // It is dead now: the bullet flies on.
    let mut room = Room::playing(ShooterRules::default(), 3);
    room.game.place(1, Vec2::new(400.0, 800.0));
    room.game.place(2, Vec2::new(600.0, 800.0));
    room.game.place(3, Vec2::new(600.0, 550.0));
    room.game.ships[1].hp = 25;
    room.send(1, [0.0, 0.0], 0.0, true, 0);
    let view = room.tick - 6;
    room.send(3, [0.0, 0.0], std::f32::consts::FRAC_PI_2, true, view);
    room.step();
    room.send(1, [0.0, 0.0], 0.0, false, 0);
    room.send(3, [0.0, 0.0], std::f32::consts::FRAC_PI_2, false, view);
    let fired = room.game.bullets().to_vec();
    assert_eq!(
        fired.iter().map(|b| (b.owner, b.lag)).collect::<Vec<_>>(),
        [(1, 0), (3, 6)]
    );
    let mut killed_at = None;
    while room.game.bullets().iter().any(|b| b.owner == 3) {
        room.step();
        if killed_at.is_none() && !room.ship(2).alive {
            killed_at = Some(room.tick);
        }
        assert!(room.game.bullets().len() <= 2);
    }
    assert_eq!(room.events_of(KILL), [vec![1, 2]]);
    assert_eq!(hits_on(&room.events, 2), 1, "one hit: the dead are not hit");
    assert!(killed_at.is_some());
}

#[test]
fn a_restored_world_goes_on_exactly_as_the_saved_one() {
    let drive = |room: &mut Room, t: u64| {
        for id in 1..=12u32 {
            let a = (id as f32 * 1.7 + t as f32 * 0.05).sin();
            let dir = Vec2::from_angle(a * 3.0 + id as f32).to_array();
            // Each client a few ticks behind, some beyond the bound.
            let view = room.tick.saturating_sub(u64::from(id) * 2);
            room.send(id, dir, a * 3.0, (t + u64::from(id)) % 40 < 30, view);
        }
    };
    let mut room = Room::playing(ShooterRules::default(), 12);
    for t in 0..400 {
        drive(&mut room, t);
        room.step();
    }
    assert!(!room.game.bullets().is_empty());
    assert!(!room.events_of(HIT).is_empty(), "a busy scene");
    room.game.handle_leave(5);
    let mut copy = Room::new(ShooterRules::default());
    copy.tick = room.tick;
    copy.game.restore(&room.game.save().unwrap()).unwrap();
    let mut scratch = World::new(room.schema.clone());
    assert_eq!(
        room.game.world_hash(&mut scratch),
        copy.game.world_hash(&mut scratch)
    );
    room.events.clear();
    for r in [&mut room, &mut copy] {
        r.game.handle_join(40);
        for t in 400..800 {
            drive(r, t);
            r.step();
        }
    }
    assert_eq!(room.game.save(), copy.game.save(), "bit for bit");
    assert_eq!(
        room.game.world_hash(&mut scratch),
        copy.game.world_hash(&mut scratch)
    );
    assert_eq!(room.events, copy.events);
    let (a, b) = (room.world(), copy.world());
    assert_eq!(a.state_hash(), b.state_hash());
    assert!((0..a.len()).all(|i| a.id(i) == b.id(i) && a.values(i) == b.values(i)));
}

#[test]
fn a_corrupt_save_is_refused() {
    let mut game = Shooter::new();
    assert!(matches!(
        game.restore(b"\x93\x01"),
        Err(RestoreError::Corrupt(_))
    ));
    let mut room = Room::playing(ShooterRules::default(), 2);
    room.game.ships[1].id = 1;
    let twice = room.game.save().unwrap();
    assert!(matches!(
        game.restore(&twice),
        Err(RestoreError::Corrupt(_))
    ));
}

#[test]
fn joins_leaves_and_entity_ids() {
    let mut room = Room::new(ShooterRules::default());
    room.game.handle_join(7);
    room.game.handle_join(7);
    room.game.handle_join(8);
    assert_eq!(room.game.ships().len(), 2);
    room.step();
    let world = room.world();
    let rows = entities(&world, SCORE);
    assert_eq!(
        rows.iter().map(|(id, v)| (*id, v[0])).collect::<Vec<_>>(),
        [(MATCH_ID + 1, 7), (MATCH_ID + 2, 8)],
        "score rows get game ids in join order"
    );
    room.send(8, [0.0, 0.0], 0.0, true, 0);
    room.step();
    assert_eq!(room.game.bullets().len(), 1);
    room.send(99, [1.0, 0.0], 0.0, true, 0); // unknown player: ignored
    room.game.handle_away(7);
    room.game.handle_leave(8);
    room.game.handle_leave(8);
    assert!(
        room.game.bullets().is_empty(),
        "a leaver's bullets go with it"
    );
    let world = room.world();
    assert_eq!(entities(&world, SHIP).len(), 1);
    assert_eq!(entities(&world, SCORE).len(), 1);
}

#[test]
fn an_away_ship_stops_and_holds_fire() {
    let mut room = Room::playing(ShooterRules::default(), 1);
    room.game.place(1, Vec2::splat(800.0));
    room.send(1, [1.0, 0.0], 0.0, true, 0);
    room.steps(10);
    room.game.handle_away(1);
    let fired = room.game.next_id;
    room.steps(60);
    assert_eq!(room.ship(1).vel, Vec2::ZERO);
    assert_eq!(room.game.next_id, fired);
}

#[test]
fn a_bench_scene_has_the_entities_it_promises_and_steps() {
    for (players, bullets) in [(16, 3), (64, 3), (200, 4)] {
        let mut game = Shooter::scene(players, bullets);
        let schema = Arc::new(Shooter::schema());
        let mut world = World::new(schema.clone());
        game.snapshot(&mut world);
        assert_eq!(world.len() as u32, 2 * players + players * bullets + 1);
        assert_eq!(game.phase(), Phase::Playing);
        let again = Shooter::scene(players, bullets);
        assert_eq!(game.save(), again.save(), "deterministic");
        let mut events = Events::new(schema);
        for t in 1..=60 {
            game.step(game.tick() + 1, Shooter::SCENE_DT, &mut events);
            assert_eq!(game.tick(), 1000 + t);
        }
        assert!(!game.bullets().is_empty());
    }
}
