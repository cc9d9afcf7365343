package hook

// Hook names, as in the config, the log (hook=NAME) and $LVBACK_HOOK.
const (
	BeforeSnapshot = "before_snapshot"
	AfterSnapshot  = "after_snapshot"
	OnSuccess      = "on_success"
	OnFailure      = "on_failure"
)

// Values of $LVBACK_STATUS.
const (
	StatusOK     = "ok"
	StatusFailed = "failed"
)

// Env is the environment lvback gives a hook: $LVBACK_HOOK, and
// $LVBACK_VOLUME, $LVBACK_SOURCE, $LVBACK_REPO, $LVBACK_BACKUP_ID and
// $LVBACK_STATUS, each set, maybe empty.
type Env struct {
	Hook, Volume, Source, Repo, BackupID, Status string
}

// List returns e as KEY=VALUE pairs for Hook.Env, every variable present.
func (e Env) List() []string {
	return []string{"LVBACK_HOOK=" + e.Hook, "LVBACK_VOLUME=" + e.Volume, "LVBACK_SOURCE=" + e.Source,
		"LVBACK_REPO=" + e.Repo, "LVBACK_BACKUP_ID=" + e.BackupID, "LVBACK_STATUS=" + e.Status}
}
