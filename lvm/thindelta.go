package lvm

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Range is a run of bytes of a volume.
type Range struct{ Off, Len int64 }

// Delta is what thin_delta reports differs between two thin snapshots
// of one origin: every byte range whose mapping is not shared (written,
// discarded, or mapped on one side only), in volume order, merged.
type Delta struct {
	BlockSize   int64 // bytes per pool data block
	Ranges      []Range
	Transaction int64 // the pool's transaction id in the metadata thin_delta read
}

// Bytes is how many bytes the ranges cover.
func (d *Delta) Bytes() int64 {
	var n int64
	for _, r := range d.Ranges {
		n += r.Len
	}
	return n
}

// ThinDelta asks the pool's metadata which blocks differ between old
// (the kept snapshot) and cur (the one just made) of the same origin: it
// reserves a metadata snapshot of the live pool (dmsetup message …
// reserve_metadata_snap), runs thin_delta -m on it and releases it. A
// reservation left by a process that died is released first. Every
// error wraps ErrNoThinDelta: the caller then reads the whole volume.
func ThinDelta(ctx context.Context, log *slog.Logger, runDir string, old, cur ThinVolume) (*Delta, error) {
	log = logOrDiscard(log)
	d, err := thinDelta(ctx, log, runDirOrDefault(runDir), old, cur)
	if err != nil && !errors.Is(err, ErrNoThinDelta) {
		err = fmt.Errorf("%w: %w", ErrNoThinDelta, err)
	}
	return d, err
}

func thinDelta(ctx context.Context, log *slog.Logger, runDir string, old, cur ThinVolume) (*Delta, error) {
	switch {
	case old.VG != cur.VG || old.Pool != cur.Pool || old.Origin != cur.Origin:
		return nil, fmt.Errorf("kept snapshot %s is of %s in pool %s, not of %s in pool %s",
			lvRef(old.VG, old.Name), old.Origin, old.Pool, cur.Origin, cur.Pool)
	case old.ThinID == cur.ThinID:
		return nil, fmt.Errorf("kept snapshot and new snapshot share thin id %d", cur.ThinID)
	case cur.Transaction < old.Transaction:
		return nil, fmt.Errorf("pool %s went back from transaction %d to %d: its metadata was replaced",
			lvRef(cur.VG, cur.Pool), old.Transaction, cur.Transaction)
	}
	// One reservation per pool at a time, host-wide: lvback processes
	// backing up volumes of one pool take turns.
	unlock, err := lockPool(runDir, cur.VG, cur.Pool)
	if err != nil {
		return nil, err
	}
	defer unlock()
	pool := dmName(cur.VG, cur.Pool) + "-tpool"
	if err := reserveMetadataSnap(ctx, log, pool); err != nil {
		return nil, err
	}
	defer func() {
		rctx, cancel := detached(ctx)
		defer cancel()
		if err := runChange(rctx, log, "dmsetup", "message", pool, "0", "release_metadata_snap"); err != nil {
			log.Warn("pool metadata snapshot not released; the next run releases it", "pool", pool, "err", err)
		}
	}()
	meta := "/dev/mapper/" + dmName(cur.VG, cur.Pool+"_tmeta")
	out, err := run(ctx, log, "thin_delta", "-m", "--snap1", strconv.FormatInt(old.ThinID, 10),
		"--snap2", strconv.FormatInt(cur.ThinID, 10), meta)
	if err != nil {
		return nil, err
	}
	d, err := ParseThinDelta(strings.NewReader(string(out)), old.ThinID, cur.ThinID, cur.Size)
	if err != nil {
		return nil, err
	}
	if d.Transaction < old.Transaction {
		return nil, fmt.Errorf("pool metadata at transaction %d, older than the kept snapshot's %d", d.Transaction, old.Transaction)
	}
	return d, nil
}

// reserveMetadataSnap reserves pool's metadata snapshot; when one is
// held already (by a process that died: lockPool keeps lvback's own
// apart) it releases it and tries once more.
func reserveMetadataSnap(ctx context.Context, log *slog.Logger, pool string) error {
	err := runChange(ctx, log, "dmsetup", "message", pool, "0", "reserve_metadata_snap")
	if err == nil {
		return nil
	}
	log.Warn("pool metadata snapshot held already; releasing it and trying again", "pool", pool, "err", err)
	if rerr := runChange(ctx, log, "dmsetup", "message", pool, "0", "release_metadata_snap"); rerr != nil {
		return errors.Join(err, rerr)
	}
	return runChange(ctx, log, "dmsetup", "message", pool, "0", "reserve_metadata_snap")
}

// poolLockPattern matches the pool lock files lockPool leaves in the
// run directory (empty files, kept: removing one while another process
// waits on it would let two hold "the" lock).
var poolLockPattern = regexp.MustCompile(`^pool-.+\.lock$`)

// lockPool takes the host-wide lock on the thin pool vg/pool's metadata
// snapshot, a file in runDir, waiting for another holder.
func lockPool(runDir, vg, pool string) (func(), error) {
	if err := os.MkdirAll(runDir, 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(runDir, "pool-"+dmName(vg, pool)+".lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock pool %s: %w", lvRef(vg, pool), err)
	}
	return func() { f.Close() }, nil
}

// ParseThinDelta reads thin_delta's XML report of thin devices left and
// right of a volume of size bytes: every run that is not <same> becomes a
// byte range. Anything it does not understand (another pair of devices,
// an unknown element, a range past size, overlapping or unordered runs)
// is an error wrapping ErrNoThinDelta: then nothing it says is trusted.
func ParseThinDelta(r io.Reader, left, right, size int64) (*Delta, error) {
	d := &Delta{}
	bad := func(format string, a ...any) error {
		return fmt.Errorf("thin_delta report: %s: %w", fmt.Sprintf(format, a...), ErrNoThinDelta)
	}
	dec := xml.NewDecoder(r)
	var depth, diffs int
	var sawSuper bool
	var end int64 // end of the last run, in blocks: runs come in order
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, bad("%v", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			attr := attrs(t)
			switch {
			case depth == 1 && t.Name.Local == "superblock" && !sawSuper:
				sawSuper = true
				sectors, err1 := attr.int("data_block_size")
				tr, err2 := attr.int("transaction")
				if err := errors.Join(err1, err2); err != nil || sectors <= 0 || sectors > 1<<24 {
					return nil, bad("superblock: data_block_size %q, transaction %q", attr["data_block_size"], attr["transaction"])
				}
				d.BlockSize, d.Transaction = sectors*512, tr
			case depth == 2 && t.Name.Local == "diff":
				diffs++
				l, err1 := attr.int("left")
				r, err2 := attr.int("right")
				if errors.Join(err1, err2) != nil || l != left || r != right || diffs > 1 {
					return nil, bad("diff of devices %q and %q, want %d and %d", attr["left"], attr["right"], left, right)
				}
			case depth == 3 && diffs == 1:
				begin, err1 := attr.int("begin")
				n, err2 := attr.int("length")
				if errors.Join(err1, err2) != nil || begin < 0 || n <= 0 || begin < end || begin > (1<<62)/d.BlockSize || n > (1<<62)/d.BlockSize {
					return nil, bad("<%s begin=%q length=%q>", t.Name.Local, attr["begin"], attr["length"])
				}
				end = begin + n
				if end*d.BlockSize > size+d.BlockSize-1 { // the last block may reach past the end
					return nil, bad("run ends at block %d, past the volume's %d bytes", end, size)
				}
				switch t.Name.Local {
				case "same":
				case "different", "left_only", "right_only":
					d.add(Range{begin * d.BlockSize, min(n*d.BlockSize, size-begin*d.BlockSize)})
				default:
					return nil, bad("unknown run <%s>", t.Name.Local)
				}
			default:
				return nil, bad("unexpected <%s>", t.Name.Local)
			}
		case xml.EndElement:
			depth--
		case xml.CharData:
			if strings.TrimSpace(string(t)) != "" {
				return nil, bad("unexpected text %q", strings.TrimSpace(string(t)))
			}
		}
	}
	if !sawSuper || diffs != 1 {
		return nil, bad("no superblock or diff")
	}
	return d, nil
}

// add appends r, merged with the last range when they touch.
func (d *Delta) add(r Range) {
	if n := len(d.Ranges); n > 0 && d.Ranges[n-1].Off+d.Ranges[n-1].Len == r.Off {
		d.Ranges[n-1].Len += r.Len
		return
	}
	d.Ranges = append(d.Ranges, r)
}

// xmlAttrs are an element's attributes by name.
type xmlAttrs map[string]string

func attrs(t xml.StartElement) xmlAttrs {
	m := make(xmlAttrs, len(t.Attr))
	for _, a := range t.Attr {
		m[a.Name.Local] = a.Value
	}
	return m
}

// int parses the attribute name as a decimal integer.
func (a xmlAttrs) int(name string) (int64, error) {
	return strconv.ParseInt(a[name], 10, 64)
}
