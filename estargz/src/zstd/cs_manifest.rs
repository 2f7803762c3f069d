//! The TOC ("manifest") JSON current containers/storage writes for zstd:chunked: compact
//! JSON of its `TOC` and `FileMetadata` types, with Go's `encoding/json` rules (fields in
//! declaration order, empty values omitted, map keys sorted, `<`, `>`, `&` escaped).
//!
//! ```text
//! {"version":1,"entries":[ENTRY,...],"tarSplitDigest":"sha256:..."}
//! ENTRY: type, name, linkName, mode, size, uid, gid, modtime, accesstime, changetime,
//!        devMajor, devMinor, xattrs, digest, offset, endOffset, chunkSize, chunkOffset,
//!        chunkDigest, chunkType
//! ```
//!
//! Times are RFC 3339 with nanoseconds, trailing zeros dropped (Go's `time.Time` JSON) in
//! UTC; xattr values are base64; `entries` is `null` when there are none. Our reader reads
//! this JSON with the eStargz TOC parser, which skips the fields eStargz lacks; see
//! [`super::cs_toc`] for the rest of the mapping.

use std::collections::BTreeMap;

use estargz_toc::GoString;
use estargz_toc::json::{write_base64, write_string};
use estargz_verifier::Digest;

use crate::tar::TarTime;

/// The `chunkType` of a chunk of zeros.
pub(crate) const CHUNK_TYPE_ZEROS: &str = "zeros";

/// One manifest entry (a `FileMetadata`); zero and empty fields are omitted.
#[derive(Clone, Debug, Default)]
pub(crate) struct Meta<'a> {
    pub(crate) kind: &'a str,
    pub(crate) name: &'a [u8],
    pub(crate) link_name: &'a [u8],
    pub(crate) mode: i64,
    pub(crate) size: i64,
    pub(crate) uid: i64,
    pub(crate) gid: i64,
    pub(crate) modtime: Option<TarTime>,
    pub(crate) accesstime: Option<TarTime>,
    pub(crate) changetime: Option<TarTime>,
    pub(crate) dev_major: i64,
    pub(crate) dev_minor: i64,
    pub(crate) xattrs: BTreeMap<GoString, Vec<u8>>,
    pub(crate) digest: Option<Digest>,
    pub(crate) offset: u64,
    pub(crate) end_offset: u64,
    pub(crate) chunk_size: u64,
    pub(crate) chunk_offset: u64,
    pub(crate) chunk_digest: Option<Digest>,
    pub(crate) chunk_zeros: bool,
}

/// Writes the manifest JSON around `entries` (each already written by [`write_entry`],
/// comma-separated) and the tar-split digest.
pub(crate) fn write_manifest(entries: &[u8], tar_split_digest: &Digest) -> Vec<u8> {
    let mut out = Vec::with_capacity(entries.len() + 120);
    out.extend_from_slice(br#"{"version":1,"entries":"#);
    if entries.is_empty() {
        out.extend_from_slice(b"null");
    } else {
        out.push(b'[');
        out.extend_from_slice(entries);
        out.push(b']');
    }
    out.extend_from_slice(br#","tarSplitDigest":"#);
    write_string(&mut out, tar_split_digest.to_string().as_bytes());
    out.push(b'}');
    out
}

/// Appends one entry object to `out`, preceded by a comma unless `out` is empty.
pub(crate) fn write_entry(out: &mut Vec<u8>, m: &Meta<'_>) {
    if !out.is_empty() {
        out.push(b',');
    }
    out.extend_from_slice(br#"{"type":"#);
    write_string(out, m.kind.as_bytes());
    out.extend_from_slice(br#","name":"#);
    write_string(out, m.name);
    if !m.link_name.is_empty() {
        out.extend_from_slice(br#","linkName":"#);
        write_string(out, m.link_name);
    }
    put_int(out, "mode", m.mode);
    put_int(out, "size", m.size);
    put_int(out, "uid", m.uid);
    put_int(out, "gid", m.gid);
    for (key, time) in [
        ("modtime", m.modtime),
        ("accesstime", m.accesstime),
        ("changetime", m.changetime),
    ] {
        if let Some(t) = time {
            out.extend_from_slice(format!(r#","{key}":"{}""#, rfc3339_nano(t)).as_bytes());
        }
    }
    put_int(out, "devMajor", m.dev_major);
    put_int(out, "devMinor", m.dev_minor);
    if !m.xattrs.is_empty() {
        out.extend_from_slice(br#","xattrs":{"#);
        for (i, (key, value)) in m.xattrs.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_string(out, key.as_bytes());
            out.push(b':');
            write_base64(out, value);
        }
        out.push(b'}');
    }
    put_digest(out, "digest", m.digest);
    put_int(out, "offset", m.offset);
    put_int(out, "endOffset", m.end_offset);
    put_int(out, "chunkSize", m.chunk_size);
    put_int(out, "chunkOffset", m.chunk_offset);
    put_digest(out, "chunkDigest", m.chunk_digest);
    if m.chunk_zeros {
        out.extend_from_slice(format!(r#","chunkType":"{CHUNK_TYPE_ZEROS}""#).as_bytes());
    }
    out.push(b'}');
}

/// Appends `,"key":v` unless `v` is zero (`omitempty`).
fn put_int<T: Default + PartialEq + std::fmt::Display>(out: &mut Vec<u8>, key: &str, v: T) {
    if v != T::default() {
        out.extend_from_slice(format!(r#","{key}":{v}"#).as_bytes());
    }
}

/// Appends `,"key":"sha256:..."` when there is a digest.
fn put_digest(out: &mut Vec<u8>, key: &str, digest: Option<Digest>) {
    if let Some(d) = digest {
        out.extend_from_slice(format!(r#","{key}":"{d}""#).as_bytes());
    }
}

/// Go's JSON form of a `time.Time` in UTC: RFC 3339 with the nanoseconds, trailing zeros
/// (and a bare dot) dropped.
fn rfc3339_nano(t: TarTime) -> String {
    let mut text = if t.secs() == 0 {
        // format_modtime leaves the epoch empty, as the eStargz TOC does.
        "1970-01-01T00:00:00Z".to_owned()
    } else {
        estargz_toc::time::format_modtime(t.secs(), 0)
    };
    if t.nanos() != 0 {
        let fraction = format!(".{:09}", t.nanos());
        text.insert_str(text.len() - 1, fraction.trim_end_matches('0'));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_go_rfc3339_nano() {
        let t = |s, n| rfc3339_nano(TarTime::new(s, n).unwrap());
        assert_eq!(t(0, 0), "1970-01-01T00:00:00Z");
        assert_eq!(t(1_600_000_000, 0), "2020-09-13T12:26:40Z");
        assert_eq!(t(1_600_000_000, 500_000_000), "2020-09-13T12:26:40.5Z");
        assert_eq!(
            t(1_600_000_000, 123_456_789),
            "2020-09-13T12:26:40.123456789Z"
        );
        assert_eq!(t(-1, 10), "1969-12-31T23:59:59.00000001Z");
    }

    #[test]
    fn entries_omit_empty_fields_in_declaration_order() {
        let mut out = Vec::new();
        write_entry(
            &mut out,
            &Meta {
                kind: "dir",
                name: b"a/",
                mode: 0o755,
                modtime: Some(TarTime::from_secs(1)),
                ..Meta::default()
            },
        );
        let mut xattrs = BTreeMap::new();
        xattrs.insert(GoString::from("user.b"), b"2".to_vec());
        xattrs.insert(GoString::from("user.a"), b"1".to_vec());
        let d = Digest::of(b"x");
        write_entry(
            &mut out,
            &Meta {
                kind: "reg",
                name: b"a/x",
                size: 1,
                uid: 5,
                xattrs,
                digest: Some(d),
                offset: 10,
                end_offset: 20,
                chunk_size: 1,
                chunk_digest: Some(d),
                chunk_zeros: true,
                ..Meta::default()
            },
        );
        let json = String::from_utf8(write_manifest(&out, &d)).unwrap();
        assert_eq!(
            json,
            format!(
                concat!(
                    r#"{{"version":1,"entries":[{{"type":"dir","name":"a/","mode":493,"#,
                    r#""modtime":"1970-01-01T00:00:01Z"}},{{"type":"reg","name":"a/x","size":1,"#,
                    r#""uid":5,"xattrs":{{"user.a":"MQ==","user.b":"Mg=="}},"digest":"{d}","#,
                    r#""offset":10,"endOffset":20,"chunkSize":1,"chunkDigest":"{d}","#,
                    r#""chunkType":"zeros"}}],"tarSplitDigest":"{d}"}}"#
                ),
                d = d
            )
        );
        assert_eq!(
            write_manifest(&[], &d),
            format!(r#"{{"version":1,"entries":null,"tarSplitDigest":"{d}"}}"#).as_bytes()
        );
    }
}
