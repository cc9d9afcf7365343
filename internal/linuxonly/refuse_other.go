//go:build !linux

package linuxonly

// The one error of a build off Linux names its reason.
var _ = lvback_runs_on_linux_only
