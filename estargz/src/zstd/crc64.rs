//! CRC-64 with the ISO polynomial, as Go's `hash/crc64` computes it with `crc64.ISO`:
//! tar-split records this checksum of every file's content.

/// The ISO polynomial, bit-reversed (Go's `crc64.ISO`).
const ISO: u64 = 0xD800_0000_0000_0000;

/// The byte-at-a-time table for [`ISO`].
const TABLE: [u64; 256] = {
    let mut table = [0u64; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u64;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ ISO
            } else {
                crc >> 1
            };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
};

/// A running CRC-64/ISO.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Crc64(u64);

impl Crc64 {
    /// Feeds the next bytes.
    pub(crate) fn update(&mut self, data: &[u8]) {
        let mut crc = !self.0;
        for &b in data {
            let slot = TABLE
                .get(usize::from((crc as u8) ^ b))
                .copied()
                .unwrap_or(0);
            crc = slot ^ (crc >> 8);
        }
        self.0 = !crc;
    }

    /// The checksum as Go's `Sum(nil)` returns it: 8 bytes, big-endian.
    pub(crate) fn sum(self) -> [u8; 8] {
        self.0.to_be_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_known_values_and_is_incremental() {
        // CRC-64/GO-ISO check value for "123456789".
        let mut crc = Crc64::default();
        crc.update(b"123456789");
        assert_eq!(crc.sum(), 0xb909_56c7_75a4_1001u64.to_be_bytes());
        let mut split = Crc64::default();
        split.update(b"1234");
        split.update(b"56789");
        assert_eq!(split.sum(), crc.sum());
        assert_eq!(Crc64::default().sum(), [0; 8]);
    }
}
