// Package objstoretest checks that an objstore.Store keeps the
// interface's promises; every implementation's tests run it.
package objstoretest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/lvback/lvback/objstore"
)

// Run checks the Store newStore returns; each call must return an empty
// store of its own.
func Run(t *testing.T, newStore func(t *testing.T) objstore.Store) {
	ctx := context.Background()
	t.Run("PutGetStatDelete", func(t *testing.T) {
		s := newStore(t)
		if _, err := s.Get(ctx, "a/b"); !errors.Is(err, objstore.ErrNotExist) {
			t.Fatalf("Get of a missing object: %v, want ErrNotExist", err)
		}
		if _, err := s.Stat(ctx, "a/b"); !errors.Is(err, objstore.ErrNotExist) {
			t.Fatalf("Stat of a missing object: %v, want ErrNotExist", err)
		}
		for _, data := range [][]byte{[]byte("first"), []byte("the second, longer"), {}} {
			if err := s.Put(ctx, "a/b", data); err != nil {
				t.Fatal(err)
			}
			got, err := s.Get(ctx, "a/b")
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("Get = %q, %v; want %q", got, err, data)
			}
			fi, err := s.Stat(ctx, "a/b")
			if err != nil || fi.Size != int64(len(data)) || fi.Name != "a/b" || fi.ModTime.IsZero() {
				t.Fatalf("Stat = %+v, %v; want size %d", fi, err, len(data))
			}
		}
		if err := s.Delete(ctx, "a/b"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(ctx, "a/b"); !errors.Is(err, objstore.ErrNotExist) {
			t.Fatalf("Get after Delete: %v, want ErrNotExist", err)
		}
		if err := s.Delete(ctx, "a/b"); err != nil {
			t.Fatalf("Delete of a missing object: %v", err)
		}
	})
	t.Run("List", func(t *testing.T) {
		s := newStore(t)
		names := []string{"backups/vol/1/index", "backups/vol/1/info.json", "backups/vol2/1/index",
			"chunks/ab/ab01", "chunks/ab/ab02", "chunks/cd/cd01", "config"}
		for _, n := range names {
			if err := s.Put(ctx, n, []byte(n)); err != nil {
				t.Fatal(err)
			}
		}
		for prefix, want := range map[string][]string{
			"":             names,
			"backups/vol/": names[:2],
			"backups/vol":  names[:3],
			"chunks/ab/":   names[3:5],
			"chunks/":      names[3:6],
			"chunks/c":     names[5:6],
			"nothing/":     nil,
		} {
			var got []string
			err := s.List(ctx, prefix, func(fi objstore.Info) error {
				if fi.Size != int64(len(fi.Name)) {
					return fmt.Errorf("%s: size %d", fi.Name, fi.Size)
				}
				got = append(got, fi.Name)
				return nil
			})
			slices.Sort(got)
			if err != nil || !slices.Equal(got, want) {
				t.Errorf("List(%q) = %q, %v; want %q", prefix, got, err, want)
			}
		}
		stop := errors.New("stop")
		n := 0
		err := s.List(ctx, "", func(objstore.Info) error { n++; return stop })
		if !errors.Is(err, stop) || n != 1 {
			t.Errorf("List did not stop at fn's error: %v after %d calls", err, n)
		}
	})
	t.Run("InvalidNames", func(t *testing.T) {
		s := newStore(t)
		for _, name := range []string{"", "/abs", "a//b", "a/", "../up", "a/../b", ".hidden", "a/.tmp", "nul\x00"} {
			if err := s.Put(ctx, name, []byte("x")); err == nil {
				t.Errorf("Put(%q) accepted", name)
			}
		}
		var listed []string
		_ = s.List(ctx, "", func(fi objstore.Info) error { listed = append(listed, fi.Name); return nil })
		if len(listed) > 0 {
			t.Errorf("invalid names stored: %q", listed)
		}
	})
	t.Run("Concurrent", func(t *testing.T) {
		s := newStore(t)
		var wg sync.WaitGroup
		errs := make(chan error, 32)
		for i := range 32 {
			wg.Go(func() {
				name := fmt.Sprintf("c/d%d/obj", i%4) // two names, each Put 8 times at once
				if i%2 == 0 {
					name = fmt.Sprintf("c/%02d", i)
				}
				if err := s.Put(ctx, name, bytes.Repeat([]byte{byte(i)}, 1000)); err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		n := 0
		if err := s.List(ctx, "c/", func(objstore.Info) error { n++; return nil }); err != nil || n != 18 {
			t.Errorf("listed %d objects (%v), want 18", n, err)
		}
	})
}
