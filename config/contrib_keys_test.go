package config

import (
	"bufio"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// TestContribShowsEveryKey checks that the example config shows every key
// the config structs read (by their toml tags), each in its table, set or
// commented out: a key added later without the example fails here.
func TestContribShowsEveryKey(t *testing.T) {
	shown := exampleKeys(t, "../contrib/lvback.toml")
	keys := tomlKeys(reflect.TypeFor[Config](), "")
	if len(keys) < 40 {
		t.Fatalf("found only %d keys in the config structs: %v", len(keys), keys)
	}
	for _, k := range keys {
		if !shown[k] {
			t.Errorf("contrib/lvback.toml does not show %s", k)
		}
	}
}

// tomlKeys lists the keys of struct type typ as "table.key" paths: a
// struct-valued field (or a list or pointer of one) is a table, an
// embedded struct without a tag adds its keys to its parent's.
func tomlKeys(typ reflect.Type, prefix string) []string {
	var keys []string
	for i := range typ.NumField() {
		f := typ.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
		ft := f.Type
		for ft.Kind() == reflect.Pointer || ft.Kind() == reflect.Slice {
			ft = ft.Elem()
		}
		switch {
		case f.Anonymous && name == "" && ft.Kind() == reflect.Struct:
			keys = append(keys, tomlKeys(ft, prefix)...)
		case name == "" || name == "-" || !f.IsExported():
		case ft.Kind() == reflect.Struct:
			keys = append(keys, tomlKeys(ft, prefix+name+".")...)
		default:
			keys = append(keys, prefix+name)
		}
	}
	return keys
}

var (
	exampleTable = regexp.MustCompile(`^\[\[?([a-z_.]+)\]\]?`)
	exampleKey   = regexp.MustCompile(`^([a-z_]+)\s*=`)
)

// exampleKeys lists the "table.key" paths the TOML file at path shows,
// lines commented out with "#" included.
func exampleKeys(t *testing.T, path string) map[string]bool {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	shown := map[string]bool{}
	table := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(strings.TrimLeft(strings.TrimSpace(sc.Text()), "#"))
		if m := exampleTable.FindStringSubmatch(line); m != nil {
			table = m[1] + "."
		} else if m := exampleKey.FindStringSubmatch(line); m != nil {
			shown[table+m[1]] = true
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return shown
}
