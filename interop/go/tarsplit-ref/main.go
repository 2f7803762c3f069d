// Command tarsplit-ref runs Debian's tar-split library (github.com/vbatts/tar-split), the
// one containers/storage embeds in zstd:chunked v2 blobs, for the interop tests.
//
//	tarsplit-ref disasm TAR            the tar-split JSON lines of TAR, on stdout
//	tarsplit-ref asm JSONL ROOT OUT    the tar rebuilt from JSONL and the files under ROOT
//
// disasm reads TAR as containers/storage's compressor does (asm.NewInputTarStream with a
// JSON packer, the stream read to its end); asm checks every file's CRC-64 while writing.
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/vbatts/tar-split/tar/asm"
	"github.com/vbatts/tar-split/tar/storage"
)

func disasm(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	its, err := asm.NewInputTarStream(f, storage.NewJSONPacker(os.Stdout), nil)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, its)
	return err
}

func assemble(jsonl, root, out string) error {
	in, err := os.Open(jsonl)
	if err != nil {
		return err
	}
	defer in.Close()
	w, err := os.Create(out)
	if err != nil {
		return err
	}
	if err := asm.WriteOutputTarStream(storage.NewPathFileGetter(root), storage.NewJSONUnpacker(in), w); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}

func main() {
	var err error
	switch {
	case len(os.Args) == 3 && os.Args[1] == "disasm":
		err = disasm(os.Args[2])
	case len(os.Args) == 5 && os.Args[1] == "asm":
		err = assemble(os.Args[2], os.Args[3], os.Args[4])
	default:
		err = fmt.Errorf("usage: tarsplit-ref disasm TAR | asm JSONL ROOT OUT")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "tarsplit-ref:", err)
		os.Exit(1)
	}
}
