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
    _dir: tempfile::TempDir,
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
        let child = Command::new(binary)
            .arg("serve")
            .arg(&config_path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let r = Self {
            child,
            port,
            _dir: dir,
        };
        r.wait_ready();
        r
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
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

    // Cold: the pull-through cache ignores Range and streams the whole blob (200).
    let ranges = [br(100, 4_196), br(200_000, 200_100)];
    let got = reader.read_ranges(&ranges).unwrap();
    for (r, b) in ranges.iter().zip(&got) {
        assert_eq!(&b[..], slice(*r));
    }
    let m = reader.metrics();
    assert_eq!(m.endpoints[1].requests, 0, "served by the mirror: {m:?}");
    assert_eq!(m.endpoints[0].whole_body_replies, 1, "{m:?}");
    // Read once, only as far as needed, and both ranges served from that one body.
    assert_eq!(m.endpoints[0].requests, 1, "{m:?}");
    assert_eq!(m.endpoints[0].bytes_received, 200_100, "{m:?}");

    // Warm: once the mirror has stored the blob it serves ranges (206).
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
        assert_eq!(m.endpoints[1].requests, 0, "{m:?}");
        if m.endpoints[0].whole_body_replies == 0 {
            // Multi-range works on distribution's filesystem driver: one request, and only
            // the asked bytes (plus multipart framing) came back.
            assert_eq!(m.endpoints[0].requests, 1, "{m:?}");
            assert!(m.endpoints[0].bytes_received < 2_000, "{m:?}");
            break;
        }
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
    assert!(m.endpoints[0].fallbacks >= 1, "{m:?}");
    assert_eq!(m.endpoints[1].requests, 1, "{m:?}");
    assert_eq!(m.endpoints[1].bytes_received, 333, "{m:?}");

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

    // `max_ranges 1`: several ranges get the whole body, which is learned; the reader
    // reads it only as far as needed.
    let ranges = [br(10, 20), br(300_000, 300_010)];
    let got = reader.read_ranges(&ranges).unwrap();
    for (r, b) in ranges.iter().zip(&got) {
        assert_eq!(&b[..], slice(*r));
    }
    let status = reader.endpoint_status();
    assert_eq!(status[0].multi_range, estargz_mirror::MultiRange::WholeBody);
    let m = reader.metrics();
    assert_eq!(m.endpoints[0].whole_body_replies, 1, "{m:?}");
    assert_eq!(m.endpoints[0].bytes_received, 300_010, "{m:?}");

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
    assert_eq!(m2.endpoints[1].requests, 0, "{m2:?}");
}
