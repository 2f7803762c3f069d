//! The generated corpus of tricky tars (`interop/corpus/gen_corpus.py`) and
//! its manifest.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::cache::{FNV_OFFSET, fnv64, produce_once};
use crate::error::{Error, Result};
use crate::json::{self, Value};
use crate::reference::{TEST_COMMAND, reference};

/// The generator script.
pub fn generator_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join("gen_corpus.py")
}

/// A regular file the reference lists for a tar (manifest
/// `expected_regular_files`), in Build order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedFile {
    /// Cleaned path, invalid UTF-8 replaced by U+FFFD as Go's JSON does.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// Lowercase hex sha256 of the content.
    pub sha256: String,
}

/// One tar of the corpus.
#[derive(Debug, Clone)]
pub struct CorpusTar {
    /// File name, e.g. `hardlinks.tar`.
    pub file: String,
    /// Full path.
    pub path: PathBuf,
    /// One-line description.
    pub description: String,
    /// Feature tags (`pax`, `gnu`, `hardlink`, `sparse`, ...).
    pub features: Vec<String>,
    /// Whether the reference `estargz.Build` accepts it (measured).
    pub reference_accepts: bool,
    /// Build's error message when it does not.
    pub reference_error: Option<String>,
    /// Extra chunk sizes worth building this tar with.
    pub suggested_chunk_sizes: Vec<u64>,
    /// The regular files `esgz-ref verify` lists (without the landmark).
    pub expected_regular_files: Vec<ExpectedFile>,
}

/// The whole corpus.
#[derive(Debug)]
pub struct Corpus {
    /// Directory holding the tars and `manifest.json`.
    pub dir: PathBuf,
    /// Every tar, in manifest order.
    pub tars: Vec<CorpusTar>,
}

impl Corpus {
    /// The tars the reference accepts (used in byte-compatibility tests).
    pub fn accepted(&self) -> impl Iterator<Item = &CorpusTar> {
        self.tars.iter().filter(|t| t.reference_accepts)
    }

    /// The tars the reference rejects.
    pub fn rejected(&self) -> impl Iterator<Item = &CorpusTar> {
        self.tars.iter().filter(|t| !t.reference_accepts)
    }

    /// A tar by file name.
    pub fn get(&self, file: &str) -> Option<&CorpusTar> {
        self.tars.iter().find(|t| t.file == file)
    }
}

static CORPUS: OnceLock<std::result::Result<Corpus, String>> = OnceLock::new();

/// Generates the corpus once (across concurrent test processes too; again
/// when the generator or the reference program changes) into
/// `work_dir/corpus/`, measuring `reference_accepts` with the reference,
/// and returns its parsed manifest. Builds the reference first.
pub fn corpus(work_dir: &Path) -> Result<&'static Corpus> {
    CORPUS
        .get_or_init(|| generate(work_dir).map_err(Error::into_setup_message))
        .as_ref()
        .map_err(|m| Error::Setup(m.clone()))
}

fn generate(work_dir: &Path) -> Result<Corpus> {
    let reference = reference(work_dir)?;
    let script = generator_path();
    let code = fs::read(&script)
        .map_err(|e| Error::io("reading the corpus generator", Some(&script), e))?;
    let key = format!(
        "corpus {:016x} {}",
        fnv64(FNV_OFFSET, &code),
        reference.cache_key()
    );
    let dir = work_dir.join("corpus");
    produce_once(&work_dir.join("corpus.stamp"), &key, || {
        let _ = fs::remove_dir_all(&dir);
        let out = Command::new("python3")
            .arg(&script)
            .arg(&dir)
            .arg("--ref")
            .arg(reference.path())
            .output()
            .map_err(|e| {
                Error::Setup(format!(
                    "cannot run python3 ({e}); run `{TEST_COMMAND}` to install it"
                ))
            })?;
        if !out.status.success() {
            return Err(Error::Setup(format!(
                "{} failed:\n{}",
                script.display(),
                String::from_utf8_lossy(&out.stderr)
            )));
        }
        Ok(())
    })?;
    load_manifest(&dir)
}

/// Parses `dir/manifest.json`.
pub fn load_manifest(dir: &Path) -> Result<Corpus> {
    let mpath = dir.join("manifest.json");
    let bytes =
        fs::read(&mpath).map_err(|e| Error::io("reading the corpus manifest", Some(&mpath), e))?;
    let v =
        json::parse_bytes(&bytes).map_err(|e| Error::Parse(format!("{}: {e}", mpath.display())))?;
    let bad = |what: &str| Error::Parse(format!("{}: {what}", mpath.display()));
    let tars = v
        .get("tars")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("no `tars` array"))?;
    let mut out = Vec::with_capacity(tars.len());
    for t in tars {
        let s = |k: &str| {
            t.get(k)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| bad(k))
        };
        let file = s("file")?;
        let strings = |k: &str| -> Result<Vec<String>> {
            t.get(k)
                .and_then(Value::as_array)
                .ok_or_else(|| bad(k))?
                .iter()
                .map(|x| x.as_str().map(str::to_owned).ok_or_else(|| bad(k)))
                .collect()
        };
        let expected = t
            .get("expected_regular_files")
            .and_then(Value::as_array)
            .ok_or_else(|| bad("expected_regular_files"))?
            .iter()
            .map(|f| {
                Ok(ExpectedFile {
                    path: f
                        .get("path")
                        .and_then(Value::as_str)
                        .ok_or_else(|| bad("path"))?
                        .to_owned(),
                    size: f
                        .get("size")
                        .and_then(Value::as_u64)
                        .ok_or_else(|| bad("size"))?,
                    sha256: f
                        .get("sha256")
                        .and_then(Value::as_str)
                        .ok_or_else(|| bad("sha256"))?
                        .to_owned(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        out.push(CorpusTar {
            path: dir.join(&file),
            description: s("description")?,
            features: strings("features")?,
            reference_accepts: t
                .get("reference_accepts")
                .and_then(Value::as_bool)
                .ok_or_else(|| bad("accepts"))?,
            reference_error: t
                .get("reference_error")
                .and_then(Value::as_str)
                .map(str::to_owned),
            suggested_chunk_sizes: t
                .get("suggested_chunk_sizes")
                .and_then(Value::as_array)
                .ok_or_else(|| bad("suggested_chunk_sizes"))?
                .iter()
                .map(|x| x.as_u64().ok_or_else(|| bad("suggested_chunk_sizes")))
                .collect::<Result<Vec<_>>>()?,
            expected_regular_files: expected,
            file,
        });
    }
    Ok(Corpus {
        dir: dir.to_path_buf(),
        tars: out,
    })
}
