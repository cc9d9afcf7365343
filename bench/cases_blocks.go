package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/lvback/lvback/bench/internal/treegen"
)

// blockRep runs one repetition of the block-mode cases on image d, with a
// fresh repository; the image is changed in place and changed back, so
// every repetition starts from the same bytes. Each run first drops the
// image and the repository from the page cache, so every tool reads the
// disk:
//
//	first:       lvback backup --mode blocks | dd read | cp --sparse=always (+sync) | zstd bound (in process)
//	(a 64 KiB piece of 1% of the chunks is overwritten, untimed)
//	1% changed:  lvback backup --mode blocks | dd read
//	restore:     lvback restore of the newest | cp --sparse=always of the image (+sync)
//	(both results are compared with the image, which is then changed back)
//
// cp --sparse=always +sync in the first-backup case is the disk's time to
// copy the image durably: a backup of incompressible data writes as much.
func (b *bench) blockRep(d Dataset, rep int) error {
	w := filepath.Join(b.sc.dir, "run-"+d.Name)
	repo := filepath.Join(w, "repo")
	if err := os.MkdirAll(w, 0o755); err != nil {
		return err
	}
	defer os.RemoveAll(w)
	backup := step{tool: toolLvback, argv: b.lv("backup", "--repo", repo, "--name", d.Name, "--mode", "blocks", "--source", d.Path),
		dest: repo, evict: []string{d.Path, repo}, input: d.Bytes}
	dd := step{tool: toolDD, argv: []string{"dd", "if=" + d.Path, "of=/dev/null", "bs=4M", "iflag=direct"}, input: d.Bytes}
	if b.o.cases[caseBlockFirst] {
		s, ratio, err := zstdBound(b.ctx, d.Path)
		if err != nil {
			return err
		}
		b.record(caseBlockFirst, d.Name, toolZstd, d.Bytes, s)
		fmt.Fprintf(b.log, "  %s, %s, rep %d: %s %.2fs (compression ratio %.2f)\n", caseBlockFirst, d.Name, rep+1, toolZstd, s.Wall.Seconds(), ratio)
	}
	first := b.keep([]step{backup, dd, cpImage(d, filepath.Join(w, "cp-first.img"))}, "block-mode peers")
	if err := b.compare(caseBlockFirst, d, rep, first); err != nil {
		return err
	}
	if err := os.RemoveAll(filepath.Join(w, "cp-first.img")); err != nil {
		return err
	}
	undo, err := treegen.MutateImage(d.Path, chunkSize, blockChangePct, b.o.seed+2)
	if err != nil {
		return err
	}
	err = b.blockChanged(d, rep, w, backup, dd)
	if uerr := undo(); err == nil {
		err = uerr
	}
	return err
}

// blockChanged runs the cases on the changed image.
func (b *bench) blockChanged(d Dataset, rep int, w string, backup, dd step) error {
	if err := b.compare(caseBlockIncr, d, rep, b.keep([]step{backup, dd}, "block-mode peers")); err != nil {
		return err
	}
	if !b.o.cases[caseBlockRestore] {
		return nil
	}
	repo := filepath.Join(w, "repo")
	lvOut, cpOut := filepath.Join(w, "lvback.img"), filepath.Join(w, "cp.img")
	err := b.compare(caseBlockRestore, d, rep, b.keep([]step{
		{tool: toolLvback, argv: b.lv("restore", "--repo", repo, "--name", d.Name, "--target", lvOut), dest: lvOut, evict: []string{repo}, input: d.Bytes},
		cpImage(d, cpOut),
	}, "block restore peer"))
	if err != nil {
		return err
	}
	if rep > 0 {
		return nil // checked once: reading both copies again costs seconds
	}
	for _, out := range []string{lvOut, cpOut} {
		if err := sameFile(d.Path, out); err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	return nil
}

// cpImage is the step that copies image d to out with cp --sparse=always,
// also timed with a sync.
func cpImage(d Dataset, out string) step {
	return step{tool: toolCpSparse, argv: []string{"cp", "--sparse=always", d.Path, out}, dest: out, evict: []string{d.Path}, sync: true, input: d.Bytes}
}

// sameFile returns an error unless the files at a and b hold the same bytes.
func sameFile(a, b string) error {
	fa, err := os.Open(a)
	if err != nil {
		return err
	}
	defer fa.Close()
	fb, err := os.Open(b)
	if err != nil {
		return err
	}
	defer fb.Close()
	ba, bb := make([]byte, 4<<20), make([]byte, 4<<20)
	for off := int64(0); ; off += int64(len(ba)) {
		na, erra := io.ReadFull(fa, ba)
		nb, errb := io.ReadFull(fb, bb)
		if na != nb || !bytes.Equal(ba[:na], bb[:nb]) {
			return fmt.Errorf("%s differs from %s near byte %d", b, a, off)
		}
		if erra == io.EOF || erra == io.ErrUnexpectedEOF {
			return nil
		}
		if erra != nil {
			return erra
		}
		if errb != nil {
			return errb
		}
	}
}
