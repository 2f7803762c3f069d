//! The range reader against a loopback server that reproduces known registry, CDN and
//! mirror quirks (spec `mirror-behaviour.md` §2.7 and §6). Every test asserts the bytes,
//! the request log (which endpoint, in what order, with which headers) and the metrics.

#![allow(clippy::unwrap_used)] // Tests.

use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use estargz_mirror::testing::{Behaviour, Entry, Server, blob};
use estargz_mirror::{
    Availability, ByteRange, Error, LimitKind, MirrorConfig, MultiRange, OriginCredentials,
    RangeReader, ReaderOptions, Secret, UreqTransport,
};

mod common;
use common::*;

impl Setup {
    fn reader_with(&self, config: MirrorConfig, options: ReaderOptions) -> RangeReader {
        RangeReader::with_transport(
            config,
            REPO,
            DIGEST,
            Some(SIZE as u64),
            options,
            Arc::new(UreqTransport::new()),
        )
        .unwrap()
    }

    fn reader(&self) -> RangeReader {
        self.reader_with(self.config(), fast())
    }
}

#[test]
fn single_range_from_the_first_mirror_with_ns() {
    let s = Setup::new(&[Behaviour::Honour], Behaviour::Honour);
    let r = s.reader();
    let ranges = [br(100, 200)];
    s.check(&ranges, &r.read_ranges(&ranges).unwrap());
    let log = s.blob_log();
    assert_eq!(s.servers(), ["m0"]);
    assert_eq!(log[0].method, "GET");
    assert_eq!(log[0].path, format!("/v2/{REPO}/blobs/{DIGEST}"));
    assert_eq!(
        log[0].query.as_deref(),
        Some(format!("ns={}", s.origin.authority()).as_str())
    );
    assert_eq!(log[0].header("range"), Some("bytes=100-199"));
    assert_eq!(log[0].header("accept-encoding"), None);
    let m = r.metrics();
    assert_eq!(m.endpoints[0].requests, 1);
    assert_eq!(m.endpoints[0].bytes_received, 100);
    assert_eq!(m.endpoints[1].requests, 0);
    assert_eq!(m.bytes_delivered, 100);
}

#[test]
fn multi_range_multipart_in_one_request() {
    let s = Setup::new(&[], Behaviour::Honour);
    let r = s.reader();
    let ranges = [
        br(50_000, 50_100),
        br(10, 20),
        br(90_000, 99_999),
        br(15, 30),
    ];
    s.check(&ranges, &r.read_ranges(&ranges).unwrap());
    assert_eq!(s.range_headers(), ["bytes=10-29,50000-50099,90000-99998"]);
    // The origin gets no `ns`.
    assert_eq!(s.blob_log()[0].query, None);
    assert_eq!(r.endpoint_status()[0].multi_range, MultiRange::Works);
    assert_eq!(r.metrics().bytes_delivered, 100 + 10 + 9_999 + 15);
}

/// A reader of unknown size with `tail_bytes` kept by the size probe.
fn probing(s: &Setup, tail_bytes: u64) -> RangeReader {
    let mut o = fast();
    o.tail_bytes = tail_bytes;
    RangeReader::with_transport(
        s.config(),
        REPO,
        DIGEST,
        None,
        o,
        Arc::new(UreqTransport::new()),
    )
    .unwrap()
}

#[test]
fn size_is_learned_with_a_suffix_range_get_not_head() {
    let s = Setup::new(&[Behaviour::StarTotal], Behaviour::Honour);
    let r = probing(&s, 65_536);
    assert_eq!(r.size(), SIZE as u64);
    // The mirror's `bytes a-b/*` gives no total, so the origin was asked.
    let log = s.blob_log();
    assert_eq!(s.servers(), ["m0", "origin"]);
    assert!(log.iter().all(|e| e.method == "GET"));
    assert_eq!(s.range_headers(), ["bytes=-65536", "bytes=-65536"]);
    assert_eq!(r.kept_tail(), Some(br(SIZE as u64 - 65_536, SIZE as u64)));
    // Ranges with a `*` total are accepted (stargz-snapshotter's regex rejects them), and
    // only the bytes before the kept tail are asked for.
    let ranges = [br(7, 70_007)];
    s.check(&ranges, &r.read_ranges(&ranges).unwrap());
    assert_eq!(s.servers(), ["m0", "origin", "m0"]);
    assert_eq!(s.range_headers()[2], "bytes=7-34463");
    assert_eq!(r.metrics().tail_bytes_reused, 70_007 - 34_464);
}

#[test]
fn the_kept_tail_serves_reads_without_requests() {
    let s = Setup::new(&[], Behaviour::Honour);
    let r = probing(&s, 1_000);
    assert_eq!(r.size(), SIZE as u64);
    assert_eq!(s.range_headers(), ["bytes=-1000"]);
    // Inside the tail: no request.
    let ranges = [br(99_500, 100_000), br(99_000, 99_001)];
    s.check(&ranges, &r.read_ranges(&ranges).unwrap());
    assert_eq!(s.blob_log().len(), 1);
    // Overlapping it: only the rest.
    let ranges = [br(98_000, 99_500)];
    s.check(&ranges, &r.read_ranges(&ranges).unwrap());
    assert_eq!(s.range_headers(), ["bytes=-1000", "bytes=98000-98999"]);
    let m = r.metrics();
    assert_eq!(m.tail_bytes_reused, 500 + 1 + 500);
    assert_eq!(m.endpoints[0].bytes_received, 2_000);
    assert_eq!(m.bytes_delivered, 500 + 1 + 1_500);
}

#[test]
fn a_mirror_that_ignores_the_suffix_is_passed_over_unread() {
    // A cold pull-through cache: a 200 with the whole blob. The tail comes from the origin.
    let s = Setup::new(&[Behaviour::IgnoreRange], Behaviour::Honour);
    let r = probing(&s, 1_000);
    assert_eq!(r.size(), SIZE as u64);
    assert_eq!(s.servers(), ["m0", "origin"]);
    let m = r.metrics();
    // The 100 000-byte body was dropped unread.
    assert_eq!(m.endpoints[0].bytes_received, 0, "{m:?}");
    assert_eq!(m.endpoints[0].failures, 0, "{m:?}");
    assert_eq!(r.kept_tail(), Some(br(99_000, 100_000)));

    // When no other endpoint answers, the 200's Content-Length gives the size.
    let s = Setup::new(&[Behaviour::IgnoreRange], Behaviour::Status(404));
    let r = probing(&s, 1_000);
    assert_eq!(r.size(), SIZE as u64);
    assert_eq!(s.servers(), ["m0", "origin"]);
    assert_eq!(r.kept_tail(), None);
    assert_eq!(r.metrics().endpoints[0].bytes_received, 0);

    // A whole blob no longer than the tail is kept, and every read is then free.
    let s = Setup::new(&[Behaviour::IgnoreRange], Behaviour::Honour);
    let r = probing(&s, SIZE as u64);
    assert_eq!(r.kept_tail(), Some(br(0, SIZE as u64)));
    let ranges = [br(0, 10), br(50_000, 60_000)];
    s.check(&ranges, &r.read_ranges(&ranges).unwrap());
    assert_eq!(s.servers(), ["m0"]);
    assert_eq!(r.metrics().endpoints[0].bytes_received, SIZE as u64);
}

#[test]
fn a_416_to_a_long_suffix_is_asked_again_with_an_explicit_range() {
    let s = Setup::new(&[], Behaviour::RefuseLongSuffix);
    let r = probing(&s, 200_000);
    assert_eq!(r.size(), SIZE as u64);
    assert_eq!(s.range_headers(), ["bytes=-200000", "bytes=0-99999"]);
    assert_eq!(r.kept_tail(), Some(br(0, SIZE as u64)));
    let ranges = [br(5, 500), br(99_990, 100_000)];
    s.check(&ranges, &r.read_ranges(&ranges).unwrap());
    assert_eq!(s.blob_log().len(), 2);
    let m = r.metrics();
    assert_eq!(m.endpoints[0].failures, 0, "{m:?}");
    // A suffix shorter than the blob is served as usual.
    let s = Setup::new(&[], Behaviour::RefuseLongSuffix);
    let r = probing(&s, 10);
    assert_eq!(s.range_headers(), ["bytes=-10"]);
    assert_eq!(r.kept_tail(), Some(br(SIZE as u64 - 10, SIZE as u64)));
}

#[test]
fn ignored_range_reads_only_as_far_as_needed_and_serves_all_from_one_body() {
    let s = Setup::new(&[Behaviour::IgnoreRange], Behaviour::Honour);
    let mut o = fast();
    // Two planned requests: the first 200 must serve both. Any over-read is accepted here.
    o.plan.max_ranges_per_request = 1;
    o.whole_body_overread_percent = u64::MAX;
    let r = s.reader_with(s.config(), o);
    let ranges = [br(10, 20), br(5_000, 6_000)];
    s.check(&ranges, &r.read_ranges(&ranges).unwrap());
    assert_eq!(s.servers(), ["m0"]);
    let m = r.metrics();
    assert_eq!(m.endpoints[0].whole_body_replies, 1);
    // Stopped after the last needed byte instead of downloading 100 000 bytes.
    assert_eq!(m.endpoints[0].bytes_received, 6_000);
}

#[test]
fn multi_range_answered_with_200_is_learned() {
    let s = Setup::new(&[Behaviour::IgnoreRange], Behaviour::Honour);
    let mut o = fast();
    o.whole_body_overread_percent = u64::MAX;
    let r = s.reader_with(s.config(), o);
    let ranges = [br(10, 20), br(5_000, 6_000)];
    s.check(&ranges, &r.read_ranges(&ranges).unwrap());
    assert_eq!(r.endpoint_status()[0].multi_range, MultiRange::WholeBody);
    s.mirrors[0].set(Behaviour::Honour);
    let ranges2 = [br(30_000, 30_010), br(60_000, 60_010)];
    s.check(&ranges2, &r.read_ranges(&ranges2).unwrap());
    assert_eq!(
        s.range_headers(),
        [
            "bytes=10-19,5000-5999",
            "bytes=30000-30009",
            "bytes=60000-60009"
        ]
    );
    assert_eq!(r.metrics().endpoints[0].single_range_fallbacks, 1);
}

/// A cold pull-through mirror answers a range with the whole blob: read up to the needed
/// bytes only while the unneeded bytes before them stay within 10 % of the needed ones
/// (the 1.1x budget); past that the reply is dropped unread and the origin serves the
/// range, a fallback of the mirror but not a failure.
#[test]
fn a_whole_body_over_the_read_budget_goes_to_the_next_endpoint() {
    let s = Setup::new(&[Behaviour::IgnoreRange], Behaviour::Honour);
    let r = s.reader();
    let ranges = [br(50_000, 60_000)];
    s.check(&ranges, &r.read_ranges(&ranges).unwrap());
    assert_eq!(s.servers(), ["m0", "origin"]);
    let m = r.metrics();
    assert_eq!(m.endpoints[0].whole_body_replies, 1, "{m:?}");
    assert_eq!(m.endpoints[0].bytes_received, 0, "{m:?}");
    assert_eq!(m.endpoints[0].failures, 0, "{m:?}");
    assert_eq!(m.endpoints[0].fallbacks, 1, "{m:?}");
    assert!(m.total_bytes_received() * 10 <= 10_000 * 11, "{m:?}");
    assert_eq!(r.endpoint_status()[0].availability, Availability::Ready);

    // Within the budget (500 unneeded bytes for 10 500 needed) the mirror's body serves it.
    let s = Setup::new(&[Behaviour::IgnoreRange], Behaviour::Honour);
    let r = s.reader();
    let ranges = [br(0, 10_000), br(10_500, 11_000)];
    s.check(&ranges, &r.read_ranges(&ranges).unwrap());
    assert_eq!(s.servers(), ["m0"]);
    assert_eq!(r.metrics().endpoints[0].bytes_received, 11_000);
}

#[test]
fn refused_multi_range_falls_back_to_single_ranges_per_endpoint() {
    for code in [400u16, 416, 501] {
        let s = Setup::new(&[Behaviour::RefuseMulti(code)], Behaviour::Honour);
        let r = s.reader();
        let ranges = [br(0, 10), br(20_000, 20_010), br(40_000, 40_010)];
        s.check(&ranges, &r.read_ranges(&ranges).unwrap());
        assert_eq!(
            s.range_headers(),
            [
                "bytes=0-9,20000-20009,40000-40009",
                "bytes=0-9",
                "bytes=20000-20009",
                "bytes=40000-40009"
            ],
            "status {code}"
        );
        assert_eq!(
            r.endpoint_status()[0].multi_range,
            MultiRange::Refused(code)
        );
        // Learned: the next read goes straight to single ranges, still on the mirror.
        let ranges = [br(1, 2), br(90_000, 90_001)];
        s.check(&ranges, &r.read_ranges(&ranges).unwrap());
        assert_eq!(s.servers(), ["m0"; 6], "status {code}");
        let m = r.metrics();
        assert_eq!(m.endpoints[0].single_range_fallbacks, 1);
        assert_eq!(m.endpoints[0].failures, 0);
    }
}

#[test]
fn first_range_only_servers_get_the_rest_asked_again() {
    let s = Setup::new(&[Behaviour::FirstRangeOnly], Behaviour::Honour);
    let r = s.reader();
    let ranges = [br(0, 10), br(20_000, 20_010), br(40_000, 40_010)];
    s.check(&ranges, &r.read_ranges(&ranges).unwrap());
    assert_eq!(
        s.range_headers(),
        [
            "bytes=0-9,20000-20009,40000-40009",
            "bytes=20000-20009",
            "bytes=40000-40009"
        ]
    );
    assert_eq!(
        r.endpoint_status()[0].multi_range,
        MultiRange::FirstRangeOnly
    );
}

#[test]
fn truncated_body_is_resumed_from_where_it_stopped() {
    let s = Setup::new(&[Behaviour::Honour], Behaviour::Honour);
    s.mirrors[0].once(Behaviour::Truncate(300));
    let r = s.reader();
    let ranges = [br(1_000, 5_000)];
    s.check(&ranges, &r.read_ranges(&ranges).unwrap());
    assert_eq!(s.range_headers(), ["bytes=1000-4999", "bytes=1300-4999"]);
    assert_eq!(s.servers(), ["m0", "m0"]);
    let m = r.metrics();
    assert_eq!(m.endpoints[0].retries, 1);
    assert_eq!(m.endpoints[0].bytes_received, 4_000);
}

#[test]
fn truncated_multipart_keeps_complete_parts() {
    let s = Setup::new(&[], Behaviour::Honour);
    // Cut inside the second part.
    s.origin.once(Behaviour::Truncate(200));
    let r = s.reader();
    let ranges = [br(0, 50), br(20_000, 20_100)];
    s.check(&ranges, &r.read_ranges(&ranges).unwrap());
    assert_eq!(
        s.range_headers(),
        ["bytes=0-49,20000-20099", "bytes=20000-20099"]
    );
}

#[test]
fn stalled_body_times_out_and_is_retried() {
    let s = Setup::new(&[Behaviour::Honour], Behaviour::Honour);
    s.mirrors[0].once(Behaviour::Stall(10, Duration::from_secs(5)));
    let mut o = fast();
    o.stall_timeout = Duration::from_millis(300);
    let r = s.reader_with(s.config(), o);
    let t = Instant::now();
    let ranges = [br(0, 1_000)];
    s.check(&ranges, &r.read_ranges(&ranges).unwrap());
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    assert_eq!(s.range_headers(), ["bytes=0-999", "bytes=10-999"]);
}

#[test]
fn slow_first_byte_fails_over() {
    let s = Setup::new(
        &[Behaviour::Delay(Duration::from_secs(5))],
        Behaviour::Honour,
    );
    let mut o = fast();
    o.first_byte_timeout = Duration::from_millis(300);
    o.retry.mirror_attempts = 1;
    let r = s.reader_with(s.config(), o);
    let t = Instant::now();
    let ranges = [br(0, 10)];
    s.check(&ranges, &r.read_ranges(&ranges).unwrap());
    assert!(t.elapsed() < Duration::from_secs(3));
    assert_eq!(s.servers(), ["m0", "origin"]);
    assert_eq!(r.metrics().endpoints[0].failures, 1);
}

#[test]
fn not_found_on_a_mirror_goes_to_the_next_endpoint_without_counting_a_failure() {
    let s = Setup::new(&[Behaviour::Status(404)], Behaviour::Honour);
    let r = s.reader();
    let ranges = [br(0, 10)];
    s.check(&ranges, &r.read_ranges(&ranges).unwrap());
    let log = s.blob_log();
    assert_eq!(s.servers(), ["m0", "origin"]);
    assert!(log[0].query.as_deref().unwrap().starts_with("ns="));
    assert_eq!(log[1].query, None);
    let m = r.metrics();
    assert_eq!(m.endpoints[0].failures, 0);
    assert_eq!(m.endpoints[0].fallbacks, 1);
}

#[test]
fn server_errors_are_retried_then_the_next_mirror_is_used() {
    let s = Setup::new(
        &[Behaviour::Status(503), Behaviour::Honour],
        Behaviour::Honour,
    );
    let r = s.reader();
    let ranges = [br(0, 10)];
    s.check(&ranges, &r.read_ranges(&ranges).unwrap());
    assert_eq!(s.servers(), ["m0", "m0", "m1"]);
    let m = r.metrics();
    assert_eq!(m.endpoints[0].retries, 1);
    assert_eq!(m.endpoints[0].failures, 1);
    assert_eq!(m.endpoints[0].fallbacks, 1);
    assert_eq!(m.endpoints[1].requests, 1);
    assert_eq!(m.endpoints[2].requests, 0);
}

#[test]
fn rate_limit_honours_retry_after() {
    let s = Setup::new(&[], Behaviour::Honour);
    s.origin.once(Behaviour::TooMany(1));
    let r = s.reader();
    let t = Instant::now();
    let ranges = [br(0, 10)];
    s.check(&ranges, &r.read_ranges(&ranges).unwrap());
    assert!(t.elapsed() >= Duration::from_secs(1));
    assert_eq!(s.servers(), ["origin", "origin"]);
    assert_eq!(r.metrics().endpoints[0].retries, 1);
}

#[test]
fn a_long_retry_after_moves_on_instead_of_waiting() {
    let s = Setup::new(&[Behaviour::TooMany(3600)], Behaviour::Honour);
    let r = s.reader();
    let t = Instant::now();
    let ranges = [br(0, 10)];
    s.check(&ranges, &r.read_ranges(&ranges).unwrap());
    assert!(t.elapsed() < Duration::from_secs(2));
    assert_eq!(s.servers(), ["m0", "origin"]);
}

#[test]
fn failing_mirrors_are_skipped_then_probed_via_ping_url() {
    let s = Setup::new(&[Behaviour::Status(500)], Behaviour::Honour);
    let mut config = s.config();
    config.mirrors[0].ping_url = Some(format!("{}/ping", s.mirrors[0].url()).parse().unwrap());
    config.mirrors[0].failure_limit = Some(1);
    config.mirrors[0].health_check_interval = Some(Duration::from_millis(300));
    let mut o = fast();
    o.retry.mirror_attempts = 1;
    let r = s.reader_with(config, o);
    let ranges = [br(0, 10)];
    s.check(&ranges, &r.read_ranges(&ranges).unwrap());
    assert_eq!(s.servers(), ["m0", "origin"]);
    // Down: skipped.
    s.check(&ranges, &r.read_ranges(&ranges).unwrap());
    assert_eq!(s.servers(), ["m0", "origin", "origin"]);
    // After the cooldown the ping URL is probed, and the mirror is used again.
    s.mirrors[0].set(Behaviour::Honour);
    thread::sleep(Duration::from_millis(350));
    s.check(&ranges, &r.read_ranges(&ranges).unwrap());
    let all: Vec<String> = s.log.entries().into_iter().map(|e| e.path).collect();
    assert_eq!(all.iter().filter(|p| *p == "/ping").count(), 1);
    assert_eq!(all.last().unwrap(), &format!("/v2/{REPO}/blobs/{DIGEST}"));
    assert_eq!(s.servers(), ["m0", "origin", "origin", "m0"]);
}

#[test]
fn a_dead_mirror_fails_over_to_the_origin() {
    let s = Setup::new(&[Behaviour::Honour], Behaviour::Honour);
    let r = s.reader();
    let ranges = [br(0, 10)];
    s.check(&ranges, &r.read_ranges(&ranges).unwrap());
    s.mirrors[0].stop();
    thread::sleep(Duration::from_millis(50));
    let ranges = [br(100, 110)];
    s.check(&ranges, &r.read_ranges(&ranges).unwrap());
    assert_eq!(s.servers(), ["m0", "origin"]);
    assert!(r.metrics().endpoints[0].fallbacks >= 1);
}

#[test]
fn without_fallback_the_origin_is_never_asked() {
    let s = Setup::new(&[Behaviour::Status(404)], Behaviour::Honour);
    let mut config = s.config();
    config.fallback_to_origin = false;
    let r = s.reader_with(config, fast());
    let err = r.read_ranges(&[br(0, 10)]).unwrap_err();
    assert!(
        matches!(err, Error::AllEndpointsFailed { tried: 1, .. }),
        "{err}"
    );
    assert_eq!(s.servers(), ["m0"]);
}

#[test]
fn configured_headers_go_to_their_mirror_and_credentials_only_to_the_origin() {
    let s = Setup::new(&[Behaviour::Status(404)], Behaviour::Honour);
    let mut config = s.config();
    config.mirrors[0].headers.insert(
        "x-dragonfly-registry",
        "https://index.docker.io".parse().unwrap(),
    );
    let mut creds = OriginCredentials::default();
    creds.bearer = Some(Secret::new("origin-token"));
    config.origin_credentials = Some(creds);
    let r = s.reader_with(config, fast());
    r.read_ranges(&[br(0, 10)]).unwrap();
    let log = s.blob_log();
    assert_eq!(
        log[0].header("x-dragonfly-registry"),
        Some("https://index.docker.io")
    );
    assert_eq!(log[0].header("authorization"), None);
    assert_eq!(log[1].header("x-dragonfly-registry"), None);
    assert_eq!(log[1].header("authorization"), Some("Bearer origin-token"));
}

#[test]
fn redirects_are_followed_cached_and_never_carry_authorization() {
    for status in [301u16, 302, 303, 307] {
        let data = blob(SIZE);
        let s = Setup::new(&[], Behaviour::Honour);
        let storage =
            Server::start("storage", Arc::clone(&data), &s.log, Behaviour::Storage).unwrap();
        s.origin.set(Behaviour::Redirect {
            status,
            target: storage.url(),
            ttl: Duration::from_secs(60),
        });
        s.origin.require_token("T0K", 300);
        let r = s.reader();
        let ranges = [br(0, 10), br(50_000, 50_010)];
        s.check(&ranges, &r.read_ranges(&ranges).unwrap());
        let ranges = [br(70_000, 70_100)];
        s.check(&ranges, &r.read_ranges(&ranges).unwrap());
        // 401, token, redirect, storage; then straight to the cached storage URL.
        assert_eq!(
            s.servers(),
            ["origin", "origin", "storage", "storage"],
            "status {status}"
        );
        let log = s.blob_log();
        assert_eq!(log[1].header("authorization"), Some("Bearer T0K"));
        for e in &log[2..] {
            assert_eq!(e.header("authorization"), None, "status {status}");
            assert!(e.header("range").is_some());
        }
        assert_eq!(s.origin.token_fetches(), 1);
    }
}

#[test]
fn an_expired_redirect_is_resolved_again() {
    let data = blob(SIZE);
    let s = Setup::new(&[], Behaviour::Honour);
    let storage = Server::start("storage", Arc::clone(&data), &s.log, Behaviour::Storage).unwrap();
    s.origin.set(Behaviour::Redirect {
        status: 307,
        target: storage.url(),
        ttl: Duration::from_millis(300),
    });
    let r = s.reader();
    let ranges = [br(0, 10)];
    s.check(&ranges, &r.read_ranges(&ranges).unwrap());
    thread::sleep(Duration::from_millis(400));
    s.check(&ranges, &r.read_ranges(&ranges).unwrap());
    assert_eq!(
        s.servers(),
        ["origin", "storage", "storage", "origin", "storage"]
    );
}

#[test]
fn bearer_tokens_are_fetched_once_and_sent_up_front() {
    let s = Setup::new(&[], Behaviour::Honour);
    s.origin.require_token("secret", 300);
    let r = s.reader();
    let ranges = [br(0, 10)];
    s.check(&ranges, &r.read_ranges(&ranges).unwrap());
    s.check(&ranges, &r.read_ranges(&ranges).unwrap());
    let all = s.log.entries();
    let token = all.iter().find(|e| e.path == "/token").unwrap();
    let q = token.query.as_deref().unwrap();
    assert!(q.contains("service=quirk"), "{q}");
    assert!(q.contains("scope=repository:library/test:pull"), "{q}");
    // 401, retry with the token, then the second read sends it at once.
    let auth: Vec<Option<&str>> = s
        .blob_log()
        .iter()
        .map(|e| e.header("authorization").map(|_| "y"))
        .collect::<Vec<_>>()
        .into_iter()
        .collect();
    assert_eq!(auth, [None, Some("y"), Some("y")]);
    assert_eq!(s.origin.token_fetches(), 1);
    assert_eq!(r.metrics().token_fetches, 1);
}

#[test]
fn concurrent_reads_share_one_token_fetch() {
    let s = Setup::new(&[], Behaviour::Honour);
    s.origin.require_token("shared", 300);
    let r = Arc::new(s.reader());
    let barrier = Arc::new(Barrier::new(8));
    let handles: Vec<_> = (0..8u64)
        .map(|i| {
            let r = Arc::clone(&r);
            let barrier = Arc::clone(&barrier);
            thread::spawn(move || {
                barrier.wait();
                r.read_ranges(&[br(i * 1000, i * 1000 + 10)]).unwrap()
            })
        })
        .collect();
    for (i, h) in handles.into_iter().enumerate() {
        let got = h.join().unwrap();
        let i = i as u64;
        assert_eq!(&got[0][..], s.bytes(br(i * 1000, i * 1000 + 10)));
    }
    assert_eq!(s.origin.token_fetches(), 1);
}

#[test]
fn tokens_are_renewed_before_they_expire() {
    let s = Setup::new(&[], Behaviour::Honour);
    // A 2 s token is due for renewal after 1 s (the margin is at most half the lifetime).
    s.origin.require_token("short", 2);
    let r = s.reader();
    let ranges = [br(0, 10)];
    s.check(&ranges, &r.read_ranges(&ranges).unwrap());
    thread::sleep(Duration::from_millis(1_100));
    s.check(&ranges, &r.read_ranges(&ranges).unwrap());
    assert_eq!(s.origin.token_fetches(), 2);
    // Renewed ahead of time: no second 401.
    assert_eq!(s.servers(), ["origin", "origin", "origin"]);
}

#[test]
fn identical_ranges_in_flight_are_fetched_once() {
    let s = Setup::new(&[], Behaviour::Delay(Duration::from_millis(300)));
    let r = Arc::new(s.reader());
    let barrier = Arc::new(Barrier::new(4));
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let r = Arc::clone(&r);
            let barrier = Arc::clone(&barrier);
            thread::spawn(move || {
                barrier.wait();
                r.read_ranges(&[br(500, 600)]).unwrap()
            })
        })
        .collect();
    for h in handles {
        assert_eq!(&h.join().unwrap()[0][..], s.bytes(br(500, 600)));
    }
    assert_eq!(s.servers(), ["origin"]);
    assert_eq!(r.metrics().bytes_delivered, 400);
}

#[test]
fn bytes_rejected_by_the_verifier_are_fetched_from_the_next_endpoint() {
    let s = Setup::new(&[Behaviour::Corrupt], Behaviour::Honour);
    let r = s.reader();
    let data = Arc::clone(&s.data);
    let verify = move |range: ByteRange, bytes: &[u8]| {
        bytes == &data[range.start() as usize..range.end() as usize]
    };
    let ranges = [br(0, 10), br(30_000, 30_050)];
    let got = r.read_ranges_verified(&ranges, Some(&verify)).unwrap();
    s.check(&ranges, &got);
    assert_eq!(s.servers(), ["m0", "origin"]);
    assert_eq!(r.metrics().verification_failures, 2);

    // When every endpoint serves bad bytes, the error says so.
    s.origin.set(Behaviour::Corrupt);
    let err = r
        .read_ranges_verified(&[br(5, 6)], Some(&verify))
        .unwrap_err();
    assert!(matches!(err, Error::Verification { .. }), "{err}");
}

#[test]
fn a_kept_tail_rejected_by_the_verifier_is_dropped_and_fetched_elsewhere() {
    // The mirror serves the wrong object, the size probe included.
    let s = Setup::new(&[Behaviour::Corrupt], Behaviour::Honour);
    let r = probing(&s, 1_000);
    assert_eq!(r.kept_tail(), Some(br(99_000, 100_000)));
    let data = Arc::clone(&s.data);
    let verify = move |range: ByteRange, bytes: &[u8]| {
        bytes == &data[range.start() as usize..range.end() as usize]
    };
    let ranges = [br(99_900, 100_000)];
    s.check(
        &ranges,
        &r.read_ranges_verified(&ranges, Some(&verify)).unwrap(),
    );
    assert_eq!(s.servers(), ["m0", "origin"]);
    assert_eq!(r.kept_tail(), None);
    assert_eq!(r.metrics().verification_failures, 1);
}

#[test]
fn invalid_ranges_are_refused_without_a_request() {
    let s = Setup::new(&[], Behaviour::Honour);
    let r = s.reader();
    let err = r
        .read_ranges(&[br(SIZE as u64 - 1, SIZE as u64 + 1)])
        .unwrap_err();
    assert!(matches!(err, Error::InvalidArgument { .. }));
    assert!(r.read_ranges(&[]).unwrap().is_empty());
    // A read over `max_read_bytes` names that limit by its kind.
    let mut o = fast();
    o.max_read_bytes = 1_000;
    let r = s.reader_with(s.config(), o);
    let err = r.read_ranges(&[br(0, 600), br(1_000, 1_401)]).unwrap_err();
    assert!(
        matches!(
            err,
            Error::LimitExceeded {
                kind: LimitKind::ReadBytes,
                limit: 1_000,
                actual: 1_001
            }
        ),
        "{err:?}"
    );
    assert!(s.blob_log().is_empty());
}

#[test]
fn read_exact_at_fills_the_buffer() {
    let s = Setup::new(&[], Behaviour::Honour);
    let r = s.reader();
    let mut buf = [0u8; 123];
    r.read_exact_at(99_877, &mut buf).unwrap();
    assert_eq!(&buf[..], s.bytes(br(99_877, 100_000)));
    assert!(r.read_exact_at(99_878, &mut buf).is_err());
    r.read_exact_at(100_000, &mut []).unwrap();
    let got = r.read_std_ranges(&[5..5, 0..3, 7..9]).unwrap();
    assert_eq!(got.iter().map(|b| b.len()).collect::<Vec<_>>(), [0, 3, 2]);
    assert_eq!(&got[1][..], s.bytes(br(0, 3)));
    #[allow(clippy::reversed_empty_ranges)] // The point of the test.
    let reversed = r.read_std_ranges(&[0..1, 3..1]);
    assert!(reversed.is_err());
}

#[test]
fn basic_credentials_answer_a_basic_challenge_at_the_origin_only() {
    let s = Setup::new(&[Behaviour::Honour], Behaviour::Honour);
    s.mirrors[0].require_basic("dXNlcjpwYXNz");
    s.origin.require_basic("dXNlcjpwYXNz");
    let mut config = s.config();
    let mut creds = OriginCredentials::default();
    creds.basic = Some(Secret::new("dXNlcjpwYXNz"));
    config.origin_credentials = Some(creds);
    let mut o = fast();
    o.retry.mirror_attempts = 1;
    let r = s.reader_with(config, o);
    let ranges = [br(0, 10)];
    s.check(&ranges, &r.read_ranges(&ranges).unwrap());
    let log = s.blob_log();
    // The mirror's Basic challenge is not answered with the origin's credentials.
    assert_eq!(s.servers(), ["m0", "origin", "origin"]);
    assert_eq!(log[0].header("authorization"), None);
    assert_eq!(log[1].header("authorization"), None);
    assert_eq!(log[2].header("authorization"), Some("Basic dXNlcjpwYXNz"));
}

#[test]
fn token_requests_carry_credentials_for_the_origin_and_none_for_mirrors() {
    let s = Setup::new(&[Behaviour::Honour], Behaviour::Honour);
    s.mirrors[0].require_token("mirror-token", 300);
    s.origin.require_token("origin-token", 300);
    let mut config = s.config();
    let mut creds = OriginCredentials::default();
    creds.basic = Some(Secret::new("dXNlcjpwYXNz"));
    config.origin_credentials = Some(creds);
    let r = s.reader_with(config, fast());
    let ranges = [br(0, 10)];
    s.check(&ranges, &r.read_ranges(&ranges).unwrap());
    // The mirror challenged; its token was fetched anonymously.
    let all = s.log.entries();
    let tokens: Vec<&Entry> = all.iter().filter(|e| e.path == "/token").collect();
    assert_eq!(tokens.len(), 1);
    assert_eq!(tokens[0].server, "m0");
    assert_eq!(tokens[0].header("authorization"), None);

    // Now the mirror lacks the blob: the origin's token is fetched with Basic.
    s.mirrors[0].set(Behaviour::Status(404));
    let ranges = [br(20, 30)];
    s.check(&ranges, &r.read_ranges(&ranges).unwrap());
    let all = s.log.entries();
    let tokens: Vec<&Entry> = all.iter().filter(|e| e.path == "/token").collect();
    assert_eq!(tokens.len(), 2);
    assert_eq!(tokens[1].server, "origin");
    assert_eq!(
        tokens[1].header("authorization"),
        Some("Basic dXNlcjpwYXNz")
    );
    let log = s.blob_log();
    assert!(
        log.iter()
            .filter(|e| e.server == "m0")
            .all(|e| e.header("authorization") != Some("Bearer origin-token"))
    );
}

#[test]
fn a_forwarding_mirror_receives_the_origin_token() {
    let s = Setup::new(&[Behaviour::Honour], Behaviour::Honour);
    s.origin.require_token("origin-token", 300);
    s.mirrors[0].once(Behaviour::Status(404));
    let mut config = s.config();
    config.mirrors[0].forward_origin_credentials = true;
    let r = s.reader_with(config, fast());
    let ranges = [br(0, 10)];
    s.check(&ranges, &r.read_ranges(&ranges).unwrap());
    s.check(&ranges, &r.read_ranges(&ranges).unwrap());
    let log = s.blob_log();
    assert_eq!(s.servers(), ["m0", "origin", "origin", "m0"]);
    assert_eq!(log[0].header("authorization"), None);
    assert_eq!(log[3].header("authorization"), Some("Bearer origin-token"));
}

#[test]
fn thousands_of_ranges_are_batched_and_survive_single_range_servers() {
    let s = Setup::new(&[Behaviour::RefuseMulti(501)], Behaviour::Honour);
    let r = s.reader();
    // 3000 ranges of 7 bytes, 30 bytes apart: more than fit in one Range header.
    let ranges: Vec<ByteRange> = (0..3000u64).map(|i| br(i * 33, i * 33 + 7)).collect();
    let t = Instant::now();
    s.check(&ranges, &r.read_ranges(&ranges).unwrap());
    // Gaps of 26 bytes are bridged, so it is a single covering range per batch.
    let headers = s.range_headers();
    assert_eq!(headers, ["bytes=0-98973"]);
    // Now with gaps too large to bridge: several multi-range requests, refused once,
    // then single ranges.
    let mut o = fast();
    o.plan.gap_threshold = 0;
    let r = s.reader_with(s.config(), o);
    let ranges: Vec<ByteRange> = (0..600u64).map(|i| br(i * 150, i * 150 + 7)).collect();
    s.check(&ranges, &r.read_ranges(&ranges).unwrap());
    let headers = s.range_headers();
    assert!(headers[1].len() <= 4096 && headers[1].contains(','));
    assert_eq!(
        headers.len(),
        1 + 1 + 600,
        "one refused multi-range request, then singles"
    );
    assert!(t.elapsed() < Duration::from_secs(20), "{:?}", t.elapsed());
    assert_eq!(r.metrics().endpoints[0].single_range_fallbacks, 1);
}
