#!/usr/bin/env python3
"""Generate the interop corpus: a directory of small, tricky, deterministic tars.

Usage: gen_corpus.py OUTDIR [--ref ESGZ_REF_BINARY]

Every tar is written byte by byte by the tiny tar encoder below (no tarfile
module, no GNU tar), so the exact header bytes -- USTAR, PAX, GNU long names,
old GNU sparse, PAX 1.0 sparse, global headers, base-256 numbers -- are under
our control and identical on every machine. Data is pseudo-random from fixed
seeds, mtimes are fixed.

OUTDIR/manifest.json lists every tar:

  {"version": 1,
   "tars": [
     {"file": "basic-ustar.tar",
      "description": "...",
      "features": ["ustar", ...],
      "reference_accepts": true,          # Go estargz.Build succeeds on it
      "reference_error": null,            # Build's error text when it does not
      "suggested_chunk_sizes": [3, 512],  # extra chunk sizes worth building with
      "expected_regular_files": [         # what `esgz-ref verify` lists, minus
        {"path": "a/b", "size": 3,        # the landmark Build adds; Build order
         "sha256": "<hex>"}, ...]}, ...]}

expected_regular_files follows estargz.Build's import rules: names are
cleaned like the reference reader (path.Clean("/"+name) without the leading
"/"; invalid UTF-8 bytes become U+FFFD as Go's JSON encoder writes them),
root-level .prefetch.landmark/.no.prefetch.landmark are dropped, a name seen
again (after cleaning) is removed from its old position and re-appended
(last one wins), a root stargz.index.json is dropped, and only regular files
(typeflag '0'/'\\0') are listed -- hardlinks are TOC "hardlink" entries,
which `verify` does not list. Build prepends exactly one landmark
(.no.prefetch.landmark when nothing is prioritized); it is not in this list.

With --ref, each tar is built by the reference (GOMAXPROCS=1, gzip level 0)
and reference_accepts/reference_error are taken from that run; the run must
agree with the expectation recorded here, otherwise this script fails.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import subprocess
import sys
import tempfile

MTIME = 1_600_000_000  # 2020-09-13T12:26:40Z
BLOCK = 512
MIB = 1 << 20
CHUNK = 4 * MIB


# --------------------------------------------------------------- data


def rand_bytes(seed: int, n: int) -> bytes:
    return random.Random(seed).randbytes(n)


def mixed_bytes(seed: int, n: int) -> bytes:
    """Half incompressible, half text: realistic and quick to compress."""
    rng = random.Random(seed)
    words = [b"estargz", b"chunk", b"layer", b"toc", b"gzip", b"member", b"lazy", b"pull"]
    out = bytearray()
    while len(out) < n:
        if rng.random() < 0.5:
            out += rng.randbytes(4096)
        else:
            line = b" ".join(rng.choice(words) for _ in range(12)) + b"\n"
            out += line * (4096 // len(line) + 1)
    return bytes(out[:n])


def text(s: str) -> bytes:
    return s.encode()


# --------------------------------------------------------------- tar encoding


def octal(n: int, width: int) -> bytes:
    """Zero-padded octal filling width-1 digits, NUL-terminated."""
    s = b"%0*o" % (width - 1, n)
    if len(s) > width - 1:
        raise ValueError(f"{n} does not fit in {width} octal bytes")
    return s + b"\0"


def base256(n: int, width: int) -> bytes:
    """GNU base-256 (two's complement, high bit of first byte set)."""
    if n < 0:
        n += 1 << (8 * width)
    b = n.to_bytes(width, "big")
    return bytes([b[0] | 0x80]) + b[1:]


def num(n: int, width: int, gnu: bool) -> bytes:
    if 0 <= n < 8 ** (width - 1):
        return octal(n, width)
    if not gnu:
        raise ValueError(f"{n} needs base-256 (GNU only)")
    return base256(n, width)


def field(b: bytes, width: int) -> bytes:
    if len(b) > width:
        raise ValueError(f"{b!r} longer than {width}")
    return b + b"\0" * (width - len(b))


def header(
    name: bytes,
    *,
    typeflag: bytes = b"0",
    size: int = 0,
    mode: int = 0o644,
    uid: int = 0,
    gid: int = 0,
    mtime: int = MTIME,
    linkname: bytes = b"",
    uname: bytes = b"",
    gname: bytes = b"",
    devmajor: int = 0,
    devminor: int = 0,
    prefix: bytes = b"",
    fmt: str = "ustar",  # ustar | gnu | v7
    gnu_sparse: list[tuple[int, int]] | None = None,
    realsize: int = 0,
) -> bytes:
    gnu = fmt == "gnu"
    h = bytearray(BLOCK)
    h[0:100] = field(name, 100)
    h[100:108] = num(mode, 8, gnu)
    h[108:116] = num(uid, 8, gnu)
    h[116:124] = num(gid, 8, gnu)
    h[124:136] = num(size, 12, gnu)
    h[136:148] = num(mtime, 12, gnu)
    h[148:156] = b" " * 8
    h[156:157] = typeflag
    h[157:257] = field(linkname, 100)
    if fmt == "ustar":
        h[257:263] = b"ustar\0"
        h[263:265] = b"00"
    elif gnu:
        h[257:263] = b"ustar "
        h[263:265] = b" \0"
    if fmt != "v7":
        h[265:297] = field(uname, 32)
        h[297:329] = field(gname, 32)
        if typeflag in (b"3", b"4"):
            h[329:337] = octal(devmajor, 8)
            h[337:345] = octal(devminor, 8)
    if fmt == "ustar":
        h[345:500] = field(prefix, 155)
    if gnu_sparse is not None:
        for i, (off, nb) in enumerate(gnu_sparse):
            base = 386 + 24 * i
            h[base : base + 12] = num(off, 12, True)
            h[base + 12 : base + 24] = num(nb, 12, True)
        h[482] = 0
        h[483:495] = num(realsize, 12, True)
    chk = sum(h)
    h[148:156] = b"%06o\0 " % chk
    return bytes(h)


def pad(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % BLOCK)


def pax_records(records: list[tuple[str, bytes]]) -> bytes:
    out = b""
    for k, v in records:
        body = b" " + k.encode() + b"=" + v + b"\n"
        n = len(body) + 1
        while len(str(n).encode()) + len(body) != n:
            n += 1
        out += str(n).encode() + body
    return out


class Tar:
    """Accumulates tar bytes and the model of what estargz.Build keeps."""

    def __init__(self) -> None:
        self.buf = bytearray()
        # model: ordered list of (clean_name, kind, content)
        self.model: list[tuple[str, str, bytes | None]] = []

    # -- raw
    def raw(self, b: bytes) -> None:
        self.buf += b

    def end(self) -> bytes:
        self.buf += b"\0" * (2 * BLOCK)
        return bytes(self.buf)

    def _model(self, name: bytes, typeflag: bytes, content: bytes | None) -> None:
        cname = clean(go_json_string(name))
        if cname in (".prefetch.landmark", ".no.prefetch.landmark"):
            return
        kind = "reg" if typeflag in (b"0", b"\0") else "other"
        self.model = [m for m in self.model if m[0] != cname]
        self.model.append((cname, kind, content))

    # -- entries
    def entry(
        self,
        name: bytes,
        data: bytes = b"",
        *,
        typeflag: bytes = b"0",
        pax: list[tuple[str, bytes]] | None = None,
        gnu_longname: bytes | None = None,
        gnu_longlink: bytes | None = None,
        model_name: bytes | None = None,
        **kw,
    ) -> None:
        """One logical entry, optionally preceded by a PAX 'x' header or GNU
        'L'/'K' records. `name` goes in the ustar name field; model_name is the
        name the reader ends up with (defaults to the PAX path / GNU long name /
        name)."""
        if gnu_longlink is not None:
            self._gnu_long(b"K", gnu_longlink)
        if gnu_longname is not None:
            self._gnu_long(b"L", gnu_longname)
        if pax is not None:
            recs = pax_records(pax)
            self.raw(
                header(pax_header_name(name), typeflag=b"x", size=len(recs), mode=0o644, mtime=0, fmt="ustar")
            )
            self.raw(pad(recs))
        size = len(data) if typeflag in (b"0", b"\0", b"7") else kw.pop("size", 0)
        self.raw(header(name, typeflag=typeflag, size=size, **kw))
        if typeflag in (b"0", b"\0", b"7"):
            self.raw(pad(data))
        if model_name is None:
            model_name = name
            if gnu_longname is not None:
                model_name = gnu_longname
            for k, v in pax or []:
                if k == "path":
                    model_name = v
            if kw.get("prefix"):
                model_name = kw["prefix"] + b"/" + name
        self._model(model_name, typeflag, data)

    def _gnu_long(self, typeflag: bytes, value: bytes) -> None:
        data = value + b"\0"
        self.raw(header(b"././@LongLink", typeflag=typeflag, size=len(data), mode=0o644, mtime=0, fmt="gnu"))
        self.raw(pad(data))

    def file(self, name: str | bytes, data: bytes, **kw) -> None:
        self.entry(name.encode() if isinstance(name, str) else name, data, **kw)

    def dir(self, name: str | bytes, mode: int = 0o755, **kw) -> None:
        self.entry(name.encode() if isinstance(name, str) else name, typeflag=b"5", mode=mode, **kw)

    def symlink(self, name: str | bytes, target: str | bytes, **kw) -> None:
        t = target.encode() if isinstance(target, str) else target
        self.entry(name.encode() if isinstance(name, str) else name, typeflag=b"2", linkname=t, mode=0o777, **kw)

    def hardlink(self, name: str | bytes, target: str | bytes, **kw) -> None:
        t = target.encode() if isinstance(target, str) else target
        self.entry(name.encode() if isinstance(name, str) else name, typeflag=b"1", linkname=t, **kw)

    def expected_regular_files(self) -> list[dict]:
        out = []
        for cname, kind, content in self.model:
            if kind != "reg" or cname == "stargz.index.json":
                continue
            assert content is not None
            out.append({"path": cname, "size": len(content), "sha256": hashlib.sha256(content).hexdigest()})
        return out


def pax_header_name(name: bytes) -> bytes:
    d, _, base = name.rstrip(b"/").rpartition(b"/")
    n = (d + b"/" if d else b"") + b"PaxHeaders.0/" + base
    return n[:100]


def clean(name: str) -> str:
    """Go: strings.TrimPrefix(path.Clean("/"+name), "/")."""
    parts: list[str] = []
    for p in name.split("/"):
        if p in ("", "."):
            continue
        if p == "..":
            if parts:
                parts.pop()
            continue
        parts.append(p)
    return "/".join(parts)


def go_json_string(b: bytes) -> str:
    """Decode like Go's encoding/json writes a string: each byte that does not
    start a valid UTF-8 sequence becomes U+FFFD."""
    out = []
    i = 0
    while i < len(b):
        c = b[i]
        n = 1 if c < 0x80 else 2 if 0xC2 <= c <= 0xDF else 3 if 0xE0 <= c <= 0xEF else 4 if 0xF0 <= c <= 0xF4 else 0
        if n:
            try:
                out.append(b[i : i + n].decode("utf-8"))
                i += n
                continue
            except UnicodeDecodeError:
                pass
        out.append("\ufffd")
        i += 1
    return "".join(out)


# --------------------------------------------------------------- the corpus

CORPUS: list[dict] = []


def tar_case(file: str, description: str, features: list[str], *, accepts: bool = True, chunk_sizes=()):
    def deco(fn):
        CORPUS.append(
            {
                "file": file,
                "description": description,
                "features": features,
                "expect_accepts": accepts,
                "suggested_chunk_sizes": list(chunk_sizes),
                "fn": fn,
            }
        )
        return fn

    return deco


@tar_case("empty.tar", "only the end-of-archive (two zero blocks)", ["empty"])
def _empty(t: Tar) -> None:
    pass


@tar_case(
    "basic-ustar.tar",
    "USTAR only: dirs, files, symlink, empty file, owners, prefix/name split of a long path",
    ["ustar", "symlink", "owners", "ustar-prefix"],
    chunk_sizes=(512,),
)
def _basic(t: Tar) -> None:
    t.dir("etc/", uid=0, gid=0, uname=b"root", gname=b"root")
    t.file("etc/hostname", b"estargz-test\n", uid=0, gid=0, uname=b"root", gname=b"root")
    t.file("etc/os-release", text("NAME=corpus\nVERSION=1\n" * 20), mode=0o644)
    t.dir("home/", mode=0o755)
    t.dir("home/user/", mode=0o700, uid=1000, gid=1000, uname=b"user", gname=b"users")
    t.file("home/user/notes.txt", mixed_bytes(1, 10_000), mode=0o600, uid=1000, gid=1000, uname=b"user", gname=b"users")
    t.file("home/user/empty", b"", uid=1000, gid=1000, uname=b"user", gname=b"users")
    t.symlink("home/user/link", "notes.txt", uid=1000, gid=1000, uname=b"user", gname=b"users")
    t.symlink("abs-link", "/etc/hostname")
    # A 150-byte path split into USTAR prefix + name.
    prefix = ("p" * 60 + "/" + "q" * 60).encode()
    t.file(b"r" * 80, b"split\n", prefix=prefix)
    t.file("bin/tool", rand_bytes(2, 3000), mode=0o755)


@tar_case(
    "v7-typeflag-nul.tar",
    "old V7 headers (no magic), typeflag NUL for regular files, dir by trailing slash",
    ["v7", "typeflag-nul"],
)
def _v7(t: Tar) -> None:
    t.entry(b"v7dir/", typeflag=b"5", mode=0o755, fmt="v7")
    t.entry(b"v7dir/file", b"old style\n", typeflag=b"\0", fmt="v7")
    t.entry(b"v7file2", rand_bytes(3, 700), typeflag=b"\0", fmt="v7")


@tar_case(
    "hardlinks.tar",
    "hardlinks to a small file, to a 9 MiB multi-chunk file, to an empty file, and a link to a link",
    ["hardlink", "multi-chunk"],
    chunk_sizes=(1 * MIB,),
)
def _hardlinks(t: Tar) -> None:
    t.dir("data/")
    t.file("data/small", b"small target\n")
    t.hardlink("data/small-link", "data/small")
    t.file("data/big", mixed_bytes(4, 9 * MIB))
    t.hardlink("big-link", "data/big")
    t.hardlink("data/big-link2", "./data/big")
    t.file("data/empty", b"")
    t.hardlink("data/empty-link", "data/empty")
    t.hardlink("link-to-link", "data/small-link")


@tar_case(
    "hardlink-forward.tar",
    "a hardlink whose target comes LATER in the tar",
    ["hardlink", "hardlink-forward"],
)
def _hardlink_forward(t: Tar) -> None:
    t.hardlink("early-link", "later/target")
    t.dir("later/")
    t.file("later/target", b"I am defined after my link\n")


@tar_case("devices.tar", "char and block devices, FIFOs (USTAR and GNU)", ["char", "block", "fifo"])
def _devices(t: Tar) -> None:
    t.dir("dev/")
    t.entry(b"dev/null", typeflag=b"3", mode=0o666, devmajor=1, devminor=3)
    t.entry(b"dev/sda", typeflag=b"4", mode=0o660, devmajor=8, devminor=0, gid=6, gname=b"disk")
    t.entry(b"dev/fifo", typeflag=b"6", mode=0o644)
    t.entry(b"dev/tty-gnu", typeflag=b"3", mode=0o620, devmajor=5, devminor=0, fmt="gnu")
    t.entry(b"dev/loop-bigminor", typeflag=b"4", mode=0o660, devmajor=7, devminor=1048575)
    t.file("dev/regular-after", b"after devices\n")


LONG_COMPONENT = "a-very-long-file-name-component-" * 5  # 160 bytes


@tar_case(
    "longnames-pax.tar",
    "names and link targets over 100 bytes (and unsplittable) via PAX path/linkpath records",
    ["pax", "long-name", "long-linkname"],
)
def _long_pax(t: Tar) -> None:
    long_name = f"pax/{LONG_COMPONENT}.txt".encode()
    t.dir("pax/")
    t.file(long_name[:100], b"long pax name\n", pax=[("path", long_name)])
    long_dir = f"pax/{LONG_COMPONENT}/".encode()
    t.entry(long_dir[:100], typeflag=b"5", mode=0o755, pax=[("path", long_dir)])
    t.file(b"pax/inner", b"in long dir\n", pax=[("path", long_dir + b"inner.bin")])
    link_target = long_name
    t.entry(b"pax/symlink", typeflag=b"2", mode=0o777, linkname=link_target[:100], pax=[("linkpath", link_target)])
    t.entry(b"pax/hardlink", typeflag=b"1", linkname=link_target[:100], pax=[("linkpath", link_target)])
    both = f"pax/{'b' * 120}-link".encode()
    t.entry(
        both[:100], typeflag=b"2", mode=0o777, linkname=b"x", pax=[("linkpath", b"../" + link_target), ("path", both)]
    )


@tar_case(
    "longnames-gnu.tar",
    "names and link targets over 100 bytes via GNU ././@LongLink (L and K records)",
    ["gnu", "long-name", "long-linkname"],
)
def _long_gnu(t: Tar) -> None:
    long_name = f"gnu/{LONG_COMPONENT}.txt".encode()
    t.entry(b"gnu/", typeflag=b"5", mode=0o755, fmt="gnu")
    t.entry(long_name[:100], b"long gnu name\n", gnu_longname=long_name, fmt="gnu")
    long_dir = f"gnu/{LONG_COMPONENT}/".encode()
    t.entry(long_dir[:100], typeflag=b"5", mode=0o755, gnu_longname=long_dir, fmt="gnu")
    t.entry(b"gnu/symlink", typeflag=b"2", mode=0o777, linkname=long_name[:100], gnu_longlink=long_name, fmt="gnu")
    t.entry(b"gnu/hardlink", typeflag=b"1", linkname=long_name[:100], gnu_longlink=long_name, fmt="gnu")
    both = f"gnu/{'c' * 120}-link".encode()
    t.entry(both[:100], typeflag=b"2", mode=0o777, linkname=b"x", gnu_longname=both, gnu_longlink=b"../" + long_name, fmt="gnu")
    # GNU base-256 numbers: a uid beyond octal range and a large gid.
    t.entry(b"gnu/big-ids", b"ids\n", uid=1 << 31, gid=3_000_000, uname=b"big", gname=b"big", fmt="gnu")


@tar_case(
    "xattrs-pax.tar",
    "PAX SCHILY.xattr.* with binary values (NUL, 0xff, invalid UTF-8), plus other PAX records",
    ["pax", "xattr"],
)
def _xattrs(t: Tar) -> None:
    t.dir("x/", pax=[("SCHILY.xattr.trusted.overlay.opaque", b"y")])
    t.file(
        "x/caps",
        b"#!/bin/true\n",
        mode=0o755,
        pax=[
            ("SCHILY.xattr.security.capability", bytes([1, 0, 0, 2, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])),
            ("SCHILY.xattr.user.binary", bytes(range(256))),
            ("SCHILY.xattr.user.empty", b""),
            ("SCHILY.xattr.user.text<&>", b"value with <html> & stuff"),
        ],
    )
    t.file(
        "x/other-records",
        b"other\n",
        pax=[("LIBARCHIVE.xattr.user.foo", b"YmFy"), ("comment", b"a comment"), ("SCHILY.xattr.user.a", b"\xff\xfe")],
    )
    t.symlink("x/link", "caps", pax=[("SCHILY.xattr.user.onlink", b"1")])


@tar_case(
    "non-utf8-names.tar",
    "names and link targets with invalid UTF-8 bytes (USTAR raw bytes and PAX path)",
    ["non-utf8"],
)
def _non_utf8(t: Tar) -> None:
    t.dir(b"latin1-\xe9t\xe9/")
    t.file(b"latin1-\xe9t\xe9/caf\xe9", b"latin-1\n")
    t.file(b"bad-\xff\xfe-bytes", b"ff fe\n")
    t.file(b"valid-\xc3\xa9-utf8", b"valid\n")
    t.symlink(b"link-\xff", b"bad-\xff\xfe-bytes")
    t.file(b"pax-placeholder", b"pax non-utf8\n", pax=[("path", b"pax-\xe9-\xff-name")])


@tar_case(
    "whiteouts.tar",
    "overlay whiteouts (.wh.foo) and opaque whiteouts (.wh..wh..opq)",
    ["whiteout"],
)
def _whiteouts(t: Tar) -> None:
    t.dir("a/")
    t.file("a/.wh.foo", b"")
    t.file("a/.wh..wh..opq", b"")
    t.dir("b/")
    t.file("b/.wh..wh..opq", b"")
    t.file("b/kept", b"kept\n")
    t.file(".wh.toplevel", b"")


@tar_case(
    "prefixes.tar",
    "'./'-prefixed names with a './' root entry, plus '/'-absolute and '../' names",
    ["dot-prefix", "root-entry", "abs-name", "dotdot-name"],
)
def _prefixes(t: Tar) -> None:
    t.dir("./")
    t.dir("./a/")
    t.file("./a/file", b"dot a\n")
    t.file("./top", b"dot top\n")
    t.symlink("./a/link", "file")
    t.dir("/abs/")
    t.file("/abs/file", b"absolute\n")
    t.file("../up/file", b"dot dot\n")
    t.file("a/../normalized", b"normalised name\n")


@tar_case(
    "duplicates.tar",
    "the same path several times: later content wins, order follows the later copy; './x' vs 'x'; reg replaced by dir/symlink",
    ["duplicate"],
)
def _duplicates(t: Tar) -> None:
    t.dir("a/")
    t.file("a/x", b"version 1\n")
    t.file("b", b"b first\n")
    t.dir("a/")
    t.file("a/x", b"version 2, longer\n")
    t.file("./b", b"b second via ./\n")
    t.file("c", b"c was a file\n")
    t.symlink("c", "b")
    t.file("d", b"d was a file\n")
    t.dir("d/")
    t.file("d/inside", b"inside d\n")
    t.file("e", rand_bytes(5, 5000))
    t.file("e", b"")


@tar_case(
    "empty-files.tar",
    "many empty regular files alternating with small ones",
    ["empty-file"],
    chunk_sizes=(1, 4),
)
def _empty_files(t: Tar) -> None:
    for i in range(12):
        if i % 2:
            t.file(f"f{i:02}", b"")
        else:
            t.file(f"f{i:02}", b"six b\n")
    t.dir("emptydir/")
    t.file("emptydir/zero", b"")


@tar_case(
    "chunk-boundary.tar",
    "files of 4194303, 4194304 and 4194305 bytes around the default 4 MiB chunk size, and 2x/2x+1 chunks",
    ["chunk-boundary", "multi-chunk"],
)
def _chunk_boundary(t: Tar) -> None:
    t.file("minus1", mixed_bytes(10, CHUNK - 1))
    t.file("exact", mixed_bytes(11, CHUNK))
    t.file("plus1", mixed_bytes(12, CHUNK + 1))
    t.file("one-byte", b"!")


@tar_case(
    "small-chunks.tar",
    "files sized around chunk sizes 512 and 4096",
    ["chunk-boundary"],
    chunk_sizes=(512, 4096),
)
def _small_chunks(t: Tar) -> None:
    for n in (511, 512, 513, 1023, 1024, 1025, 4095, 4096, 4097, 12288):
        t.file(f"s{n:05}", rand_bytes(100 + n, n))


@tar_case(
    "tiny-chunks.tar",
    "files of 1 to 13 bytes for chunk sizes 1, 3 and 4",
    ["chunk-boundary"],
    chunk_sizes=(1, 3, 4),
)
def _tiny_chunks(t: Tar) -> None:
    for n in (1, 2, 3, 4, 5, 7, 8, 9, 11, 12, 13):
        t.file(f"t{n:02}", rand_bytes(200 + n, n))


@tar_case("big-20mib.tar", "one 20 MiB file (5 default chunks)", ["multi-chunk", "big"])
def _big(t: Tar) -> None:
    t.file("big.bin", mixed_bytes(20, 20 * MIB))


@tar_case("many-small.tar", "10 000 small files in 100 directories", ["many-files"])
def _many(t: Tar) -> None:
    rng = random.Random(30)
    for d in range(100):
        t.dir(f"dir{d:03}/")
        for f in range(100):
            n = rng.randrange(0, 200)
            t.file(f"dir{d:03}/file{f:03}.txt", rng.randbytes(n))


@tar_case("deep.tar", "60 levels of nested directories (PAX paths beyond 255 bytes)", ["deep", "pax", "long-name"])
def _deep(t: Tar) -> None:
    p = ""
    for i in range(60):
        p += f"level{i:02}/"
        b = p.encode()
        if len(b) <= 100:
            t.dir(b)
        else:
            t.entry(b[-100:], typeflag=b"5", mode=0o755, pax=[("path", b)])
    leaf = (p + "leaf.txt").encode()
    t.file(leaf[-100:], b"deep leaf\n", pax=[("path", leaf)])


@tar_case(
    "implicit-parents.tar",
    "files whose parent directories have no entries of their own",
    ["implicit-parent"],
)
def _implicit(t: Tar) -> None:
    t.file("x/y/z.txt", b"no parents\n")
    t.file("x/y/w.txt", b"sibling\n")
    t.symlink("p/q/link", "../../x/y/z.txt")
    t.dir("m/n/")
    t.file("m/n/o", b"grandparent implicit\n")


@tar_case(
    "owners-modes.tar",
    "uid/gid/uname/gname (also a uid beyond octal via PAX), setuid/setgid/sticky on files and dirs",
    ["owners", "modes", "pax"],
)
def _owners(t: Tar) -> None:
    t.dir("tmp/", mode=0o1777)
    t.dir("shared/", mode=0o2775, uid=0, gid=50, uname=b"root", gname=b"staff")
    t.file("usr-bin-su", b"su\n", mode=0o4755, uid=0, gid=0, uname=b"root", gname=b"root")
    t.file("usr-bin-wall", b"wall\n", mode=0o2755, uid=0, gid=5, uname=b"root", gname=b"tty")
    t.file("all-bits", b"all\n", mode=0o7777, uid=1, gid=1, uname=b"daemon", gname=b"daemon")
    t.file("no-bits", b"none\n", mode=0o000, uid=65534, gid=65534, uname=b"nobody", gname=b"nogroup")
    t.file("user2", b"u2\n", uid=1001, gid=1001, uname=b"alice", gname=b"alice")
    t.file("user2-again", b"u2 again\n", uid=1001, gid=1001, uname=b"alice", gname=b"alice")
    t.file("user2-renamed", b"u2 renamed\n", uid=1001, gid=1001, uname=b"alice2", gname=b"alice2")
    t.file("gid-differs", b"g\n", uid=1001, gid=2000, uname=b"alice", gname=b"")
    t.file(
        "huge-uid",
        b"huge uid\n",
        uid=0,
        gid=0,
        pax=[("gid", b"4294967294"), ("gname", b"g" * 40), ("uid", b"3000000000"), ("uname", b"u" * 40)],
    )


@tar_case(
    "times.tar",
    "pre-1970 mtimes (PAX and GNU base-256), fractional PAX mtimes incl. exact halves, zero mtime, atime/ctime records",
    ["mtime", "pax", "gnu"],
)
def _times(t: Tar) -> None:
    t.file("zero-mtime", b"z\n", mtime=0)
    t.file("one-second", b"1\n", mtime=1)
    t.file("pre1970-pax", b"p\n", mtime=0, pax=[("mtime", b"-3600")])
    t.file("pre1970-frac-pax", b"pf\n", mtime=0, pax=[("mtime", b"-86400.75")])
    t.entry(b"pre1970-gnu", b"g\n", mtime=-1_000_000_000, fmt="gnu")
    t.file("half-up", b"h\n", pax=[("mtime", b"1600000007.5")])
    t.file("frac-down", b"d\n", pax=[("mtime", b"1600000007.499999999")])
    t.file("frac-ns", b"n\n", pax=[("mtime", b"1600000000.123456789")])
    t.file("atime-ctime", b"ac\n", pax=[("atime", b"1600000001.25"), ("ctime", b"1600000002.5"), ("mtime", b"1600000003")])
    t.file("far-future", b"f\n", mtime=8**11 - 1)
    t.dir("dir-frac/", pax=[("mtime", b"1600000000.5")])


@tar_case(
    "reserved-names.tar",
    "root stargz.index.json and landmarks (dropped by Build) next to the same names in a subdirectory (kept)",
    ["reserved-name", "landmark"],
)
def _reserved(t: Tar) -> None:
    t.file("stargz.index.json", b'{"version":1,"entries":null}')
    t.file(".prefetch.landmark", b"\x0f")
    t.file("./.no.prefetch.landmark", b"\x0f")
    t.dir("sub/")
    t.file("sub/stargz.index.json", b"not a toc\n")
    t.file("sub/.prefetch.landmark", b"\x0f")
    t.file("regular", b"regular\n")


# ---- tars the reference is expected to reject


@tar_case("pax-global.tar", "a PAX global header ('g') before normal entries", ["pax-global"], accepts=False)
def _pax_global(t: Tar) -> None:
    recs = pax_records([("comment", b"global comment"), ("mtime", b"1600000000")])
    t.raw(header(b"pax_global_header", typeflag=b"g", size=len(recs), mode=0o666, mtime=0))
    t.raw(pad(recs))
    t.file("after-global", b"after\n")


@tar_case("contiguous.tar", "a type '7' contiguous file", ["contiguous"], accepts=False)
def _contiguous(t: Tar) -> None:
    t.file("before", b"before\n")
    t.entry(b"contig", b"contiguous file data\n", typeflag=b"7")


SPARSE_REAL = 1 * MIB
SPARSE_REGIONS = [(0, 4096, 40), (512 * 1024, 8192, 41), (SPARSE_REAL - 512, 512, 42)]


def sparse_expanded() -> tuple[bytes, bytes]:
    real = bytearray(SPARSE_REAL)
    stored = b""
    for off, n, seed in SPARSE_REGIONS:
        d = rand_bytes(seed, n)
        real[off : off + n] = d
        stored += d
    return bytes(real), stored


@tar_case("sparse-gnu.tar", "an old-GNU sparse file (typeflag 'S', map in the header)", ["sparse", "gnu"], accepts=False)
def _sparse_gnu(t: Tar) -> None:
    real, stored = sparse_expanded()
    smap = [(off, n) for off, n, _ in SPARSE_REGIONS]
    t.raw(
        header(b"sparse.img", typeflag=b"S", size=len(stored), fmt="gnu", gnu_sparse=smap, realsize=SPARSE_REAL)
    )
    t.raw(pad(stored))
    t._model(b"sparse.img", b"S", real)
    t.file("after-sparse", b"after\n")


@tar_case(
    "sparse-pax.tar",
    "a PAX 1.0 sparse file (GNU.sparse.* records, map at the start of the data); Build copies the raw "
    "stored bytes as if they were the expanded content, so it fails (or, with more data after it, would "
    "silently store garbage)",
    ["sparse", "pax"],
    accepts=False,
)
def _sparse_pax(t: Tar) -> None:
    real, stored = sparse_expanded()
    smap = str(len(SPARSE_REGIONS)) + "\n" + "".join(f"{o}\n{n}\n" for o, n, _ in SPARSE_REGIONS)
    data = pad(smap.encode()) + stored
    t.entry(
        b"GNUSparseFile.0/sparse.img",
        data,
        pax=[
            ("GNU.sparse.major", b"1"),
            ("GNU.sparse.minor", b"0"),
            ("GNU.sparse.name", b"sparse.img"),
            ("GNU.sparse.realsize", str(SPARSE_REAL).encode()),
        ],
        model_name=b"__sparse_placeholder__",
    )
    # The reader presents the expanded file under its real name.
    t.model = [m for m in t.model if m[0] != "__sparse_placeholder__"]
    t._model(b"sparse.img", b"0", real)
    t.file("after-sparse", b"after\n")


# --------------------------------------------------------------- main


def run_reference(ref: str, tar_path: str) -> tuple[bool, str | None]:
    env = dict(os.environ, GOMAXPROCS="1")
    with tempfile.TemporaryDirectory() as td:
        out = os.path.join(td, "out.blob")
        p = subprocess.run(
            [ref, "build", tar_path, out, "-level", "0"], env=env, capture_output=True, text=True, errors="replace"
        )
        if p.returncode == 0:
            return True, None
        return False, p.stderr.strip()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("outdir")
    ap.add_argument("--ref", help="esgz-ref binary: measure reference_accepts by running Build")
    ap.add_argument("--only", action="append", help="generate only these tar files (repeatable)")
    args = ap.parse_args()

    os.makedirs(args.outdir, exist_ok=True)
    manifest = {"version": 1, "generator": "interop/corpus/gen_corpus.py", "tars": []}
    mismatches = []
    for case in CORPUS:
        if args.only and case["file"] not in args.only:
            continue
        t = Tar()
        case["fn"](t)
        data = t.end()
        path = os.path.join(args.outdir, case["file"])
        tmp = path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
        accepts, err = case["expect_accepts"], None
        if args.ref:
            accepts, err = run_reference(args.ref, path)
            if accepts != case["expect_accepts"]:
                mismatches.append(f"{case['file']}: expected accepts={case['expect_accepts']}, reference: {err}")
        manifest["tars"].append(
            {
                "file": case["file"],
                "description": case["description"],
                "features": case["features"],
                "size": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
                "reference_accepts": accepts,
                "reference_checked": bool(args.ref),
                "reference_error": err,
                "suggested_chunk_sizes": case["suggested_chunk_sizes"],
                "expected_regular_files": t.expected_regular_files(),
            }
        )
    mpath = os.path.join(args.outdir, "manifest.json")
    with open(mpath + ".tmp", "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=False)
        f.write("\n")
    os.replace(mpath + ".tmp", mpath)
    if mismatches:
        for m in mismatches:
            print("gen_corpus: " + m, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
