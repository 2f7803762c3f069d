//! The tar-split metadata containers/storage stores in a zstd:chunked v2 blob: the JSON
//! lines tar-split's `storage.NewJSONPacker` writes while `asm.NewInputTarStream` reads the
//! layer. With the file contents, they reassemble the original tar byte for byte.
//!
//! Each line is one JSON object, in order, with a running `position`:
//!
//! ```text
//! {"type":2,"payload":"<base64 raw bytes>","position":0}              a segment
//! {"type":1,"name":"etc/hosts","size":12,"payload":"<base64 CRC-64>","position":1}
//! {"type":1,"name":"etc/","payload":null,"position":2}                 a file without data
//! ```
//!
//! A segment holds the raw bytes between file contents (padding, headers, the
//! end-of-archive); a file entry names a tar entry (`name_raw`, base64, for a name that is
//! not UTF-8), its header size and, when the size is not 0, the big-endian CRC-64/ISO of
//! its content. After the end-of-archive, whatever follows is stored in segments of at most
//! 1 MiB, and one last empty segment ends the stream.

use estargz_toc::json::{write_base64, write_string};

/// The largest trailing segment tar-split writes after the end-of-archive.
pub(crate) const TRAILER_PIECE: usize = 1 << 20;

/// Builds the JSON lines.
#[derive(Debug, Default)]
pub(crate) struct TarSplitWriter {
    json: Vec<u8>,
    position: u64,
}

impl TarSplitWriter {
    /// A segment of raw bytes (written even when empty).
    pub(crate) fn segment(&mut self, raw: &[u8]) {
        self.json.extend_from_slice(br#"{"type":2,"payload":"#);
        write_base64(&mut self.json, raw);
        self.end();
    }

    /// A file entry: its tar name, header size and content checksum (`None` when the size
    /// is 0).
    pub(crate) fn file(&mut self, name: &[u8], size: i64, crc: Option<[u8; 8]>) {
        self.json.extend_from_slice(br#"{"type":1"#);
        if !name.is_empty() {
            if std::str::from_utf8(name).is_ok() {
                self.json.extend_from_slice(br#","name":"#);
                write_string(&mut self.json, name);
            } else {
                self.json.extend_from_slice(br#","name_raw":"#);
                write_base64(&mut self.json, name);
            }
        }
        if size != 0 {
            self.json
                .extend_from_slice(format!(r#","size":{size}"#).as_bytes());
        }
        self.json.extend_from_slice(br#","payload":"#);
        match crc {
            Some(crc) => write_base64(&mut self.json, &crc),
            None => self.json.extend_from_slice(b"null"),
        }
        self.end();
    }

    fn end(&mut self) {
        self.json
            .extend_from_slice(format!(r#","position":{}}}"#, self.position).as_bytes());
        self.json.push(b'\n');
        self.position += 1;
    }

    /// The JSON lines.
    pub(crate) fn finish(self) -> Vec<u8> {
        self.json
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_have_tar_splits_shape() {
        let mut w = TarSplitWriter::default();
        w.segment(b"hdr");
        w.file(b"a<b", 3, Some([0, 0, 0, 0, 0, 0, 0, 1]));
        w.file(b"d/", 0, None);
        w.file(b"\xff", 0, None);
        w.segment(b"");
        let text = String::from_utf8(w.finish()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            [
                r#"{"type":2,"payload":"aGRy","position":0}"#,
                r#"{"type":1,"name":"a\u003cb","size":3,"payload":"AAAAAAAAAAE=","position":1}"#,
                r#"{"type":1,"name":"d/","payload":null,"position":2}"#,
                r#"{"type":1,"name_raw":"/w==","payload":null,"position":3}"#,
                r#"{"type":2,"payload":"","position":4}"#,
            ]
        );
        assert!(text.ends_with('\n'));
    }
}
