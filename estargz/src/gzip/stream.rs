//! The streaming raw-deflate backends: zlib-rs (feature `zlib-rs`) and miniz_oxide.
//!
//! Both are used directly, never through flate2, so that no other crate in a dependency graph
//! can change which library produces our bytes by enabling a flate2 feature. Their output
//! depends on how the input is split into calls and where flushes go, so the encoder always
//! feeds them the same way (see the [module documentation](super)).

/// How a call to [`StreamDeflater::compress`] ends.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub(crate) enum Flush {
    /// Keep whatever the compressor wants to keep.
    None,
    /// Emit everything so far, then an empty non-final stored block (byte-aligned).
    Sync,
    /// Emit everything and end the stream with a final block.
    Finish,
}

/// A raw deflate compressor (no zlib or gzip framing) at a level from 1 to 9 that can be fed
/// in pieces and flushed.
pub(crate) enum StreamDeflater {
    /// zlib-rs.
    #[cfg(feature = "zlib-rs")]
    ZlibRs(zlib_rs::Deflate),
    /// miniz_oxide.
    Miniz(Box<miniz_oxide::deflate::core::CompressorOxide>),
}

impl std::fmt::Debug for StreamDeflater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self {
            #[cfg(feature = "zlib-rs")]
            Self::ZlibRs(_) => "zlib-rs",
            Self::Miniz(_) => "miniz_oxide",
        };
        f.debug_tuple("StreamDeflater").field(&name).finish()
    }
}

/// Room to give the compressor for `input_len` more input bytes: enough for incompressible
/// data plus block overhead, so that one call usually suffices.
fn room_for(input_len: usize) -> usize {
    input_len.saturating_add(input_len / 8).saturating_add(256)
}

impl StreamDeflater {
    /// A zlib-rs compressor at `level` (1..=9).
    #[cfg(feature = "zlib-rs")]
    pub(crate) fn zlib_rs(level: u8) -> Self {
        Self::ZlibRs(zlib_rs::Deflate::new(i32::from(level), false, 15))
    }

    /// A miniz_oxide compressor at `level` (1..=9).
    pub(crate) fn miniz(level: u8) -> Self {
        use miniz_oxide::deflate::core::{CompressorOxide, create_comp_flags_from_zip_params};
        // A negative window size asks for raw deflate (no zlib header).
        let flags = create_comp_flags_from_zip_params(i32::from(level), -15, 0);
        Self::Miniz(Box::new(CompressorOxide::new(flags)))
    }

    /// Prepares for a new stream; the output is then the same as a new compressor's.
    pub(crate) fn reset(&mut self) {
        match self {
            #[cfg(feature = "zlib-rs")]
            Self::ZlibRs(d) => d.reset(),
            Self::Miniz(d) => d.reset(),
        }
    }

    /// Compresses all of `input`, appending the output to `out`, and ends as `flush` says.
    pub(crate) fn compress(
        &mut self,
        input: &[u8],
        flush: Flush,
        out: &mut Vec<u8>,
    ) -> Result<(), String> {
        match self {
            #[cfg(feature = "zlib-rs")]
            Self::ZlibRs(d) => zlib_rs_compress(d, input, flush, out),
            Self::Miniz(d) => miniz_compress(d, input, flush, out),
        }
    }
}

#[cfg(feature = "zlib-rs")]
fn zlib_rs_compress(
    deflate: &mut zlib_rs::Deflate,
    input: &[u8],
    flush: Flush,
    out: &mut Vec<u8>,
) -> Result<(), String> {
    use zlib_rs::{DeflateFlush, Status};
    let mode = match flush {
        Flush::None => DeflateFlush::NoFlush,
        Flush::Sync => DeflateFlush::SyncFlush,
        Flush::Finish => DeflateFlush::Finish,
    };
    let mut consumed = 0usize;
    loop {
        let rest = input.get(consumed..).unwrap_or_default();
        let room = room_for(rest.len());
        let start = out.len();
        out.resize(start.saturating_add(room), 0);
        let (in_before, out_before) = (deflate.total_in(), deflate.total_out());
        let status = deflate
            .compress(rest, out.get_mut(start..).unwrap_or_default(), mode)
            .map_err(|e| format!("zlib-rs deflate failed: {}", e.as_str()))?;
        let used_in = usize::try_from(deflate.total_in() - in_before).unwrap_or(usize::MAX);
        let produced = usize::try_from(deflate.total_out() - out_before).unwrap_or(usize::MAX);
        consumed = consumed.saturating_add(used_in);
        out.truncate(start.saturating_add(produced));
        let input_done = consumed >= input.len();
        let done = match (flush, status) {
            (Flush::Finish, Status::StreamEnd) => true,
            (Flush::Finish, _) => false,
            // Output space left over means nothing is pending.
            (_, Status::BufError) => input_done,
            (_, _) => input_done && produced < room,
        };
        if done {
            return Ok(());
        }
        if used_in == 0 && produced == 0 && status == Status::BufError {
            return Err("zlib-rs deflate made no progress".to_owned());
        }
    }
}

fn miniz_compress(
    compressor: &mut miniz_oxide::deflate::core::CompressorOxide,
    input: &[u8],
    flush: Flush,
    out: &mut Vec<u8>,
) -> Result<(), String> {
    use miniz_oxide::deflate::core::{TDEFLFlush, TDEFLStatus, compress};
    let mode = match flush {
        Flush::None => TDEFLFlush::None,
        Flush::Sync => TDEFLFlush::Sync,
        Flush::Finish => TDEFLFlush::Finish,
    };
    let mut consumed = 0usize;
    loop {
        let rest = input.get(consumed..).unwrap_or_default();
        let room = room_for(rest.len());
        let start = out.len();
        out.resize(start.saturating_add(room), 0);
        let (status, used_in, produced) = compress(
            compressor,
            rest,
            out.get_mut(start..).unwrap_or_default(),
            mode,
        );
        consumed = consumed.saturating_add(used_in);
        out.truncate(start.saturating_add(produced));
        match status {
            TDEFLStatus::Okay | TDEFLStatus::Done => {}
            other => return Err(format!("miniz_oxide deflate failed: {other:?}")),
        }
        let input_done = consumed >= input.len();
        let done = match flush {
            Flush::Finish => status == TDEFLStatus::Done,
            _ => input_done && produced < room,
        };
        if done {
            return Ok(());
        }
        if used_in == 0 && produced == 0 {
            return Err("miniz_oxide deflate made no progress".to_owned());
        }
    }
}
