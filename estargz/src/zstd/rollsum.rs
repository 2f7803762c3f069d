//! The rolling checksum containers/storage uses to cut file content into chunks: bup's
//! rollsum (a 64-byte window, Adler-style sums with a character offset of 31), with a
//! split wherever the low [`SPLIT_BITS`] bits of the second sum are all ones (on average
//! every 64 KiB).

/// Window size in bytes (a power of two).
const WINDOW: usize = 64;

/// Added to every byte in the sums.
const CHAR_OFFSET: u32 = 31;

/// The number of low bits of the second sum that must all be ones for a split
/// (containers/storage's `RollsumBits`).
pub(crate) const SPLIT_BITS: u32 = 16;

/// The rolling checksum over the last [`WINDOW`] bytes.
#[derive(Clone, Debug)]
pub(crate) struct RollSum {
    s1: u32,
    s2: u32,
    window: [u8; WINDOW],
    pos: usize,
}

impl Default for RollSum {
    fn default() -> Self {
        Self {
            s1: WINDOW as u32 * CHAR_OFFSET,
            s2: WINDOW as u32 * (WINDOW as u32 - 1) * CHAR_OFFSET,
            window: [0; WINDOW],
            pos: 0,
        }
    }
}

impl RollSum {
    /// Rolls `byte` in (and the byte [`WINDOW`] positions back out).
    pub(crate) fn roll(&mut self, byte: u8) {
        let slot = self.window.get_mut(self.pos).map_or(0, |old| {
            let dropped = u32::from(*old);
            *old = byte;
            dropped
        });
        self.s1 = self.s1.wrapping_add(u32::from(byte)).wrapping_sub(slot);
        self.s2 = self.s2.wrapping_add(
            self.s1
                .wrapping_sub((WINDOW as u32).wrapping_mul(slot.wrapping_add(CHAR_OFFSET))),
        );
        self.pos = (self.pos + 1) & (WINDOW - 1);
    }

    /// Rolls `count` zero bytes in. Once the window holds only zeros, rolling another zero
    /// changes nothing but the window position, so at most `2 × WINDOW` rolls are done.
    pub(crate) fn roll_zeros(&mut self, count: u64) {
        let full = WINDOW as u64;
        let rolled = if count > 2 * full {
            full + (count - full) % full
        } else {
            count
        };
        for _ in 0..rolled {
            self.roll(0);
        }
    }

    /// Whether the content ends a chunk here.
    pub(crate) fn on_split(&self) -> bool {
        let mask = (1u32 << SPLIT_BITS) - 1;
        self.s2 & mask == mask
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(len: usize) -> Vec<u8> {
        let mut x = 0x1234_5678u32;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                (x >> 24) as u8
            })
            .collect()
    }

    #[test]
    fn splits_about_every_64_kib_and_depend_only_on_the_window() {
        let data = sample(4 << 20);
        let mut sum = RollSum::default();
        let mut splits = Vec::new();
        for (i, &b) in data.iter().enumerate() {
            sum.roll(b);
            if sum.on_split() {
                splits.push(i);
            }
        }
        // 4 MiB / 64 KiB = 64 expected; allow a wide margin.
        assert!((20..200).contains(&splits.len()), "{} splits", splits.len());
        // The decision at a split depends on the last 64 bytes only: a fresh sum fed with
        // a different prefix and then the same 64 bytes agrees.
        let at = splits[3];
        let mut other = RollSum::default();
        for &b in &sample(100)[..] {
            other.roll(b.wrapping_add(1));
        }
        for &b in &data[at + 1 - WINDOW..=at] {
            other.roll(b);
        }
        assert!(other.on_split());
    }

    #[test]
    fn rolling_many_zeros_equals_rolling_them_one_by_one() {
        for count in [0u64, 1, 63, 64, 65, 128, 129, 1000, 4097] {
            let mut fast = RollSum::default();
            let mut slow = RollSum::default();
            for &b in &sample(77) {
                fast.roll(b);
                slow.roll(b);
            }
            fast.roll_zeros(count);
            for _ in 0..count {
                slow.roll(0);
            }
            for &b in &sample(90) {
                fast.roll(b);
                slow.roll(b);
                assert_eq!(fast.on_split(), slow.on_split());
            }
            assert_eq!((fast.s1, fast.s2, fast.pos), (slow.s1, slow.s2, slow.pos));
        }
    }
}
