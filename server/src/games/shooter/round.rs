//! The match clock: a round warms up, is played, stands over with its final scores, then
//! the next round begins. It only counts ticks and says when a phase changes; what a
//! change does to ships and scores is the game's business.

use serde::{Deserialize, Serialize};

use super::rules::{ShooterRules, ticks};

/// Where a round is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Phase {
    /// Ships fight, but the scores are wiped when play starts.
    Warmup,
    /// Everything counts.
    Playing,
    /// The final scores stand; nobody fires.
    Over,
}

impl Phase {
    /// The variant names of the `match` entity's `phase` field, in wire order.
    pub const NAMES: [&'static str; 3] = ["warmup", "playing", "over"];

    /// The phase's index on the wire.
    pub fn index(self) -> i64 {
        match self {
            Phase::Warmup => 0,
            Phase::Playing => 1,
            Phase::Over => 2,
        }
    }

    fn seconds(self, rules: &ShooterRules) -> f32 {
        match self {
            Phase::Warmup => rules.warmup,
            Phase::Playing => rules.playing,
            Phase::Over => rules.over,
        }
    }

    fn next(self) -> Phase {
        match self {
            Phase::Warmup => Phase::Playing,
            Phase::Playing => Phase::Over,
            Phase::Over => Phase::Warmup,
        }
    }
}

/// The phase, when it ends and which round this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Round {
    /// The current phase.
    pub phase: Phase,
    /// The round's number, from 1.
    pub number: u32,
    /// The tick at which the phase ends; `None` until the first step, when `dt` becomes
    /// known and the first warmup starts.
    ends_at: Option<u64>,
}

impl Default for Round {
    fn default() -> Self {
        Self {
            phase: Phase::Warmup,
            number: 1,
            ends_at: None,
        }
    }
}

impl Round {
    /// Moves the clock to tick `tick`; returns the phase entered, if one was. At most one
    /// phase changes per step, so a phase of 0 s still lasts a tick.
    pub fn advance(&mut self, tick: u64, dt: f32, rules: &ShooterRules) -> Option<Phase> {
        let Some(ends_at) = self.ends_at else {
            self.ends_at = Some(tick + ticks(self.phase.seconds(rules), dt).max(1));
            return None;
        };
        if tick < ends_at {
            return None;
        }
        self.phase = self.phase.next();
        if self.phase == Phase::Warmup {
            self.number = self.number.saturating_add(1);
        }
        self.ends_at = Some(tick + ticks(self.phase.seconds(rules), dt).max(1));
        Some(self.phase)
    }

    /// Whole seconds left in the phase at tick `tick`, rounded up (what a countdown shows).
    pub fn seconds_left(&self, tick: u64, dt: f32) -> i64 {
        let left = self.ends_at.map_or(0, |end| end.saturating_sub(tick));
        // Less a hair: 60 ticks of an f32 1/60 are 1.00000005 s, which is 1 s, not 2.
        (left as f64 * f64::from(dt) - 1e-6).ceil().max(0.0) as i64
    }

    /// Starts the current phase over from tick `tick` with `seconds` to go (a bench's
    /// scene starts mid-play with it).
    pub fn restart(&mut self, phase: Phase, tick: u64, seconds: f32, dt: f32) {
        self.phase = phase;
        self.ends_at = Some(tick + ticks(seconds, dt).max(1));
    }
}
