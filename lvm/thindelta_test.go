package lvm

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// thin_delta 0.9.0's report, as captured in test/vm: 64 KiB blocks.
const deltaReport = `<superblock uuid="" time="1" transaction="7" data_block_size="128" nr_data_blocks="0">
  <diff left="3" right="5">
    <same begin="0" length="16"/>
    <different begin="16" length="1"/>
    <left_only begin="17" length="3"/>
    <same begin="20" length="4"/>
    <right_only begin="40" length="2"/>
  </diff>
</superblock>
`

func TestParseThinDelta(t *testing.T) {
	d, err := ParseThinDelta(strings.NewReader(deltaReport), 3, 5, 64<<20)
	if err != nil {
		t.Fatal(err)
	}
	const b = 64 << 10
	want := []Range{{16 * b, 4 * b}, {40 * b, 2 * b}}
	if d.BlockSize != b || d.Transaction != 7 || !slices.Equal(d.Ranges, want) || d.Bytes() != 6*b {
		t.Errorf("got block size %d, transaction %d, ranges %v; want %d, 7, %v", d.BlockSize, d.Transaction, d.Ranges, b, want)
	}
}

// The last block may reach past a volume whose size is not a multiple of
// the block size: the range stops at the end.
func TestParseThinDeltaClipsLastBlock(t *testing.T) {
	r := `<superblock transaction="1" data_block_size="128"><diff left="1" right="2"><different begin="1" length="1"/></diff></superblock>`
	d, err := ParseThinDelta(strings.NewReader(r), 1, 2, 100<<10)
	if err != nil {
		t.Fatal(err)
	}
	if want := []Range{{64 << 10, 36 << 10}}; !slices.Equal(d.Ranges, want) {
		t.Errorf("ranges %v, want %v", d.Ranges, want)
	}
}

// Nothing that is not understood is trusted.
func TestParseThinDeltaRefuses(t *testing.T) {
	sb := `<superblock transaction="1" data_block_size="128">`
	for name, r := range map[string]string{
		"empty":          ``,
		"no diff":        sb + `</superblock>`,
		"other devices":  sb + `<diff left="1" right="3"></diff></superblock>`,
		"two diffs":      sb + `<diff left="1" right="2"></diff><diff left="1" right="2"></diff></superblock>`,
		"unknown run":    sb + `<diff left="1" right="2"><moved begin="0" length="1"/></diff></superblock>`,
		"unordered":      sb + `<diff left="1" right="2"><different begin="5" length="1"/><different begin="2" length="1"/></diff></superblock>`,
		"overlap":        sb + `<diff left="1" right="2"><different begin="5" length="3"/><same begin="6" length="1"/></diff></superblock>`,
		"past the end":   sb + `<diff left="1" right="2"><different begin="1000" length="1"/></diff></superblock>`,
		"no block size":  `<superblock transaction="1"><diff left="1" right="2"></diff></superblock>`,
		"zero length":    sb + `<diff left="1" right="2"><different begin="0" length="0"/></diff></superblock>`,
		"negative":       sb + `<diff left="1" right="2"><different begin="-1" length="2"/></diff></superblock>`,
		"truncated":      sb + `<diff left="1" right="2"><different begin="0" length="1"/>`,
		"text":           sb + `<diff left="1" right="2">oops</diff></superblock>`,
		"verbose ranges": sb + `<diff left="1" right="2"><different><range begin="0" data_begin="1" length="1"/></different></diff></superblock>`,
		"huge begin":     sb + `<diff left="1" right="2"><different begin="9223372036854775807" length="1"/></diff></superblock>`,
	} {
		if d, err := ParseThinDelta(strings.NewReader(r), 1, 2, 1<<20); err == nil || !errors.Is(err, ErrNoThinDelta) {
			t.Errorf("%s: got %+v, %v; want an error wrapping ErrNoThinDelta", name, d, err)
		}
	}
}

func FuzzParseThinDelta(f *testing.F) {
	f.Add(deltaReport, int64(64<<20))
	f.Add(`<superblock transaction="1" data_block_size="8"><diff left="3" right="5"><left_only begin="0" length="9"/></diff></superblock>`, int64(4096*9))
	f.Fuzz(func(t *testing.T, report string, size int64) {
		if size < 0 {
			return
		}
		d, err := ParseThinDelta(strings.NewReader(report), 3, 5, size)
		if err != nil {
			return
		}
		var end int64
		for _, r := range d.Ranges {
			if r.Off < end || r.Len <= 0 || r.Off+r.Len > size {
				t.Fatalf("range %+v after %d, volume of %d bytes", r, end, size)
			}
			end = r.Off + r.Len
		}
	})
}

func TestKeptName(t *testing.T) {
	at := time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC)
	name := SnapshotName("db-data", at)
	kept := keptName(name)
	if kept != "db-data-lvback-kept-"+"20261127T030000" {
		t.Errorf("kept name %q", kept)
	}
	if isSnapshotName(kept) || !keptPattern.MatchString(kept) || keptPattern.MatchString(name) {
		t.Errorf("%q is taken for a leftover snapshot, or %q for a kept one", kept, name)
	}
}
