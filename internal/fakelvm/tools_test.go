package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lvback/lvback/internal/fakelvm/fakelvmtest"
	"github.com/lvback/lvback/internal/fakelvm/state"
	"github.com/lvback/lvback/internal/testsys"
)

func TestMain(m *testing.M) {
	code := m.Run()
	fakelvmtest.RemoveTools()
	os.Exit(code)
}

// blockSize is the default data block size in bytes.
const blockSize = state.DefaultDataBlockSize * 512

// thinVG makes the volume group "vg" with the thin pool "pool" and the
// active thin volume "data" of 8 MiB, whose blocks fill has 'a' in 0 and
// 1 and 'b' in 5 and 6.
func thinVG(t *testing.T) *fakelvmtest.VG {
	t.Helper()
	v := fakelvmtest.New(t, "vg")
	t.Setenv("LC_ALL", "C")
	v.AddThinPool("pool", 0)
	img := v.Image("data", 8<<20)
	fill(t, img, map[int64]byte{0: 'a', 1: 'a', 5: 'b', 6: 'b'})
	v.AddThin("data", "pool", img)
	return v
}

// fill writes whole default-size blocks of img: block number to byte (0
// for zeros).
func fill(t *testing.T, img string, blocks map[int64]byte) {
	t.Helper()
	f, err := os.OpenFile(img, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for b, c := range blocks {
		if _, err := f.WriteAt(bytes.Repeat([]byte{c}, blockSize), b*blockSize); err != nil {
			t.Fatal(err)
		}
	}
}

// call runs the fake's tool and returns its stdout, stderr and exit
// status.
func call(t *testing.T, tool string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := exec.Command(tool, args...)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return out.String(), errOut.String(), code
}

// mustCall is call failing t unless the tool succeeds.
func mustCall(t *testing.T, tool string, args ...string) string {
	t.Helper()
	out, errOut, code := call(t, tool, args...)
	if code != 0 {
		t.Fatalf("%s %s: exit %d: %s", tool, strings.Join(args, " "), code, errOut)
	}
	return out
}

// wantFail fails t unless the tool exits code with want in its stderr.
func wantFail(t *testing.T, code int, want string, tool string, args ...string) {
	t.Helper()
	_, errOut, got := call(t, tool, args...)
	if got != code || !strings.Contains(errOut, want) {
		t.Errorf("%s %s: exit %d, stderr %q; want exit %d with %q", tool, strings.Join(args, " "), got, errOut, code, want)
	}
}

// report runs lvs with the fields of the contract and returns its rows by
// volume name.
func report(t *testing.T, sel string) map[string]map[string]string {
	t.Helper()
	out := mustCall(t, "lvs", "--reportformat", "json", "--units", "b", "--nosuffix", "-o",
		"vg_name,lv_name,lv_uuid,lv_attr,segtype,pool_lv,origin,lv_tags,lv_size,lv_time,thin_id,transaction_id,data_percent,lv_path", sel)
	var r struct {
		Report []struct {
			LV []map[string]string `json:"lv"`
		} `json:"report"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("lvs output %q: %v", out, err)
	}
	rows := map[string]map[string]string{}
	for _, row := range r.Report[0].LV {
		rows[row["lv_name"]] = row
	}
	return rows
}

func TestLvsThinFields(t *testing.T) {
	v := thinVG(t)
	v.Add(state.LV{VG: "other", Name: "x", Attr: "-wi-------", Segtype: "linear", Size: 4096})
	rows := report(t, "vg")
	if len(rows) != 2 {
		t.Fatalf("lvs vg listed %v, want pool and data", rows)
	}
	pool, data := rows["pool"], rows["data"]
	if pool["transaction_id"] != "0" || pool["thin_id"] != "" || data["thin_id"] != "1" || data["transaction_id"] != "" {
		t.Errorf("ids: pool %v, data %v", pool, data)
	}
	if data["lv_size"] != "8388608" || data["origin"] != "" || data["pool_lv"] != "pool" {
		t.Errorf("data: %v", data)
	}
	if _, err := time.Parse(state.TimeFormat, data["lv_time"]); err != nil {
		t.Errorf("lv_time: %v", err)
	}
	uuidRE := regexp.MustCompile(`^[A-Za-z0-9]{6}(-[A-Za-z0-9]{4}){5}-[A-Za-z0-9]{6}$`)
	if !uuidRE.MatchString(data["lv_uuid"]) || data["lv_uuid"] == pool["lv_uuid"] {
		t.Errorf("uuids: data %q, pool %q", data["lv_uuid"], pool["lv_uuid"])
	}
	// The identity is stable from call to call.
	if again := report(t, "vg/data")["data"]; again["lv_uuid"] != data["lv_uuid"] || again["lv_time"] != data["lv_time"] || again["thin_id"] != "1" {
		t.Errorf("second lvs: %v, first %v", again, data)
	}
	out := mustCall(t, "lvs", "--reportformat", "json", "--units", "b", "-o", "lv_size", "other/x")
	if !strings.Contains(out, `{"lv_size":"4096B"}`) {
		t.Errorf("lvs --units b without --nosuffix: %s", out)
	}
	out = mustCall(t, "lvs", "--reportformat", "json", "-o", "lv_size", "vg/data")
	if !strings.Contains(out, `{"lv_size":"8.00m"}`) {
		t.Errorf("lvs without --units: %s", out)
	}
	wantFail(t, 3, "--units", "lvs", "--reportformat", "json", "--units", "k", "-o", "lv_size", "vg/data")
}

// TestThinDeltaFlow plays step 4 of the contract: two snapshots, a
// reserved metadata snapshot, thin_delta between them.
func TestThinDeltaFlow(t *testing.T) {
	v := thinVG(t)
	mustCall(t, "lvcreate", "-s", "-n", "snap1", "--addtag", "lvback", "vg/data")
	mustCall(t, "lvchange", "-ay", "-K", "vg/snap1")
	fill(t, v.LV("data").Image, map[int64]byte{0: 0, 6: 'x', 9: 'd', 10: 'd'})
	mustCall(t, "lvcreate", "-s", "-n", "snap2", "--addtag", "lvback", "vg/data")
	rows := report(t, "vg")
	if rows["snap1"]["thin_id"] != "2" || rows["snap2"]["thin_id"] != "3" || rows["pool"]["transaction_id"] != "2" ||
		rows["snap2"]["origin"] != "data" || rows["snap2"]["lv_tags"] != "lvback" {
		t.Fatalf("after two snapshots: %v", rows)
	}
	if p := rows["snap1"]["lv_path"]; !strings.HasPrefix(p, "/dev/loop") {
		t.Errorf("active snap1's lv_path %q, want its loop device", p)
	}

	const tmeta = "/dev/mapper/vg-pool_tmeta"
	delta := []string{"-m", "--snap1", "2", "--snap2", "3", tmeta}
	wantFail(t, 1, "no current metadata snap", "thin_delta", delta...)
	mustCall(t, "dmsetup", "message", "vg-pool-tpool", "0", "reserve_metadata_snap")
	wantFail(t, 1, "File exists", "dmsetup", "message", "vg-pool-tpool", "0", "reserve_metadata_snap")
	wantFail(t, 1, "Device does not exist", "dmsetup", "message", "vg-nopool-tpool", "0", "reserve_metadata_snap")
	// A snapshot made after the reservation is not in the metadata snapshot.
	mustCall(t, "lvcreate", "-s", "-n", "snap3", "vg/data")

	want := `<superblock uuid="" time="2" transaction="2" data_block_size="128" nr_data_blocks="0">
  <diff left="2" right="3">
    <left_only begin="0" length="1"/>
    <same begin="1" length="1"/>
    <same begin="5" length="1"/>
    <different begin="6" length="1"/>
    <right_only begin="9" length="2"/>
  </diff>
</superblock>
`
	if got := mustCall(t, "thin_delta", delta...); got != want {
		t.Errorf("thin_delta:\n%s\nwant:\n%s", got, want)
	}
	if got := mustCall(t, "thin_delta", "--thin2", "3", "--thin1=2", tmeta, "-m"); got != want {
		t.Errorf("thin_delta with -m last:\n%s\nwant:\n%s", got, want)
	}
	wantFail(t, 1, "Unable to find mapping tree for snap2 (4)", "thin_delta", "-m", "--snap1", "2", "--snap2", "4", tmeta)
	wantFail(t, 1, "Unable to find mapping tree for snap1 (99)", "thin_delta", "--snap1", "99", "--snap2", "4", tmeta)
	wantFail(t, 1, "--snap2 not specified", "thin_delta", "-m", "--snap1", "2", tmeta)
	wantFail(t, 1, "No such file", "thin_delta", "--snap1", "2", "--snap2", "3", "/dev/mapper/vg-other_tmeta")

	// Without -m thin_delta sees the live metadata: snap3 and transaction 3.
	out := mustCall(t, "thin_delta", "--snap1", "3", "--snap2", "4", tmeta)
	wantLive := `<superblock uuid="" time="3" transaction="3" data_block_size="128" nr_data_blocks="0">
  <diff left="3" right="4">
    <same begin="1" length="1"/>
    <same begin="5" length="2"/>
    <same begin="9" length="2"/>
  </diff>
</superblock>
`
	if out != wantLive {
		t.Errorf("live thin_delta:\n%s\nwant:\n%s", out, wantLive)
	}

	v.Fault(state.FailThinDeltaOnce, "1")
	wantFail(t, 1, "fails once", "thin_delta", delta...)
	if got := mustCall(t, "thin_delta", delta...); got != want {
		t.Errorf("thin_delta after the failure:\n%s", got)
	}

	mustCall(t, "dmsetup", "message", "vg-pool-tpool", "0", "release_metadata_snap")
	wantFail(t, 1, "Invalid argument", "dmsetup", "message", "vg-pool-tpool", "0", "release_metadata_snap")
	mustCall(t, "dmsetup", "message", "/dev/mapper/vg-pool-tpool", "0", "reserve_metadata_snap")
	if r := v.LV("pool").Meta.Reserved; r == nil || r.Transaction != 3 {
		t.Errorf("reservation in the state: %+v", r)
	}

	// A larger data block size: blocks of 128 KiB.
	v.Edit(func(s *state.State) { s.Find("vg", "pool").Meta.DataBlockSize = 256 })
	out = mustCall(t, "thin_delta", "--snap1", "2", "--snap2", "3", tmeta)
	if !strings.Contains(out, `data_block_size="256"`) || !strings.Contains(out, `<different begin="0" length="1"/>`) ||
		!strings.Contains(out, `<different begin="3" length="1"/>`) || !strings.Contains(out, `<right_only begin="4" length="2"/>`) {
		t.Errorf("thin_delta with 128 KiB blocks:\n%s", out)
	}
}

// TestKeepFlow plays step 5 of the contract: tag, deactivate, skip flag,
// read-only, rename; then the removal of the kept snapshot.
func TestKeepFlow(t *testing.T) {
	v := thinVG(t)
	mustCall(t, "lvcreate", "-s", "-n", "snap", "--addtag", "lvback", "vg/data")
	mustCall(t, "lvchange", "-ay", "-K", "vg/snap")
	before := report(t, "vg/snap")["snap"]
	loop := v.LV("snap").Loop

	mustCall(t, "lvchange", "--addtag", "lvback-kept", "vg/snap")
	mustCall(t, "lvchange", "-an", "vg/snap")
	mustCall(t, "lvchange", "-ky", "vg/snap")
	mustCall(t, "lvchange", "-pr", "vg/snap")
	row := report(t, "vg/snap")["snap"]
	if row["lv_attr"] != "Vri---tz-k" || row["lv_path"] != "/dev/vg/snap" || row["lv_tags"] != "lvback,lvback-kept" {
		t.Errorf("kept snapshot: %v", row)
	}
	if file, ok := fakelvmtest.LoopDevices(t)[loop]; ok && file == v.LV("snap").Image {
		t.Errorf("-an left %s attached to %s", loop, file)
	}
	wantFail(t, 5, "already read only", "lvchange", "-pr", "vg/snap")

	// -ay honours the skip flag; -K overrides it, read-only.
	mustCall(t, "lvchange", "-ay", "vg/snap")
	if lv := v.LV("snap"); lv.Loop != "" || lv.Attr[4] == 'a' {
		t.Errorf("-ay activated a skipped volume: %+v", lv)
	}
	mustCall(t, "lvchange", "-ay", "-K", "vg/snap")
	lv := v.LV("snap")
	if lv.Loop == "" || lv.Attr != "Vri-a-tz-k" {
		t.Fatalf("-ay -K: %+v", lv)
	}
	ro, err := os.ReadFile(filepath.Join("/sys/block", filepath.Base(lv.Loop), "ro"))
	if err != nil || strings.TrimSpace(string(ro)) != "1" {
		t.Errorf("loop device of a read-only volume: ro %q, %v", ro, err)
	}

	// A mounted volume stays active.
	mnt := t.TempDir()
	testsys.Run(t, "mkfs.ext4", "-q", "-F", v.LV("data").Loop)
	testsys.Run(t, "mount", v.LV("data").Loop, mnt)
	wantFail(t, 5, "in use", "lvchange", "-an", "vg/data")
	testsys.Run(t, "umount", mnt)

	mustCall(t, "lvchange", "-an", "--deltag", "lvback", "-kn", "-prw", "vg/snap")
	if lv := v.LV("snap"); lv.Attr != "Vwi---tz--" || lv.Loop != "" || strings.Join(lv.Tags, ",") != "lvback-kept" {
		t.Errorf("undone: %+v", lv)
	}
	mustCall(t, "lvchange", "-ky", "-pr", "vg/snap")

	out := mustCall(t, "lvrename", "vg", "snap", "data-lvback-kept-20261127T120000")
	if !strings.Contains(out, "Renamed") {
		t.Errorf("lvrename printed %q", out)
	}
	after := report(t, "vg")["data-lvback-kept-20261127T120000"]
	if after == nil || after["lv_uuid"] != before["lv_uuid"] || after["thin_id"] != before["thin_id"] ||
		after["lv_time"] != before["lv_time"] || after["origin"] != "data" {
		t.Errorf("renamed: %v, before %v", after, before)
	}
	if _, err := os.Stat(v.LV("data-lvback-kept-20261127T120000").Image); err != nil {
		t.Errorf("image after the rename: %v", err)
	}
	wantFail(t, 5, "already exists", "lvrename", "vg/data-lvback-kept-20261127T120000", "vg/data")
	wantFail(t, 5, "not found", "lvrename", "vg", "snap", "x")
	wantFail(t, 3, "same volume group", "lvrename", "vg/data", "other/x")
	mustCall(t, "lvrename", "vg/data-lvback-kept-20261127T120000", "vg/kept")

	// The origin's rename carries its snapshots' origin along.
	mustCall(t, "lvrename", "/dev/vg/data", "vg/data2")
	if got := v.LV("kept").Origin; got != "data2" {
		t.Errorf("origin after renaming it: %q", got)
	}

	tr := report(t, "vg/pool")["pool"]["transaction_id"]
	mustCall(t, "lvremove", "-f", "vg/kept")
	if got := report(t, "vg/pool")["pool"]["transaction_id"]; tr != "1" || got != "2" {
		t.Errorf("transaction_id %s before lvremove, %s after; want 1, 2", tr, got)
	}
	// Thin ids are never reused.
	mustCall(t, "lvcreate", "-s", "-n", "again", "vg/data2")
	if got := report(t, "vg")["again"]; got["thin_id"] != "3" {
		t.Errorf("thin id after a removal: %v, want 3", got)
	}
}
