//! The header encoder: byte-for-byte what Go 1.19's `tar.Writer.WriteHeader` writes.

use std::borrow::Cow;
use std::collections::BTreeMap;

use super::block::{self, BLOCK_SIZE, Block, field_mut};
use super::{
    FORMAT_ALL, FORMAT_GNU, FORMAT_PAX, FORMAT_USTAR, TarError, TarFormat, TarHeader, TarTime,
    is_header_only, pax,
};

/// Maximum size of a PAX or GNU long-name payload the writer produces (as Go).
const MAX_SPECIAL_FILE_SIZE: usize = 1 << 20;
const NAME_SIZE: usize = 100;
const PREFIX_SIZE: usize = 155;

/// Appends the header of one entry as Go's `tar.Writer.WriteHeader` writes it: any PAX
/// extended header or GNU long-name/long-link entries (with their payload and padding),
/// then the main header block.
///
/// The caller then appends [`TarHeader::data_len`] payload bytes and
/// [`padding`](super::padding) zero bytes. For a PAX global header (`'g'`), the records are
/// written here and no payload follows.
///
/// The format is chosen as Go does: a known [`TarHeader::format`] is kept when it can
/// represent the header (PAX may fall back to USTAR when no record is needed); for
/// [`TarFormat::Unknown`] the modification time is rounded to seconds, atime and ctime are
/// dropped, and USTAR, PAX, GNU are tried in that order.
pub fn encode_header(header: &TarHeader, out: &mut Vec<u8>) -> Result<(), TarError> {
    let mut h = header.clone();
    if h.typeflag == 0 {
        h.typeflag = if h.name.ends_with(b"/") { b'5' } else { b'0' };
    }
    if h.format == TarFormat::Unknown {
        h.mtime = h.mtime.and_then(TarTime::round_to_secs);
        h.atime = None;
        h.ctime = None;
    }
    let (formats, pax_hdrs) = allowed_formats(&h)?;
    if formats & FORMAT_USTAR != 0 {
        write_ustar(&h, out);
        Ok(())
    } else if formats & FORMAT_PAX != 0 {
        write_pax(&h, &pax_hdrs, out)
    } else {
        write_gnu(&h, out);
        Ok(())
    }
}

/// Appends the end-of-archive marker: two zero blocks (Go's `Writer.Close`).
pub fn encode_end_of_archive(out: &mut Vec<u8>) {
    out.resize(out.len() + 2 * BLOCK_SIZE, 0);
}

fn unencodable(h: &TarHeader, reason: &'static str) -> TarError {
    TarError::Unencodable {
        name: String::from_utf8_lossy(&h.name).into_owned(),
        reason,
    }
}

/// Go's `isASCII`: every byte in 1..=0x7f.
fn is_ascii(s: &[u8]) -> bool {
    s.iter().all(|&c| c != 0 && c < 0x80)
}

/// Go's `toASCII`: drops NULs and every byte of non-ASCII characters.
fn to_ascii(s: &[u8]) -> Cow<'_, [u8]> {
    if is_ascii(s) {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(s.iter().copied().filter(|&c| c != 0 && c < 0x80).collect())
    }
}

/// Go's `splitUSTARPath`: a (prefix, name) split at a '/' that fits both fields.
fn split_ustar_path(name: &[u8]) -> Option<(&[u8], &[u8])> {
    let mut length = name.len();
    if length <= NAME_SIZE || !is_ascii(name) {
        return None;
    } else if length > PREFIX_SIZE + 1 {
        length = PREFIX_SIZE + 1;
    } else if name.get(length - 1) == Some(&b'/') {
        length -= 1;
    }
    let i = name.get(..length)?.iter().rposition(|&c| c == b'/')?;
    let (prefix, suffix) = (name.get(..i)?, name.get(i + 1..)?);
    if i == 0 || suffix.len() > NAME_SIZE || suffix.is_empty() || prefix.len() > PREFIX_SIZE {
        return None;
    }
    Some((prefix, suffix))
}

/// Go's `allowedFormats`: which formats can encode `h`, and the PAX records it would need.
/// PAX records to write, sorted by key (Go sorts the keys of its map).
type PaxHeaders = BTreeMap<Vec<u8>, Vec<u8>>;

fn allowed_formats(h: &TarHeader) -> Result<(u8, PaxHeaders), TarError> {
    let mut format = FORMAT_ALL;
    let mut pax_hdrs = PaxHeaders::new();
    let records = pax::record_map(&h.pax_records);
    let mut prefer_pax = false;

    let mut verify_string = |s: &[u8], size: usize, key: Option<&[u8]>| {
        let too_long = s.len() > size;
        let allow_long_gnu = key == Some(pax::PATH) || key == Some(pax::LINKPATH);
        if s.contains(&0) || (too_long && !allow_long_gnu) {
            format &= !FORMAT_GNU;
        }
        if !is_ascii(s) || too_long {
            let can_split = key == Some(pax::PATH);
            if !can_split || split_ustar_path(s).is_none() {
                format &= !FORMAT_USTAR;
            }
            match key {
                None => format &= !FORMAT_PAX,
                Some(k) => {
                    pax_hdrs.insert(k.to_vec(), s.to_vec());
                }
            }
        }
        if let Some(k) = key
            && records.get(k).is_some_and(|v| v.as_ref() == s)
        {
            pax_hdrs.insert(k.to_vec(), s.to_vec());
        }
    };
    verify_string(&h.name, NAME_SIZE, Some(pax::PATH));
    verify_string(&h.link_name, NAME_SIZE, Some(pax::LINKPATH));
    verify_string(&h.uname, 32, Some(pax::UNAME));
    verify_string(&h.gname, 32, Some(pax::GNAME));

    let mut verify_numeric = |n: i64, size: usize, key: Option<&[u8]>| {
        if !block::fits_in_base256(size, n) {
            format &= !FORMAT_GNU;
        }
        let text = n.to_string().into_bytes();
        if !block::fits_in_octal(size, n) {
            format &= !FORMAT_USTAR;
            match key {
                None => format &= !FORMAT_PAX,
                Some(k) => {
                    pax_hdrs.insert(k.to_vec(), text.clone());
                }
            }
        }
        if let Some(k) = key
            && records
                .get(k)
                .is_some_and(|v| v.as_ref() == text.as_slice())
        {
            pax_hdrs.insert(k.to_vec(), text);
        }
    };
    verify_numeric(h.mode, 8, None);
    verify_numeric(h.uid, 8, Some(pax::UID));
    verify_numeric(h.gid, 8, Some(pax::GID));
    verify_numeric(h.size, 12, Some(pax::SIZE));
    verify_numeric(h.dev_major, 8, None);
    verify_numeric(h.dev_minor, 8, None);

    let mut verify_time = |t: Option<TarTime>, size: usize, key: &[u8]| {
        let Some(t) = t else { return };
        if !block::fits_in_base256(size, t.secs()) {
            format &= !FORMAT_GNU;
        }
        let is_mtime = key == pax::MTIME;
        let fits_octal = block::fits_in_octal(size, t.secs());
        if !is_mtime || !fits_octal {
            format &= !FORMAT_USTAR;
        }
        let text = pax::format_time(t);
        if !is_mtime || !fits_octal || t.nanos() != 0 {
            prefer_pax = true;
            pax_hdrs.insert(key.to_vec(), text.clone());
        }
        if records
            .get(key)
            .is_some_and(|v| v.as_ref() == text.as_slice())
        {
            pax_hdrs.insert(key.to_vec(), text);
        }
    };
    verify_time(h.mtime, 12, pax::MTIME);
    verify_time(h.atime, 12, pax::ATIME);
    verify_time(h.ctime, 12, pax::CTIME);

    match h.typeflag {
        b'0' | b'3' | b'4' | b'6' | b'S' if h.name.ends_with(b"/") => {
            return Err(unencodable(h, "filename may not have trailing slash"));
        }
        b'x' | b'L' | b'K' => {
            return Err(unencodable(
                h,
                "extension headers cannot be encoded directly",
            ));
        }
        b'g' => {
            let only_records = TarHeader {
                typeflag: h.typeflag,
                name: h.name.clone(),
                pax_records: h.pax_records.clone(),
                format: h.format,
                ..TarHeader::default()
            };
            if *h != only_records {
                return Err(unencodable(
                    h,
                    "only PAX records may be set on a global header",
                ));
            }
            format &= FORMAT_PAX;
        }
        _ => {}
    }
    if !is_header_only(h.typeflag) && h.size < 0 {
        return Err(unencodable(h, "negative size"));
    }

    if !records.is_empty() {
        for (k, v) in &records {
            if pax_hdrs.contains_key(*k) {
                continue;
            }
            let copy =
                h.typeflag == b'g' || (!pax::is_basic_key(k) && !k.starts_with(pax::GNU_SPARSE));
            if copy {
                pax_hdrs.insert(k.to_vec(), v.to_vec());
            }
        }
        format &= FORMAT_PAX;
    }
    if pax_hdrs.iter().any(|(k, v)| !pax::valid_record(k, v)) {
        return Err(unencodable(h, "invalid PAX record"));
    }

    if h.format != TarFormat::Unknown {
        let mut want = h.format.bits();
        if want & FORMAT_PAX != 0 && !prefer_pax {
            want |= FORMAT_USTAR;
        }
        format &= want;
    }
    if format == 0 {
        return Err(unencodable(h, "no tar format can represent this header"));
    }
    Ok((format, pax_hdrs))
}

/// Go's `templateV7Plus`: the fields shared by USTAR, PAX and GNU.
fn template(
    h: &TarHeader,
    name: &[u8],
    string: fn(&mut [u8], &[u8]),
    number: fn(&mut [u8], i64) -> bool,
) -> Block {
    use block::*;
    let mut b = [0u8; BLOCK_SIZE];
    if let Some(t) = b.get_mut(TYPEFLAG) {
        *t = h.typeflag;
    }
    string(field_mut(&mut b, NAME), name);
    string(field_mut(&mut b, LINKNAME), &h.link_name);
    number(field_mut(&mut b, MODE), h.mode);
    number(field_mut(&mut b, UID), h.uid);
    number(field_mut(&mut b, GID), h.gid);
    number(field_mut(&mut b, SIZE), h.size);
    number(field_mut(&mut b, MTIME), h.mtime.map_or(0, TarTime::secs));
    string(field_mut(&mut b, UNAME), &h.uname);
    string(field_mut(&mut b, GNAME), &h.gname);
    number(field_mut(&mut b, DEVMAJOR), h.dev_major);
    number(field_mut(&mut b, DEVMINOR), h.dev_minor);
    b
}

fn plain_string(f: &mut [u8], s: &[u8]) {
    block::format_string(f, s);
}

fn ascii_string(f: &mut [u8], s: &[u8]) {
    block::format_string(f, &to_ascii(s));
}

fn write_ustar(h: &TarHeader, out: &mut Vec<u8>) {
    let (prefix, name) = split_ustar_path(&h.name).unwrap_or((&[], &h.name));
    let mut b = template(h, name, plain_string, block::format_octal);
    block::format_string(field_mut(&mut b, block::PREFIX), prefix);
    block::set_format_and_checksum(&mut b, false);
    out.extend_from_slice(&b);
}

fn write_pax(h: &TarHeader, pax_hdrs: &PaxHeaders, out: &mut Vec<u8>) -> Result<(), TarError> {
    let global = h.typeflag == b'g';
    if !pax_hdrs.is_empty() || global {
        let mut data = Vec::new();
        for (k, v) in pax_hdrs {
            pax::format_record(k, v, &mut data);
        }
        if data.len() > MAX_SPECIAL_FILE_SIZE {
            return Err(unencodable(h, "PAX records exceed 1 MiB"));
        }
        let (name, flag) = if global {
            let name = if h.name.is_empty() {
                b"GlobalHead.0.0".to_vec()
            } else {
                h.name.clone()
            };
            (name, b'g')
        } else {
            (pax_header_name(&h.name), b'x')
        };
        write_raw_file(&name, &data, flag, false, out);
        if global {
            return Ok(());
        }
    }
    let mut b = template(h, &h.name, ascii_string, block::format_octal);
    block::set_format_and_checksum(&mut b, false);
    out.extend_from_slice(&b);
    Ok(())
}

fn write_gnu(h: &TarHeader, out: &mut Vec<u8>) {
    const LONG_NAME: &[u8] = b"././@LongLink";
    if h.name.len() > NAME_SIZE {
        let mut data = h.name.clone();
        data.push(0);
        write_raw_file(LONG_NAME, &data, b'L', true, out);
    }
    if h.link_name.len() > NAME_SIZE {
        let mut data = h.link_name.clone();
        data.push(0);
        write_raw_file(LONG_NAME, &data, b'K', true, out);
    }
    let mut b = template(h, &h.name, plain_string, block::format_numeric);
    if let Some(t) = h.atime {
        block::format_numeric(field_mut(&mut b, block::GNU_ATIME), t.secs());
    }
    if let Some(t) = h.ctime {
        block::format_numeric(field_mut(&mut b, block::GNU_CTIME), t.secs());
    }
    block::set_format_and_checksum(&mut b, true);
    out.extend_from_slice(&b);
}

/// Go's `writeRawFile`: a minimal header (mode, ids and mtime 0) plus `data` and padding.
fn write_raw_file(name: &[u8], data: &[u8], flag: u8, gnu: bool, out: &mut Vec<u8>) {
    use block::*;
    let ascii = to_ascii(name);
    let mut name: &[u8] = ascii.get(..NAME_SIZE).unwrap_or(&ascii);
    while let Some(rest) = name.strip_suffix(b"/") {
        name = rest;
    }
    let mut b = [0u8; BLOCK_SIZE];
    if let Some(t) = b.get_mut(TYPEFLAG) {
        *t = flag;
    }
    format_string(field_mut(&mut b, NAME), name);
    format_octal(field_mut(&mut b, MODE), 0);
    format_octal(field_mut(&mut b, UID), 0);
    format_octal(field_mut(&mut b, GID), 0);
    // Callers keep `data` under 1 MiB + 1, far below the 8 GiB an octal size holds.
    format_octal(field_mut(&mut b, SIZE), data.len() as i64);
    format_octal(field_mut(&mut b, MTIME), 0);
    set_format_and_checksum(&mut b, gnu);
    out.extend_from_slice(&b);
    out.extend_from_slice(data);
    out.resize(out.len() + padding(data.len() as u64) as usize, 0);
}

/// `path.Join(dir, "PaxHeaders.0", file)` where `(dir, file) = path.Split(name)`.
fn pax_header_name(name: &[u8]) -> Vec<u8> {
    let split = name.iter().rposition(|&c| c == b'/').map_or(0, |i| i + 1);
    let (dir, file) = name.split_at(split);
    let mut joined = Vec::with_capacity(name.len() + 14);
    for part in [dir, b"PaxHeaders.0", file] {
        if part.is_empty() {
            continue;
        }
        if !joined.is_empty() {
            joined.push(b'/');
        }
        joined.extend_from_slice(part);
    }
    clean_path(&joined)
}

/// Go's `path.Clean` on bytes.
fn clean_path(p: &[u8]) -> Vec<u8> {
    if p.is_empty() {
        return b".".to_vec();
    }
    let rooted = p.first() == Some(&b'/');
    let mut parts: Vec<&[u8]> = Vec::new();
    for part in p.split(|&c| c == b'/') {
        match part {
            b"" | b"." => {}
            b".." => {
                if parts.last().is_some_and(|l| *l != b"..") {
                    parts.pop();
                } else if !rooted {
                    parts.push(part);
                }
            }
            _ => parts.push(part),
        }
    }
    let mut out = Vec::with_capacity(p.len());
    if rooted {
        out.push(b'/');
    }
    out.extend_from_slice(&parts.join(&b'/'));
    if out.is_empty() {
        out.push(b'.');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pax_header_names() {
        assert_eq!(pax_header_name(b"foo"), b"PaxHeaders.0/foo");
        assert_eq!(pax_header_name(b"a/b/c"), b"a/b/PaxHeaders.0/c");
        assert_eq!(pax_header_name(b"a/b/"), b"a/b/PaxHeaders.0");
        assert_eq!(pax_header_name(b"./x"), b"PaxHeaders.0/x");
        assert_eq!(pax_header_name(b"/abs/x"), b"/abs/PaxHeaders.0/x");
        assert_eq!(pax_header_name(b"../x"), b"../PaxHeaders.0/x");
    }

    #[test]
    fn clean() {
        assert_eq!(clean_path(b""), b".");
        assert_eq!(clean_path(b"a/../.."), b"..");
        assert_eq!(clean_path(b"/../a"), b"/a");
        assert_eq!(clean_path(b"a//b/./c/"), b"a/b/c");
    }

    #[test]
    fn ustar_split() {
        let name = format!("{}/{}", "p".repeat(150), "n".repeat(99));
        let (p, n) = split_ustar_path(name.as_bytes()).unwrap();
        assert_eq!((p.len(), n.len()), (150, 99));
        assert!(split_ustar_path(b"short").is_none());
        let no_slash = "x".repeat(120);
        assert!(split_ustar_path(no_slash.as_bytes()).is_none());
        let name = format!("/{}", "n".repeat(101));
        assert!(split_ustar_path(name.as_bytes()).is_none());
    }

    #[test]
    fn landmark_header_is_ustar() {
        // The landmark: regular file, size 1, mode 0, ids 0, zero mtime, unknown format.
        let mut h = TarHeader::new(b'0', ".no.prefetch.landmark");
        h.size = 1;
        let mut out = Vec::new();
        encode_header(&h, &mut out).unwrap();
        assert_eq!(out.len(), 512);
        assert_eq!(&out[100..108], b"0000000\0");
        assert_eq!(&out[124..136], b"00000000001\0");
        assert_eq!(&out[136..148], b"00000000000\0");
        assert_eq!(&out[257..265], b"ustar\x0000");
        assert_eq!(&out[329..345], b"0000000\x000000000\0");
        assert_eq!(out[154..156], [0, b' ']);
    }

    #[test]
    fn unknown_format_prefers_pax_then_gnu() {
        // A non-ASCII name needs PAX.
        let mut h = TarHeader::new(b'0', b"caf\xc3\xa9".to_vec());
        let mut out = Vec::new();
        encode_header(&h, &mut out).unwrap();
        assert_eq!(out[156], b'x');
        // The PAX header name drops the non-ASCII bytes.
        assert_eq!(&out[..17], b"PaxHeaders.0/caf\0");
        // A negative mode only fits GNU base-256.
        h.name = b"m".to_vec();
        h.mode = -1;
        out.clear();
        encode_header(&h, &mut out).unwrap();
        assert_eq!(&out[257..265], b"ustar  \0");
        assert_eq!(out[100], 0xff);
        // Sub-second mtime of an unknown-format header is rounded away.
        let mut h = TarHeader::new(b'0', "t");
        h.mtime = TarTime::new(10, 600_000_000);
        out.clear();
        encode_header(&h, &mut out).unwrap();
        assert_eq!(out.len(), 512);
        assert_eq!(&out[136..148], b"00000000013\0");
    }

    #[test]
    fn errors() {
        let mut out = Vec::new();
        let h = TarHeader::new(b'0', "dir/");
        assert!(matches!(
            encode_header(&h, &mut out),
            Err(TarError::Unencodable { .. })
        ));
        let h = TarHeader::new(b'x', "x");
        assert!(encode_header(&h, &mut out).is_err());
        let mut h = TarHeader::new(b'0', "n");
        h.format = TarFormat::Ustar;
        h.uid = 1 << 30;
        assert!(encode_header(&h, &mut out).is_err());
    }
}
