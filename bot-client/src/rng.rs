//! The swarm's random numbers: a tiny xorshift generator, seeded per bot.
//!
//! Nothing here needs to be unpredictable, only different between bots and cheap; and the
//! same seed always gives the same numbers, which keeps runs comparable (bot 7 walks, drops
//! and misbehaves the same way every time).

/// xorshift64: fast, tiny, and good enough for wandering, jitter and picking behaviours.
#[derive(Debug, Clone)]
pub(crate) struct XorShift64(u64);

impl XorShift64 {
    pub(crate) fn seeded(seed: u64) -> Self {
        // Spread neighbouring seeds apart (splitmix64's finaliser) so bot 1 and bot 2 do not
        // start with nearly the same numbers; xorshift must never hold zero.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        Self(if z == 0 { 0x2545_F491_4F6C_DD1D } else { z })
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A number in [-1, 1).
    pub(crate) fn next_signed_unit(&mut self) -> f32 {
        // The top 24 bits fill an f32's mantissa exactly.
        let unit = (self.next_u64() >> 40) as f32 / (1u32 << 24) as f32;
        unit * 2.0 - 1.0
    }

    /// A number in [0, 1).
    pub(crate) fn next_unit(&mut self) -> f64 {
        // The top 53 bits fill an f64's mantissa exactly.
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A number in `range` (both ends included); its start when the range is empty.
    pub(crate) fn in_range(&mut self, range: std::ops::RangeInclusive<u64>) -> u64 {
        let (low, high) = (*range.start(), *range.end());
        if high <= low {
            return low;
        }
        // The modulo bias is at most span / 2^64: invisible at the spans used here.
        match (high - low).checked_add(1) {
            Some(span) => low + self.next_u64() % span,
            None => self.next_u64(),
        }
    }

    /// True with probability `p` (0 never, 1 always).
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.next_unit() < p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_units_stay_in_range() {
        let mut rng = XorShift64::seeded(0);
        for _ in 0..100_000 {
            let x = rng.next_signed_unit();
            assert!((-1.0..1.0).contains(&x), "{x}");
        }
    }

    #[test]
    fn units_stay_in_range_and_spread() {
        let mut rng = XorShift64::seeded(1);
        let mut below_half = 0;
        for _ in 0..100_000 {
            let x = rng.next_unit();
            assert!((0.0..1.0).contains(&x), "{x}");
            below_half += usize::from(x < 0.5);
        }
        assert!((45_000..55_000).contains(&below_half), "{below_half}");
    }

    #[test]
    fn ranges_include_both_ends_and_nothing_else() {
        let mut rng = XorShift64::seeded(2);
        let mut seen = [false; 4];
        for _ in 0..1000 {
            let x = rng.in_range(3..=6);
            assert!((3..=6).contains(&x), "{x}");
            seen[(x - 3) as usize] = true;
        }
        assert_eq!(seen, [true; 4]);
        assert_eq!(rng.in_range(5..=5), 5);
        let _ = rng.in_range(0..=u64::MAX);
    }

    #[test]
    fn chance_is_never_and_always_at_the_ends() {
        let mut rng = XorShift64::seeded(3);
        assert!((0..1000).all(|_| !rng.chance(0.0)));
        assert!((0..1000).all(|_| rng.chance(1.0)));
    }
}
