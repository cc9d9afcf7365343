package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/lvback/lvback/engine"
	"github.com/lvback/lvback/internal/hook"
)

// Hook names, as in the config, the log (hook=NAME) and $LVBACK_HOOK.
const (
	hookBeforeSnapshot = "before_snapshot"
	hookAfterSnapshot  = "after_snapshot"
	hookOnSuccess      = "on_success"
	hookOnFailure      = "on_failure"
)

// Values of $LVBACK_STATUS.
const (
	statusOK     = "ok"
	statusFailed = "failed"
)

// snapshotHooks are the operator's commands around one volume's snapshot.
type snapshotHooks struct {
	before, after string
	timeout       time.Duration // 0: hook.DefaultTimeout
}

// hookEnv is the environment lvback gives a hook: $LVBACK_HOOK, and
// $LVBACK_VOLUME, $LVBACK_SOURCE, $LVBACK_REPO, $LVBACK_BACKUP_ID and
// $LVBACK_STATUS, each set, maybe empty.
type hookEnv struct {
	name, volume, source, repo, backupID, status string
}

func (e hookEnv) list() []string {
	return []string{"LVBACK_HOOK=" + e.name, "LVBACK_VOLUME=" + e.volume, "LVBACK_SOURCE=" + e.source,
		"LVBACK_REPO=" + e.repo, "LVBACK_BACKUP_ID=" + e.backupID, "LVBACK_STATUS=" + e.status}
}

// absRepo is repo as an absolute path, for a hook that runs elsewhere.
func absRepo(repo string) string {
	if abs, err := filepath.Abs(repo); err == nil {
		return abs
	}
	return repo
}

// apply makes o's snapshot run h's commands right around its creation
// (lvm.Options.BeforeCreate and AfterCreate). $LVBACK_BACKUP_ID is empty:
// the backup gets its ID only after the snapshot. $LVBACK_STATUS is empty
// for before_snapshot and says whether the snapshot was made for
// after_snapshot. A failing hook fails the volume.
func (h snapshotHooks) apply(o *engine.VolumeOptions, log *slog.Logger) {
	env := hookEnv{volume: o.Backup.Name, source: o.LV + o.Btrfs, repo: absRepo(o.Backup.Repo)}
	if h.before != "" {
		o.Snapshot.BeforeCreate = func(ctx context.Context) error {
			e := env
			e.name = hookBeforeSnapshot
			return hook.Run(ctx, hook.Hook{Name: e.name, Command: h.before, Timeout: h.timeout, Env: e.list()}, log)
		}
	}
	if h.after != "" {
		o.Snapshot.AfterCreate = func(ctx context.Context, made bool) error {
			e := env
			e.name, e.status = hookAfterSnapshot, statusFailed
			if made {
				e.status = statusOK
			}
			return hook.Run(ctx, hook.Hook{Name: e.name, Command: h.after, Timeout: h.timeout, Env: e.list()}, log)
		}
	}
}

// runEndHook runs on_success (sum.OK) or on_failure once after a run,
// with the run's JSON summary on stdin. $LVBACK_VOLUME, $LVBACK_SOURCE and
// $LVBACK_BACKUP_ID are the volume's when the run had exactly one, else
// empty (the summary has them all). Its failure is logged (level Error,
// hook=NAME) and does not change the run's exit code: a failed ping must
// not turn a good backup into a failed one.
func runEndHook(ctx context.Context, sum *runSummary, command string, timeout time.Duration, log *slog.Logger) {
	if command == "" {
		return
	}
	env := hookEnv{name: hookOnFailure, repo: sum.Repo, status: statusFailed}
	if sum.OK {
		env.name, env.status = hookOnSuccess, statusOK
	}
	if len(sum.Volumes) == 1 {
		v := sum.Volumes[0]
		env.volume, env.source, env.backupID = v.Name, v.Source, v.ID
	}
	data, _ := json.MarshalIndent(sum, "", "  ")
	// A run stopped by a signal still reports its failure.
	ctx = context.WithoutCancel(ctx)
	h := hook.Hook{Name: env.name, Command: command, Timeout: timeout, Env: env.list(), Stdin: append(data, '\n')}
	_ = hook.Run(ctx, h, log) // Run logs the failure
}
