package engine

import (
	"context"
	"path/filepath"
	"time"

	"github.com/lvback/lvback/internal/hook"
)

// SnapshotHooks are the operator's commands run right around the creation
// of a volume's snapshot (to quiesce a guest or a database for that
// instant). A path volume takes no snapshot, so they never run for one.
type SnapshotHooks struct {
	Before  string        // before_snapshot; "" for none
	After   string        // after_snapshot; "" for none
	Timeout time.Duration // bounds each; 0 means hook.DefaultTimeout
}

// applyHooks makes o's snapshot run o.Hooks right around its creation
// (lvm.Options.BeforeCreate and AfterCreate). $LVBACK_BACKUP_ID is empty:
// the backup gets its ID only after the snapshot. $LVBACK_STATUS is empty
// for before_snapshot and says whether the snapshot was made for
// after_snapshot. A failing hook fails the volume.
func (o *VolumeOptions) applyHooks() {
	h, log := o.Hooks, o.Backup.Log
	env := hook.Env{Volume: o.Backup.Name, Source: o.LV + o.Btrfs, Repo: absPath(o.Backup.Repo)}
	if h.Before != "" {
		o.Snapshot.BeforeCreate = func(ctx context.Context) error {
			e := env
			e.Hook = hook.BeforeSnapshot
			return hook.Run(ctx, hook.Hook{Name: e.Hook, Command: h.Before, Timeout: h.Timeout, Env: e.List()}, log)
		}
	}
	if h.After != "" {
		o.Snapshot.AfterCreate = func(ctx context.Context, made bool) error {
			e := env
			e.Hook, e.Status = hook.AfterSnapshot, hook.StatusFailed
			if made {
				e.Status = hook.StatusOK
			}
			return hook.Run(ctx, hook.Hook{Name: e.Hook, Command: h.After, Timeout: h.Timeout, Env: e.List()}, log)
		}
	}
}

// absPath is path made absolute, for a hook that runs elsewhere.
func absPath(path string) string {
	if abs, err := filepath.Abs(path); err == nil {
		return abs
	}
	return path
}
