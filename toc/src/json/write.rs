//! The writer: `json.MarshalIndent(toc, "", "\t")` of Go 1.19, byte for byte.

use super::base64;
use super::scan::plain_run_html;
use super::utf8::sequence_len;
use crate::model::{Toc, TocEntry};

/// Lowercase hex digits, as Go's encoder writes them.
const HEX: &[u8; 16] = b"0123456789abcdef";

/// Appends `s` as a JSON string literal escaped exactly as Go 1.19's `encoding/json` does.
///
/// `s` may hold any bytes: each byte that is not part of a valid UTF-8 sequence becomes the
/// escape `\ufffd`; `<`, `>`, `&`, U+2028 and U+2029 are escaped; `\n`, `\r`, `\t`, `"` and
/// `\` get short escapes and every other control byte a `\u00XX` escape (Go 1.19 writes no
/// `\b` or `\f`); all other valid UTF-8, DEL included, is copied.
///
/// ```
/// let mut out = Vec::new();
/// estargz_toc::json::write_string(&mut out, b"a<b\xff\x08\xe2\x80\xa8");
/// assert_eq!(out, br#""a\u003cb\ufffd\u0008\u2028""#);
/// ```
pub fn write_string(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    let mut rest = s;
    while !rest.is_empty() {
        // Copy the longest run that needs no escaping at once.
        let run = plain_run_html(rest);
        let (plain, tail) = rest.split_at(run);
        out.extend_from_slice(plain);
        rest = tail;
        let Some(&b) = rest.first() else {
            break;
        };
        if b < 0x80 {
            match b {
                b'"' | b'\\' => out.extend_from_slice(&[b'\\', b]),
                b'\n' => out.extend_from_slice(b"\\n"),
                b'\r' => out.extend_from_slice(b"\\r"),
                b'\t' => out.extend_from_slice(b"\\t"),
                _ => out.extend_from_slice(&[
                    b'\\',
                    b'u',
                    b'0',
                    b'0',
                    HEX[usize::from(b >> 4)],
                    HEX[usize::from(b & 0xf)],
                ]),
            }
            rest = rest.get(1..).unwrap_or_default();
            continue;
        }
        let len = sequence_len(rest);
        match rest.get(..len) {
            None | Some([]) => {
                out.extend_from_slice(b"\\ufffd");
                rest = rest.get(1..).unwrap_or_default();
            }
            Some(seq) => {
                if seq == "\u{2028}".as_bytes() {
                    out.extend_from_slice(b"\\u2028");
                } else if seq == "\u{2029}".as_bytes() {
                    out.extend_from_slice(b"\\u2029");
                } else {
                    out.extend_from_slice(seq);
                }
                rest = rest.get(len..).unwrap_or_default();
            }
        }
    }
    out.push(b'"');
}

/// Appends the decimal form of `v`.
fn write_int(out: &mut Vec<u8>, v: i64) {
    if v < 0 {
        out.push(b'-');
    }
    let mut n = v.unsigned_abs();
    let mut buf = [0u8; 20];
    let mut at = buf.len();
    loop {
        at -= 1;
        // `n % 10` is below 10, so the cast cannot truncate.
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(buf.get(at..).unwrap_or_default());
}

/// Writes one entry's members, each on its own line at three tabs, separated by commas.
struct Members<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl Members<'_> {
    /// Starts a member: separator, newline, indentation, key, `": "`.
    fn key(&mut self, key: &str) {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        self.out.extend_from_slice(b"\n\t\t\t\"");
        self.out.extend_from_slice(key.as_bytes());
        self.out.extend_from_slice(b"\": ");
    }

    fn string(&mut self, key: &str, value: &[u8]) {
        self.key(key);
        write_string(self.out, value);
    }

    fn string_omitempty(&mut self, key: &str, value: &[u8]) {
        if !value.is_empty() {
            self.string(key, value);
        }
    }

    fn int_omitempty(&mut self, key: &str, value: i64) {
        if value != 0 {
            self.key(key);
            write_int(self.out, value);
        }
    }
}

/// Appends one entry as an element of the `entries` array (two tabs deep).
fn write_entry(out: &mut Vec<u8>, e: &TocEntry) {
    out.extend_from_slice(b"\t\t{");
    let mut m = Members { out, first: true };
    m.string("name", e.name.as_bytes());
    m.string("type", e.kind.json_name().as_bytes());
    m.int_omitempty("size", e.size);
    m.string_omitempty("modtime", e.modtime.as_bytes());
    m.string_omitempty("linkName", e.link_name.as_bytes());
    m.int_omitempty("mode", e.mode);
    m.int_omitempty("uid", e.uid);
    m.int_omitempty("gid", e.gid);
    m.string_omitempty("userName", e.user_name.as_bytes());
    m.string_omitempty("groupName", e.group_name.as_bytes());
    m.int_omitempty("offset", e.offset);
    m.int_omitempty("innerOffset", e.inner_offset);
    m.int_omitempty("devMajor", e.dev_major);
    m.int_omitempty("devMinor", e.dev_minor);
    if !e.xattrs.is_empty() {
        m.key("xattrs");
        m.out.push(b'{');
        let mut first = true;
        // BTreeMap iterates in bytewise key order, which is Go's map key order.
        for (key, value) in &e.xattrs {
            if !first {
                m.out.push(b',');
            }
            first = false;
            m.out.extend_from_slice(b"\n\t\t\t\t");
            write_string(m.out, key.as_bytes());
            m.out.extend_from_slice(b": \"");
            base64::encode_into(m.out, value);
            m.out.push(b'"');
        }
        m.out.extend_from_slice(b"\n\t\t\t}");
    }
    m.string_omitempty("digest", e.digest.as_bytes());
    m.int_omitempty("chunkOffset", e.chunk_offset);
    m.int_omitempty("chunkSize", e.chunk_size);
    m.string_omitempty("chunkDigest", e.chunk_digest.as_bytes());
    out.extend_from_slice(b"\n\t\t}");
}

/// Appends the whole TOC document.
pub(super) fn write_toc(out: &mut Vec<u8>, toc: &Toc) {
    out.extend_from_slice(b"{\n\t\"version\": ");
    write_int(out, toc.version);
    out.extend_from_slice(b",\n\t\"entries\": ");
    if toc.entries.is_empty() {
        out.extend_from_slice(b"null");
    } else {
        out.push(b'[');
        for (i, entry) in toc.entries.iter().enumerate() {
            out.extend_from_slice(if i == 0 { b"\n" } else { b",\n" });
            write_entry(out, entry);
        }
        out.extend_from_slice(b"\n\t]");
    }
    out.extend_from_slice(b"\n}");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn string(s: &[u8]) -> String {
        let mut out = Vec::new();
        write_string(&mut out, s);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn escapes_like_go() {
        assert_eq!(string(b""), r#""""#);
        assert_eq!(string(b"<>&"), r#""\u003c\u003e\u0026""#);
        assert_eq!(string(b"\"\\/"), r#""\"\\/""#);
        assert_eq!(
            string(b"\n\r\t\x08\x0c\x00\x1f\x7f"),
            "\"\\n\\r\\t\\u0008\\u000c\\u0000\\u001f\x7f\""
        );
        assert_eq!(
            string("\u{2028}\u{2029}\u{2027}".as_bytes()),
            "\"\\u2028\\u2029\u{2027}\""
        );
        assert_eq!(string("é😀\u{fffd}".as_bytes()), "\"é😀\u{fffd}\"");
        assert_eq!(string(b"\xe2\x82\xac\xe2\x82"), "\"€\\ufffd\\ufffd\"");
        assert_eq!(string(b"\xed\xa0\x80"), r#""\ufffd\ufffd\ufffd""#);
        assert_eq!(string(b"\xff"), r#""\ufffd""#);
    }

    #[test]
    fn writes_integers() {
        for v in [0, 1, -1, 9, 10, 12345, i64::MAX, i64::MIN, i64::MIN + 1] {
            let mut out = Vec::new();
            write_int(&mut out, v);
            assert_eq!(out, v.to_string().as_bytes());
        }
    }
}
