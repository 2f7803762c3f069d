//! The range reader against the real thing: Debian's `docker-registry` (distribution 2.8)
//! on loopback as the origin, and a second instance in pull-through (proxy) mode as the
//! mirror. The blob is pushed with the OCI push API, then read through the mirror (cold:
//! the proxy ignores `Range` and streams the whole blob; warm: ranges), and finally with
//! the mirror killed, from the origin.
//!
//! Needs `/usr/bin/docker-registry` (or `$DOCKER_REGISTRY`). `bash scripts/test-all.sh`
//! installs it; without it this test fails rather than pass silently.

#![allow(clippy::unwrap_used)] // Tests.

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use estargz_mirror::{
    ByteRange, Endpoint, MirrorConfig, RangeReader, ReaderOptions, UreqTransport,
};
use sha2::{Digest as _, Sha256};

const REPO: &str = "estargz/mirror-test";

fn registry_binary() -> PathBuf {
    let path = std::env::var_os("DOCKER_REGISTRY")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/docker-registry"));
    assert!(
        path.exists(),
        "{} not found: this test needs Debian's docker-registry. Run the README's test \
         command (`bash scripts/test-all.sh`), which installs it (CI does), or set \
         DOCKER_REGISTRY to the binary",
        path.display()
    );
    path
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A registry process, killed when dropped.
struct Registry {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Registry {
    fn start(binary: &Path, proxy_of: Option<u16>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let proxy = proxy_of
            .map(|p| format!("proxy:\n  remoteurl: http://127.0.0.1:{p}\n"))
            .unwrap_or_default();
        let config = format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\n  \
             redirect:\n    disable: true\nhttp:\n  addr: 127.0.0.1:{port}\n  secret: test-secret\n{proxy}",
            dir.path().join("data").display()
        );
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).unwrap();
        // distribution writes its access log (combined format) to standard output.
        let access_log = std::fs::File::create(dir.path().join("access.log")).unwrap();
        let child = Command::new(binary)
            .arg("serve")
            .arg(&config_path)
            .stdout(Stdio::from(access_log))
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let r = Self { child, port, dir };
        r.wait_ready();
        r
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The blob `GET`s in the access log, as `(status, body bytes sent)`.
    fn blob_gets(&self) -> Vec<(u16, u64)> {
        // Lines are written when a request completes; give the last one a moment.
        thread::sleep(Duration::from_millis(200));
        let log = std::fs::read_to_string(self.dir.path().join("access.log")).unwrap();
        log.lines()
            .filter(|l| l.contains("\"GET /v2/") && l.contains("/blobs/sha256:"))
            .map(|l| {
                // `... "GET /v2/... HTTP/1.1" 206 65536 "referer" "agent"`
                let after = l.split("HTTP/1.1\" ").nth(1).expect("a request line");
                let mut fields = after.split(' ');
                let status = fields.next().unwrap().parse().unwrap();
                let bytes = fields.next().unwrap().parse().unwrap_or(0);
                (status, bytes)
            })
            .collect()
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok()
                && let Ok(r) = ureq::get(format!("{}/v2/", self.url())).call()
                && r.status() == 200
            {
                return;
            }
            thread::sleep(Duration::from_millis(50));
        }
        panic!("registry on port {} did not start", self.port);
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Pushes `data` as a blob with the OCI push API (POST, then PUT `?digest=`).
fn push_blob(registry: &str, data: &[u8]) -> String {
    let digest = format!("sha256:{:x}", Sha256::digest(data));
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into();
    let reply = agent
        .post(format!("{registry}/v2/{REPO}/blobs/uploads/"))
        .send_empty()
        .unwrap();
    assert_eq!(reply.status(), 202, "start upload");
    let location = reply
        .headers()
        .get("location")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let location = if location.starts_with('/') {
        format!("{registry}{location}")
    } else {
        location
    };
    let sep = if location.contains('?') { '&' } else { '?' };
    let reply = agent
        .put(format!("{location}{sep}digest={digest}"))
        .header("Content-Type", "application/octet-stream")
        .send(data)
        .unwrap();
    assert_eq!(reply.status(), 201, "finish upload");
    digest
}

fn options() -> ReaderOptions {
    let mut o = ReaderOptions::default();
    o.retry.min_backoff = Duration::from_millis(20);
    o.retry.max_backoff = Duration::from_millis(200);
    o.connect_timeout = Duration::from_secs(2);
    o
}

fn br(a: u64, b: u64) -> ByteRange {
    ByteRange::new(a, b).unwrap()
}

#[test]
fn pull_through_mirror_cold_then_warm_then_dead() {
    let binary = registry_binary();
    let origin = Registry::start(&binary, None);
    let mut mirror = Registry::start(&binary, Some(origin.port));

    let data: Vec<u8> = (0..3 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let digest = push_blob(&origin.url(), &data);
    let size = data.len() as u64;
    let slice = |r: ByteRange| &data[r.start() as usize..r.end() as usize];

    let mut config = MirrorConfig::new(
        format!("127.0.0.1:{}", origin.port),
        Endpoint::new(&origin.url()).unwrap(),
    );
    config.mirrors.push(Endpoint::new(&mirror.url()).unwrap());
    let reader = RangeReader::with_transport(
        config.clone(),
        REPO,
        &digest,
        Some(size),
        options(),
        Arc::new(UreqTransport::new()),
    )
    .unwrap();

    // Cold: the pull-through cache ignores Range and streams the whole blob (200). Reading
    // it to byte 200 100 for 4 196 needed bytes is over the 1.1x budget: the reply is
    // dropped unread and the origin serves the ranges; the mirror is not benched.
    let ranges = [br(100, 4_196), br(200_000, 200_100)];
    let got = reader.read_ranges(&ranges).unwrap();
    for (r, b) in ranges.iter().zip(&got) {
        assert_eq!(&b[..], slice(*r));
    }
    let m = reader.metrics();
    assert_eq!(m.endpoints[0].whole_body_replies, 1, "{m:?}");
    assert_eq!(m.endpoints[0].requests, 1, "{m:?}");
    assert_eq!(m.endpoints[0].bytes_received, 0, "{m:?}");
    assert_eq!(m.endpoints[0].fallbacks, 1, "{m:?}");
    assert_eq!(m.endpoints[0].failures, 0, "{m:?}");
    // One multi-range request to the origin: the needed bytes plus multipart framing.
    assert_eq!(m.endpoints[1].requests, 1, "{m:?}");
    assert!(m.endpoints[1].bytes_received * 10 <= 4_196 * 11, "{m:?}");
    let origin_requests = m.endpoints[1].requests;
    let origin_bytes = m.endpoints[1].bytes_received;

    // Warm: the mirror keeps filling its cache after the client dropped the reply (it
    // stores the blob from its own upstream request), and then serves ranges (206).
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let fresh = RangeReader::with_transport(
            config.clone(),
            REPO,
            &digest,
            Some(size),
            options(),
            Arc::new(UreqTransport::new()),
        )
        .unwrap();
        let ranges = [br(1_000_000, 1_000_500), br(3 * 1024 * 1024 - 10, size)];
        let got = fresh.read_ranges(&ranges).unwrap();
        for (r, b) in ranges.iter().zip(&got) {
            assert_eq!(&b[..], slice(*r));
        }
        let m = fresh.metrics();
        if m.endpoints[0].whole_body_replies == 0 {
            assert_eq!(m.endpoints[1].requests, 0, "{m:?}");
            // Multi-range works on distribution's filesystem driver: one request, and only
            // the asked bytes (plus multipart framing) came back.
            assert_eq!(m.endpoints[0].requests, 1, "{m:?}");
            assert!(m.endpoints[0].bytes_received < 2_000, "{m:?}");
            break;
        }
        // Still cold: the origin served it.
        assert_eq!(m.endpoints[0].failures, 0, "{m:?}");
        assert!(Instant::now() < deadline, "the mirror never warmed: {m:?}");
        thread::sleep(Duration::from_millis(200));
    }

    // The size is learned with a ranged GET when not given.
    let discovered = RangeReader::with_transport(
        config.clone(),
        REPO,
        &digest,
        None,
        options(),
        Arc::new(UreqTransport::new()),
    )
    .unwrap();
    assert_eq!(discovered.size(), size);

    // Mirror dies: the same reader fails over to the origin.
    mirror.kill();
    let ranges = [br(2_000_000, 2_000_333)];
    let got = reader.read_ranges(&ranges).unwrap();
    assert_eq!(&got[0][..], slice(ranges[0]));
    let m = reader.metrics();
    assert!(m.endpoints[0].fallbacks >= 2, "{m:?}");
    assert_eq!(m.endpoints[1].requests, origin_requests + 1, "{m:?}");
    assert_eq!(m.endpoints[1].bytes_received, origin_bytes + 333, "{m:?}");

    // And the origin on its own serves a whole verified read.
    let mut all = vec![0u8; data.len()];
    reader.read_exact_at(0, &mut all).unwrap();
    assert_eq!(Sha256::digest(&all)[..], Sha256::digest(&data)[..]);
    let mut body = Vec::new();
    ureq::get(format!("{}/v2/{REPO}/blobs/{digest}", origin.url()))
        .call()
        .unwrap()
        .into_body()
        .into_reader()
        .read_to_end(&mut body)
        .unwrap();
    assert_eq!(body.len(), data.len());
}

/// An nginx process, stopped when dropped.
struct Nginx {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Nginx {
    /// nginx as a caching reverse proxy for `upstream`, with `max_ranges 1` (so requests
    /// for several ranges get the whole body), logging `$upstream_cache_status`.
    fn start(upstream: u16) -> Self {
        let binary = std::env::var_os("NGINX")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/usr/sbin/nginx"));
        assert!(
            binary.exists(),
            "{} not found: run the README's test command (`bash scripts/test-all.sh`), \
             which installs nginx (CI does), or set NGINX to the binary",
            binary.display()
        );
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display();
        let port = free_port();
        let config = format!(
            "user root root;\nworker_processes 1;\ndaemon off;\nerror_log {d}/error.log;\n\
             pid {d}/nginx.pid;\nevents {{ worker_connections 64; }}\nhttp {{\n\
             access_log {d}/access.log;\nclient_body_temp_path {d}/body;\n\
             proxy_temp_path {d}/proxy;\nfastcgi_temp_path {d}/fcgi;\nuwsgi_temp_path {d}/uwsgi;\n\
             scgi_temp_path {d}/scgi;\n\
             proxy_cache_path {d}/cache levels=1:2 keys_zone=blobs:1m max_size=100m;\n\
             server {{\n listen 127.0.0.1:{port};\n max_ranges 1;\n location /v2/ {{\n\
             proxy_pass http://127.0.0.1:{upstream};\n proxy_cache blobs;\n\
             proxy_cache_valid 200 10m;\n proxy_http_version 1.1;\n\
             proxy_set_header Connection \"\";\n\
             add_header X-Cache-Status $upstream_cache_status;\n }}\n }}\n}}\n"
        );
        let config_path = dir.path().join("nginx.conf");
        std::fs::write(&config_path, config).unwrap();
        let child = Command::new(&binary)
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(&config_path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "nginx did not start");
            thread::sleep(Duration::from_millis(50));
        }
        Self {
            child,
            port,
            _dir: dir,
        }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn nginx_caching_proxy_as_a_mirror() {
    let binary = registry_binary();
    let origin = Registry::start(&binary, None);
    let nginx = Nginx::start(origin.port);

    let data: Vec<u8> = (0..1024 * 1024u32)
        .map(|i| (i.wrapping_mul(40_503) >> 7) as u8)
        .collect();
    let digest = push_blob(&origin.url(), &data);
    let size = data.len() as u64;
    let slice = |r: ByteRange| &data[r.start() as usize..r.end() as usize];

    let mut config = MirrorConfig::new(
        format!("127.0.0.1:{}", origin.port),
        Endpoint::new(&origin.url()).unwrap(),
    );
    config
        .mirrors
        .push(Endpoint::new(&format!("http://127.0.0.1:{}", nginx.port)).unwrap());
    let reader = RangeReader::with_transport(
        config,
        REPO,
        &digest,
        None,
        options(),
        Arc::new(UreqTransport::new()),
    )
    .unwrap();
    assert_eq!(reader.size(), size);
    // The size probe (`bytes=-65536`) brought the tail through nginx.
    let kept = reader.kept_tail().expect("a kept tail").len();
    assert_eq!(kept, 64 << 10);

    // `max_ranges 1`: several ranges get the whole body, which is learned; reading it to
    // byte 300 010 for 20 needed bytes is over the budget, so the origin serves them.
    let ranges = [br(10, 20), br(300_000, 300_010)];
    let got = reader.read_ranges(&ranges).unwrap();
    for (r, b) in ranges.iter().zip(&got) {
        assert_eq!(&b[..], slice(*r));
    }
    let status = reader.endpoint_status();
    assert_eq!(status[0].multi_range, estargz_mirror::MultiRange::WholeBody);
    let m = reader.metrics();
    assert_eq!(m.endpoints[0].whole_body_replies, 1, "{m:?}");
    assert_eq!(m.endpoints[0].bytes_received, kept, "{m:?}");
    assert_eq!(m.endpoints[0].fallbacks, 1, "{m:?}");
    assert_eq!(m.endpoints[0].failures, 0, "{m:?}");
    assert_eq!(m.endpoints[1].requests, 1, "{m:?}");

    // From then on, single ranges (206 from nginx's cache).
    let ranges = [br(500_000, 500_100), br(900_000, 900_100)];
    let got = reader.read_ranges(&ranges).unwrap();
    for (r, b) in ranges.iter().zip(&got) {
        assert_eq!(&b[..], slice(*r));
    }
    let m2 = reader.metrics();
    assert_eq!(m2.endpoints[0].requests - m.endpoints[0].requests, 2);
    assert_eq!(
        m2.endpoints[0].bytes_received - m.endpoints[0].bytes_received,
        200
    );
    assert_eq!(m2.endpoints[1].requests, m.endpoints[1].requests, "{m2:?}");
}

// ----- eStargz lazy reads through the mirror client -----

/// The file the lazy-read tests read, and its size.
const TARGET: &str = "usr/lib/a.bin";
const TARGET_LEN: usize = 700 << 10;

fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// An eStargz layer (64 KiB chunks): a 700 KiB target file between other files, and 40
/// small ones for a TOC of a few KiB. Returns the blob and the target's content.
fn estargz_layer() -> (Vec<u8>, Vec<u8>) {
    use estargz::tar::{TarHeader, encode_end_of_archive, encode_header, padding};
    let mut tar = Vec::new();
    let mut add = |name: &str, content: &[u8]| {
        let mut header = TarHeader::new(b'0', name.as_bytes().to_vec());
        header.mode = 0o644;
        header.size = content.len() as i64;
        encode_header(&header, &mut tar).expect("a tar header");
        tar.extend_from_slice(content);
        tar.resize(tar.len() + padding(content.len() as u64) as usize, 0);
    };
    let target = noise(TARGET_LEN, 3);
    add("etc/hello.txt", b"hello\n");
    add("usr/lib/0.bin", &noise(300 << 10, 5));
    add(TARGET, &target);
    add("usr/lib/z.bin", &noise(500 << 10, 7));
    for i in 0..40 {
        add(
            &format!("usr/share/doc/pkg-{i}/README"),
            &noise(100 + i, 9 + i as u64),
        );
    }
    encode_end_of_archive(&mut tar);
    let mut blob = Vec::new();
    estargz::Encoder::builder()
        .chunk_size(64 << 10)
        .build()
        .and_then(|encoder| encoder.encode_tar(&tar, &mut blob))
        .expect("encoding the layer");
    (blob, target)
}

fn reader_for(config: MirrorConfig, digest: &str, options: ReaderOptions) -> RangeReader {
    RangeReader::with_transport(
        config,
        REPO,
        digest,
        None,
        options,
        Arc::new(UreqTransport::new()),
    )
    .expect("a range reader")
}

fn origin_config(origin: &Registry) -> MirrorConfig {
    MirrorConfig::new(
        format!("127.0.0.1:{}", origin.port),
        Endpoint::new(&origin.url()).unwrap(),
    )
}

/// The done-when figure: a cold lazy read of one file from the real registry costs one
/// request for footer and TOC when the TOC fits the size probe's tail (two when it does
/// not), plus one per batch of chunks, and receives at most 1.1x the compressed bytes of
/// the chunks needed. Client metrics and the registry's access log agree.
#[test]
fn cold_lazy_read_of_one_file_costs_the_tail_and_one_request_per_batch() {
    let binary = registry_binary();
    let origin = Registry::start(&binary, None);
    let (blob, target) = estargz_layer();
    let digest = push_blob(&origin.url(), &blob);

    // tail_bytes: the default 64 KiB (the TOC fits), then 1 KiB (it does not).
    for (tail_bytes, toc_requests) in [(64 << 10, 1), (1 << 10, 2)] {
        let mut options = options();
        options.tail_bytes = tail_bytes;
        let logged_before = origin.blob_gets().len();
        let reader = reader_for(origin_config(&origin), &digest, options)
            .open_estargz(estargz::reader::ReaderOptions::default())
            .expect("opening the blob");
        let kept = reader.source().kept_tail().expect("a kept tail");
        assert_eq!(kept.end(), blob.len() as u64);
        assert_eq!(
            reader.toc_range().start >= kept.start(),
            toc_requests == 1,
            "the layer must exercise both cases: TOC {:?}, kept {kept}",
            reader.toc_range()
        );
        let opened = reader.source().metrics();
        assert_eq!(opened.total_requests(), toc_requests, "{opened:?}");

        let needed: u64 = reader
            .plan_files([TARGET])
            .unwrap()
            .iter()
            .map(|r| r.end - r.start)
            .sum();
        let summary = reader.fetch_files([TARGET]).expect("fetching the chunks");
        let got = reader.open_file(TARGET).unwrap().read_to_vec().unwrap();
        assert_eq!(got, target, "verified content");

        let m = reader.source().metrics();
        let chunk_requests = m.total_requests() - opened.total_requests();
        let chunk_bytes = m.total_bytes_received() - opened.total_bytes_received();
        println!(
            "cold lazy read, tail {tail_bytes} B: footer+TOC {} request(s), {} B; \
             chunks {chunk_requests} request(s) for {} batch(es), received {chunk_bytes} B \
             for {needed} B needed (ratio {:.3}); total {} requests, {} B of a {} B blob",
            opened.total_requests(),
            opened.total_bytes_received(),
            summary.batches,
            chunk_bytes as f64 / needed as f64,
            m.total_requests(),
            m.total_bytes_received(),
            blob.len()
        );
        assert_eq!(summary.batches, 1);
        assert_eq!(chunk_requests, summary.batches, "{m:?}");
        assert!(
            chunk_bytes * 10 <= needed * 11,
            "{chunk_bytes} B received for {needed} B of chunks"
        );
        assert!(needed >= TARGET_LEN as u64, "incompressible content");
        // The registry saw exactly those requests.
        let logged = origin.blob_gets();
        let logged = &logged[logged_before..];
        println!("registry access log: {logged:?}");
        assert_eq!(logged.len() as u64, m.total_requests(), "{logged:?}");
        assert!(
            logged.iter().all(|&(status, _)| status == 206),
            "{logged:?}"
        );
        let sent: u64 = logged.iter().map(|&(_, bytes)| bytes).sum();
        assert_eq!(sent, m.total_bytes_received(), "{logged:?}");
    }
}

/// Makes the mirror stop after a given number of batch reads: between two batches of one
/// file's read.
struct StopMirrorAfter {
    inner: RangeReader,
    batches: std::sync::atomic::AtomicUsize,
    after: usize,
    mirror: std::sync::Mutex<Option<Registry>>,
}

impl estargz::ReadAt for StopMirrorAfter {
    fn size(&self) -> std::io::Result<u64> {
        Ok(self.inner.size())
    }

    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
        estargz::ReadAt::read_exact_at(&self.inner, offset, buf)
    }

    fn read_ranges(&self, ranges: &[std::ops::Range<u64>]) -> std::io::Result<Vec<Vec<u8>>> {
        let out = estargz::ReadAt::read_ranges(&self.inner, ranges);
        let n = self
            .batches
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if n + 1 == self.after
            && let Some(mut mirror) = self.mirror.lock().unwrap().take()
        {
            mirror.kill();
        }
        out
    }
}

/// Waits until the pull-through mirror has stored the blob and serves ranges.
fn warm(mirror: &Registry, digest: &str) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let url = format!("{}/v2/{REPO}/blobs/{digest}", mirror.url());
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let reply = agent.get(&url).header("Range", "bytes=0-0").call().unwrap();
        if reply.status() == 206 {
            return;
        }
        assert!(Instant::now() < deadline, "the mirror never warmed");
        thread::sleep(Duration::from_millis(200));
    }
}

/// With the mirror stopped between two batches of one file's read, the read completes
/// from the origin, verified, and the fallback is recorded.
#[test]
fn mirror_stopped_mid_read_completes_from_the_origin_verified() {
    let binary = registry_binary();
    let origin = Registry::start(&binary, None);
    let mirror = Registry::start(&binary, Some(origin.port));
    let (blob, target) = estargz_layer();
    let digest = push_blob(&origin.url(), &blob);
    warm(&mirror, &digest);

    let mut config = origin_config(&origin);
    config.mirrors.push(Endpoint::new(&mirror.url()).unwrap());
    let inner = reader_for(config, &digest, options());
    let mut est = estargz::reader::ReaderOptions::default();
    est.toc.tail_guess = inner.kept_tail().expect("a kept tail").len();
    // Batches of at most 128 KiB: the 700 KiB file takes several.
    est.max_fetch_bytes = 128 << 10;
    let source = StopMirrorAfter {
        inner,
        batches: Default::default(),
        after: 2,
        mirror: std::sync::Mutex::new(Some(mirror)),
    };
    let reader = estargz::reader::Reader::open(source, est).expect("opening through the mirror");
    let opened = reader.source().inner.metrics();
    assert_eq!(opened.endpoints[0].requests, 1, "{opened:?}");
    assert_eq!(opened.endpoints[1].requests, 0, "{opened:?}");

    let summary = reader.fetch_files([TARGET]).expect("the read completes");
    assert!(summary.batches >= 4, "{summary:?}");
    assert!(reader.source().mirror.lock().unwrap().is_none(), "stopped");
    let got = reader.open_file(TARGET).unwrap().read_to_vec().unwrap();
    assert_eq!(got, target, "verified content");

    let m = reader.source().inner.metrics();
    println!(
        "mirror stopped after 2 of {} batches: {m:#?}",
        summary.batches
    );
    // Probe and two batches from the mirror; then the fallback; the rest from the origin.
    assert!(m.endpoints[0].fallbacks >= 1, "{m:?}");
    assert!(m.endpoints[0].failures >= 1, "{m:?}");
    assert!(m.endpoints[1].requests >= summary.batches - 2, "{m:?}");
    let from_origin: u64 = origin
        .blob_gets()
        .iter()
        .filter(|&&(status, _)| status == 206)
        .map(|&(_, bytes)| bytes)
        .sum();
    assert_eq!(from_origin, m.endpoints[1].bytes_received, "{m:?}");
    assert!(m.endpoints[1].bytes_received > 0, "{m:?}");
}

/// A cold lazy read through a cold pull-through mirror (which ignores ranges and streams
/// the whole blob while it stores it): verified content, and the chunks cost at most 1.1x
/// their compressed bytes, whether the mirror is still cold when they are asked for (its
/// whole-body reply is dropped unread; the origin serves them) or has warmed since the
/// size probe started its fill (it serves the ranges).
#[test]
fn cold_lazy_read_through_a_cold_pull_through_mirror() {
    let binary = registry_binary();
    let origin = Registry::start(&binary, None);
    let mirror = Registry::start(&binary, Some(origin.port));
    let (blob, target) = estargz_layer();
    let digest = push_blob(&origin.url(), &blob);

    let mut config = origin_config(&origin);
    config.mirrors.push(Endpoint::new(&mirror.url()).unwrap());
    let reader = reader_for(config, &digest, options())
        .open_estargz(estargz::reader::ReaderOptions::default())
        .expect("opening through the cold mirror");
    let opened = reader.source().metrics();
    let needed: u64 = reader
        .plan_files([TARGET])
        .unwrap()
        .iter()
        .map(|r| r.end - r.start)
        .sum();
    let summary = reader.fetch_files([TARGET]).expect("fetching the chunks");
    let got = reader.open_file(TARGET).unwrap().read_to_vec().unwrap();
    assert_eq!(got, target, "verified content");
    let m = reader.source().metrics();
    let chunk_bytes = m.total_bytes_received() - opened.total_bytes_received();
    println!(
        "cold mirror: open {} request(s) {} B; {} batch(es), chunks received {chunk_bytes} B \
         for {needed} B needed (ratio {:.3}); total {} requests, {} B received of a {} B \
         blob; mirror log {:?}; origin log {:?}\n{m:#?}",
        opened.total_requests(),
        opened.total_bytes_received(),
        summary.batches,
        chunk_bytes as f64 / needed as f64,
        m.total_requests(),
        m.total_bytes_received(),
        blob.len(),
        mirror.blob_gets(),
        origin.blob_gets(),
    );
    assert!(
        chunk_bytes * 10 <= needed * 11,
        "{chunk_bytes} B received for {needed} B of chunks: {m:?}"
    );
    assert_eq!(m.endpoints[0].failures, 0, "{m:?}");
}

/// Runs the async reader's futures on a tokio runtime for the blocking `estargz` reader,
/// from a thread outside the runtime's workers.
#[cfg(feature = "reqwest")]
struct OnRuntime {
    reader: estargz_mirror::AsyncRangeReader,
    runtime: tokio::runtime::Handle,
}

#[cfg(feature = "reqwest")]
impl estargz::ReadAt for OnRuntime {
    fn size(&self) -> std::io::Result<u64> {
        Ok(self.reader.size())
    }

    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
        self.runtime
            .block_on(self.reader.read_exact_at(offset, buf))
            .map_err(std::io::Error::other)
    }

    fn read_ranges(&self, ranges: &[std::ops::Range<u64>]) -> std::io::Result<Vec<Vec<u8>>> {
        let parts = self
            .runtime
            .block_on(self.reader.read_std_ranges(ranges))
            .map_err(std::io::Error::other)?;
        Ok(parts.into_iter().map(Vec::from).collect())
    }
}

/// The async reader (feature `reqwest`) in a cold lazy read through a cold pull-through
/// mirror: the size probe keeps the tail (footer and TOC), the file's chunks come in one
/// batch, at most 1.1x their compressed bytes (from the origin while the mirror is cold,
/// its whole-body reply dropped unread), and `estargz` verifies the content.
#[cfg(feature = "reqwest")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_cold_lazy_read_through_a_cold_pull_through_mirror() {
    let binary = registry_binary();
    let origin = Registry::start(&binary, None);
    let mirror = Registry::start(&binary, Some(origin.port));
    let (blob, target) = estargz_layer();
    let digest = push_blob(&origin.url(), &blob);

    let mut config = origin_config(&origin);
    config.mirrors.push(Endpoint::new(&mirror.url()).unwrap());
    let reader = estargz_mirror::AsyncRangeReader::with_transport(
        config,
        REPO,
        &digest,
        None,
        options(),
        Arc::new(estargz_mirror::ReqwestTransport::new()),
    )
    .await
    .expect("an async reader");
    let kept = reader.kept_tail().expect("a kept tail");
    assert_eq!(kept.end(), blob.len() as u64);
    let source = OnRuntime {
        reader,
        runtime: tokio::runtime::Handle::current(),
    };
    let mut est = estargz::reader::ReaderOptions::default();
    est.toc.tail_guess = kept.len();
    let (got, needed, opened, m) = tokio::task::spawn_blocking(move || {
        let reader = estargz::reader::Reader::open(source, est).expect("opening the blob");
        let opened = reader.source().reader.metrics();
        let needed: u64 = reader
            .plan_files([TARGET])
            .unwrap()
            .iter()
            .map(|r| r.end - r.start)
            .sum();
        let summary = reader.fetch_files([TARGET]).expect("fetching the chunks");
        assert_eq!(summary.batches, 1);
        let got = reader.open_file(TARGET).unwrap().read_to_vec().unwrap();
        (got, needed, opened, reader.source().reader.metrics())
    })
    .await
    .expect("the blocking reader");
    assert_eq!(got, target, "verified content");
    let chunk_bytes = m.total_bytes_received() - opened.total_bytes_received();
    println!(
        "async, cold mirror: open {} request(s) {} B; chunks {chunk_bytes} B for {needed} B \
         needed (ratio {:.3}); {m:?}",
        opened.total_requests(),
        opened.total_bytes_received(),
        chunk_bytes as f64 / needed as f64,
    );
    assert!(
        chunk_bytes * 10 <= needed * 11,
        "{chunk_bytes} B received for {needed} B of chunks: {m:?}"
    );
    assert_eq!(m.endpoints[0].failures, 0, "{m:?}");
}
