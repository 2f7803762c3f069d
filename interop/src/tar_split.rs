//! Building and running `interop/go/tarsplit-ref`: Debian's tar-split library
//! (`golang-github-vbatts-tar-split-dev`), which containers/storage uses for the tar-split
//! data of zstd:chunked v2 blobs.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use crate::error::{Error, Result};
use crate::reference::{DEBIAN_GOPATH, build_go_program};

/// Where Debian's `golang-github-vbatts-tar-split-dev` puts tar-split's sources.
pub const TAR_SPLIT_SRC: &str = "/usr/share/gocode/src/github.com/vbatts/tar-split";

/// The built `tarsplit-ref` program.
#[derive(Debug)]
pub struct TarSplitRef {
    bin: PathBuf,
}

static TAR_SPLIT_REF: OnceLock<std::result::Result<TarSplitRef, String>> = OnceLock::new();

/// Builds `tarsplit-ref` once per process (as [`crate::reference()`] builds `esgz-ref`) and
/// returns it. Fails with [`Error::Setup`] when Go or the Debian package is missing.
pub fn tar_split_ref(work_dir: &Path) -> Result<&'static TarSplitRef> {
    TAR_SPLIT_REF
        .get_or_init(|| build(work_dir).map_err(Error::into_setup_message))
        .as_ref()
        .map_err(|m| Error::Setup(m.clone()))
}

fn build(work_dir: &Path) -> Result<TarSplitRef> {
    let disassemble = Path::new(TAR_SPLIT_SRC).join("tar/asm/disassemble.go");
    let source = std::fs::read(&disassemble).map_err(|e| {
        Error::Setup(format!(
            "{} is missing ({e}): install golang-github-vbatts-tar-split-dev into \
             {DEBIAN_GOPATH} (scripts/test-all.sh does)",
            disassemble.display()
        ))
    })?;
    let (bin, _) = build_go_program(
        work_dir,
        "tarsplit-ref",
        &source,
        "golang-github-vbatts-tar-split-dev",
    )?;
    Ok(TarSplitRef { bin })
}

impl TarSplitRef {
    fn run(&self, subcommand: &str, args: &[&Path]) -> Result<Output> {
        let out = Command::new(&self.bin)
            .arg(subcommand)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| {
                Error::io(
                    format!("running tarsplit-ref {subcommand}"),
                    Some(&self.bin),
                    e,
                )
            })?;
        if !out.status.success() {
            return Err(Error::Reference {
                subcommand: format!("tarsplit-ref {subcommand}"),
                code: out.status.code(),
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            });
        }
        Ok(out)
    }

    /// The tar-split JSON lines tar-split writes for `tar`, read as containers/storage's
    /// compressor reads a layer.
    pub fn disassemble(&self, tar: &Path) -> Result<Vec<u8>> {
        Ok(self.run("disasm", &[tar])?.stdout)
    }

    /// Rebuilds a tar at `out` from tar-split JSON lines (`jsonl`) and the file contents
    /// under `root` (each at `root/<tar name>`); tar-split checks every file's CRC-64.
    pub fn assemble(&self, jsonl: &Path, root: &Path, out: &Path) -> Result<()> {
        self.run("asm", &[jsonl, root, out]).map(drop)
    }
}
