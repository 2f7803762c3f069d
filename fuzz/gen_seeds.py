#!/usr/bin/env python3
"""Write seed inputs for every fuzz target of fuzz/.

Usage: gen_seeds.py OUT [--corpus DIR] [--esgz BIN] [--curated]

OUT/<target>/ receives one file per seed, named after the seed's content (sha1, like
libFuzzer), so running the script twice gives the same files.

Sources:
  * --corpus DIR: the interop corpus tars (interop/corpus/gen_corpus.py DIR). They seed
    tar_header directly; with --esgz they are converted to eStargz and zstd:chunked blobs
    whose TOC JSON, footer tails and gzip members seed toc_json, footer and gzip_member.
  * hand-made inputs for the HTTP parsers (Content-Range, WWW-Authenticate, token replies,
    multipart/byteranges) and the mirror config parsers (stargz-snapshotter TOML, nydusd
    JSON, the fixtures of mirror-client/tests/fixtures).
  * encode_roundtrip and reader_random_reads take structured input (arbitrary's
    Unstructured); the seeds here are encoded the way those targets decode them, so they
    describe real file sets and reads.

--curated keeps only small seeds (tars shrunk to a few bytes of content per file, no seed
over CURATED_MAX bytes): the set committed under fuzz/seeds/ for the CI smoke run.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import os
import random
import struct
import subprocess
import sys
import tempfile
import zlib

BLOCK = 512
CURATED_MAX = 16 * 1024
CURATED_KEEP = 24
GENERATED_MAX = 256 * 1024
# Footer sizes of the layouts the footer target knows; tails longer than the longest footer
# also exercise detection order.
FOOTER_TAIL = 160

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


class Seeds:
    """Collects seeds per target (distinct, at most `cap` bytes each) and writes them out.

    With `keep`, a target with more seeds keeps all hand-made ones (`pinned`) and fills up
    to `keep` with the others, evenly spread over the order they were added in (so every
    source tar still contributes).
    """

    def __init__(self, out: str, cap: int, keep: int | None = None) -> None:
        self.out = out
        self.cap = cap
        self.keep = keep
        self.seeds: dict[str, dict[bytes, bool]] = {}

    def add(self, target: str, data: bytes, pinned: bool = False) -> None:
        if len(data) <= self.cap:
            known = self.seeds.setdefault(target, {})
            known[data] = known.get(data, False) or pinned

    def write(self) -> None:
        for target in sorted(self.seeds):
            pinned = [d for d, p in self.seeds[target].items() if p]
            rest = [d for d, p in self.seeds[target].items() if not p]
            if self.keep is not None and len(pinned) + len(rest) > self.keep:
                room = max(self.keep - len(pinned), 0)
                rest = [rest[i * len(rest) // room] for i in range(room)]
            chosen = pinned + rest
            d = os.path.join(self.out, target)
            os.makedirs(d, exist_ok=True)
            for data in chosen:
                with open(os.path.join(d, hashlib.sha1(data).hexdigest()), "wb") as f:
                    f.write(data)
            size = sum(map(len, chosen))
            print(f"{target}: {len(chosen)} seed(s), {size} bytes")


# ------------------------------------------------------------------ tar shrinking


def _octal_field(n: int, width: int) -> bytes:
    return b"%0*o\0" % (width - 1, n)


def _header_size(h: bytes) -> int:
    raw = h[124:136]
    if raw[0] & 0x80:
        return int.from_bytes(raw[1:], "big")
    digits = raw.split(b"\0")[0].strip() or b"0"
    return int(digits, 8)


def _with_size(h: bytes, size: int) -> bytes:
    h = bytearray(h)
    h[124:136] = _octal_field(size, 12)
    h[148:156] = b" " * 8
    h[148:156] = b"%06o\0 " % sum(h)
    return bytes(h)


def shrink_tar(tar: bytes, keep: int = 8) -> bytes:
    """Cuts each plain file's content to `keep` bytes, keeping every header as it was.

    Entries whose size comes from elsewhere (a preceding PAX header, sparse maps) are kept
    whole: rewriting them would change what the seed tests.
    """
    out = bytearray()
    at = 0
    size_from_pax = False
    while at + BLOCK <= len(tar):
        h = tar[at : at + BLOCK]
        if h == bytes(BLOCK):
            # End of archive: two zero blocks, without the record padding after them.
            out += bytes(2 * BLOCK)
            break
        try:
            size = _header_size(h)
        except ValueError:
            return tar
        padded = (size + BLOCK - 1) // BLOCK * BLOCK
        data = tar[at + BLOCK : at + BLOCK + size]
        typeflag = h[156:157]
        if typeflag in (b"0", b"\0", b"7") and not size_from_pax and size > keep:
            h = _with_size(h, keep)
            data = data[:keep]
        out += h + data + bytes(-len(data) % BLOCK)
        if typeflag == b"x":
            size_from_pax = b" size=" in data or b"GNU.sparse" in data
        elif typeflag not in (b"L", b"K"):
            size_from_pax = False
        at += BLOCK + padded
    return bytes(out)


# ------------------------------------------------------------------ blobs via esgz


def esgz(binary: str, *args: str) -> bytes:
    return subprocess.run([binary, *args], check=True, capture_output=True).stdout


def blobs_from_tars(binary: str, tars: list[tuple[str, bytes]], work: str):
    """(blob, TOC JSON or None) for eStargz (two settings) and zstd:chunked conversions of
    every tar `esgz` accepts."""
    out = []
    for name, tar in tars:
        src = os.path.join(work, name)
        dst = src + ".blob"
        with open(src, "wb") as f:
            f.write(tar)
        for extra in (["--chunk-size", "64"], ["--level", "1"], ["--format", "zstd-chunked"]):
            try:
                esgz(binary, "convert", src, dst, *extra)
            except subprocess.CalledProcessError:
                continue
            with open(dst, "rb") as f:
                blob = f.read()
            try:
                toc = esgz(binary, "toc", dst)
            except subprocess.CalledProcessError:
                toc = None
            out.append((blob, toc))
    return out


def member_end(blob: bytes, at: int) -> int | None:
    """End offset of the gzip member starting at `at`, or None if there is none."""
    d = zlib.decompressobj(wbits=31)
    pos = at
    try:
        while not d.eof:
            if pos >= len(blob):
                return None
            chunk = blob[pos : pos + 65536]
            pos += len(chunk)
            d.decompress(chunk, 1 << 20)
            while d.unconsumed_tail and not d.eof:
                d.decompress(d.unconsumed_tail, 1 << 20)
    except zlib.error:
        return None
    return pos - len(d.unused_data)


def gzip_members(blob: bytes) -> list[bytes]:
    """The first and the last two gzip members of an eStargz blob (a content chunk, the
    TOC and the footer), each followed by up to 16 bytes of what comes next."""
    spans = []
    at = 0
    while blob[at : at + 2] == b"\x1f\x8b":
        end = member_end(blob, at)
        if end is None:
            break
        spans.append((at, end))
        at = end
    return [blob[a : b + 16] for a, b in spans[:1] + spans[1:][-2:]]


# ------------------------------------------------------------------ footers


def gzip_empty_with_extra(extra: bytes) -> bytes:
    return (
        b"\x1f\x8b\x08\x04\0\0\0\0\0\xff"
        + struct.pack("<H", len(extra))
        + extra
        + b"\x01\x00\x00\xff\xff"
        + bytes(8)
    )


def footer_seeds() -> list[bytes]:
    """(u64 LE blob size, tail) inputs with hand-made footers of every layout."""
    seeds = []
    payload = bytes(range(64)) * 2
    size = len(payload) + 51
    estargz = gzip_empty_with_extra(b"SG" + struct.pack("<H", 22) + b"%016xSTARGZ" % 40)
    legacy = gzip_empty_with_extra(b"%016xSTARGZ" % 40)
    external = gzip_empty_with_extra(b"SG" + struct.pack("<H", 17) + b"STARGZEXTERNALTOC")
    for footer in (estargz, legacy, external):
        tail = payload + footer
        seeds.append(struct.pack("<Q", len(tail)) + tail)
    # zstd:chunked: a TOC skippable frame after the payload, then the footer frame.
    toc = b'{"version":1,"entries":[]}'
    toc_frame = struct.pack("<II", 0x184D2A50, len(toc)) + toc
    toc_offset = len(payload) + 8
    v1 = struct.pack("<QQQQ", toc_offset, len(toc), len(toc), 1) + b"GnUlInUx"
    v2 = struct.pack("<QQQQQQQ", toc_offset, len(toc), len(toc), 1, 0, 0, 0) + b"GNUlInUx"
    for body in (v1, v2):
        tail = payload + toc_frame + struct.pack("<II", 0x184D2A50, len(body)) + body
        seeds.append(struct.pack("<Q", len(tail)) + tail)
    # An odd size: the target then passes the size unchanged (possibly inconsistent).
    seeds.append(struct.pack("<Q", size | 1) + payload + estargz)
    return seeds


# ------------------------------------------------------------------ HTTP parsers


CONTENT_RANGES = [
    b"bytes 0-0/1",
    b"bytes 0-99/1000",
    b"bytes 100-199/*",
    b"bytes */1000",
    b"bytes 42-42/43",
    b"bytes 0-18446744073709551614/18446744073709551615",
    b"Bytes 1-2/3",
    b"bytes  1-2/3",
    b"bytes 1-2 /3",
    b"bytes 5-4/10",
    b"bytes 0-9/5",
    b"bytes -1-2/3",
    b"items 0-1/2",
    b"bytes 01-02/03",
]

WWW_AUTHENTICATE = [
    b'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
    b'scope="repository:library/ubuntu:pull"',
    b'Basic realm="Registry Realm"',
    b'Bearer realm="https://r.example/token", service="r.example", '
    b'scope="repository:a/b:pull,push repository:c:pull", error="insufficient_scope"',
    b'Basic realm="x", Bearer realm="https://t/",service=s',
    b"Bearer realm=https://unquoted/token,service=svc",
    b'Bearer realm="a\\"quoted\\\\"',
    b'Negotiate, Bearer realm="r"',
    b"Bearer token68abc==",
    b'Bearer realm=""',
    b'bearer REALM="case"',
    b",,Bearer ,realm=\"r\",",
]

TOKEN_REPLIES = [
    b'{"token":"abc","expires_in":300,"issued_at":"2020-09-13T12:26:40Z"}',
    b'{"access_token":"xyz","token":"abc"}',
    b'{"token":"abc","expires_in":-1}',
    b'{"token":""}',
    b"{}",
    b'{"token":"a","expires_in":1e400}',
]


def multipart_body(boundary: bytes, parts: list[tuple[int, bytes, int | None]], eol: bytes,
                   preamble: bytes = b"", epilogue: bytes = b"") -> bytes:
    body = preamble
    for start, data, total in parts:
        body += b"--" + boundary + eol
        body += b"Content-Type: application/octet-stream" + eol
        t = b"*" if total is None else str(total).encode()
        body += b"Content-Range: bytes %d-%d/%s" % (start, start + len(data) - 1, t) + eol
        body += eol + data + eol
    return body + b"--" + boundary + b"--" + eol + epilogue


def multipart_seeds() -> list[bytes]:
    """Target input: a byte giving the boundary length - 1, the boundary, the body."""
    seeds = []
    b1 = b"3d6b6a416f9b5"
    b2 = b"X"
    cases = [
        (b1, multipart_body(b1, [(0, b"hello", 100), (50, b"world!", 100)], b"\r\n")),
        (b1, multipart_body(b1, [(0, b"a", None)], b"\n")),
        (b2, multipart_body(b2, [(7, b"0123456789", 20)], b"\r\n", b"preamble\r\n", b"tail")),
        (b1, multipart_body(b1, [], b"\r\n")),
        (
            b2,
            b"--X  \r\nContent-Range:\r\n bytes 0-1/2\r\n\r\nab\r\n--X--\r\n",
        ),
        (b2, multipart_body(b2, [(0, b"too long", 4)], b"\r\n")),
    ]
    for boundary, body in cases:
        seeds.append(bytes([len(boundary) - 1]) + boundary + body)
    return seeds


# ------------------------------------------------------------------ mirror configs


STARGZ_TOML = [
    b"""[resolver]
request_timeout_sec = 30
[[resolver.host."docker.io".mirrors]]
host = "mirror.example.com"
""",
    b"""[[resolver.host."ghcr.io".mirrors]]
host = "127.0.0.1:5000"
insecure = true
request_timeout_sec = -1
[resolver.host."ghcr.io".mirrors.header]
x-dragonfly-registry = ["https://ghcr.io"]
""",
    b"""[blob]
chunk_size = 50000
[resolver]
[resolver.host."r.example:5000"]
mirrors = [{ host = "https://m1", insecure = false }, { host = "http://m2" }]
""",
    b"""[resolver.host.'quay.io']
mirrors = []
""",
    b'[resolver.host."x".mirrors]\nhost = 5\n',
]

NYDUS_JSON = [
    b'{"host":"reg:5000","repo":"a/b","scheme":"http"}',
    b'{"type":"registry","config":{"host":"index.docker.io","repo":"library/ubuntu",'
    b'"scheme":"https","timeout":5,"mirrors":[{"host":"http://127.0.0.1:65001",'
    b'"headers":{"X-Dragonfly-Registry":"https://index.docker.io"}}]}}',
    b'{"device":{"backend":{"type":"registry","config":{"host":"h","repo":"r",'
    b'"proxy":{"url":"http://p:65001","fallback":true,"check_interval":5}}}}}',
    b'{"host":"h","mirrors":[{"host":"m","headers":{"bad name":"x"}}]}',
    b'{"host":"h","timeout":-1}',
    b'{"device":{"backend":{"type":"oss","config":{}}}}',
]


# ------------------------------------------------------------------ structured targets


def be(n: int, width: int) -> bytes:
    return n.to_bytes(width, "big")


def file_set(files: list[tuple[int, bytes]]) -> bytes:
    """support::files: count, then per file a directory (0-3), a length, the content."""
    out = bytes([len(files)])
    for directory, content in files:
        out += bytes([directory]) + be(len(content), 2) + content
    return out


def sample_file_sets() -> list[list[tuple[int, bytes]]]:
    rng = random.Random(1)
    text = b"the quick brown fox jumps over the lazy dog\n" * 20
    noise = bytes(rng.getrandbits(8) for _ in range(700))
    return [
        [],
        [(0, b"")],
        [(0, b"hello\n"), (1, b""), (2, text[:300])],
        [(3, noise), (3, bytes(2048)), (0, b"x")],
        [(i % 4, text[i * 10 : i * 10 + 37 * i]) for i in range(8)],
    ]


def encode_roundtrip_seeds() -> list[bytes]:
    """Level (0-9), chunk size (1-4096, as value - 1 in two bytes), then a file set."""
    seeds = []
    for i, files in enumerate(sample_file_sets()):
        level = [0, 6, 9, 1, 3][i]
        chunk = [1, 64, 4096, 100, 7][i]
        seeds.append(bytes([level]) + be(chunk - 1, 2) + file_set(files))
    return seeds


def reader_seeds() -> list[bytes]:
    """Chunk size (1-1024), a file set, flips (0: untouched), then reads (file, offset, len)."""
    seeds = []
    reads = [(0, 0, 600), (1, 5, 10), (2, 250, 100), (0, 2000, 200), (7, 63, 2), (9, 0, 1)]
    read_bytes = b"".join(bytes([f]) + be(o, 2) + be(n, 2) for f, o, n in reads)
    for i, files in enumerate(sample_file_sets()):
        chunk = [1, 16, 1024, 100, 3][i]
        head = be(chunk - 1, 2) + file_set(files)
        seeds.append(head + b"\0" + read_bytes)
        # One flipped byte (offset in two bytes, mask), then the same reads.
        seeds.append(head + b"\x01" + be(40 + 13 * i, 2) + b"\x07" + read_bytes)
    return seeds


# ------------------------------------------------------------------ main


def gzip_seeds() -> list[bytes]:
    """Control byte (level and sync flag for the re-encode) + one gzip member."""
    rng = random.Random(2)
    noise = bytes(rng.getrandbits(8) for _ in range(300))
    plain = b"member content " * 40
    seeds = [bytes([5]) + gzip.compress(plain, mtime=0), bytes([0x89]) + gzip.compress(b"")]
    seeds.append(bytes([1]) + gzip.compress(noise, compresslevel=0, mtime=0))
    # FNAME, FCOMMENT and FHCRC set by hand.
    deflated = zlib.compress(plain, 9)[2:-4]
    head = b"\x1f\x8b\x08\x1a\0\0\0\0\x02\x03name\0comment\0"
    head += struct.pack("<H", zlib.crc32(head) & 0xFFFF)
    trailer = struct.pack("<II", zlib.crc32(plain), len(plain))
    seeds.append(bytes([9]) + head + deflated + trailer)
    # Two members back to back: only the first is decoded.
    seeds.append(bytes([3]) + gzip.compress(b"one", mtime=0) + gzip.compress(b"two", mtime=0))
    return seeds


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("out")
    p.add_argument("--corpus", help="directory of interop corpus tars")
    p.add_argument("--esgz", help="the esgz binary, to build blobs from the tars")
    p.add_argument("--curated", action="store_true", help="only small seeds (fuzz/seeds/)")
    args = p.parse_args()

    if args.curated:
        seeds = Seeds(args.out, CURATED_MAX, CURATED_KEEP)
    else:
        seeds = Seeds(args.out, GENERATED_MAX)

    tars: list[tuple[str, bytes]] = []
    if args.corpus:
        for name in sorted(os.listdir(args.corpus)):
            if name.endswith(".tar"):
                with open(os.path.join(args.corpus, name), "rb") as f:
                    tar = f.read()
                if len(tar) > 4 * GENERATED_MAX:
                    continue
                small = shrink_tar(tar)
                tars.append((name, small if args.curated else tar))
                seeds.add("tar_header", small)
                if not args.curated:
                    seeds.add("tar_header", tar)

    if args.esgz and tars:
        with tempfile.TemporaryDirectory() as work:
            for blob, toc in blobs_from_tars(args.esgz, tars, work):
                if toc:
                    seeds.add("toc_json", toc)
                tail = blob[-FOOTER_TAIL:]
                seeds.add("footer", struct.pack("<Q", len(blob)) + tail)
                if not args.curated:
                    seeds.add("footer", struct.pack("<Q", len(blob)) + blob)
                for i, member in enumerate(gzip_members(blob)):
                    seeds.add("gzip_member", bytes([i * 3]) + member)

    for s in footer_seeds():
        seeds.add("footer", s, pinned=True)
    for s in gzip_seeds():
        seeds.add("gzip_member", s, pinned=True)
    for s in CONTENT_RANGES:
        seeds.add("content_range", s, pinned=True)
    for s in WWW_AUTHENTICATE + TOKEN_REPLIES:
        seeds.add("www_authenticate", s, pinned=True)
    for s in multipart_seeds():
        seeds.add("multipart", s, pinned=True)
    fixtures = os.path.join(ROOT, "mirror-client", "tests", "fixtures")
    configs = list(STARGZ_TOML) + list(NYDUS_JSON)
    if os.path.isdir(fixtures):
        for name in sorted(os.listdir(fixtures)):
            with open(os.path.join(fixtures, name), "rb") as f:
                configs.append(f.read())
    for s in configs:
        seeds.add("mirror_config", s, pinned=True)
    for s in encode_roundtrip_seeds():
        seeds.add("encode_roundtrip", s, pinned=True)
    for s in reader_seeds():
        seeds.add("reader_random_reads", s, pinned=True)

    seeds.write()
    return 0


if __name__ == "__main__":
    sys.exit(main())
