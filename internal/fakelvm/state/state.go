// Package state is the on-disk state of the fake LVM in the parent
// directory: its logical volumes, its log of calls and its fault-injection
// files, all in the directory named by $FAKELVM_STATE. Tests write the
// state and read the log; the fake reads and changes the state.
package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/lvback/lvback/internal/durable"
)

// EnvDir names the environment variable holding the state directory.
const EnvDir = "FAKELVM_STATE"

// Files in the state directory.
const (
	StateFile = "state.json" // the State
	LogFile   = "calls.log"  // one line per call: the tool's name and its arguments
	ImageDir  = "images"     // images of the snapshots the fake creates
)

// Fault-injection files: each one present in the state directory changes
// the fake's behaviour as its comment says.
const (
	// FailLvcreate makes every lvcreate exit 5 with "insufficient free
	// space" on stderr.
	FailLvcreate = "fail-lvcreate"
	// Overflow makes the next snapshot invalid (lv_attr state 'I') and
	// 100% full; the file is removed then.
	Overflow = "overflow"
	// Percent holds the fill ("85.00") lvs reports for every classic
	// snapshot and thin pool.
	Percent = "percent"
	// FrozenOrigin makes every lvcreate fail as LVM's does on an origin
	// whose file system is frozen (fsfreeze -f): exit 5 with "suspend ioctl
	// ... Device or resource busy" on stderr, leaving the half-made volume
	// (lv_attr -wi-i-----, with its tags) in the state, as measured in
	// test/vm. dmsetup then reports the origin's "-real" device unused.
	FrozenOrigin = "frozen-origin"
	// FailLvremoveOnce makes the next lvremove exit 5; the file is removed
	// then.
	FailLvremoveOnce = "fail-lvremove-once"
	// SleepAfterLvcreate holds a number of milliseconds ("1000") every
	// lvcreate that created a volume sleeps after saving the state and
	// before it exits: a test sees the new volume in the state while
	// lvcreate still runs, and can signal its caller then.
	SleepAfterLvcreate = "sleep-after-lvcreate"
	// SleepInLvremove holds a number of milliseconds every lvremove sleeps
	// after it logged its call and before it removes anything: a test sees
	// the call in the log while the volume still exists.
	SleepInLvremove = "sleep-in-lvremove"
	// FailThinDeltaOnce makes the next thin_delta exit 1 with a message on
	// stderr, before it reads anything; the file is removed then.
	FailThinDeltaOnce = "fail-thin-delta-once"
)

// LV is one logical volume.
type LV struct {
	VG      string   `json:"vg"`
	Name    string   `json:"name"`
	Tags    []string `json:"tags,omitempty"`
	Attr    string   `json:"attr"`    // lv_attr, 10 characters: "-wi-a-----"
	Segtype string   `json:"segtype"` // "linear", "thin", "thin-pool"
	Pool    string   `json:"pool,omitempty"`
	Origin  string   `json:"origin,omitempty"`
	Percent string   `json:"percent,omitempty"` // snap_percent / data_percent
	Image   string   `json:"image,omitempty"`   // backing file; none for a pool
	Loop    string   `json:"loop,omitempty"`    // loop device while active

	UUID    string `json:"uuid,omitempty"`    // lv_uuid; Complete gives one
	Created string `json:"created,omitempty"` // lv_time, TimeFormat; Complete sets it
	Size    int64  `json:"size,omitempty"`    // lv_size in bytes; 0: the image's size

	// ThinID is a thin volume's device id in its pool; Complete gives one.
	ThinID int `json:"thin_id,omitempty"`
	// Meta is a thin pool's metadata; Complete gives every pool one.
	Meta *ThinPool `json:"thin_pool,omitempty"`
}

// State is every logical volume the fake knows.
type State struct {
	LVs []LV `json:"lvs"`
}

// Load reads the state of dir; a missing file is an empty state.
func Load(dir string) (*State, error) {
	b, err := os.ReadFile(filepath.Join(dir, StateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return &State{}, nil
	}
	if err != nil {
		return nil, err
	}
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", StateFile, err)
	}
	return &s, nil
}

// Save writes the state of dir atomically (durable.WriteFile).
func (s *State) Save(dir string) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return durable.WriteFile(filepath.Join(dir, StateFile), b, 0o600)
}

// Find returns the volume vg/name, or nil.
func (s *State) Find(vg, name string) *LV {
	for i := range s.LVs {
		if s.LVs[i].VG == vg && s.LVs[i].Name == name {
			return &s.LVs[i]
		}
	}
	return nil
}

// Remove deletes the volume vg/name from the state.
func (s *State) Remove(vg, name string) {
	for i := range s.LVs {
		if s.LVs[i].VG == vg && s.LVs[i].Name == name {
			s.LVs = append(s.LVs[:i], s.LVs[i+1:]...)
			return
		}
	}
}

// Calls returns the logged calls of dir, one string each.
func Calls(dir string) ([]string, error) {
	b, err := os.ReadFile(filepath.Join(dir, LogFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil || len(b) == 0 {
		return nil, err
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n"), nil
}
