//! Real layers: a tar of a Debian minimal root filesystem (`debootstrap --variant=minbase`),
//! made once per target directory and shared by every test and bench that needs it.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::cache::produce_once;
use crate::error::{Error, Result};
use crate::reference::TEST_COMMAND;

/// Bump to rebuild cached layers when the recipe below changes.
const RECIPE_VERSION: &str = "minbase-1";

static MINBASE: OnceLock<std::result::Result<PathBuf, String>> = OnceLock::new();

/// A tar of a `debootstrap --variant=minbase` root filesystem of this machine's Debian
/// release, built once into `work_dir/layers/` (about 200 MB, a few minutes the first time),
/// from the Debian mirror this machine's apt sources name.
///
/// Fails with [`Error::Setup`] when debootstrap is missing or fails (it needs root).
pub fn minbase_tar(work_dir: &Path) -> Result<&'static Path> {
    MINBASE
        .get_or_init(|| build_minbase(work_dir).map_err(Error::into_setup_message))
        .as_deref()
        .map_err(|m| Error::Setup(m.clone()))
}

fn build_minbase(work_dir: &Path) -> Result<PathBuf> {
    let dir = work_dir.join("layers");
    let tar = dir.join("minbase.tar");
    let suite = os_release_codename()?;
    let mirror = apt_mirror();
    let key = format!(
        "{RECIPE_VERSION} {suite} {}",
        mirror.as_deref().unwrap_or("-")
    );
    produce_once(&dir.join("minbase.stamp"), &key, || {
        let root = dir.join("minbase-root");
        let _ = fs::remove_dir_all(&root);
        fs::create_dir_all(&dir).map_err(|e| Error::io("creating layers dir", Some(&dir), e))?;
        let mut debootstrap = Command::new("debootstrap");
        debootstrap.args(["--variant=minbase", &suite]).arg(&root);
        if let Some(mirror) = &mirror {
            debootstrap.arg(mirror);
        }
        run(&mut debootstrap, "debootstrap --variant=minbase")?;
        let mut tar_cmd = Command::new("tar");
        tar_cmd
            .args(["--numeric-owner", "--sort=name", "-cf"])
            .arg(&tar)
            .arg("-C")
            .arg(&root)
            .arg(".");
        run(&mut tar_cmd, "tar of the minbase root")?;
        let _ = fs::remove_dir_all(&root);
        Ok(())
    })?;
    Ok(tar)
}

fn run(command: &mut Command, what: &str) -> Result<()> {
    let out = command.output().map_err(|e| {
        Error::Setup(format!(
            "cannot run {what} ({e}); run `{TEST_COMMAND}` as root to install debootstrap"
        ))
    })?;
    if !out.status.success() {
        return Err(Error::Setup(format!(
            "{what} failed (it needs root and the Debian mirror of the apt sources):\n{}",
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(())
}

/// `VERSION_CODENAME` from `/etc/os-release` (e.g. `bookworm`).
fn os_release_codename() -> Result<String> {
    let text = fs::read_to_string("/etc/os-release")
        .map_err(|e| Error::io("reading", Some(Path::new("/etc/os-release")), e))?;
    text.lines()
        .find_map(|line| line.strip_prefix("VERSION_CODENAME="))
        .map(|v| v.trim_matches('"').to_owned())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| Error::Setup("no VERSION_CODENAME in /etc/os-release".into()))
}

/// The first Debian archive URI of the apt sources (deb822 `URIs:` or one-line `deb`
/// entries), so debootstrap uses the same mirror apt does; `None` lets debootstrap pick its
/// default.
fn apt_mirror() -> Option<String> {
    let mut files = vec![PathBuf::from("/etc/apt/sources.list")];
    if let Ok(dir) = fs::read_dir("/etc/apt/sources.list.d") {
        let mut extra: Vec<PathBuf> = dir.filter_map(|e| e.ok().map(|e| e.path())).collect();
        extra.sort();
        files.extend(extra);
    }
    for file in files {
        let is_sources = file
            .extension()
            .is_some_and(|e| e == "sources" || e == "list");
        let Ok(text) = fs::read_to_string(&file) else {
            continue;
        };
        if !is_sources {
            continue;
        }
        for line in text.lines().map(str::trim) {
            let uri = line
                .strip_prefix("URIs:")
                .and_then(|rest| rest.split_whitespace().next())
                .or_else(|| {
                    let mut words = line.strip_prefix("deb ")?.split_whitespace();
                    words.find(|w| !w.starts_with('['))
                });
            if let Some(uri) = uri
                && uri.trim_end_matches('/').ends_with("/debian")
            {
                return Some(uri.to_owned());
            }
        }
    }
    None
}
