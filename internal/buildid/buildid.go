// Package buildid gives the Temporal SDK a cheap identity for this binary.
//
// Every SDK worker reports a "binary checksum" with each workflow task it
// completes (Temporal records it as the task's reset point). Unless told
// otherwise, the SDK computes it once per process as the MD5 of the whole
// executable: for quench, a read and hash of about 250 MB before the first
// worker (the embedded server's system workers, then quench's own) can
// start; measured at 0.3 s on an idle 2-core machine and seconds when the
// file is not in the page cache. The Go linker already stamps each binary
// with a build ID that changes whenever its content does; Install hands
// that to the SDK instead.
//
// It imports only the standard library and the SDK: internal/devserver
// and worker both call it.
package buildid

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	sdkworker "go.temporal.io/sdk/worker"
)

var installOnce sync.Once

// Install sets the SDK's binary checksum of this process to the
// executable's Go build ID, once. When the build ID cannot be read (a
// binary linked without one), the SDK keeps hashing the file itself.
func Install() {
	installOnce.Do(func() {
		exe, err := os.Executable()
		if err != nil {
			return
		}
		if id, err := Read(exe); err == nil {
			sdkworker.SetBinaryChecksum(id)
		}
	})
}

// textPrefix starts the build ID the linker writes at the start of the text
// segment of non-ELF binaries (Mach-O, PE); it ends at the next quote.
var textPrefix = []byte("\xff Go build ID: \"")

// textScan is how much of a non-ELF file is searched for textPrefix: the
// text segment starts after the headers, within the first pages.
const textScan = 64 << 10

// Read returns the Go build ID of the executable at path, as
// `go tool buildid` prints it, reading only its headers.
func Read(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("read go build id: %w", err)
	}
	defer f.Close()
	if ef, err := elf.NewFile(f); err == nil {
		return fromELF(ef, path)
	}
	head := make([]byte, textScan)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return "", fmt.Errorf("read go build id of %s: %w", path, err)
	}
	head = head[:n]
	i := bytes.Index(head, textPrefix)
	if i < 0 {
		return "", fmt.Errorf("read go build id of %s: none in its first %d bytes", path, textScan)
	}
	rest := head[i+len(textPrefix):]
	end := bytes.IndexByte(rest, '"')
	if end <= 0 {
		return "", fmt.Errorf("read go build id of %s: unterminated", path)
	}
	return string(rest[:end]), nil
}

// fromELF reads the .note.go.buildid section: an ELF note named "Go" of
// type 4 whose descriptor is the build ID.
func fromELF(ef *elf.File, path string) (string, error) {
	s := ef.Section(".note.go.buildid")
	if s == nil {
		return "", fmt.Errorf("read go build id of %s: no .note.go.buildid section", path)
	}
	note, err := s.Data()
	if err != nil {
		return "", fmt.Errorf("read go build id of %s: %w", path, err)
	}
	const header = 12 // namesz, descsz, type: 4 bytes each
	if len(note) < header {
		return "", fmt.Errorf("read go build id of %s: note of %d bytes", path, len(note))
	}
	bo := ef.ByteOrder
	namesz, descsz, typ := bo.Uint32(note[0:]), bo.Uint32(note[4:]), bo.Uint32(note[8:])
	nameEnd := header + int(align4(namesz))
	if typ != 4 || namesz < 2 || len(note) < nameEnd+int(descsz) || string(note[header:header+2]) != "Go" || descsz == 0 {
		return "", fmt.Errorf("read go build id of %s: unexpected note (name size %d, type %d, %d bytes)", path, namesz, typ, len(note))
	}
	return string(note[nameEnd : nameEnd+int(descsz)]), nil
}

func align4(n uint32) uint32 { return (n + 3) &^ 3 }
