package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lvback/lvback/engine"
	"github.com/lvback/lvback/repo"
)

// tagEnv is a repository with a small source tree to back up.
type tagEnv struct {
	t          *testing.T
	base, repo string
	src        string
}

func newTagEnv(t *testing.T) *tagEnv {
	base := t.TempDir()
	e := &tagEnv{t: t, base: base, src: filepath.Join(base, "src")}
	mkTree(t, e.src, "a", "d/b")
	e.repo = initRepo(t, filepath.Join(base, "repo"))
	return e
}

// backup makes a backup of the source under name with args added and
// returns its ID.
func (e *tagEnv) backup(name string, args ...string) string {
	e.t.Helper()
	lvOK(e.t, append([]string{"backup", "--repo", e.repo, "--name", name, "--source", e.src, "-q"}, args...)...)
	b := newestBackup(e.t, e.repo, name)
	return b.ID
}

// labels returns list --json's items of name keyed by ID.
func (e *tagEnv) labels(name string, args ...string) map[string]listItem {
	e.t.Helper()
	out := lvOK(e.t, append([]string{"list", "--repo", e.repo, "--name", name, "--json"}, args...)...)
	var items []listItem
	if err := json.Unmarshal([]byte(out), &items); err != nil {
		e.t.Fatal(err)
	}
	m := map[string]listItem{}
	for _, it := range items {
		m[it.ID] = it
	}
	return m
}

// labelsFile returns the raw labels.json of backup id of name ("" when
// there is none).
func (e *tagEnv) labelsFile(name, id string) string {
	data, err := os.ReadFile(filepath.Join(e.repo, "backups", name, id, repo.LabelsFile))
	if os.IsNotExist(err) {
		return ""
	}
	if err != nil {
		e.t.Fatal(err)
	}
	return string(data)
}

func ids(m map[string]listItem) string {
	var out []string
	for id := range m {
		out = append(out, id)
	}
	slices.Sort(out)
	return strings.Join(out, " ")
}

// backup --tag writes the tags with the backup; list shows them, in
// --json and in its table, and list --tag filters with restic's rules.
func TestBackupTagThenList(t *testing.T) {
	e := newTagEnv(t)
	a := e.backup("v", "--tag", "daily", "--tag", "db,pre-upgrade")
	b := e.backup("v", "--tag", "daily")
	c := e.backup("v")
	all := e.labels("v")
	if got := all[a].Tags; !slices.Equal(got, []string{"daily", "db", "pre-upgrade"}) {
		t.Fatalf("tags of %s: %q", a, got)
	}
	if got := all[c].Tags; got == nil || len(got) != 0 {
		t.Fatalf("untagged backup: tags %#v, want []", got)
	}
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"one tag", []string{"--tag", "daily"}, a + " " + b},
		{"both of a list", []string{"--tag", "db,daily"}, a},
		{"either of two", []string{"--tag", "pre-upgrade", "--tag", "none"}, a},
		{"none has it", []string{"--tag", "none"}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := ids(e.labels("v", tt.args...)); got != tt.want {
				t.Fatalf("list %q: %q, want %q", tt.args, got, tt.want)
			}
		})
	}
	table := lvOK(t, "list", "--repo", e.repo)
	if !strings.Contains(table, "TAGS") || !strings.Contains(table, "daily,db,pre-upgrade") {
		t.Fatalf("list table lacks the tags:\n%s", table)
	}
}

// tag --add, --remove and --set change the labels file and nothing else;
// info.json stays as it was.
func TestTagAddRemoveSet(t *testing.T) {
	e := newTagEnv(t)
	id := e.backup("v")
	info := filepath.Join(e.repo, "backups", "v", id, repo.InfoFile)
	before, _ := os.ReadFile(info)
	steps := []struct {
		args []string
		want []string
	}{
		{[]string{"--add", "b,a", "--add", "c"}, []string{"a", "b", "c"}},
		{[]string{"--remove", "b", "--add", "d"}, []string{"a", "c", "d"}},
		{[]string{"--set", "x"}, []string{"x"}},
		{[]string{"--set", ""}, []string{}},
	}
	for _, s := range steps {
		lvOK(t, append(append([]string{"tag", "--repo", e.repo, "--name", "v"}, s.args...), id)...)
		if got := e.labels("v")[id].Tags; !slices.Equal(got, s.want) {
			t.Fatalf("after tag %q: %q, want %q", s.args, got, s.want)
		}
	}
	if e.labelsFile("v", id) != "" {
		t.Fatal("labels.json left behind with no tags and no protection")
	}
	if after, _ := os.ReadFile(info); string(after) != string(before) {
		t.Fatal("tag changed info.json")
	}
	out := lvOK(t, "tag", "--repo", e.repo, "--name", "v", "--add", "k", "--json", "latest")
	var res []engine.Labeled
	if err := json.Unmarshal([]byte(out), &res); err != nil || len(res) != 1 || res[0].ID != id || !res[0].Changed {
		t.Fatalf("tag --json: %v %s", err, out)
	}
}

// Bad input exits 2 with one line on stderr and changes nothing.
func TestTagBadInputChangesNothing(t *testing.T) {
	e := newTagEnv(t)
	id := e.backup("v", "--tag", "keep")
	before := e.labelsFile("v", id)
	for _, tt := range []struct {
		name string
		args []string
	}{
		{"tag with a space", []string{"tag", "--repo", e.repo, "--name", "v", "--add", "a b", id}},
		{"empty tag", []string{"tag", "--repo", e.repo, "--name", "v", "--add", "", id}},
		{"tag with a control character", []string{"tag", "--repo", e.repo, "--name", "v", "--add", "a\x1b", id}},
		{"tag too long", []string{"tag", "--repo", e.repo, "--name", "v", "--add", strings.Repeat("x", 129), id}},
		{"set with add", []string{"tag", "--repo", e.repo, "--name", "v", "--set", "a", "--add", "b", id}},
		{"no change asked", []string{"tag", "--repo", e.repo, "--name", "v", id}},
		{"unknown id", []string{"tag", "--repo", e.repo, "--name", "v", "--add", "x", id, "2001-01-01T000000Z"}},
		{"bad id", []string{"protect", "--repo", e.repo, "--name", "v", "../x"}},
		{"no id", []string{"protect", "--repo", e.repo, "--name", "v"}},
		{"missing repo", []string{"protect", "--name", "v", id}},
		{"bad name", []string{"unprotect", "--repo", e.repo, "--name", "../v", id}},
		{"unknown name", []string{"protect", "--repo", e.repo, "--name", "w", id}},
		{"bad list tag", []string{"list", "--repo", e.repo, "--tag", "a,"}},
		{"bad keep-tag", []string{"prune", "--repo", e.repo, "--keep-tag", "a b"}},
		{"bad backup tag", []string{"backup", "--repo", e.repo, "--name", "v", "--source", e.src, "--tag", "a\tb"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := run(t, tt.args...)
			if code != exitUsage || strings.Count(strings.TrimSpace(stderr), "\n") != 0 || stderr == "" {
				t.Fatalf("exit %d, want %d; stderr %q", code, exitUsage, stderr)
			}
			if got := e.labelsFile("v", id); got != before {
				t.Fatalf("labels changed: %q, was %q", got, before)
			}
			if n := completeBackups(t, e.repo, "v"); n != 1 {
				t.Fatalf("%d backups, want 1", n)
			}
		})
	}
}

// pruneDecisions runs prune --json with args and returns its decisions
// by ID.
func pruneDecisions(t *testing.T, args ...string) map[string]engine.PruneDecision {
	t.Helper()
	out := lvOK(t, append([]string{"prune", "--json"}, args...)...)
	var res engine.PruneResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	m := map[string]engine.PruneDecision{}
	for _, d := range res.Decisions {
		m[d.ID] = d
	}
	return m
}

// A protected backup survives a prune whose rules would remove it
// (dry-run says so); once unprotected the same prune removes it.
func TestProtectKeepsFromPrune(t *testing.T) {
	e := newTagEnv(t)
	old := e.backup("v")
	e.backup("v")
	lvOK(t, "protect", "--repo", e.repo, "--name", "v", old)
	if !e.labels("v")[old].Protected {
		t.Fatal("list does not show the backup protected")
	}
	dry := lvOK(t, "prune", "--repo", e.repo, "--name", "v", "--keep-last", "1", "--dry-run")
	line := lineWith(dry, "v/"+old+" ")
	if !strings.HasPrefix(line, "keep") || !strings.Contains(line, "protected") {
		t.Fatalf("dry run on the protected backup: %q\n%s", line, dry)
	}
	d := pruneDecisions(t, "--repo", e.repo, "--name", "v", "--keep-last", "1")[old]
	if !d.Keep || d.Removed || !d.Protected || !slices.Contains(d.Reasons, "protected") {
		t.Fatalf("decision on the protected backup: %+v", d)
	}
	if _, err := os.Stat(filepath.Join(e.repo, "backups", "v", old, repo.TreeDir)); err != nil {
		t.Fatalf("protected backup's tree: %v", err)
	}
	lvOK(t, "unprotect", "--repo", e.repo, "--name", "v", old)
	if d := pruneDecisions(t, "--repo", e.repo, "--name", "v", "--keep-last", "1")[old]; !d.Removed {
		t.Fatalf("unprotected backup not removed: %+v", d)
	}
	if _, err := os.Stat(filepath.Join(e.repo, "backups", "v", old)); !os.IsNotExist(err) {
		t.Fatalf("unprotected backup still there: %v", err)
	}
}

// prune --keep-tag keeps the backups with the tag, and only them.
func TestPruneKeepTag(t *testing.T) {
	e := newTagEnv(t)
	tagged := e.backup("v", "--tag", "monthly")
	other := e.backup("v", "--tag", "daily")
	newest := e.backup("v")
	ds := pruneDecisions(t, "--repo", e.repo, "--name", "v", "--keep-tag", "monthly")
	if d := ds[tagged]; !d.Keep || !slices.Contains(d.Reasons, "tag monthly") || !slices.Equal(d.Tags, []string{"monthly"}) {
		t.Fatalf("tagged: %+v", d)
	}
	if d := ds[other]; d.Keep || !d.Removed {
		t.Fatalf("other: %+v", d)
	}
	if got := ids(e.labels("v")); got != tagged+" "+newest {
		t.Fatalf("left %q, want %q", got, tagged+" "+newest)
	}
}

// run gives each backup the config's tags (defaults' and the volume's)
// and its retention never removes a protected backup; keep_tags keeps
// tagged ones.
func TestRunTagsAndProtection(t *testing.T) {
	e := newTagEnv(t)
	protected := e.backup("etc")
	tagged := e.backup("etc", "--tag", "pre-upgrade")
	plain := e.backup("etc")
	lvOK(t, "protect", "--repo", e.repo, "--name", "etc", protected)
	cfg := writeConfig(t, e.base, `repo = "`+e.repo+`"
[defaults]
tags = ["nightly"]
[retention]
keep_last = 1
keep_tags = ["pre-upgrade"]
[[volume]]
name = "etc"
path = "`+e.src+`"
tags = ["host,etc"]
`)
	code, out, stderr := run(t, "run", "--config", cfg, "--json")
	if code != exitOK {
		t.Fatalf("run: exit %d: %s", code, stderr)
	}
	var sum runSummary
	if err := json.Unmarshal([]byte(out), &sum); err != nil || len(sum.Volumes) != 1 {
		t.Fatalf("summary: %v %s", err, out)
	}
	made := sum.Volumes[0].ID
	left := e.labels("etc")
	if got := ids(left); got != strings.Join(sortedIDs(protected, tagged, made), " ") {
		t.Fatalf("left %q; protected %s, tagged %s, plain %s, made %s", got, protected, tagged, plain, made)
	}
	if got := left[made].Tags; !slices.Equal(got, []string{"etc", "host", "nightly"}) {
		t.Fatalf("run's backup tags %q", got)
	}
}

func sortedIDs(ids ...string) []string {
	slices.Sort(ids)
	return ids
}

// lineWith returns the first line of out that holds s.
func lineWith(out, s string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, s) {
			return l
		}
	}
	return ""
}

// copy carries a backup's tags to the copy, not its protection.
func TestCopyCarriesTags(t *testing.T) {
	e := newTagEnv(t)
	id := e.backup("v", "--tag", "offsite")
	lvOK(t, "protect", "--repo", e.repo, "--name", "v", id)
	to := initRepo(t, filepath.Join(e.base, "to"))
	lvOK(t, "copy", "--from", e.repo, "--to", to, "-q")
	got := (&tagEnv{t: t, repo: to}).labels("v")[id]
	if !slices.Equal(got.Tags, []string{"offsite"}) || got.Protected {
		t.Fatalf("copy's labels: tags %q, protected %v", got.Tags, got.Protected)
	}
}
