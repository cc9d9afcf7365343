package mountinfo

import (
	"slices"
	"strings"
	"testing"
)

func TestParseMountinfo(t *testing.T) {
	const in = `22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw
43 22 7:1 / /run/lvback/vg-data-lvback-20261125T031500 ro,nosuid,nodev,noexec,relatime shared:30 master:2 - ext4 /dev/loop1 ro,norecovery
44 22 7:2 / /mnt/with\040space\011tab\134back ro,relatime - xfs /dev/loop2 ro,nouuid,norecovery
45 43 0:50 / /run/lvback/vg-data-lvback-20261125T031500/inner rw - tmpfs tmpfs rw
46 22 0:51 / /run/lvback2 rw - tmpfs tmpfs
`
	ms, err := Parse(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 5 {
		t.Fatalf("%d mounts, want 5", len(ms))
	}
	if m := ms[0]; m.Dev != "254:0" || m.Root != "/" {
		t.Errorf("device and root mis-parsed: %+v", m)
	}
	m := ms[1]
	if m.Point != "/run/lvback/vg-data-lvback-20261125T031500" || m.FSType != "ext4" || m.Source != "/dev/loop1" ||
		m.Options != "ro,nosuid,nodev,noexec,relatime" || m.Super != "ro,norecovery" {
		t.Errorf("optional fields mis-parsed: %+v", m)
	}
	if got := ms[2].Point; got != "/mnt/with space\ttab\\back" {
		t.Errorf("unescaped %q", got)
	}
	var points []string
	for _, m := range Under(ms, "/run/lvback/") {
		points = append(points, m.Point)
	}
	want := []string{"/run/lvback/vg-data-lvback-20261125T031500/inner", "/run/lvback/vg-data-lvback-20261125T031500"}
	if !slices.Equal(points, want) {
		t.Errorf("under = %q, want %q (deepest first, not /run/lvback2)", points, want)
	}
	if _, err := Parse(strings.NewReader("1 2 3\n")); err == nil {
		t.Error("malformed line accepted")
	}
}

func TestUnescape(t *testing.T) {
	for in, want := range map[string]string{
		`a\040b`: "a b", `\134`: `\`, `a\`: `a\`, `\04`: `\04`, `\777`: `\777`, `\0401`: " 1", "plain": "plain",
	} {
		if got := Unescape(in); got != want {
			t.Errorf("Unescape(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestContaining(t *testing.T) {
	ms := []Entry{{Point: "/", Dev: "1:1"}, {Point: "/srv", Dev: "2:2"}, {Point: "/srv/data", Dev: "3:3"}, {Point: "/srv", Dev: "4:4"}}
	for p, want := range map[string]string{"/": "1:1", "/etc/x": "1:1", "/srv": "4:4", "/srv/a": "4:4", "/srv/data/b": "3:3", "/srvx": "1:1"} {
		if m, ok := Containing(ms, p); !ok || m.Dev != want {
			t.Errorf("Containing(%q) = %+v %v, want %s", p, m, ok, want)
		}
	}
	if _, ok := Containing(nil, "/"); ok {
		t.Error("found a mount in an empty table")
	}
}
