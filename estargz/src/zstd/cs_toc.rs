//! Reading a containers/storage zstd:chunked manifest as an eStargz TOC.
//!
//! The eStargz TOC parser reads the manifest JSON as it is: the field names it shares
//! (`type`, `name`, `linkName`, `mode`, `size`, `uid`, `gid`, `modtime`, `devMajor`,
//! `devMinor`, `xattrs`, `digest`, `offset`, `chunkSize`, `chunkOffset`, `chunkDigest`)
//! mean the same, and the others (`accesstime`, `changetime`, `endOffset`, `chunkType`,
//! `tarSplitDigest`) are skipped. Chunks of type `zeros` are stored as frames like any
//! other, so they read the same way. What differs is filled in here:
//!
//! - a file stored in one chunk has no `chunkDigest`: its `digest` is that chunk's digest;
//! - `size` is the tar header's size field for every entry type; the eStargz model keeps
//!   it for regular files only.
//!
//! The manifest records no owner names; the reader does not compare them with the tar
//! headers for these blobs.

use estargz_toc::{EntryType, Toc};

/// Maps a containers/storage manifest, parsed as a TOC, to the eStargz TOC model (see the
/// module documentation).
pub fn manifest_to_toc(mut toc: Toc) -> Toc {
    let kinds: Vec<EntryType> = toc.entries.iter().map(|e| e.kind.clone()).collect();
    for (i, entry) in toc.entries.iter_mut().enumerate() {
        match entry.kind {
            EntryType::Reg => {
                let chunked = kinds.get(i + 1) == Some(&EntryType::Chunk);
                if !chunked && entry.chunk_digest.is_empty() {
                    entry.chunk_digest.clone_from(&entry.digest);
                }
            }
            EntryType::Chunk => {}
            _ => entry.size = 0,
        }
    }
    toc
}

#[cfg(test)]
mod tests {
    use super::*;
    use estargz_toc::Limits;

    #[test]
    fn single_chunk_files_get_their_digest_and_sizes_follow_the_model() {
        let json = br#"{"version":1,"entries":[
            {"type":"reg","name":"one","size":3,"digest":"sha256:aa","offset":10,"endOffset":20},
            {"type":"reg","name":"two","size":9,"digest":"sha256:bb","offset":20,"endOffset":40,
             "chunkSize":4,"chunkDigest":"sha256:b1"},
            {"type":"chunk","name":"two","offset":30,"chunkSize":5,"chunkOffset":4,
             "chunkDigest":"sha256:b2","chunkType":"zeros"},
            {"type":"hardlink","name":"h","linkName":"one","size":3}
        ],"tarSplitDigest":"sha256:cc"}"#;
        let toc = manifest_to_toc(Toc::from_json(json, &Limits::default()).unwrap());
        let e = &toc.entries;
        assert_eq!(e[0].chunk_digest, "sha256:aa");
        assert_eq!(e[1].chunk_digest, "sha256:b1");
        assert_eq!(e[2].chunk_digest, "sha256:b2");
        assert_eq!((e[2].chunk_offset, e[2].chunk_size), (4, 5));
        assert_eq!(e[3].size, 0);
        assert_eq!(e[0].size, 3);
    }
}
