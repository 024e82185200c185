//! A deterministic scene of any size for benches: a world in the middle of play, with
//! every ship moving and firing and bullets already in the air.

use glam::Vec2;

use crate::game::Game;

use super::bullets::Bullet;
use super::rewind::Pose;
use super::round::Phase;
use super::rules::ticks;
use super::{Shooter, ShooterRules};

/// The tick a scene is at: late enough that the rewind buffer is full.
const SCENE_TICK: u64 = 1000;

impl Shooter {
    /// The step length a [`Shooter::scene`] is built for: 60 Hz.
    pub const SCENE_DT: f32 = 1.0 / 60.0;

    /// A world of the default rules at tick 1000, mid-round, with `players` ships (ids
    /// `1..=players`) spread evenly over the world, each flying, aiming and firing in its
    /// own direction with its own lag, and `bullets_per_player` of each one's bullets in
    /// the air at staggered ages. The rewind buffer is full, as after a while of play.
    /// Its next step is `step(Shooter::tick() + 1, Shooter::SCENE_DT, ..)`.
    ///
    /// Its snapshot has `2 · players + players · bullets_per_player + 1` entities (ships,
    /// score rows, bullets, the match clock): `scene(21, 1)` is 64, `scene(51, 3)` is
    /// 256, `scene(341, 1)` or `scene(93, 9)` is 1024. The scene drifts as it is stepped (bullets
    /// expire, guns reload at their own rate, ships die): a bench that times one step
    /// builds a fresh scene per batch.
    pub fn scene(players: u32, bullets_per_player: u32) -> Shooter {
        let rules = ShooterRules::default();
        let dt = Self::SCENE_DT;
        let mut game = Shooter::with_rules(rules);
        game.dt = dt;
        game.tick = SCENE_TICK;
        game.round
            .restart(Phase::Playing, SCENE_TICK, rules.playing, dt);
        let depth = ticks(rules.max_rewind, dt);
        game.rewind.set_depth(depth);
        let cols = (f64::from(players).sqrt().ceil() as u32).max(1);
        let spacing = rules.size / cols as f32;
        let lifetime = ticks(rules.bullet_lifetime, dt).max(1);
        let cooldown = ticks(rules.fire_cooldown, dt).max(1);
        for id in 1..=players {
            game.handle_join(id);
            let k = id - 1;
            let cell = Vec2::new((k % cols) as f32 + 0.5, (k / cols) as f32 + 0.5);
            // Golden-angle turns: every ship in its own direction, no two alike.
            let heading = k as f32 * 2.399_963;
            let ship = game.ship_mut(id).expect("invariant: just joined");
            ship.pos = cell * spacing;
            ship.intent = Vec2::from_angle(heading);
            ship.vel = ship.intent * rules.max_speed;
            ship.aim = heading + 1.0;
            ship.fire = true;
            ship.lag = u64::from(k) % (depth + 1);
            ship.next_fire = SCENE_TICK + 1 + u64::from(k) % cooldown;
        }
        for id in 1..=players {
            let ship = *game.ship(id).expect("invariant: joined above");
            for n in 0..bullets_per_player {
                let age = u64::from(n * 7 + id) % lifetime;
                let dir = Vec2::from_angle(ship.aim + n as f32 * 0.3);
                let bullet_id = game.new_id();
                game.bullets.push(Bullet {
                    id: bullet_id,
                    owner: id,
                    pos: ship.pos + dir * (rules.ship_radius + 4.0 + 20.0 * n as f32),
                    vel: dir * rules.bullet_speed,
                    expires_at: SCENE_TICK + lifetime - age,
                    lag: ship.lag,
                });
            }
        }
        // The past, as the ships' straight flight says it was.
        for back in (0..=depth).rev() {
            let tick = SCENE_TICK - back;
            let poses = game.ships.iter().map(|s| Pose {
                id: s.id,
                pos: s.pos - s.vel * dt * back as f32,
                alive: true,
            });
            game.rewind.record(tick, poses);
        }
        game
    }
}
