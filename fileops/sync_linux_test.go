package fileops

import (
	"path/filepath"
	"testing"
)

func TestSync(t *testing.T) {
	dir := t.TempDir()
	file, missing := filepath.Join(dir, "f"), filepath.Join(dir, "missing")
	writeAt(t, file, 0, []byte("x"))
	for _, tc := range []struct {
		name    string
		sync    func(string) error
		path    string
		wantErr bool
	}{
		{"SyncFS dir", SyncFS, dir, false},
		{"SyncFS file", SyncFS, file, false},
		{"SyncFS missing", SyncFS, missing, true},
		{"SyncDir dir", SyncDir, dir, false},
		{"SyncDir file", SyncDir, file, true},
		{"SyncDir missing", SyncDir, missing, true},
	} {
		if err := tc.sync(tc.path); (err != nil) != tc.wantErr {
			t.Errorf("%s: %v, want error %v", tc.name, err, tc.wantErr)
		}
	}
}
