//! Where ships (re)appear: points from a deterministic generator, so a replay puts every
//! ship where the room did.

use glam::Vec2;
use serde::{Deserialize, Serialize};

/// An xorshift64* generator of spawn points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Spawner {
    state: u64,
}

impl Default for Spawner {
    fn default() -> Self {
        Self {
            state: 0x9e37_79b9_7f4a_7c15,
        }
    }
}

impl Spawner {
    /// A number in `[0, 1)`.
    fn unit(&mut self) -> f32 {
        // xorshift64*: cheap, deterministic, good enough to scatter spawn points.
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        let r = self.state.wrapping_mul(0x2545_f491_4f6c_dd1d);
        (r >> 40) as f32 / (1u64 << 24) as f32
    }

    /// The next point of `[margin, size - margin]²`.
    pub fn next(&mut self, size: Vec2, margin: f32) -> Vec2 {
        let margin = Vec2::splat(margin);
        let span = (size - 2.0 * margin).max(Vec2::ZERO);
        margin + Vec2::new(self.unit(), self.unit()) * span
    }
}
