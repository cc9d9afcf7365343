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
// every repetition starts from the same bytes. Each run but the memory
// case's first drops the image and the repository from the page cache, so
// every tool reads the disk:
//
//	first, memory: lvback backup --mode blocks | zstd bound, both on a tmpfs copy
//	first:       lvback backup --mode blocks | dd read | cp --sparse=always (+sync) | zstd bound (in process)
//	(a 64 KiB piece of 1% of the chunks is overwritten, untimed)
//	1% changed:  lvback backup --mode blocks | dd read
//	restore:     lvback restore of the newest | cp --sparse=always of the image (+sync)
//	(both results are compared with the image, which is then changed back)
//
// cp --sparse=always +sync in the first-backup case is the disk's time to
// copy the image durably: a backup of incompressible data writes as much.
func (b *bench) blockRep(d Dataset, rep int) error {
	if b.o.cases[caseBlockMem] {
		if err := b.blockMemory(d, rep); err != nil {
			return err
		}
	}
	if !b.o.cases[caseBlockFirst] && !b.o.cases[caseBlockIncr] && !b.o.cases[caseBlockRestore] {
		return nil // no disk case: nothing below is needed
	}
	w := filepath.Join(b.sc.dir, "run-"+d.Name)
	repo := filepath.Join(w, "repo")
	if err := os.MkdirAll(w, 0o755); err != nil {
		return err
	}
	defer os.RemoveAll(w)
	if err := b.initRepo(repo, ""); err != nil {
		return err
	}
	backup := step{tool: toolLvback, argv: b.lv("backup", "--repo", repo, "--name", d.Name, "--mode", "blocks", "--source", d.Path),
		dest: repo, evict: []string{d.Path, repo}, input: d.Bytes}
	dd := step{tool: toolDD, argv: []string{"dd", "if=" + d.Path, "of=/dev/null", "bs=4M", "iflag=direct"}, input: d.Bytes}
	if b.o.cases[caseBlockFirst] {
		if err := b.bound(caseBlockFirst, d, d.Path, rep); err != nil {
			return err
		}
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

// bound records the zstd bound of the image at path as a row of case cas.
func (b *bench) bound(cas string, d Dataset, path string, rep int) error {
	s, ratio, err := zstdBound(b.ctx, path)
	if err != nil {
		return err
	}
	b.record(cas, d.Name, toolZstd, d.Bytes, s)
	fmt.Fprintf(b.log, "  %s, %s, rep %d: %s %.2fs (compression ratio %.2f)\n", cas, d.Name, rep+1, toolZstd, s.Wall.Seconds(), ratio)
	return nil
}

// blockMemory runs the first backup of image d with the image and the
// repository in a tmpfs, beside the zstd bound of the same copy: the
// backup pipeline against the bound with no disk in the way. It skips
// the case, once, when there is no /dev/shm.
func (b *bench) blockMemory(d Dataset, rep int) error {
	const shm = "/dev/shm"
	if fi, err := os.Stat(shm); err != nil || !fi.IsDir() {
		if rep == 0 && d.Name == "img-text" {
			b.skipped = append(b.skipped, caseBlockMem+": no "+shm)
		}
		return nil
	}
	dir, err := os.MkdirTemp(shm, "lvback-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	img := filepath.Join(dir, filepath.Base(d.Path))
	if err := run(b.ctx, "cp", "--sparse=always", d.Path, img); err != nil {
		return err
	}
	if err := b.bound(caseBlockMem, d, img, rep); err != nil {
		return err
	}
	if err := b.initRepo(filepath.Join(dir, "repo"), ""); err != nil {
		return err
	}
	backup := step{tool: toolLvback, argv: b.lv("backup", "--repo", filepath.Join(dir, "repo"), "--name", d.Name, "--mode", "blocks", "--source", img),
		dest: filepath.Join(dir, "repo"), input: d.Bytes}
	return b.compare(caseBlockMem, d, rep, []step{backup})
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
