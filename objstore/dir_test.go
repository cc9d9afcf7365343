package objstore_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/lvback/lvback/objstore"
	"github.com/lvback/lvback/objstore/objstoretest"
)

func TestDir(t *testing.T) {
	objstoretest.Run(t, func(t *testing.T) objstore.Store {
		d, err := objstore.OpenDir(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return d
	})
}

// A temporary file a killed Put left behind is never listed.
func TestDirSkipsTemporaryFiles(t *testing.T) {
	root := t.TempDir()
	d, err := objstore.OpenDir(root)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := d.Put(ctx, "a/obj", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "a", ".obj2.123.tmp"), []byte("half"), 0o600); err != nil {
		t.Fatal(err)
	}
	var names []string
	if err := d.List(ctx, "", func(fi objstore.Info) error { names = append(names, fi.Name); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(names) != 1 || names[0] != "a/obj" {
		t.Errorf("listed %q, want [a/obj]", names)
	}
}
