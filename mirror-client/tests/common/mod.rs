//! What the quirk-server tests of the blocking (`quirks.rs`) and the async (`async_api.rs`)
//! reader share: a blob served by a loopback origin and mirrors that replay chosen
//! behaviours, one request log, and checks on bytes and requests.

use std::sync::Arc;
use std::time::Duration;

use estargz_mirror::testing::{Behaviour, Entry, Log, Server, blob};
use estargz_mirror::{ByteRange, Endpoint, MirrorConfig, ReaderOptions};

pub(crate) const SIZE: usize = 100_000;
pub(crate) const REPO: &str = "library/test";
pub(crate) const DIGEST: &str =
    "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

pub(crate) fn br(a: u64, b: u64) -> ByteRange {
    ByteRange::new(a, b).unwrap()
}

/// Options that keep tests fast: short back-off and timeouts.
pub(crate) fn fast() -> ReaderOptions {
    let mut o = ReaderOptions::default();
    o.retry.min_backoff = Duration::from_millis(10);
    o.retry.max_backoff = Duration::from_millis(50);
    o.connect_timeout = Duration::from_secs(2);
    o.first_byte_timeout = Duration::from_secs(2);
    o.stall_timeout = Duration::from_secs(2);
    o
}

pub(crate) struct Setup {
    pub(crate) data: Arc<Vec<u8>>,
    pub(crate) log: Log,
    pub(crate) mirrors: Vec<Server>,
    pub(crate) origin: Server,
}

impl Setup {
    pub(crate) fn new(mirrors: &[Behaviour], origin: Behaviour) -> Self {
        let data = blob(SIZE);
        let log = Log::new();
        let mirrors = mirrors
            .iter()
            .enumerate()
            .map(|(i, b)| {
                Server::start(&format!("m{i}"), Arc::clone(&data), &log, b.clone()).unwrap()
            })
            .collect();
        let origin = Server::start("origin", Arc::clone(&data), &log, origin).unwrap();
        Self {
            data,
            log,
            mirrors,
            origin,
        }
    }

    pub(crate) fn config(&self) -> MirrorConfig {
        let mut c = MirrorConfig::new(
            self.origin.authority(),
            Endpoint::new(&self.origin.url()).unwrap(),
        );
        for m in &self.mirrors {
            c.mirrors.push(Endpoint::new(&m.url()).unwrap());
        }
        c
    }

    pub(crate) fn bytes(&self, r: ByteRange) -> &[u8] {
        &self.data[r.start() as usize..r.end() as usize]
    }

    pub(crate) fn check(&self, ranges: &[ByteRange], got: &[bytes::Bytes]) {
        assert_eq!(ranges.len(), got.len());
        for (r, b) in ranges.iter().zip(got) {
            assert_eq!(&b[..], self.bytes(*r), "bytes of {r}");
        }
    }

    /// Blob requests (not tokens or pings), in order.
    pub(crate) fn blob_log(&self) -> Vec<Entry> {
        self.log
            .entries()
            .into_iter()
            .filter(|e| e.path.contains("/blobs/") || e.path.ends_with("/storage/blob"))
            .collect()
    }

    pub(crate) fn servers(&self) -> Vec<String> {
        self.blob_log().into_iter().map(|e| e.server).collect()
    }

    pub(crate) fn range_headers(&self) -> Vec<String> {
        self.blob_log()
            .into_iter()
            .map(|e| e.header("range").unwrap_or("").to_owned())
            .collect()
    }
}
