//! `esgz cat`: one file's verified content, read lazily from a local blob or from a
//! registry (through mirrors).
//!
//! SOURCE is, in this order of precedence:
//!
//! * an existing local file: the blob itself;
//! * an `http(s)://` URL of a registry blob, `SCHEME://HOST[:PORT][/PREFIX]/v2/REPO/blobs/DIGEST`
//!   (without a query), read like a reference, mirrors included;
//! * any other `http(s)://` URL (a file on a web server, a signed object-store URL): read
//!   from that URL alone ([`RangeReader::for_url`]); `--mirror` and `--config` are usage
//!   errors with it;
//! * a reference `[REGISTRY/]REPO@sha256:<hex>`, resolved as containerd does: no registry
//!   means `docker.io` (and `library/` for one-component names), `docker.io` is served by
//!   `registry-1.docker.io`, and the origin is `https` unless `--plain-http` is given or the
//!   registry is `localhost` or a loopback address.
//!
//! Registry blobs are read with [`RangeReader`]: `--mirror` URLs first (in order), then the
//! mirrors `--config` gives for the registry, then the origin.

use std::fs::File;
use std::io::{self, Write};
use std::net::IpAddr;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use clap::Args;
use clap::error::ErrorKind;
use estargz::ReadAt;
use estargz::reader::{Reader, ReaderOptions};
use estargz_mirror::config::parse_config;
use estargz_mirror::{Endpoint, MirrorConfig, RangeReader, UreqTransport};
use estargz_verifier::Digest;

use crate::output::{TocArg, open_error, open_reader};
use crate::verify::parse_digest;

/// Arguments of `esgz cat`.
#[derive(Debug, Args)]
pub(crate) struct CatArgs {
    /// The blob: a local file, an `http(s)://` URL (of a registry blob,
    /// `…/v2/REPO/blobs/DIGEST`, or of any file), or `REGISTRY/REPO@sha256:…`.
    source: PathBuf,
    /// The file to print.
    path: String,
    #[command(flatten)]
    toc: TocArg,
    /// The TOC digest the blob must have (`sha256:...`).
    #[arg(long, value_parser = parse_digest)]
    toc_digest: Option<Digest>,
    /// Print read statistics to standard error.
    #[arg(long)]
    stats: bool,
    /// A mirror to try before the origin (repeatable, tried in order); its scheme says
    /// http or https.
    #[arg(long = "mirror", value_name = "URL")]
    mirrors: Vec<String>,
    /// Mirror settings: a stargz-snapshotter resolver TOML or a nydusd JSON backend config.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Reach the origin registry over plain HTTP.
    #[arg(long)]
    plain_http: bool,
}

pub(crate) fn run_cat(args: &CatArgs) -> Result<(), String> {
    match classify(args)? {
        Source::Local(path) => cat_local(args, &path),
        Source::Remote(blob) => cat_remote(args, &blob),
        Source::Url(url) => cat_url(args, &url),
    }
}

/// Where the blob comes from.
#[derive(Debug)]
enum Source {
    Local(PathBuf),
    Remote(RemoteBlob),
    /// Any other http(s) URL, read as it is.
    Url(String),
}

/// A blob in a registry.
#[derive(Debug, PartialEq, Eq)]
struct RemoteBlob {
    /// The registry's name, to find its mirror settings and for `?ns=` (e.g. `docker.io`).
    registry: String,
    /// The origin's base URL (e.g. `https://registry-1.docker.io`).
    origin: String,
    repo: String,
    digest: String,
}

impl RemoteBlob {
    fn name(&self) -> String {
        format!("{}/{}@{}", self.registry, self.repo, self.digest)
    }
}

fn classify(args: &CatArgs) -> Result<Source, String> {
    if args.source.exists() {
        return Ok(Source::Local(args.source.clone()));
    }
    let Some(text) = args.source.to_str() else {
        return Ok(Source::Local(args.source.clone()));
    };
    if text.starts_with("http://") || text.starts_with("https://") {
        Ok(parse_blob_url(text).map_or_else(|| Source::Url(text.to_owned()), Source::Remote))
    } else if text.contains("://") {
        Err(format!(
            "{text}: unsupported URL scheme; give an http(s) URL, a reference or a local blob"
        ))
    } else if text.contains('@') {
        parse_reference(text, args.plain_http).map(Source::Remote)
    } else {
        Ok(Source::Local(args.source.clone()))
    }
}

/// Parses `SCHEME://AUTHORITY[/PREFIX]/v2/REPO/blobs/DIGEST` (no query or fragment);
/// `None` for any other URL.
fn parse_blob_url(url: &str) -> Option<RemoteBlob> {
    if url.contains(['?', '#']) {
        return None;
    }
    let (scheme, rest) = url.split_once("://")?;
    let (authority, path) = rest.split_once('/')?;
    let path = format!("/{path}");
    let v2 = path.find("/v2/")?;
    let prefix = &path[..v2];
    let (repo, digest) = path[v2 + 4..].rsplit_once("/blobs/")?;
    let digest = check_digest(digest).ok()?;
    if authority.is_empty() || repo.is_empty() {
        return None;
    }
    Some(RemoteBlob {
        registry: authority.to_owned(),
        origin: format!("{scheme}://{authority}{prefix}"),
        repo: repo.to_owned(),
        digest,
    })
}

/// Parses `[REGISTRY/]REPO[:TAG]@DIGEST` as containerd normalizes references.
fn parse_reference(reference: &str, plain_http: bool) -> Result<RemoteBlob, String> {
    let (name, digest) = reference
        .rsplit_once('@')
        .ok_or_else(|| format!("{reference}: expected REGISTRY/REPO@sha256:..."))?;
    let digest = check_digest(digest).map_err(|e| format!("{reference}: {e}"))?;
    let (registry, repo) = match name.split_once('/') {
        Some((first, rest))
            if first.contains(['.', ':']) || first.eq_ignore_ascii_case("localhost") =>
        {
            (first.to_owned(), rest.to_owned())
        }
        Some(_) => ("docker.io".to_owned(), name.to_owned()),
        None => ("docker.io".to_owned(), format!("library/{name}")),
    };
    // A tag next to the digest says nothing more: drop it.
    let repo = match repo.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => repo.to_owned(),
        _ => repo,
    };
    if registry.is_empty() || repo.is_empty() {
        return Err(format!("{reference}: expected REGISTRY/REPO@sha256:..."));
    }
    let host = if registry == "docker.io" {
        "registry-1.docker.io"
    } else {
        registry.as_str()
    };
    let scheme = if plain_http || is_loopback(host) {
        "http"
    } else {
        "https"
    };
    Ok(RemoteBlob {
        origin: format!("{scheme}://{host}"),
        registry,
        repo,
        digest,
    })
}

fn check_digest(digest: &str) -> Result<String, String> {
    Digest::parse(digest)
        .map(|d| d.to_string())
        .map_err(|e| format!("{digest:?} is not a digest: {e}"))
}

/// Whether `authority` (host with an optional port) names this machine.
fn is_loopback(authority: &str) -> bool {
    let host = if let Some(rest) = authority.strip_prefix('[') {
        rest.split(']').next().unwrap_or(rest)
    } else {
        authority.split(':').next().unwrap_or(authority)
    };
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The endpoints for `blob`: `--mirror`s, then the configuration's mirrors, then the origin.
fn mirror_config(args: &CatArgs, blob: &RemoteBlob) -> Result<MirrorConfig, String> {
    let endpoint = |url: &str| Endpoint::new(url).map_err(|e| format!("{url}: {e}"));
    let mut config = None;
    if let Some(file) = &args.config {
        let shown = file.display();
        let bytes = std::fs::read(file).map_err(|e| format!("{shown}: {e}"))?;
        let loaded = parse_config(&bytes).map_err(|e| format!("{shown}: {e}"))?;
        for warning in &loaded.warnings {
            eprintln!("esgz: warning: {shown}: {warning}");
        }
        config = loaded.registry(&blob.registry).cloned();
        if config.is_none() {
            eprintln!(
                "esgz: warning: {shown} has no settings for {}; using the origin only",
                blob.registry
            );
        }
    }
    let mut config = match config {
        Some(mut config) => {
            if args.plain_http && config.origin.url.scheme_str() == Some("https") {
                let url = config.origin.url.to_string();
                let plain = format!("http://{}", url.trim_start_matches("https://"));
                config.origin.url = endpoint(&plain)?.url;
            }
            config
        }
        None => MirrorConfig::new(blob.registry.clone(), endpoint(&blob.origin)?),
    };
    let extra = args
        .mirrors
        .iter()
        .map(|url| endpoint(url))
        .collect::<Result<Vec<_>, _>>()?;
    config.mirrors.splice(0..0, extra);
    Ok(config)
}

fn cat_remote(args: &CatArgs, blob: &RemoteBlob) -> Result<(), String> {
    let name = blob.name();
    let config = mirror_config(args, blob)?;
    let mirrors = config.mirrors.len();
    // The size is not known from a descriptor: the reader learns it with a suffix range
    // (`bytes=-65536`) and keeps the tail, from which the footer and TOC are read.
    let source = RangeReader::new(config, &blob.repo, &blob.digest, None)
        .map_err(|e| format!("{name}: {e}"))?;
    cat_ranges(args, &name, source, |i| {
        if i < mirrors { "mirror" } else { "origin" }
    })
}

/// Reads a plain URL; `--mirror` and `--config` are usage errors (exit 2) with it.
fn cat_url(args: &CatArgs, url: &str) -> Result<(), String> {
    // The query may carry a signature: it is not shown.
    let name = url.split(['?', '#']).next().unwrap_or(url);
    if !args.mirrors.is_empty() || args.config.is_some() {
        clap::Error::raw(
            ErrorKind::ArgumentConflict,
            format!("--mirror and --config apply to registry blobs, not to the URL {name}\n"),
        )
        .exit();
    }
    let source = RangeReader::for_url(
        url,
        None,
        estargz_mirror::ReaderOptions::default(),
        Arc::new(UreqTransport::new()),
    )
    .map_err(|e| format!("{name}: {e}"))?;
    cat_ranges(args, name, source, |_| "url")
}

/// Prints the file from a remote blob; `--stats` names endpoint `i` by `role(i)`.
fn cat_ranges(
    args: &CatArgs,
    name: &str,
    source: RangeReader,
    role: impl Fn(usize) -> &'static str,
) -> Result<(), String> {
    let mut options = ReaderOptions::default();
    options.toc.expected_digest = args.toc_digest;
    let reader = if args.toc.toc_blob.is_some() {
        open_reader(source, name, &args.toc, options)?
    } else {
        source
            .open_estargz(options)
            .map_err(|e| open_error(name, &e))?
    };
    let delivered = copy_file(&reader, name, &args.path)?;
    if args.stats {
        let metrics = reader.source().metrics();
        for (i, endpoint) in metrics.endpoints.iter().enumerate() {
            eprintln!(
                "{} {} requests={} received={} failures={} fallbacks={} retries={}",
                role(i),
                endpoint.endpoint,
                endpoint.requests,
                endpoint.bytes_received,
                endpoint.failures,
                endpoint.fallbacks,
                endpoint.retries
            );
        }
        print_total(
            metrics.total_requests(),
            metrics.total_bytes_received(),
            delivered,
        );
    }
    Ok(())
}

fn cat_local(args: &CatArgs, path: &Path) -> Result<(), String> {
    let name = path.display().to_string();
    let file = File::open(path).map_err(|e| format!("{name}: {e}"))?;
    let source = Counting {
        inner: file,
        requests: AtomicU64::new(0),
        bytes: AtomicU64::new(0),
    };
    let mut options = ReaderOptions::default();
    options.toc.expected_digest = args.toc_digest;
    let reader = open_reader(source, &name, &args.toc, options)?;
    let delivered = copy_file(&reader, &name, &args.path)?;
    if args.stats {
        let source = reader.source();
        let requests = source.requests.load(Ordering::Relaxed);
        let received = source.bytes.load(Ordering::Relaxed);
        eprintln!("local requests={requests} received={received} failures=0 fallbacks=0");
        print_total(requests, received, delivered);
    }
    Ok(())
}

/// Writes file `path` of the blob to standard output; returns the bytes written.
fn copy_file<R: ReadAt>(reader: &Reader<R>, name: &str, path: &str) -> Result<u64, String> {
    let file = reader
        .open_file(path.as_bytes())
        .map_err(|e| format!("{name}: {e}"))?;
    let mut out = io::BufWriter::new(io::stdout().lock());
    let delivered = file.copy_to(&mut out).map_err(|e| format!("{name}: {e}"))?;
    out.flush()
        .map_err(|e| format!("writing standard output: {e}"))?;
    Ok(delivered)
}

/// The last line of `--stats`, the same for every kind of source.
fn print_total(requests: u64, received: u64, delivered: u64) {
    eprintln!("total requests={requests} received={received} delivered={delivered}");
}

/// A local file that counts the reads made of it.
#[derive(Debug)]
struct Counting {
    inner: File,
    requests: AtomicU64,
    bytes: AtomicU64,
}

impl ReadAt for Counting {
    fn size(&self) -> io::Result<u64> {
        self.inner.size()
    }

    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(buf.len() as u64, Ordering::Relaxed);
        self.inner.read_exact_at(offset, buf)
    }

    fn read_ranges(&self, ranges: &[Range<u64>]) -> io::Result<Vec<Vec<u8>>> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let parts = self.inner.read_ranges(ranges)?;
        let bytes: u64 = parts.iter().map(|p| p.len() as u64).sum();
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
        Ok(parts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "4f4fb700ef54461cfa02571ae0db9a0dc1e0cdb5577484a6d75e68dc38e8acc1";

    fn blob(registry: &str, origin: &str, repo: &str) -> RemoteBlob {
        RemoteBlob {
            registry: registry.to_owned(),
            origin: origin.to_owned(),
            repo: repo.to_owned(),
            digest: format!("sha256:{HEX}"),
        }
    }

    #[test]
    fn references_resolve_as_containerd_does() {
        let parse = |r: &str, plain| parse_reference(&format!("{r}@sha256:{HEX}"), plain);
        assert_eq!(
            parse("127.0.0.1:5000/library/ubuntu", false).unwrap(),
            blob("127.0.0.1:5000", "http://127.0.0.1:5000", "library/ubuntu")
        );
        assert_eq!(
            parse("localhost/a/b", false).unwrap(),
            blob("localhost", "http://localhost", "a/b")
        );
        assert_eq!(
            parse("ghcr.io/o/r:1.0", false).unwrap(),
            blob("ghcr.io", "https://ghcr.io", "o/r")
        );
        assert_eq!(
            parse("ghcr.io/o/r", true).unwrap(),
            blob("ghcr.io", "http://ghcr.io", "o/r")
        );
        assert_eq!(
            parse("ubuntu", false).unwrap(),
            blob(
                "docker.io",
                "https://registry-1.docker.io",
                "library/ubuntu"
            )
        );
        assert_eq!(
            parse("me/app", false).unwrap(),
            blob("docker.io", "https://registry-1.docker.io", "me/app")
        );
        assert!(parse_reference("ghcr.io/o/r@sha256:xyz", false).is_err());
    }

    #[test]
    fn blob_urls_split_into_base_repo_and_digest() {
        assert_eq!(
            parse_blob_url(&format!(
                "http://127.0.0.1:5000/v2/demo/repo/blobs/sha256:{HEX}"
            ))
            .unwrap(),
            blob("127.0.0.1:5000", "http://127.0.0.1:5000", "demo/repo")
        );
        assert_eq!(
            parse_blob_url(&format!(
                "https://m.example/cache/v2/a/b/blobs/sha256:{HEX}"
            ))
            .unwrap(),
            blob("m.example", "https://m.example/cache", "a/b")
        );
        for other in [
            "https://s3.example/bucket/blob?sig=1",
            "https://s3.example/bucket/blob",
            "https://s3.example/v2/a/blobs/sha256:1234",
            &format!("https://s3.example/v2/a/blobs/sha256:{HEX}?X-Sig=1"),
        ] {
            assert_eq!(parse_blob_url(other), None, "{other}");
        }
    }
}
