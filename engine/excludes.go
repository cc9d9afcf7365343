package engine

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/lvback/lvback/exclude"
	"github.com/lvback/lvback/manifest"
	"github.com/lvback/lvback/repo"
	"github.com/lvback/lvback/walker"
)

// excludedList writes the entries a backup's exclude rules left out to
// repo.ExcludedFile, in walk order, so that diff can tell them from
// deleted ones. It is used from the walk goroutine only.
type excludedList struct {
	w *manifest.Writer
}

// openExcluded starts the excluded list of a run with exclude rules; nil
// (which adds nothing) for a run without.
func (r *fileRun) openExcluded() (*excludedList, error) {
	if r.rules == nil {
		return nil, nil
	}
	w, err := createManifest(r.excludedPath)
	if err != nil {
		return nil, fmt.Errorf("excluded list: %w", err)
	}
	return &excludedList{w: w}, nil
}

// add records an entry the rules left out (walker.Options.OnExcluded).
func (l *excludedList) add(we *walker.Entry) error {
	if err := l.w.Add(toEntry(we)); err != nil {
		return fmt.Errorf("excluded list: %w", err)
	}
	return nil
}

// commit makes the list durable; count is how many entries it holds.
func (l *excludedList) commit() (count int64, err error) {
	if l == nil {
		return 0, nil
	}
	if err := l.w.Commit(); err != nil {
		return 0, fmt.Errorf("write excluded list: %w", err)
	}
	return l.w.Count(), nil
}

func (l *excludedList) abort() {
	if l != nil {
		l.w.Abort()
	}
}

// compileExcludes compiles the rules of o; nil when there are none.
func compileExcludes(s exclude.Spec) (*exclude.Rules, error) {
	if s.Empty() {
		return nil, nil
	}
	return s.Compile()
}

// recordExcludes fills in the rules of info and, when they differ from
// those of prev (the previous complete file-mode backup of the name, if
// any), what changed, which it also logs.
func (o *BackupOptions) recordExcludes(info *repo.Info, prev *repo.Backup) {
	if !o.Excludes.Empty() {
		info.Excludes = &repo.Excludes{Spec: o.Excludes, Hash: o.Excludes.Hash()}
	}
	if prev == nil || prev.Info == nil {
		return
	}
	var was exclude.Spec
	if prev.Info.Excludes != nil {
		was = prev.Info.Excludes.Spec
	}
	if was.Hash() == o.Excludes.Hash() {
		return
	}
	info.ExcludesChanged = o.Excludes.Changes(was)
	o.Log.Warn("exclude rules changed since the previous backup; what they now leave out is not deleted",
		"previous", prev.ID, "changes", strings.Join(info.ExcludesChanged, "; "))
}

// checkExcludedList reads through the excluded list of a backup made with
// exclude rules: it must be there, decode, and hold Info.Excluded entries.
func checkExcludedList(b *repo.Backup) error {
	if b.Info == nil || b.Info.Excludes == nil {
		return nil
	}
	r, err := manifest.Open(b.ExcludedPath())
	if err != nil {
		return fmt.Errorf("excluded list: %w", err)
	}
	defer r.Close()
	var n int64
	for {
		_, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("excluded list: %w", err)
		}
		n++
	}
	if n != b.Info.Excluded {
		return fmt.Errorf("excluded list holds %d entries, info.json says %d", n, b.Info.Excluded)
	}
	return nil
}
