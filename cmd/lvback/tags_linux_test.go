package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lvback/lvback/internal/testsys"
	"github.com/lvback/lvback/repo"
)

// On a subvolume-layout btrfs repository only tree/ is a read-only
// subvolume: the backup directory takes labels.json, tags and protection
// work, and a protected backup's subvolume survives prune.
func TestLabelsOnSubvolumeLayout(t *testing.T) {
	mnt := testsys.MountImage(t, []string{"mkfs.btrfs", "-q"}, 256<<20)
	testsys.RequireTools(t, "btrfs")
	e := &tagEnv{t: t, base: t.TempDir()}
	e.src = filepath.Join(e.base, "src")
	mkTree(t, e.src, "a", "d/b")
	e.repo = filepath.Join(mnt, "repo")
	lvOK(t, "init", "--repo", e.repo, "--layout", repo.LayoutSubvolume)
	old := e.backup("v", "--tag", "first")
	e.backup("v")
	tree := filepath.Join(e.repo, "backups", "v", old, repo.TreeDir)
	if ro := testsys.Run(t, "btrfs", "property", "get", tree, "ro"); !strings.Contains(ro, "ro=true") {
		t.Fatalf("tree is not a read-only subvolume: %s", ro)
	}
	lvOK(t, "tag", "--repo", e.repo, "--name", "v", "--add", "second", old)
	lvOK(t, "protect", "--repo", e.repo, "--name", "v", old)
	it := e.labels("v")[old]
	if !it.Protected || !slices.Equal(it.Tags, []string{"first", "second"}) {
		t.Fatalf("labels on btrfs: %+v", it)
	}
	if d := pruneDecisions(t, "--repo", e.repo, "--name", "v", "--keep-last", "1")[old]; !d.Keep || d.Removed {
		t.Fatalf("protected backup pruned: %+v", d)
	}
	if _, err := os.Stat(tree); err != nil {
		t.Fatal(err)
	}
	lvOK(t, "unprotect", "--repo", e.repo, "--name", "v", old)
	if d := pruneDecisions(t, "--repo", e.repo, "--name", "v", "--keep-last", "1")[old]; !d.Removed {
		t.Fatalf("unprotected backup kept: %+v", d)
	}
}

// In an s3: repository the labels are objects beside info.json: one host
// tags and protects, another sees it in list, and its prune (with its
// own, older cache) keeps the protected backup; after unprotect it
// removes it, labels object included.
func TestS3Labels(t *testing.T) {
	e := newS3Env(t, "labels")
	img := filepath.Join(e.base, "disk.img")
	randomImage(t, img, 3<<20, 7)
	e.lv("host1", exitOK, "backup", "--mode", "blocks", "--repo", e.url, "--name", "vm", "--source", img, "--tag", "golden", "-q")
	e.lv("host1", exitOK, "backup", "--mode", "blocks", "--repo", e.url, "--name", "vm", "--source", img, "-q")
	items := e.backups("host2", "vm")
	if len(items) != 2 {
		t.Fatalf("%d backups", len(items))
	}
	old := items[0]["id"].(string)
	if tags, _ := json.Marshal(items[0]["tags"]); string(tags) != `["golden"]` {
		t.Fatalf("host2 sees tags %s", tags)
	}
	labelsObj := "backups/vm/" + old + "/" + repo.LabelsFile
	if _, ok := e.objects("backups/vm/")[labelsObj]; !ok {
		t.Fatalf("no %s in the store", labelsObj)
	}
	e.lv("host2", exitOK, "protect", "--repo", e.url, "--name", "vm", old)
	e.lv("host2", exitOK, "tag", "--repo", e.url, "--name", "vm", "--set", "gold", old)
	// host1 caches "gold", then host2 sets a tag of the same size: only
	// the object's time differs (the store's times may be whole seconds).
	e.backups("host1", "vm")
	time.Sleep(1100 * time.Millisecond)
	e.lv("host2", exitOK, "tag", "--repo", e.url, "--name", "vm", "--set", "lead", old)
	items = e.backups("host1", "vm")
	if p, _ := items[0]["protected"].(bool); !p {
		t.Fatalf("host1 does not see the protection: %v", items[0])
	}
	if tags, _ := json.Marshal(items[0]["tags"]); string(tags) != `["lead"]` {
		t.Fatalf("host1 sees tags %s", tags)
	}
	out := e.lv("host1", exitOK, "prune", "--repo", e.url, "--name", "vm", "--keep-last", "1", "--dry-run")
	if l := lineWith(out, "vm/"+old+" "); !strings.HasPrefix(l, "keep") || !strings.Contains(l, "protected") {
		t.Fatalf("dry run: %q", l)
	}
	e.lv("host1", exitOK, "prune", "--repo", e.url, "--name", "vm", "--keep-last", "1", "-q")
	if len(e.backups("host2", "vm")) != 2 {
		t.Fatal("prune removed the protected backup")
	}
	e.lv("host2", exitOK, "unprotect", "--repo", e.url, "--name", "vm", old)
	e.lv("host1", exitOK, "prune", "--repo", e.url, "--name", "vm", "--keep-last", "1", "-q")
	if len(e.backups("host2", "vm")) != 1 {
		t.Fatal("prune kept the unprotected backup")
	}
	for name := range e.objects("backups/vm/" + old + "/") {
		t.Errorf("left in the store: %s", name)
	}
}
