//! What the two zstd:chunked footers share: the zstd skippable-frame header around the
//! footer payload, little-endian fields, and the sanity rules for the positions.

use super::{TarSplitPosition, ZstdTocPosition};

/// Magic of the zstd skippable frame the reference uses (0x184D2A50, little-endian).
const SKIPPABLE_MAGIC: [u8; 4] = [0x50, 0x2a, 0x4d, 0x18];

/// Size of a skippable frame's header (magic + u32 length). Every TOC or tar-split offset
/// points just past such a header.
pub(super) const FRAME_HEADER_LEN: u64 = 8;

/// The skippable-frame header for a payload of `len` bytes.
pub(super) fn frame_header(len: u32) -> [u8; 8] {
    let [a, b, c, d] = SKIPPABLE_MAGIC;
    let [e, f, g, h] = len.to_le_bytes();
    [a, b, c, d, e, f, g, h]
}

/// Checks the skippable-frame header at the start of `bytes` (the magic, and a length of
/// exactly `payload_len`) and returns the payload after it.
pub(super) fn frame_payload(bytes: &[u8], payload_len: u32) -> Result<&[u8], &'static str> {
    let (header, payload) = bytes
        .split_first_chunk::<8>()
        .ok_or("shorter than a skippable-frame header")?;
    let (magic, len) = header.split_at(4);
    if magic != SKIPPABLE_MAGIC {
        return Err("no zstd skippable-frame magic (50 2a 4d 18) before the footer");
    }
    if len != payload_len.to_le_bytes() {
        return Err("the footer's skippable frame has the wrong length");
    }
    Ok(payload)
}

/// Reads consecutive little-endian `u64`s.
pub(super) struct Fields<'a>(pub(super) &'a [u8]);

impl<'a> Fields<'a> {
    /// The next `u64`; `None` if fewer than 8 bytes remain.
    pub(super) fn u64(&mut self) -> Option<u64> {
        let (field, rest) = self.0.split_first_chunk::<8>()?;
        self.0 = rest;
        Some(u64::from_le_bytes(*field))
    }

    /// What has not been read.
    pub(super) fn rest(&self) -> &'a [u8] {
        self.0
    }
}

/// The rules every TOC position must follow; returns where the TOC ends.
///
/// The TOC frame's header sits just before `offset`, so `offset >= 8`; a zstd frame is
/// never empty, so `len > 0`; and the end must be representable.
pub(super) fn check_toc(toc: &ZstdTocPosition) -> Result<u64, &'static str> {
    if toc.offset < FRAME_HEADER_LEN {
        return Err("TOC offset is smaller than its skippable-frame header");
    }
    if toc.len == 0 {
        return Err("TOC length is zero");
    }
    toc.offset
        .checked_add(toc.len)
        .ok_or("TOC end does not fit in a u64")
}

/// The rules a tar-split position must follow (its frame header sits before it, its end
/// is representable, its frame does not overlap the TOC's frame); returns where it ends.
pub(super) fn check_tar_split(
    tar_split: &TarSplitPosition,
    toc: &ZstdTocPosition,
) -> Result<u64, &'static str> {
    if tar_split.offset < FRAME_HEADER_LEN {
        return Err("tar-split offset is smaller than its skippable-frame header");
    }
    let end = tar_split
        .offset
        .checked_add(tar_split.len)
        .ok_or("tar-split end does not fit in a u64")?;
    let toc_end = check_toc(toc)?;
    // Compare whole frames (header included): one must end before the other begins. Both
    // subtractions are safe: both offsets were checked to be at least FRAME_HEADER_LEN.
    let after_toc = tar_split.offset - FRAME_HEADER_LEN >= toc_end;
    let before_toc = end <= toc.offset - FRAME_HEADER_LEN;
    if !(after_toc || before_toc) {
        return Err("tar-split frame overlaps the TOC frame");
    }
    Ok(end)
}
