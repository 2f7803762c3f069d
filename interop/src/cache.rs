//! Build-once caching shared by parallel test processes: a directory lock
//! (atomic `mkdir`, stale locks of dead processes are broken) plus a stamp
//! file holding the hash of the inputs.

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use crate::error::{Error, Result};

/// 64-bit FNV-1a, continued from `h` (start with [`FNV_OFFSET`]).
pub(crate) fn fnv64(h: u64, data: &[u8]) -> u64 {
    let mut h = h;
    for &b in data {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// FNV-1a offset basis.
pub(crate) const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// How long to wait for another process that holds the lock.
const LOCK_TIMEOUT: Duration = Duration::from_secs(20 * 60);
/// A lock directory older than this is considered abandoned.
const LOCK_STALE: Duration = Duration::from_secs(30 * 60);

struct DirLock {
    path: PathBuf,
}

impl DirLock {
    fn acquire(path: &Path) -> Result<DirLock> {
        let start = Instant::now();
        loop {
            match fs::create_dir(path) {
                Ok(()) => {
                    let pid = std::process::id().to_string();
                    fs::write(path.join("pid"), pid)
                        .map_err(|e| Error::io("writing lock pid", Some(path), e))?;
                    return Ok(DirLock {
                        path: path.to_path_buf(),
                    });
                }
                Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                    if lock_is_stale(path) {
                        let _ = fs::remove_dir_all(path);
                        continue;
                    }
                    if start.elapsed() > LOCK_TIMEOUT {
                        return Err(Error::Setup(format!(
                            "timed out waiting for lock {} (remove it if no test is running)",
                            path.display()
                        )));
                    }
                    std::thread::sleep(Duration::from_millis(200));
                }
                Err(e) => return Err(Error::io("creating lock directory", Some(path), e)),
            }
        }
    }
}

impl Drop for DirLock {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

fn lock_is_stale(path: &Path) -> bool {
    let age = fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .unwrap_or_default();
    if age > LOCK_STALE {
        return true;
    }
    match fs::read_to_string(path.join("pid")) {
        // The owner is gone (Linux /proc); the pid file may be missing for a
        // moment right after mkdir, so only a written pid counts.
        Ok(pid) => {
            let pid = pid.trim();
            !pid.is_empty() && !Path::new("/proc").join(pid).exists()
        }
        Err(_) => age > Duration::from_secs(10),
    }
}

/// Runs `produce` unless `stamp` already holds `key`; holds the lock
/// `stamp` + `.lock` meanwhile so that concurrent processes produce once.
pub(crate) fn produce_once(
    stamp: &Path,
    key: &str,
    produce: impl FnOnce() -> Result<()>,
) -> Result<()> {
    let fresh = || fs::read_to_string(stamp).map(|s| s == key).unwrap_or(false);
    if fresh() {
        return Ok(());
    }
    if let Some(parent) = stamp.parent() {
        fs::create_dir_all(parent)
            .map_err(|e| Error::io("creating cache directory", Some(parent), e))?;
    }
    let mut lock_path = stamp.as_os_str().to_owned();
    lock_path.push(".lock");
    let _lock = DirLock::acquire(Path::new(&lock_path))?;
    if fresh() {
        return Ok(());
    }
    let _ = fs::remove_file(stamp);
    produce()?;
    let mut tmp = stamp.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    fs::write(&tmp, key).map_err(|e| Error::io("writing stamp", Some(&tmp), e))?;
    fs::rename(&tmp, stamp).map_err(|e| Error::io("renaming stamp", Some(stamp), e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_known_value() {
        assert_eq!(fnv64(FNV_OFFSET, b"a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn produces_once() {
        let dir = std::env::temp_dir().join(format!("interop-cache-test-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let stamp = dir.join("stamp");
        let mut runs = 0;
        for _ in 0..3 {
            produce_once(&stamp, "k1", || {
                runs += 1;
                Ok(())
            })
            .expect("produce");
        }
        produce_once(&stamp, "k2", || {
            runs += 1;
            Ok(())
        })
        .expect("produce");
        assert_eq!(runs, 2);
        let _ = fs::remove_dir_all(&dir);
    }
}
