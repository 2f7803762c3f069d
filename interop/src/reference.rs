//! Building and running the reference Go program `interop/go/esgz-ref`
//! (Debian's estargz 0.12.0 compiled with Debian's Go 1.19, GOPATH mode,
//! offline).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use crate::cache::{FNV_OFFSET, fnv64, produce_once};
use crate::error::{Error, Result};
use crate::json::{self, Value};

/// Where Debian's `golang-github-containerd-stargz-snapshotter-dev` puts
/// the estargz sources.
pub const ESTARGZ_SRC: &str =
    "/usr/share/gocode/src/github.com/containerd/stargz-snapshotter/estargz";
/// The GOPATH of Debian's Go library packages.
pub const DEBIAN_GOPATH: &str = "/usr/share/gocode";
/// The command that installs everything the interop tests need.
pub const TEST_COMMAND: &str = "scripts/test-all.sh";

/// The Go program's source directory.
pub fn source_dir() -> PathBuf {
    program_dir("esgz-ref")
}

/// The source directory of the Go program `interop/go/<name>`.
fn program_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("go").join(name)
}

/// The `go` command: `$GO` if set, else `go` on `PATH`.
fn go_command() -> String {
    std::env::var("GO").unwrap_or_else(|_| "go".to_owned())
}

fn missing(what: &str) -> Error {
    Error::Setup(format!(
        "{what}. The interop tests need Debian's golang-go and \
         golang-github-containerd-stargz-snapshotter-dev (and python3); run the README's test \
         command `{TEST_COMMAND}` (as root it installs them with apt-get) or install them by hand. \
         These tests are never skipped."
    ))
}

/// Options of `esgz-ref build` (all `None`/empty: the reference's defaults).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuildOptions {
    /// `-level N`: gzip level (zstd level with `zstd`).
    pub level: Option<i32>,
    /// `-chunk-size N`.
    pub chunk_size: Option<u64>,
    /// `-prioritized a,b,c` (names must not contain commas).
    pub prioritized: Vec<String>,
    /// `-allow-missing`: `WithAllowPrioritizeNotFound`.
    pub allow_missing: bool,
    /// `-zstd`: the zstd:chunked compressor.
    pub zstd: bool,
}

/// What `esgz-ref build` printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildOutput {
    /// `sha256:<hex>` of the TOC JSON (`Blob.TOCDigest`).
    pub toc_digest: String,
    /// `sha256:<hex>` of the decompressed blob (`Blob.DiffID`).
    pub diff_id: String,
    /// Compressed blob size in bytes.
    pub blob_size: u64,
    /// Decompressed size in bytes (counted by the Go program).
    pub uncompressed_size: u64,
    /// `sha256:<hex>` of the blob bytes.
    pub blob_digest: String,
    /// With `allow_missing`: the prioritized names Build did not find.
    pub missed_prioritized: Option<Vec<String>>,
}

/// What `esgz-ref info` printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobInfo {
    /// `estargz`, `legacy-stargz` or `zstdchunked`.
    pub format: String,
    /// TOC offset from the footer.
    pub toc_offset: u64,
    /// Footer size (51, 47 or 40).
    pub footer_size: u64,
    /// `sha256:<hex>` of the raw TOC JSON.
    pub toc_digest: String,
    /// Number of TOC entries (chunks included).
    pub entries: u64,
    /// TOC `version`.
    pub version: i64,
}

/// One line of `esgz-ref verify`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedFile {
    /// Cleaned path (reader semantics; invalid UTF-8 already U+FFFD in the TOC).
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// Lowercase hex sha256 of the content (no `sha256:` prefix).
    pub sha256: String,
}

/// The built reference program.
#[derive(Debug)]
pub struct Reference {
    bin: PathBuf,
    key: String,
}

static REFERENCE: OnceLock<std::result::Result<Reference, String>> = OnceLock::new();

/// Builds the reference program once per process (and once across
/// concurrent test processes, rebuilding when `main.go` or the Go toolchain
/// changes) under `work_dir/esgz-ref/`, and returns it. `work_dir` is
/// normally `env!("CARGO_TARGET_TMPDIR")` (see [`crate::work_dir!`]); only
/// the first call's `work_dir` is used in a process.
///
/// Fails with [`Error::Setup`] when `go` or the Debian package is missing.
pub fn reference(work_dir: &Path) -> Result<&'static Reference> {
    REFERENCE
        .get_or_init(|| build_reference(work_dir).map_err(Error::into_setup_message))
        .as_ref()
        .map_err(|m| Error::Setup(m.clone()))
}

fn go_env(cmd: &mut Command, cache: &Path) {
    cmd.env("GO111MODULE", "off")
        .env("GOPATH", DEBIAN_GOPATH)
        .env("GOFLAGS", "")
        .env("GOPROXY", "off")
        .env("GOTOOLCHAIN", "local")
        .env("CGO_ENABLED", "0")
        .env("GOCACHE", cache);
}

fn build_reference(work_dir: &Path) -> Result<Reference> {
    if !Path::new(ESTARGZ_SRC).join("build.go").is_file() {
        return Err(missing(&format!("{ESTARGZ_SRC} does not exist")));
    }
    let estargz_build = fs::read(Path::new(ESTARGZ_SRC).join("build.go"))
        .map_err(|e| Error::io("reading estargz", None, e))?;
    let (bin, key) = build_go_program(
        work_dir,
        "esgz-ref",
        &estargz_build,
        "golang-github-containerd-stargz-snapshotter-dev",
    )?;
    Ok(Reference { bin, key })
}

/// Builds the Go program `interop/go/<name>` in GOPATH mode against [`DEBIAN_GOPATH`] under
/// `work_dir/<name>/`, once across concurrent test processes and again only when its
/// `main.go`, the Go toolchain or `extra_key` (say, a library source it depends on)
/// changes. Returns the binary and the cache key; `package` names the Debian package whose
/// absence would make the build fail.
pub(crate) fn build_go_program(
    work_dir: &Path,
    name: &str,
    extra_key: &[u8],
    package: &str,
) -> Result<(PathBuf, String)> {
    let go = go_command();
    let version = Command::new(&go)
        .arg("version")
        .output()
        .map_err(|e| missing(&format!("cannot run `{go} version`: {e}")))?;
    if !version.status.success() {
        return Err(missing(&format!("`{go} version` failed")));
    }
    let src = program_dir(name);
    let main_go = src.join("main.go");
    let code =
        fs::read(&main_go).map_err(|e| Error::io("reading the Go program", Some(&main_go), e))?;
    let mut h = fnv64(FNV_OFFSET, &code);
    h = fnv64(h, &version.stdout);
    h = fnv64(h, extra_key);
    let key = format!("{name} {h:016x}");

    let dir = work_dir.join(name);
    let bin = dir.join(name);
    produce_once(&dir.join("stamp"), &key, || {
        let tmp = dir.join(format!("{name}.tmp{}", std::process::id()));
        let mut cmd = Command::new(&go);
        cmd.arg("build")
            .arg("-o")
            .arg(&tmp)
            .arg(".")
            .current_dir(&src);
        go_env(&mut cmd, &dir.join("gocache"));
        let out = cmd
            .output()
            .map_err(|e| missing(&format!("cannot run `{go} build`: {e}")))?;
        if !out.status.success() {
            return Err(Error::Setup(format!(
                "building {} in GOPATH mode against {DEBIAN_GOPATH} failed (is \
                 {package} installed? run `{TEST_COMMAND}`):\n{}",
                src.display(),
                String::from_utf8_lossy(&out.stderr)
            )));
        }
        fs::rename(&tmp, &bin).map_err(|e| Error::io(format!("installing {name}"), Some(&bin), e))
    })?;
    Ok((bin, key))
}

fn json_line(stdout: &[u8], what: &str) -> Result<Value> {
    let text = std::str::from_utf8(stdout)
        .map_err(|e| Error::Parse(format!("{what}: output not UTF-8: {e}")))?;
    json::parse(text.trim_end()).map_err(|e| Error::Parse(format!("{what}: {e}: {text:?}")))
}

fn field_str(v: &Value, k: &str, what: &str) -> Result<String> {
    v.get(k)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| Error::Parse(format!("{what}: no string `{k}`")))
}

fn field_u64(v: &Value, k: &str, what: &str) -> Result<u64> {
    v.get(k)
        .and_then(Value::as_u64)
        .ok_or_else(|| Error::Parse(format!("{what}: no integer `{k}`")))
}

impl Reference {
    /// Path of the built binary.
    pub fn path(&self) -> &Path {
        &self.bin
    }

    /// Cache key of this build (hash of the Go source, toolchain, estargz).
    pub fn cache_key(&self) -> &str {
        &self.key
    }

    /// A command for `esgz-ref <subcommand>` with `GOMAXPROCS=1` (the
    /// reference's Build output depends on it).
    pub fn command(&self, subcommand: &str) -> Command {
        let mut c = Command::new(&self.bin);
        c.arg(subcommand)
            .env("GOMAXPROCS", "1")
            .stdin(Stdio::null());
        c
    }

    /// Runs a subcommand; non-zero exit is [`Error::Reference`].
    pub fn run<I, S>(&self, subcommand: &str, args: I) -> Result<Output>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let out =
            self.command(subcommand).args(args).output().map_err(|e| {
                Error::io(format!("running esgz-ref {subcommand}"), Some(&self.bin), e)
            })?;
        if !out.status.success() {
            return Err(Error::Reference {
                subcommand: subcommand.to_owned(),
                code: out.status.code(),
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            });
        }
        Ok(out)
    }

    /// `esgz-ref build IN OUT [options]`: `estargz.Build`, blob written to `output`.
    pub fn build(&self, input: &Path, output: &Path, opts: &BuildOptions) -> Result<BuildOutput> {
        let mut args: Vec<std::ffi::OsString> = vec![input.into(), output.into()];
        if let Some(l) = opts.level {
            args.extend(["-level".into(), l.to_string().into()]);
        }
        if let Some(c) = opts.chunk_size {
            args.extend(["-chunk-size".into(), c.to_string().into()]);
        }
        if !opts.prioritized.is_empty() {
            args.extend(["-prioritized".into(), opts.prioritized.join(",").into()]);
        }
        if opts.allow_missing {
            args.push("-allow-missing".into());
        }
        if opts.zstd {
            args.push("-zstd".into());
        }
        let out = self.run("build", &args)?;
        let v = json_line(&out.stdout, "build")?;
        let missed_prioritized = match v.get("missed_prioritized") {
            None => None,
            Some(a) => Some(
                a.as_array()
                    .ok_or_else(|| Error::Parse("build: missed_prioritized not an array".into()))?
                    .iter()
                    .map(|s| s.as_str().map(str::to_owned))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| Error::Parse("build: missed_prioritized not strings".into()))?,
            ),
        };
        Ok(BuildOutput {
            toc_digest: field_str(&v, "toc_digest", "build")?,
            diff_id: field_str(&v, "diff_id", "build")?,
            blob_size: field_u64(&v, "blob_size", "build")?,
            uncompressed_size: field_u64(&v, "uncompressed_size", "build")?,
            blob_digest: field_str(&v, "blob_digest", "build")?,
            missed_prioritized,
        })
    }

    /// `esgz-ref toc BLOB`: the TOC JSON bytes exactly as stored.
    pub fn toc(&self, blob: &Path) -> Result<Vec<u8>> {
        Ok(self.run("toc", [blob])?.stdout)
    }

    /// `esgz-ref info BLOB`.
    pub fn info(&self, blob: &Path) -> Result<BlobInfo> {
        let out = self.run("info", [blob])?;
        let v = json_line(&out.stdout, "info")?;
        Ok(BlobInfo {
            format: field_str(&v, "format", "info")?,
            toc_offset: field_u64(&v, "toc_offset", "info")?,
            footer_size: field_u64(&v, "footer_size", "info")?,
            toc_digest: field_str(&v, "toc_digest", "info")?,
            entries: field_u64(&v, "entries", "info")?,
            version: v.get("version").and_then(Value::as_i64).unwrap_or_default(),
        })
    }

    /// `esgz-ref verify BLOB TOCDIGEST`: `Open` + `VerifyTOC`, every regular
    /// file read chunk by chunk and checked; one entry per `reg` TOC entry in
    /// TOC order (hardlinks are not listed).
    pub fn verify(&self, blob: &Path, toc_digest: &str) -> Result<Vec<VerifiedFile>> {
        let out = self.run("verify", [blob.as_os_str(), toc_digest.as_ref()])?;
        let text = String::from_utf8(out.stdout)
            .map_err(|e| Error::Parse(format!("verify: not UTF-8: {e}")))?;
        text.lines()
            .map(|line| {
                let v = json::parse(line)
                    .map_err(|e| Error::Parse(format!("verify: {e}: {line:?}")))?;
                Ok(VerifiedFile {
                    path: field_str(&v, "path", "verify")?,
                    size: field_u64(&v, "size", "verify")?,
                    sha256: field_str(&v, "sha256", "verify")?,
                })
            })
            .collect()
    }

    /// `esgz-ref retar IN OUT`: re-encode every header the way
    /// `estargz.Build` does (Go archive/tar pass, then tar-split pass with a
    /// flush per entry), ending with a normal trailer. With `single_pass`
    /// only the Go archive/tar pass runs.
    pub fn retar(&self, input: &Path, output: &Path, single_pass: bool) -> Result<()> {
        let mut args = vec![input.as_os_str(), output.as_os_str()];
        if single_pass {
            args.push("-single".as_ref());
        }
        self.run("retar", args).map(drop)
    }

    /// `esgz-ref extract BLOB TOCDIGEST DIR`: verified reference extraction.
    pub fn extract(&self, blob: &Path, toc_digest: &str, dir: &Path) -> Result<()> {
        self.run(
            "extract",
            [blob.as_os_str(), toc_digest.as_ref(), dir.as_os_str()],
        )
        .map(drop)
    }
}
