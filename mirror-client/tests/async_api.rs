//! The async reader (feature `reqwest`) against the loopback quirk server: the key
//! scenarios of `tests/quirks.rs` (multi-range learning, failover, tokens, redirects,
//! `Retry-After`, stalls, single-flight, verified reads, the whole-body budget) run
//! through `AsyncRangeReader` on the test's tokio runtime.

#![allow(clippy::unwrap_used)] // Tests.

use std::sync::Arc;
use std::time::{Duration, Instant};

use estargz_mirror::testing::{Behaviour, Server, blob};
use estargz_mirror::{
    AsyncRangeReader, ByteRange, Error, MultiRange, ReaderOptions, ReqwestTransport,
};

mod common;
use common::*;

impl Setup {
    async fn reader_with(&self, options: ReaderOptions) -> AsyncRangeReader {
        AsyncRangeReader::with_transport(
            self.config(),
            REPO,
            DIGEST,
            Some(SIZE as u64),
            options,
            Arc::new(ReqwestTransport::new()),
        )
        .await
        .unwrap()
    }

    async fn reader(&self) -> AsyncRangeReader {
        self.reader_with(fast()).await
    }
}

#[tokio::test]
async fn multi_range_in_one_request_and_refusals_learned_per_endpoint() {
    // Several ranges, one multipart request, no `Accept-Encoding`.
    let s = Setup::new(&[], Behaviour::Honour);
    let r = s.reader().await;
    let ranges = [br(50_000, 50_100), br(10, 20), br(90_000, 99_999)];
    s.check(&ranges, &r.read_ranges(&ranges).await.unwrap());
    assert_eq!(s.range_headers(), ["bytes=10-19,50000-50099,90000-99998"]);
    assert_eq!(s.blob_log()[0].header("accept-encoding"), None);
    assert_eq!(r.endpoint_status()[0].multi_range, MultiRange::Works);

    // A mirror that refuses several ranges gets single ones from then on.
    let s = Setup::new(&[Behaviour::RefuseMulti(501)], Behaviour::Honour);
    let r = s.reader().await;
    let ranges = [br(0, 10), br(20_000, 20_010)];
    s.check(&ranges, &r.read_ranges(&ranges).await.unwrap());
    let ranges = [br(30_000, 30_010), br(40_000, 40_010)];
    s.check(&ranges, &r.read_ranges(&ranges).await.unwrap());
    assert_eq!(
        s.range_headers(),
        [
            "bytes=0-9,20000-20009",
            "bytes=0-9",
            "bytes=20000-20009",
            "bytes=30000-30009",
            "bytes=40000-40009"
        ]
    );
    assert_eq!(s.servers(), ["m0"; 5]);
    assert_eq!(r.endpoint_status()[0].multi_range, MultiRange::Refused(501));
    assert_eq!(r.metrics().endpoints[0].single_range_fallbacks, 1);

    // A first-range-only server: the rest is asked again.
    let s = Setup::new(&[], Behaviour::FirstRangeOnly);
    let r = s.reader().await;
    let ranges = [br(0, 10), br(20_000, 20_010)];
    s.check(&ranges, &r.read_ranges(&ranges).await.unwrap());
    assert_eq!(
        s.range_headers(),
        ["bytes=0-9,20000-20009", "bytes=20000-20009"]
    );
    assert_eq!(
        r.endpoint_status()[0].multi_range,
        MultiRange::FirstRangeOnly
    );
}

#[tokio::test]
async fn failover_from_a_dead_or_failing_mirror_to_the_origin() {
    let s = Setup::new(&[Behaviour::Honour], Behaviour::Honour);
    let r = s.reader().await;
    let ranges = [br(0, 10)];
    s.check(&ranges, &r.read_ranges(&ranges).await.unwrap());
    s.mirrors[0].stop();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let ranges = [br(100, 110)];
    s.check(&ranges, &r.read_ranges(&ranges).await.unwrap());
    assert_eq!(s.servers(), ["m0", "origin"]);
    let m = r.metrics();
    assert!(m.endpoints[0].fallbacks >= 1, "{m:?}");
    assert!(m.endpoints[0].failures >= 1, "{m:?}");

    // 503s are retried on the mirror, then the origin serves.
    let s = Setup::new(&[Behaviour::Status(503)], Behaviour::Honour);
    let r = s.reader().await;
    let ranges = [br(0, 10)];
    s.check(&ranges, &r.read_ranges(&ranges).await.unwrap());
    assert_eq!(s.servers(), ["m0", "m0", "origin"]);
    let m = r.metrics();
    assert_eq!(m.endpoints[0].retries, 1, "{m:?}");
    assert_eq!(m.endpoints[0].fallbacks, 1, "{m:?}");
}

#[tokio::test]
async fn tokens_and_redirects_without_authorization_across_hosts() {
    let data = blob(SIZE);
    let s = Setup::new(&[], Behaviour::Honour);
    let storage = Server::start("storage", Arc::clone(&data), &s.log, Behaviour::Storage).unwrap();
    s.origin.set(Behaviour::Redirect {
        status: 307,
        target: storage.url(),
        ttl: Duration::from_secs(60),
    });
    s.origin.require_token("T0K", 300);
    let r = s.reader().await;
    let ranges = [br(0, 10), br(50_000, 50_010)];
    s.check(&ranges, &r.read_ranges(&ranges).await.unwrap());
    let ranges = [br(70_000, 70_100)];
    s.check(&ranges, &r.read_ranges(&ranges).await.unwrap());
    // 401, token, redirect, storage; then straight to the cached storage URL.
    assert_eq!(s.servers(), ["origin", "origin", "storage", "storage"]);
    let log = s.blob_log();
    assert_eq!(log[0].header("authorization"), None);
    assert_eq!(log[1].header("authorization"), Some("Bearer T0K"));
    for e in &log[2..] {
        assert_eq!(e.header("authorization"), None);
    }
    assert_eq!(s.origin.token_fetches(), 1);
    assert_eq!(r.metrics().token_fetches, 1);
}

#[tokio::test]
async fn rate_limit_honours_retry_after() {
    let s = Setup::new(&[], Behaviour::Honour);
    s.origin.once(Behaviour::TooMany(1));
    let r = s.reader().await;
    let t = Instant::now();
    let ranges = [br(0, 10)];
    s.check(&ranges, &r.read_ranges(&ranges).await.unwrap());
    assert!(t.elapsed() >= Duration::from_secs(1));
    assert_eq!(s.servers(), ["origin", "origin"]);
    assert_eq!(r.metrics().endpoints[0].retries, 1);
}

#[tokio::test]
async fn a_stalled_body_times_out_and_the_rest_is_asked_again() {
    let s = Setup::new(&[], Behaviour::Honour);
    s.origin
        .once(Behaviour::Stall(1_000, Duration::from_secs(5)));
    let mut o = fast();
    o.stall_timeout = Duration::from_millis(300);
    let r = s.reader_with(o).await;
    let ranges = [br(0, 5_000)];
    s.check(&ranges, &r.read_ranges(&ranges).await.unwrap());
    // The bytes before the stall are kept: the retry asks for the rest only.
    assert_eq!(s.range_headers(), ["bytes=0-4999", "bytes=1000-4999"]);
    assert_eq!(r.metrics().endpoints[0].retries, 1);
}

/// Tasks on a multi-threaded runtime: one token fetch for all, and identical ranges in
/// flight fetched once (the others wait for it without blocking their threads).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_tasks_share_token_fetches_and_identical_ranges() {
    let s = Setup::new(&[], Behaviour::Honour);
    s.origin.require_token("shared", 300);
    let r = Arc::new(s.reader().await);
    let tasks: Vec<_> = (0..8u64)
        .map(|i| {
            let r = Arc::clone(&r);
            tokio::spawn(async move { r.read_ranges(&[br(i * 1000, i * 1000 + 10)]).await })
        })
        .collect();
    for (i, task) in tasks.into_iter().enumerate() {
        let got = task.await.unwrap().unwrap();
        let i = i as u64;
        assert_eq!(&got[0][..], s.bytes(br(i * 1000, i * 1000 + 10)));
    }
    assert_eq!(s.origin.token_fetches(), 1);

    let s = Setup::new(&[], Behaviour::Delay(Duration::from_millis(300)));
    let r = Arc::new(s.reader().await);
    // More tasks than worker threads: waiting must not block a thread.
    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let r = Arc::clone(&r);
            tokio::spawn(async move { r.read_ranges(&[br(500, 600)]).await })
        })
        .collect();
    for task in tasks {
        assert_eq!(&task.await.unwrap().unwrap()[0][..], s.bytes(br(500, 600)));
    }
    assert_eq!(s.servers(), ["origin"]);
    assert_eq!(r.metrics().bytes_delivered, 600);
}

#[tokio::test]
async fn verified_reads_refetch_rejected_bytes_from_the_next_endpoint() {
    let s = Setup::new(&[Behaviour::Corrupt], Behaviour::Honour);
    let r = s.reader().await;
    let data = Arc::clone(&s.data);
    let verify = move |range: ByteRange, bytes: &[u8]| {
        bytes == &data[range.start() as usize..range.end() as usize]
    };
    let ranges = [br(0, 10), br(30_000, 30_050)];
    let got = r
        .read_ranges_verified(&ranges, Some(&verify))
        .await
        .unwrap();
    s.check(&ranges, &got);
    assert_eq!(s.servers(), ["m0", "origin"]);
    assert_eq!(r.metrics().verification_failures, 2);
    s.origin.set(Behaviour::Corrupt);
    let err = r
        .read_ranges_verified(&[br(5, 6)], Some(&verify))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Verification { .. }), "{err}");
}

#[tokio::test]
async fn size_probe_keeps_the_tail_and_a_cold_whole_body_goes_to_the_origin() {
    // A cold pull-through mirror: whole-body 200s. The probe takes the tail from the
    // origin; a read far into the blob is over the budget and is served by the origin.
    let s = Setup::new(&[Behaviour::IgnoreRange], Behaviour::Honour);
    let mut o = fast();
    o.tail_bytes = 1_000;
    let r = AsyncRangeReader::with_transport(
        s.config(),
        REPO,
        DIGEST,
        None,
        o,
        Arc::new(ReqwestTransport::new()),
    )
    .await
    .unwrap();
    assert_eq!(r.size(), SIZE as u64);
    assert_eq!(r.kept_tail(), Some(br(SIZE as u64 - 1_000, SIZE as u64)));
    let ranges = [br(50_000, 60_000), br(SIZE as u64 - 10, SIZE as u64)];
    s.check(&ranges, &r.read_ranges(&ranges).await.unwrap());
    let m = r.metrics();
    assert_eq!(s.servers(), ["m0", "origin", "m0", "origin"]);
    assert_eq!(m.endpoints[0].bytes_received, 0, "{m:?}");
    assert_eq!(m.endpoints[0].failures, 0, "{m:?}");
    assert_eq!(m.endpoints[1].bytes_received, 1_000 + 10_000, "{m:?}");
    assert_eq!(m.tail_bytes_reused, 10);
    let mut buf = [0u8; 4];
    r.read_exact_at(SIZE as u64 - 4, &mut buf).await.unwrap();
    assert_eq!(&buf[..], s.bytes(br(SIZE as u64 - 4, SIZE as u64)));
}
