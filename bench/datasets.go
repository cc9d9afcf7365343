package main

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/lvback/lvback/bench/internal/treegen"
)

// Dataset is one body of data the cases run on, kept pristine in the
// scratch directory: a tree (copied before each repetition) or an image
// (changed and changed back in place).
type Dataset struct {
	Name  string `json:"name"`
	About string `json:"about"`
	Path  string `json:"-"`
	Image bool   `json:"image"`
	Files int    `json:"files"`
	Dirs  int    `json:"dirs"`
	Bytes int64  `json:"bytes"` // file bytes of a tree, size of an image
}

// makeSynth generates the synthetic tree under dir.
func makeSynth(o options, dir string) (Dataset, error) {
	spec := treegen.Spec{Files: o.files, Dirs: o.dirs, MinSize: o.minKiB << 10, MaxSize: o.maxKiB << 10,
		BigFiles: o.bigFiles, BigSize: int64(o.bigMiB) << 20, Content: treegen.Text, Seed: o.seed}
	path := filepath.Join(dir, "synth")
	st, err := treegen.Create(path, spec)
	d := Dataset{Name: "synth", Path: path, Files: st.Files, Dirs: st.Dirs, Bytes: st.Bytes,
		About: fmt.Sprintf("%d text-like files of %d-%d KiB (log-uniform) in %d dirs", o.files, o.minKiB, o.maxKiB, o.dirs)}
	if o.bigFiles > 0 {
		d.About += fmt.Sprintf(" + %d × %d MiB", o.bigFiles, o.bigMiB)
	}
	d.About += fmt.Sprintf(", seed %d", o.seed)
	return d, err
}

// realSource is the tree to copy as the "real" data set, or "" for none.
func realSource(flag string) string {
	switch flag {
	case "none", "":
		return ""
	case "auto":
		for _, p := range []string{"/usr/local/go/src", "/usr/share"} {
			if st, err := os.Stat(p); err == nil && st.IsDir() {
				return p
			}
		}
		return ""
	}
	return flag
}

// copyReal copies the real tree src into dir with cp -a.
func copyReal(ctx context.Context, src, dir string) (Dataset, error) {
	path := filepath.Join(dir, "real")
	d := Dataset{Name: "real", Path: path}
	if err := run(ctx, "cp", "-a", src, path); err != nil {
		return d, err
	}
	var err error
	d.Files, d.Dirs, d.Bytes, err = countTree(path)
	d.About = fmt.Sprintf("copy of %s: %d files, %d dirs", src, d.Files, d.Dirs)
	return d, err
}

// countTree counts the regular files, the directories and the file bytes
// under root.
func countTree(root string) (files, dirs int, bytes int64, err error) {
	err = filepath.WalkDir(root, func(_ string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch {
		case e.IsDir():
			dirs++
		case e.Type().IsRegular():
			info, err := e.Info()
			if err != nil {
				return err
			}
			files++
			bytes += info.Size()
		}
		return nil
	})
	return files, dirs, bytes, err
}

// makeImage makes an ext4 image of o.imageMiB in dir and fills imageFill
// of it, through a loop mount, with files of 4 KiB-1 MiB of the given
// content. File contents are deterministic; file-system metadata (UUID,
// times) is not.
func makeImage(ctx context.Context, o options, dir, name string, content treegen.Content) (Dataset, error) {
	path := filepath.Join(dir, name+".img")
	size := int64(o.imageMiB) << 20
	kind := map[treegen.Content]string{treegen.Text: "text-like", treegen.Random: "incompressible"}[content]
	d := Dataset{Name: name, Path: path, Image: true, Bytes: size}
	if err := makeSparse(path, size); err != nil {
		return d, err
	}
	if err := run(ctx, "mkfs.ext4", "-q", "-F", "-E", "nodiscard", path); err != nil {
		return d, err
	}
	mnt := filepath.Join(dir, name+".mnt")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		return d, err
	}
	defer os.Remove(mnt)
	if err := run(ctx, "mount", "-o", "loop,noinit_itable", path, mnt); err != nil {
		return d, err
	}
	spec := treegen.Spec{MinSize: 4 << 10, MaxSize: 1 << 20, Content: content, Seed: o.seed}
	spec.Files = int(float64(size) * imageFill / spec.MeanSize())
	spec.Dirs = max(1, spec.Files/20)
	st, err := treegen.Create(filepath.Join(mnt, "data"), spec)
	if uerr := run(ctx, "umount", mnt); err == nil {
		err = uerr
	}
	d.Files, d.Dirs = st.Files, st.Dirs
	d.About = fmt.Sprintf("%d MiB ext4 image, %.0f%% full of %s files (%d files, %d dirs)", o.imageMiB, imageFill*100, kind, st.Files, st.Dirs)
	return d, err
}

// scratchGiB is the size of the scratch file system: room for the
// pristine trees, a working copy, lvback's repository, rsync's and cp's
// copies, and each image three times (pristine and two restores), with a
// third to spare; with the s3 cases, also the server's copies of lvback's
// and restic's repositories of every repetition (it keeps them all) and
// the local one. The image is sparse: only what is written takes space.
func scratchGiB(o options, realBytes int64) int {
	synth := float64(o.files)*treegen.Spec{MinSize: o.minKiB << 10, MaxSize: o.maxKiB << 10}.MeanSize() +
		float64(o.bigFiles)*float64(int64(o.bigMiB)<<20)
	image := float64(int64(o.imageMiB) << 20)
	need := 5*(synth+float64(realBytes)) + 2*3*image
	if o.s3Cases() {
		need += float64(2*o.reps+1) * image
	}
	return max(8, int(need*1.33/(1<<30))+1)
}
