package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/lvback/lvback/bench/internal/treegen"
)

// s3Image is the data set the s3 cases run on: the text-like image, as
// compressible as a real volume, so that what is uploaded is what a
// real backup uploads.
const s3Image = "img-text"

// s3Rep runs one repetition of the s3 cases on image d: the same block
// backup to a local repository on the scratch file system and to an s3:
// repository on the harness's SeaweedFS server, and restic's backup of the
// image file to an s3: repository on the same server, each into a fresh
// repository (fresh bucket prefixes) and with a fresh cache:
//
//	(lvback init of both, restic init: untimed)
//	s3 first:      lvback backup --mode blocks, local | the same, s3: | restic backup --no-scan IMAGE
//	(a 64 KiB piece of 1% of the chunks is overwritten, untimed)
//	s3 1% changed: the same three again
//	(the image is changed back)
//
// Every run drops the image, the local repository and the tools' caches
// from the page cache first, as the block cases do; the server's files
// stay cached, as a running server's would.
func (b *bench) s3Rep(d Dataset, rep int) error {
	if b.s3 == nil || d.Name != s3Image || !b.o.s3Cases() {
		return nil
	}
	w := filepath.Join(b.sc.dir, "run-s3-"+d.Name)
	if err := os.MkdirAll(w, 0o755); err != nil {
		return err
	}
	defer os.RemoveAll(w)
	steps, err := b.s3Steps(d, rep, w)
	if err != nil {
		return err
	}
	if err := b.compare(caseS3First, d, rep, steps); err != nil {
		return err
	}
	undo, err := treegen.MutateImage(d.Path, chunkSize, blockChangePct, b.o.seed+2)
	if err != nil {
		return err
	}
	err = b.compare(caseS3Incr, d, rep, steps)
	if uerr := undo(); err == nil {
		err = uerr
	}
	return err
}

// s3Steps creates the three repositories of one repetition in w and on
// the server (untimed) and returns the backup steps into them.
func (b *bench) s3Steps(d Dataset, rep int, w string) ([]step, error) {
	local := filepath.Join(w, "repo")
	lvCache, resticCache := filepath.Join(w, "lvback-cache"), filepath.Join(w, "restic-cache")
	lvURL := b.s3.srv.URL(fmt.Sprintf("%s-%d/lvback", d.Name, rep+1))
	lvEnv := append(b.s3.srv.Env(), "LVBACK_CACHE_DIR="+lvCache)
	if err := b.initRepo(local, ""); err != nil {
		return nil, err
	}
	if err := runEnv(b.ctx, lvEnv, b.lv("init", "--repo", lvURL)...); err != nil {
		return nil, err
	}
	backup := func(repo string) []string {
		return b.lv("backup", "--repo", repo, "--name", d.Name, "--mode", "blocks", "--source", d.Path)
	}
	steps := []step{
		{tool: toolLvback, argv: backup(local), dest: local, evict: []string{d.Path, local}, input: d.Bytes},
		{tool: toolS3, argv: backup(lvURL), env: lvEnv, stored: b.s3.storedUnder(b.ctx, lvURL),
			serverCPU: b.s3.srv.CPUTime, evict: []string{d.Path, lvCache}, input: d.Bytes},
	}
	if b.s3.restic == "" {
		return steps, nil
	}
	resticURL := b.s3.srv.URL(fmt.Sprintf("%s-%d/restic", d.Name, rep+1))
	restic := func(args ...string) []string {
		return append([]string{b.s3.restic, "-r", resticURL, "--insecure-no-password", "--cache-dir", resticCache, "-q"}, args...)
	}
	env := b.s3.srv.Env()
	if err := runEnv(b.ctx, env, restic("init")...); err != nil {
		return nil, err
	}
	return append(steps, step{tool: toolRestic, argv: restic("backup", "--no-scan", d.Path), env: env,
		stored: b.s3.storedUnder(b.ctx, resticURL), serverCPU: b.s3.srv.CPUTime, evict: []string{d.Path, resticCache}, input: d.Bytes}), nil
}
