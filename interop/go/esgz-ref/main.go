// Command esgz-ref drives the reference eStargz implementation (Debian's
// golang-github-containerd-stargz-snapshotter-dev, estargz 0.12.0) for the
// interop tests of the Rust workspace. Every subcommand prints
// machine-readable output on stdout; errors go to stderr with exit code 1
// (usage errors: exit code 2).
//
// Build it in GOPATH mode against Debian's packages (no network):
//
//	GO111MODULE=off GOPATH=/usr/share/gocode GOFLAGS= go build -o OUT ./interop/go/esgz-ref
//
// Run "esgz-ref help" for the subcommands. Build output depends on
// GOMAXPROCS (the reference splits the layer into GOMAXPROCS parts); run it
// with GOMAXPROCS=1 whenever bytes are compared.
package main

import (
	stdtar "archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/containerd/stargz-snapshotter/estargz"
	"github.com/containerd/stargz-snapshotter/estargz/zstdchunked"
	"github.com/klauspost/compress/zstd"
	digest "github.com/opencontainers/go-digest"
	splittar "github.com/vbatts/tar-split/archive/tar"
	"golang.org/x/sys/unix"
)

const usage = `usage: esgz-ref SUBCOMMAND ...

  build IN.tar OUT.blob [-level N] [-chunk-size N] [-prioritized a,b,c]
                        [-allow-missing] [-zstd]
      estargz.Build; prints {"toc_digest","diff_id","blob_size",
      "uncompressed_size","blob_digest"[,"missed_prioritized"]}
  toc BLOB               raw TOC JSON bytes as stored in the blob
  info BLOB              {"format","toc_offset","footer_size","toc_digest","entries"}
  open BLOB              estargz.Open only (parse the TOC, build the index); prints
                         {"root_children"} (for timing opens)
  verify BLOB TOCDIGEST  one {"path","size","sha256"} line per regular file
  retar IN.tar OUT.tar [-single]
                         re-encode every header like estargz.Build does
  extract BLOB TOCDIGEST DIR
                         verified reference extraction into DIR
`

func main() {
	if len(os.Args) < 2 {
		usageExit("missing subcommand")
	}
	args := os.Args[2:]
	var err error
	switch os.Args[1] {
	case "build":
		err = cmdBuild(args)
	case "toc":
		err = cmdTOC(args)
	case "info":
		err = cmdInfo(args)
	case "open":
		err = cmdOpen(args)
	case "verify":
		err = cmdVerify(args)
	case "retar":
		err = cmdRetar(args)
	case "extract":
		err = cmdExtract(args)
	case "help", "-h", "--help":
		fmt.Print(usage)
		return
	default:
		usageExit(fmt.Sprintf("unknown subcommand %q", os.Args[1]))
	}
	if err != nil {
		var ue usageError
		if errors.As(err, &ue) {
			usageExit(ue.msg)
		}
		fmt.Fprintf(os.Stderr, "esgz-ref %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

type usageError struct{ msg string }

func (u usageError) Error() string { return u.msg }

func usageExit(msg string) {
	fmt.Fprintf(os.Stderr, "esgz-ref: %s\n%s", msg, usage)
	os.Exit(2)
}

// parseInterleaved parses flags that may appear before, between or after the
// positional arguments, and checks the number of positional arguments.
func parseInterleaved(fs *flag.FlagSet, args []string, npos int) ([]string, error) {
	fs.SetOutput(io.Discard)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, usageError{err.Error()}
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	if len(pos) != npos {
		return nil, usageError{fmt.Sprintf("%s wants %d arguments, got %d", fs.Name(), npos, len(pos))}
	}
	return pos, nil
}

func printJSONLine(v interface{}) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	_, err = os.Stdout.Write(b)
	return err
}

// ---------------------------------------------------------------- build

type buildResult struct {
	TOCDigest         string    `json:"toc_digest"`
	DiffID            string    `json:"diff_id"`
	BlobSize          int64     `json:"blob_size"`
	UncompressedSize  int64     `json:"uncompressed_size"`
	BlobDigest        string    `json:"blob_digest"`
	MissedPrioritized *[]string `json:"missed_prioritized,omitempty"`
}

func cmdBuild(args []string) error {
	fs := flag.NewFlagSet("build", flag.ContinueOnError)
	level := fs.Int("level", -100, "gzip level (default: the reference's default, 9); zstd level with -zstd (default 3)")
	chunkSize := fs.Int("chunk-size", 0, "chunk size (0: the reference's default, 4 MiB)")
	prioritized := fs.String("prioritized", "", "comma-separated prioritized files")
	allowMissing := fs.Bool("allow-missing", false, "WithAllowPrioritizeNotFound; prints missed_prioritized")
	useZstd := fs.Bool("zstd", false, "zstd:chunked (estargz/zstdchunked) instead of gzip")
	pos, err := parseInterleaved(fs, args, 2)
	if err != nil {
		return err
	}
	in, err := os.Open(pos[0])
	if err != nil {
		return err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return err
	}

	var opts []estargz.Option
	if *chunkSize != 0 {
		opts = append(opts, estargz.WithChunkSize(*chunkSize))
	}
	if *prioritized != "" {
		opts = append(opts, estargz.WithPrioritizedFiles(strings.Split(*prioritized, ",")))
	}
	var missed []string
	if *allowMissing {
		opts = append(opts, estargz.WithAllowPrioritizeNotFound(&missed))
	}
	if *useZstd {
		zl := 3
		if *level != -100 {
			zl = *level
		}
		opts = append(opts, estargz.WithCompression(zstdCompression{
			&zstdchunked.Compressor{CompressionLevel: zstd.EncoderLevelFromZstd(zl)},
			new(zstdchunked.Decompressor),
		}))
	} else if *level != -100 {
		opts = append(opts, estargz.WithCompressionLevel(*level))
	}

	blob, err := estargz.Build(io.NewSectionReader(in, 0, st.Size()), opts...)
	if err != nil {
		return err
	}
	tmp := pos[1] + ".tmp"
	out, err := os.Create(tmp)
	if err != nil {
		blob.Close()
		return err
	}
	blobHash := sha256.New()
	n, copyErr := io.Copy(io.MultiWriter(out, blobHash), blob)
	closeErr := blob.Close()
	if err := out.Close(); err != nil && copyErr == nil {
		copyErr = err
	}
	if copyErr == nil {
		copyErr = closeErr
	}
	if copyErr != nil {
		os.Remove(tmp)
		return copyErr
	}
	if err := os.Rename(tmp, pos[1]); err != nil {
		return err
	}

	// Count the decompressed bytes ourselves (0.12.0's Blob has no
	// UncompressedSize) and cross-check them against the reference DiffID.
	usize, udigest, err := decompressedSizeAndDigest(pos[1], *useZstd)
	if err != nil {
		return fmt.Errorf("decompressing the built blob: %w", err)
	}
	if udigest != blob.DiffID().String() {
		return fmt.Errorf("internal: DiffID %s != digest of decompressed blob %s", blob.DiffID(), udigest)
	}
	res := buildResult{
		TOCDigest:        blob.TOCDigest().String(),
		DiffID:           blob.DiffID().String(),
		BlobSize:         n,
		UncompressedSize: usize,
		BlobDigest:       "sha256:" + hex.EncodeToString(blobHash.Sum(nil)),
	}
	if *allowMissing {
		if missed == nil {
			missed = []string{}
		}
		res.MissedPrioritized = &missed
	}
	return printJSONLine(res)
}

// zstdCompression pairs the zstdchunked compressor and decompressor into an
// estargz.Compression (0.12.0 has no ready-made pair).
type zstdCompression struct {
	*zstdchunked.Compressor
	*zstdchunked.Decompressor
}

func decompressedSizeAndDigest(p string, isZstd bool) (int64, string, error) {
	f, err := os.Open(p)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	var r io.ReadCloser
	if isZstd {
		r, err = new(zstdchunked.Decompressor).Reader(bufio.NewReader(f))
	} else {
		r, err = gzip.NewReader(bufio.NewReader(f))
	}
	if err != nil {
		return 0, "", err
	}
	defer r.Close()
	h := sha256.New()
	n, err := io.Copy(h, r)
	if err != nil {
		return 0, "", err
	}
	return n, "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// ---------------------------------------------------------------- toc / info

type blobTOC struct {
	format     string // "estargz", "legacy-stargz" or "zstdchunked"
	tocOffset  int64
	footerSize int64
	raw        []byte
}

func openBlob(p string) (*os.File, *io.SectionReader, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, io.NewSectionReader(f, 0, st.Size()), nil
}

// readRawTOC finds the TOC through the footer and returns the TOC JSON bytes
// exactly as stored (not re-serialised).
func readRawTOC(sr *io.SectionReader) (*blobTOC, error) {
	tocOffset, footerSize, gzErr := estargz.OpenFooter(sr)
	if gzErr == nil {
		end := sr.Size() - footerSize
		if tocOffset < 0 || tocOffset > end {
			return nil, fmt.Errorf("TOC offset %d outside the blob (payload end %d)", tocOffset, end)
		}
		zr, err := gzip.NewReader(io.NewSectionReader(sr, tocOffset, end-tocOffset))
		if err != nil {
			return nil, fmt.Errorf("TOC member: %w", err)
		}
		defer zr.Close()
		tr := stdtar.NewReader(zr)
		for {
			h, err := tr.Next()
			if err != nil {
				return nil, fmt.Errorf("no %s entry in the TOC member: %v", estargz.TOCTarName, err)
			}
			if h.Name == estargz.TOCTarName {
				raw, err := io.ReadAll(tr)
				if err != nil {
					return nil, err
				}
				format := "estargz"
				if footerSize != estargz.FooterSize {
					format = "legacy-stargz"
				}
				return &blobTOC{format, tocOffset, footerSize, raw}, nil
			}
		}
	}
	// zstd:chunked (containers/storage's old layout, as written by 0.12.0):
	// a 40-byte footer at the very end of the blob.
	const zfs = zstdchunked.FooterSize
	if sr.Size() >= zfs {
		footer := make([]byte, zfs)
		if _, err := sr.ReadAt(footer, sr.Size()-zfs); err != nil {
			return nil, err
		}
		if string(footer[32:40]) == "GnUlInUx" {
			off := binary.LittleEndian.Uint64(footer[0:8])
			clen := binary.LittleEndian.Uint64(footer[8:16])
			if off > uint64(sr.Size()) || clen > uint64(sr.Size())-off {
				return nil, fmt.Errorf("zstd:chunked TOC range %d+%d outside the blob", off, clen)
			}
			dec, err := zstd.NewReader(io.NewSectionReader(sr, int64(off), int64(clen)))
			if err != nil {
				return nil, err
			}
			defer dec.Close()
			raw, err := io.ReadAll(dec)
			if err != nil {
				return nil, fmt.Errorf("zstd:chunked TOC: %w", err)
			}
			return &blobTOC{"zstdchunked", int64(off), zfs, raw}, nil
		}
	}
	return nil, fmt.Errorf("no eStargz, legacy stargz or zstd:chunked footer: %v", gzErr)
}

func cmdTOC(args []string) error {
	if len(args) != 1 {
		return usageError{"toc wants BLOB"}
	}
	f, sr, err := openBlob(args[0])
	if err != nil {
		return err
	}
	defer f.Close()
	t, err := readRawTOC(sr)
	if err != nil {
		return err
	}
	_, err = os.Stdout.Write(t.raw)
	return err
}

func cmdInfo(args []string) error {
	if len(args) != 1 {
		return usageError{"info wants BLOB"}
	}
	f, sr, err := openBlob(args[0])
	if err != nil {
		return err
	}
	defer f.Close()
	t, err := readRawTOC(sr)
	if err != nil {
		return err
	}
	var toc estargz.JTOC
	if err := json.Unmarshal(t.raw, &toc); err != nil {
		return fmt.Errorf("TOC JSON: %w", err)
	}
	return printJSONLine(struct {
		Format     string `json:"format"`
		TOCOffset  int64  `json:"toc_offset"`
		FooterSize int64  `json:"footer_size"`
		TOCDigest  string `json:"toc_digest"`
		Entries    int    `json:"entries"`
		Version    int    `json:"version"`
	}{t.format, t.tocOffset, t.footerSize, digest.FromBytes(t.raw).String(), len(toc.Entries), toc.Version})
}

// ---------------------------------------------------------------- open

// cmdOpen times what a lazy reader pays before its first file read: the reference's
// estargz.Open (footer, TOC, JSON decoding and its index). Nothing is verified.
func cmdOpen(args []string) error {
	if len(args) != 1 {
		return usageError{"open wants BLOB"}
	}
	f, sr, err := openBlob(args[0])
	if err != nil {
		return err
	}
	defer f.Close()
	r, err := estargz.Open(sr, estargz.WithDecompressors(new(zstdchunked.Decompressor)))
	if err != nil {
		return fmt.Errorf("estargz.Open: %w", err)
	}
	root, ok := r.Lookup("")
	if !ok {
		return fmt.Errorf("no root entry")
	}
	children := 0
	root.ForeachChild(func(string, *estargz.TOCEntry) bool { children++; return true })
	return printJSONLine(struct {
		RootChildren int `json:"root_children"`
	}{children})
}

// ---------------------------------------------------------------- verify

// openVerified opens the blob with the reference reader, checks the TOC
// digest and returns the reader, the verifier and the TOC entries in order.
func openVerified(sr *io.SectionReader, tocDigest string) (*estargz.Reader, estargz.TOCEntryVerifier, []*estargz.TOCEntry, error) {
	want, err := digest.Parse(tocDigest)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("TOC digest %q: %w", tocDigest, err)
	}
	r, err := estargz.Open(sr, estargz.WithDecompressors(new(zstdchunked.Decompressor)))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("estargz.Open: %w", err)
	}
	v, err := r.VerifyTOC(want)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("VerifyTOC: %w", err)
	}
	// The Reader does not expose its entry list; decode the same TOC bytes.
	t, err := readRawTOC(sr)
	if err != nil {
		return nil, nil, nil, err
	}
	var toc estargz.JTOC
	if err := json.Unmarshal(t.raw, &toc); err != nil {
		return nil, nil, nil, fmt.Errorf("TOC JSON: %w", err)
	}
	return r, v, toc.Entries, nil
}

// readVerified reads the whole content of regular file name chunk by chunk
// through the reference reader, checks every chunk against its TOC chunk
// digest and the whole file against the TOC digest, and streams it to w.
func readVerified(r *estargz.Reader, v estargz.TOCEntryVerifier, name string, w io.Writer) (int64, string, error) {
	ent, ok := r.Lookup(name)
	if !ok {
		return 0, "", fmt.Errorf("%q: Lookup failed", name)
	}
	if ent.Type != "reg" {
		return 0, "", fmt.Errorf("%q: Lookup returned type %q", name, ent.Type)
	}
	fr, err := r.OpenFile(name)
	if err != nil {
		return 0, "", fmt.Errorf("%q: OpenFile: %w", name, err)
	}
	whole := sha256.New()
	var off int64
	for off < ent.Size {
		ce, ok := r.ChunkEntryForOffset(name, off)
		if !ok {
			return 0, "", fmt.Errorf("%q: no chunk at offset %d", name, off)
		}
		if ce.ChunkOffset != off || ce.ChunkSize <= 0 || off+ce.ChunkSize > ent.Size {
			return 0, "", fmt.Errorf("%q: bad chunk at %d: chunkOffset %d chunkSize %d", name, off, ce.ChunkOffset, ce.ChunkSize)
		}
		buf := make([]byte, ce.ChunkSize)
		if n, err := fr.ReadAt(buf, off); n != len(buf) {
			return 0, "", fmt.Errorf("%q: ReadAt(%d bytes at %d) = %d, %v", name, len(buf), off, n, err)
		}
		cv, err := v.Verifier(ce)
		if err != nil {
			return 0, "", fmt.Errorf("%q: chunk at %d: %w", name, off, err)
		}
		cv.Write(buf)
		if !cv.Verified() {
			return 0, "", fmt.Errorf("%q: chunk at %d (blob offset %d) does not match its chunkDigest", name, off, ce.Offset)
		}
		whole.Write(buf)
		if w != nil {
			if _, err := w.Write(buf); err != nil {
				return 0, "", err
			}
		}
		off += ce.ChunkSize
	}
	sum := hex.EncodeToString(whole.Sum(nil))
	if ent.Digest != "sha256:"+sum {
		return 0, "", fmt.Errorf("%q: content sha256:%s != TOC digest %q", name, sum, ent.Digest)
	}
	return off, sum, nil
}

func cmdVerify(args []string) error {
	if len(args) != 2 {
		return usageError{"verify wants BLOB TOCDIGEST"}
	}
	f, sr, err := openBlob(args[0])
	if err != nil {
		return err
	}
	defer f.Close()
	r, v, entries, err := openVerified(sr, args[1])
	if err != nil {
		return err
	}
	out := bufio.NewWriter(os.Stdout)
	for _, e := range entries {
		if e.Type != "reg" {
			continue
		}
		name := cleanName(e.Name)
		n, sum, err := readVerified(r, v, name, nil)
		if err != nil {
			return err
		}
		b, err := json.Marshal(struct {
			Path   string `json:"path"`
			Size   int64  `json:"size"`
			SHA256 string `json:"sha256"`
		}{name, n, sum})
		if err != nil {
			return err
		}
		out.Write(append(b, '\n'))
	}
	return out.Flush()
}

// cleanName is the reference reader's name cleaning: path.Clean("/"+name)
// without the leading slash (root = "").
func cleanName(name string) string {
	return strings.TrimPrefix(path.Clean("/"+name), "/")
}

// ---------------------------------------------------------------- retar

// cmdRetar re-encodes a tar like estargz.Build does for every input entry:
// Build reads the input with Go's archive/tar and writes each header and
// payload with Go's archive/tar Writer (WriteHeader + payload); the
// estargz Writer then reads that stream with tar-split's fork of archive/tar
// and writes each header with the fork's Writer: WriteHeader(h), the
// payload, Flush (padding) -- and never Close, so the payload part of a
// blob has no end-of-archive. This command performs both passes (or only
// the first one with -single), and unlike the estargz Writer it DOES end
// the output with the normal two-zero-block trailer (tar.Writer.Close), so
// OUT is a complete tar. Landmarks, de-duplication and sorting are NOT
// applied: entries come out in input order.
func cmdRetar(args []string) error {
	fs := flag.NewFlagSet("retar", flag.ContinueOnError)
	single := fs.Bool("single", false, "only the Go archive/tar pass (no tar-split pass)")
	pos, err := parseInterleaved(fs, args, 2)
	if err != nil {
		return err
	}
	in, err := os.Open(pos[0])
	if err != nil {
		return err
	}
	defer in.Close()

	pr, pw := io.Pipe()
	go func() {
		pw.CloseWithError(retarStd(bufio.NewReader(in), pw))
	}()
	var outBuf bytes.Buffer
	if *single {
		if _, err := io.Copy(&outBuf, pr); err != nil {
			return err
		}
	} else if err := retarSplit(pr, &outBuf); err != nil {
		pr.CloseWithError(err)
		return err
	}
	return os.WriteFile(pos[1], outBuf.Bytes(), 0o644)
}

// retarStd is the first pass; it ends with tw.Close() (trailer) as Build's
// readerFromEntries does.
func retarStd(r io.Reader, w io.Writer) error {
	tr := stdtar.NewReader(r)
	tw := stdtar.NewWriter(w)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("archive/tar: Next: %w", err)
		}
		if err := tw.WriteHeader(h); err != nil {
			return fmt.Errorf("archive/tar: WriteHeader(%q): %w", h.Name, err)
		}
		if _, err := io.Copy(tw, tr); err != nil {
			return fmt.Errorf("archive/tar: payload of %q: %w", h.Name, err)
		}
	}
	return tw.Close()
}

// retarSplit is the second pass, as estargz's Writer.AppendTar (lossy):
// WriteHeader, payload, Flush per entry; then Close for the trailer.
func retarSplit(r io.Reader, w io.Writer) error {
	tr := splittar.NewReader(r)
	tw := splittar.NewWriter(w)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("tar-split: Next: %w", err)
		}
		if err := tw.WriteHeader(h); err != nil {
			return fmt.Errorf("tar-split: WriteHeader(%q): %w", h.Name, err)
		}
		if _, err := io.Copy(tw, tr); err != nil {
			return fmt.Errorf("tar-split: payload of %q: %w", h.Name, err)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return tw.Close()
}

// ---------------------------------------------------------------- extract

type dirTime struct {
	path  string
	mtime time.Time
}

func cmdExtract(args []string) error {
	if len(args) != 3 {
		return usageError{"extract wants BLOB TOCDIGEST DIR"}
	}
	f, sr, err := openBlob(args[0])
	if err != nil {
		return err
	}
	defer f.Close()
	r, v, entries, err := openVerified(sr, args[1])
	if err != nil {
		return err
	}
	root, err := filepath.Abs(args[2])
	if err != nil {
		return err
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return err
	}
	isRoot := os.Geteuid() == 0
	var dirs []dirTime
	var links []*estargz.TOCEntry

	for _, e := range entries {
		if e.Type == "chunk" {
			continue
		}
		name := cleanName(e.Name)
		if e.Type == "hardlink" {
			links = append(links, e) // after every target exists
			continue
		}
		if name == "" {
			if e.Type == "dir" {
				if err := applyMeta(root, e, isRoot); err != nil {
					return err
				}
				dirs = append(dirs, dirTime{root, parseTime(e.ModTime3339)})
			}
			continue
		}
		target, err := prepare(root, name)
		if err != nil {
			return err
		}
		if e.Type != "dir" {
			if err := removeExisting(target); err != nil {
				return err
			}
		}
		switch e.Type {
		case "dir":
			if fi, err := os.Lstat(target); err == nil && !fi.IsDir() {
				if err := os.Remove(target); err != nil {
					return err
				}
			}
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
			dirs = append(dirs, dirTime{target, parseTime(e.ModTime3339)})
		case "reg":
			out, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
			if err != nil {
				return err
			}
			bw := bufio.NewWriter(out)
			_, _, err = readVerified(r, v, name, bw)
			if err == nil {
				err = bw.Flush()
			}
			if cerr := out.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
		case "symlink":
			if err := os.Symlink(e.LinkName, target); err != nil {
				return err
			}
		case "char", "block", "fifo":
			if e.Type != "fifo" && !isRoot {
				fmt.Fprintf(os.Stderr, "esgz-ref extract: skipping device %q (not root)\n", name)
				continue
			}
			mode := uint32(unix.S_IFIFO)
			if e.Type == "char" {
				mode = unix.S_IFCHR
			} else if e.Type == "block" {
				mode = unix.S_IFBLK
			}
			dev := unix.Mkdev(uint32(e.DevMajor), uint32(e.DevMinor))
			if err := unix.Mknod(target, mode|0o600, int(dev)); err != nil {
				if errors.Is(err, unix.EPERM) && e.Type != "fifo" {
					// Containers without CAP_MKNOD: keep going.
					fmt.Fprintf(os.Stderr, "esgz-ref extract: skipping device %q: %v\n", name, err)
					continue
				}
				return fmt.Errorf("mknod %q: %w", name, err)
			}
		default:
			return fmt.Errorf("%q: unknown TOC entry type %q", name, e.Type)
		}
		if e.Type != "dir" {
			if err := applyMeta(target, e, isRoot); err != nil {
				return err
			}
			if err := setTimes(target, parseTime(e.ModTime3339)); err != nil {
				return err
			}
		} else if err := applyMeta(target, e, isRoot); err != nil {
			return err
		}
	}
	for _, e := range links {
		name := cleanName(e.Name)
		target, err := prepare(root, name)
		if err != nil {
			return err
		}
		src, err := prepare(root, cleanName(e.LinkName))
		if err != nil {
			return err
		}
		if err := removeExisting(target); err != nil {
			return err
		}
		if err := os.Link(src, target); err != nil {
			return fmt.Errorf("hardlink %q -> %q: %w", name, e.LinkName, err)
		}
	}
	// Directory times last (deepest first), after all their children exist.
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := setTimes(dirs[i].path, dirs[i].mtime); err != nil {
			return err
		}
	}
	return nil
}

func parseTime(s string) time.Time {
	if s == "" {
		return time.Unix(0, 0)
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Unix(0, 0)
	}
	return t
}

// prepare returns root/name after creating missing parents (mode 0755) and
// refusing any parent that is not a real directory (no symlink escapes).
func prepare(root, name string) (string, error) {
	parts := strings.Split(name, "/")
	cur := root
	for _, p := range parts[:len(parts)-1] {
		cur = filepath.Join(cur, p)
		fi, err := os.Lstat(cur)
		if errors.Is(err, os.ErrNotExist) {
			if err := os.Mkdir(cur, 0o755); err != nil {
				return "", err
			}
			continue
		}
		if err != nil {
			return "", err
		}
		if !fi.IsDir() {
			return "", fmt.Errorf("%q: parent %q is not a directory", name, cur)
		}
	}
	return filepath.Join(cur, parts[len(parts)-1]), nil
}

func removeExisting(p string) error {
	fi, err := os.Lstat(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return os.RemoveAll(p)
	}
	return os.Remove(p)
}

func applyMeta(p string, e *estargz.TOCEntry, isRoot bool) error {
	if isRoot {
		if err := os.Lchown(p, e.UID, e.GID); err != nil {
			return err
		}
	}
	if e.Type == "symlink" {
		return nil
	}
	// FileInfo.Mode maps the tar mode (incl. setuid/setgid/sticky) like Go's
	// tar.Header.FileInfo; os.Chmod maps those bits back.
	m := e.Stat().Mode()
	return os.Chmod(p, m&(os.ModePerm|os.ModeSetuid|os.ModeSetgid|os.ModeSticky))
}

func setTimes(p string, t time.Time) error {
	ts := unix.NsecToTimespec(t.UnixNano())
	return unix.UtimesNanoAt(unix.AT_FDCWD, p, []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW)
}
