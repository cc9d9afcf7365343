package lvm

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/lvback/lvback/internal/fakelvm/fakelvmtest"
)

// TestCleanupAfterSIGKILL kills a process holding a mounted snapshot and
// checks that Cleanup then removes all of it.
func TestCleanupAfterSIGKILL(t *testing.T) {
	v := newFakeVG(t)
	v.AddOrigin("data", fakelvmtest.Ext4, 64<<20, sampleTree())
	spec, err := json.Marshal(childSpec{LV: "/dev/vg/data", Size: "2G", RunDir: v.runDir})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+string(spec))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		ready <- line
	}()
	var mnt string
	select {
	case line := <-ready:
		var ok bool
		if mnt, ok = strings.CutPrefix(strings.TrimSpace(line), "ready "); !ok {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("child: %q\n%s", line, stderr.Bytes())
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("child not ready after 30 s:\n%s", stderr.Bytes())
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()

	if mountAt(t, mnt) == nil || len(v.Names()) != 2 {
		t.Fatalf("the killed child left no snapshot to clean (mount %s, volumes %q)", mnt, v.Names())
	}
	removed, err := Cleanup(context.Background(), v.runDir, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != 3 {
		t.Errorf("Cleanup removed %q, want the mount, its directory and the volume", removed)
	}
	v.assertNothingLeft("vg/data")
}
