//! Carrying out the planner's member boundaries: sequentially, or on worker threads.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::mpsc::{Receiver, SyncSender, channel, sync_channel};
use std::sync::{Arc, Mutex};

use estargz_chunker::{MemberPacker, Placement};
use estargz_verifier::BlobDigestAccumulator;

use super::codec::CodecSpec;
use super::plan::MemberSink;
use super::{EncoderOptions, Layout};
use crate::error::{Error, Result};
use crate::gzip::{Backend, Compression, DeflaterCache, MemberEncoder};

/// The output blob: written in order, hashed and counted as it goes.
pub(crate) struct BlobOut<W> {
    w: W,
    pub(crate) digest: BlobDigestAccumulator,
    pub(crate) offset: u64,
}

impl<W: Write> BlobOut<W> {
    pub(crate) fn new(w: W) -> Self {
        Self {
            w,
            digest: BlobDigestAccumulator::new(),
            offset: 0,
        }
    }

    pub(crate) fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.w
            .write_all(bytes)
            .map_err(|e| Error::io(format!("writing the blob at offset {}", self.offset), e))?;
        self.digest.update(bytes);
        self.offset = self.offset.saturating_add(bytes.len() as u64);
        Ok(())
    }

    pub(crate) fn flush(&mut self) -> Result<()> {
        self.w
            .flush()
            .map_err(|e| Error::io("flushing the blob", e))
    }
}

/// Compresses members on the calling thread, writing each as soon as it is complete.
///
/// Handles both layouts and the minimum chunk size (which needs the compressed size of the
/// open member, so it cannot be parallel).
///
/// With a one-shot backend (libdeflate) the open member is held uncompressed until it
/// closes, and its compressed size is an estimate (see [`MemberEncoder`]). So that memory
/// stays bounded even for input that compresses extremely well, a chunk also starts a new
/// member once the open one holds at least a chunk size of uncompressed bytes.
pub(crate) struct SequentialSink<'a, W> {
    out: &'a mut BlobOut<W>,
    level: Compression,
    backend: Backend,
    layout: Layout,
    /// The uncompressed size at which a one-shot member is closed before a chunk.
    one_shot_limit: u64,
    packer: MemberPacker,
    member: Option<MemberEncoder>,
    cache: DeflaterCache,
    segment: Vec<u8>,
    /// Blob offset of each member, by id.
    pub(crate) member_offsets: Vec<u64>,
}

impl<'a, W: Write> SequentialSink<'a, W> {
    pub(crate) fn new(out: &'a mut BlobOut<W>, options: &EncoderOptions) -> Self {
        Self {
            out,
            level: options.level,
            backend: options.backend,
            layout: options.layout,
            one_shot_limit: options.chunk_size,
            packer: MemberPacker::new(options.min_chunk_size),
            member: None,
            cache: DeflaterCache::default(),
            segment: Vec::new(),
            member_offsets: Vec::new(),
        }
    }

    fn open(&mut self) -> usize {
        self.member = Some(MemberEncoder::with_cache(
            self.level,
            self.backend,
            &mut self.cache,
        ));
        self.packer.start_member();
        self.member_offsets.push(self.out.offset);
        self.member_offsets.len().saturating_sub(1)
    }

    /// Compresses the pending segment into the open member (one backend call).
    fn feed(&mut self) -> Result<()> {
        if let Some(member) = &mut self.member {
            member.write(&self.segment)?;
            self.segment.clear();
        }
        Ok(())
    }

    fn close(&mut self) -> Result<()> {
        self.feed()?;
        if let Some(member) = self.member.take() {
            let bytes = member.finish_with_cache(&mut self.cache)?;
            self.out.write(&bytes)?;
        }
        Ok(())
    }
}

impl<W: Write> MemberSink for SequentialSink<'_, W> {
    fn append(&mut self, data: &[u8]) -> Result<()> {
        if self.member.is_none() {
            self.open();
        }
        self.segment.extend_from_slice(data);
        self.packer.record_uncompressed(data.len() as u64);
        Ok(())
    }

    fn append_filled(
        &mut self,
        len: usize,
        fill: &mut dyn FnMut(&mut [u8]) -> Result<()>,
    ) -> Result<&[u8]> {
        if self.member.is_none() {
            self.open();
        }
        let start = self.segment.len();
        self.segment.resize(start.saturating_add(len), 0);
        let bytes = self.segment.get_mut(start..).unwrap_or_default();
        fill(bytes)?;
        self.packer.record_uncompressed(len as u64);
        Ok(bytes)
    }

    fn before_chunk(&mut self, landmark: bool) -> Result<(usize, u64)> {
        if self.member.is_none() {
            return Ok((self.open(), 0));
        }
        match self.layout {
            Layout::Reference012 => {
                self.close()?;
                Ok((self.open(), 0))
            }
            Layout::Newest => {
                self.feed()?;
                let compressed = match &mut self.member {
                    Some(member) => {
                        member.sync_flush()?;
                        let bytes = member.take_output();
                        self.out.write(&bytes)?;
                        if member.is_one_shot() && member.uncompressed_len() >= self.one_shot_limit
                        {
                            // Full enough to close whatever the minimum says.
                            u64::MAX
                        } else {
                            member.compressed_len()
                        }
                    }
                    None => 0,
                };
                match self.packer.before_chunk(compressed, landmark) {
                    Placement::NewMember => {
                        self.close()?;
                        Ok((self.open(), 0))
                    }
                    Placement::Continue { inner_offset } => {
                        Ok((self.member_offsets.len().saturating_sub(1), inner_offset))
                    }
                }
            }
        }
    }

    fn end_member(&mut self) -> Result<()> {
        self.close()
    }

    fn end_payload(&mut self) -> Result<()> {
        self.close()
    }
}

/// The least a member buffer grows by when it is full (headers arrive 512 bytes at a time).
const MIN_GROWTH: usize = 64 << 10;

/// A member for a worker to compress.
struct Job {
    id: usize,
    data: Vec<u8>,
    sync_flush: bool,
}

/// Cuts members and hands them to worker threads (minimum chunk size 0 only).
struct ParallelSink {
    jobs: SyncSender<Job>,
    tokens: Receiver<()>,
    /// Member buffers the workers are done with, to be filled again: reusing them keeps
    /// the allocator from holding on to a freed buffer per member (mimalloc, for one,
    /// keeps memory freed by another thread for a while).
    spare: Receiver<Vec<u8>>,
    current: Option<Vec<u8>>,
    opened: usize,
    sync_before_chunk: bool,
    capacity: usize,
}

impl ParallelSink {
    fn open(&mut self) -> usize {
        self.current = Some(
            self.spare
                .try_recv()
                .unwrap_or_else(|_| Vec::with_capacity(self.capacity)),
        );
        self.opened += 1;
        self.opened.saturating_sub(1)
    }

    /// The open member (opened if none is), with room for `more` bytes: it grows to what
    /// it holds, not to the next power of two, or a chunk-sized member would take twice its
    /// size once a header follows its data.
    fn grow(&mut self, more: usize) -> &mut Vec<u8> {
        if self.current.is_none() {
            self.open();
        }
        let buf = self.current.get_or_insert_default();
        if buf.capacity() - buf.len() < more {
            buf.reserve_exact(more.max(MIN_GROWTH));
        }
        buf
    }

    fn send(&mut self, sync_flush: bool) -> Result<()> {
        if let Some(data) = self.current.take() {
            let closed = || Error::Compress {
                reason: "the blob writer stopped".to_owned(),
            };
            // Wait until fewer than the allowed number of members are in flight.
            self.tokens.recv().map_err(|_| closed())?;
            self.jobs
                .send(Job {
                    id: self.opened.saturating_sub(1),
                    data,
                    sync_flush,
                })
                .map_err(|_| closed())?;
        }
        Ok(())
    }
}

impl MemberSink for ParallelSink {
    fn append(&mut self, data: &[u8]) -> Result<()> {
        self.grow(data.len()).extend_from_slice(data);
        Ok(())
    }

    fn append_filled(
        &mut self,
        len: usize,
        fill: &mut dyn FnMut(&mut [u8]) -> Result<()>,
    ) -> Result<&[u8]> {
        let buf = self.grow(len);
        let start = buf.len();
        buf.resize(start.saturating_add(len), 0);
        let bytes = buf.get_mut(start..).unwrap_or_default();
        fill(bytes)?;
        Ok(bytes)
    }

    fn before_chunk(&mut self, _landmark: bool) -> Result<(usize, u64)> {
        self.send(self.sync_before_chunk)?;
        Ok((self.open(), 0))
    }

    fn end_member(&mut self) -> Result<()> {
        self.send(false)
    }

    fn end_payload(&mut self) -> Result<()> {
        self.send(false)
    }
}

/// Runs `plan` with a [`ParallelSink`] on its own thread, compresses members with `codec`
/// on `threads` workers and writes them to `out` in order. Returns the planner's result and the blob
/// offset of each member.
///
/// At most `threads` members are cut but not yet written at any time, besides the one the
/// planner is filling: with 4 MiB chunks and two threads the whole pipeline holds about
/// 24 MiB of member buffers, which it reuses from member to member.
pub(crate) fn run_parallel<W, T, P>(
    out: &mut BlobOut<W>,
    codec: CodecSpec,
    layout: Layout,
    threads: usize,
    chunk_size: u64,
    plan: P,
) -> Result<(T, Vec<u64>)>
where
    W: Write,
    T: Send,
    P: FnOnce(&mut dyn MemberSink) -> Result<T> + Send,
{
    let in_flight = threads;
    let (job_tx, job_rx) = sync_channel::<Job>(threads);
    // Shared by the workers; dropped when the last one exits, so the planner never blocks
    // on a channel nobody reads.
    let job_rx = Arc::new(Mutex::new(job_rx));
    let (done_tx, done_rx) = channel::<(usize, Result<Vec<u8>>)>();
    let (spare_tx, spare_rx) = channel::<Vec<u8>>();
    let (token_tx, token_rx) = sync_channel::<()>(in_flight);
    for _ in 0..in_flight {
        // The channel has room for all of them.
        let _ = token_tx.send(());
    }
    // Members start small and grow to what they hold: most hold one small file's data and a
    // few headers, and a chunk-sized allocation for each would cost page faults.
    let capacity =
        usize::try_from(chunk_size.saturating_add(1024)).map_or(16 << 10, |c| c.min(16 << 10));

    // Compressed members the writer is done with, for the workers to write into again.
    let written: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());

    std::thread::scope(|s| {
        for _ in 0..threads {
            let written = &written;
            let done_tx = done_tx.clone();
            let spare_tx = spare_tx.clone();
            let job_rx = Arc::clone(&job_rx);
            s.spawn(move || {
                let mut codec = match codec.codec() {
                    Ok(codec) => codec,
                    Err(e) => {
                        let _ = done_tx.send((0, Err(e)));
                        return;
                    }
                };
                loop {
                    let job = match job_rx.lock() {
                        Ok(rx) => rx.recv(),
                        Err(_) => return,
                    };
                    let Ok(job) = job else { return };
                    let reuse = written
                        .lock()
                        .ok()
                        .and_then(|mut w| w.pop())
                        .unwrap_or_default();
                    let result = codec.compress(&job.data, job.sync_flush, reuse);
                    let mut data = job.data;
                    data.clear();
                    // The planner may have finished and gone: then the buffer is dropped.
                    let _ = spare_tx.send(data);
                    if done_tx.send((job.id, result)).is_err() {
                        return;
                    }
                }
            });
        }
        drop(done_tx);
        drop(spare_tx);
        drop(job_rx);
        let planner = s.spawn(move || {
            let mut sink = ParallelSink {
                jobs: job_tx,
                tokens: token_rx,
                spare: spare_rx,
                current: None,
                opened: 0,
                sync_before_chunk: layout == Layout::Newest,
                capacity,
            };
            plan(&mut sink)
        });

        let mut offsets = Vec::new();
        let mut pending: BTreeMap<usize, Vec<u8>> = BTreeMap::new();
        let mut failure = None;
        for (id, result) in &done_rx {
            match result {
                Ok(bytes) => {
                    pending.insert(id, bytes);
                }
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
            while let Some(bytes) = pending.remove(&offsets.len()) {
                offsets.push(out.offset);
                if let Err(e) = out.write(&bytes) {
                    failure = Some(e);
                    break;
                }
                if let Ok(mut w) = written.lock() {
                    w.push(bytes);
                }
                let _ = token_tx.send(());
            }
            if failure.is_some() {
                break;
            }
        }
        // Stop the planner and the workers if we failed.
        drop(done_rx);
        drop(token_tx);
        let planned = match planner.join() {
            Ok(result) => result,
            Err(panic) => std::panic::resume_unwind(panic),
        };
        if let Some(e) = failure {
            return Err(e);
        }
        let planned = planned?;
        if !pending.is_empty() {
            return Err(Error::Compress {
                reason: "a compressed member was lost".to_owned(),
            });
        }
        Ok((planned, offsets))
    })
}
