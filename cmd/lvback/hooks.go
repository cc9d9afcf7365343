package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/lvback/lvback/internal/hook"
)

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
	env := hook.Env{Hook: hook.OnFailure, Repo: sum.Repo, Status: hook.StatusFailed}
	if sum.OK {
		env.Hook, env.Status = hook.OnSuccess, hook.StatusOK
	}
	if len(sum.Volumes) == 1 {
		v := sum.Volumes[0]
		env.Volume, env.Source, env.BackupID = v.Name, v.Source, v.ID
	}
	data, _ := json.MarshalIndent(sum, "", "  ")
	// A run stopped by a signal still reports its failure.
	ctx = context.WithoutCancel(ctx)
	h := hook.Hook{Name: env.Hook, Command: command, Timeout: timeout, Env: env.List(), Stdin: append(data, '\n')}
	_ = hook.Run(ctx, h, log) // Run logs the failure
}
