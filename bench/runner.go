package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// Sample is one timed run of one command.
type Sample struct {
	Wall time.Duration `json:"wall_ns"`
	// CPU is user+sys time of the process and of the children it waited
	// for (wait4 rusage), so rsync's helper processes count.
	CPU time.Duration `json:"cpu_ns"`
	// MaxRSS is the peak resident set of the process or of its largest
	// waited-for child, in bytes; 0 when not a process.
	MaxRSS int64 `json:"max_rss_bytes"`
	// Written is the allocated size of the inodes the run created under its
	// destination, each inode once; -1 when the run writes nothing or it
	// could not be measured.
	Written int64 `json:"written_bytes"`
	// DevWritten is what the scratch file system's loop device was written
	// from the start of the run to after it (its trailing sync -f or
	// cleaner wait included) and a syncfs: /sys/block/loopN/stat sectors
	// written × 512; -1 without a loop device.
	DevWritten int64 `json:"device_written_bytes"`
	// Manifest is the size of the manifest of the backup an lvback backup
	// run made; 0 for other runs.
	Manifest int64 `json:"manifest_bytes,omitempty"`
	// ServerCPU is the CPU time the server the run talked to used during
	// it (the s3 cases' SeaweedFS); 0 for other runs.
	ServerCPU time.Duration `json:"server_cpu_ns,omitempty"`
	// Sync is the time of the `sync -f` (or other post command) that
	// followed the run; 0 if none.
	Sync time.Duration `json:"sync_ns,omitempty"`
}

// launchArg is the hidden first argument that makes the harness's own
// binary a launcher (see launch).
const launchArg = "__launch"

// timeCmd runs argv to completion, with env added to the harness's
// environment, and measures it, through a launcher: a
// fresh copy of the harness's binary that starts argv and reports its
// wait4 rusage on file descriptor 3. Linux charges a child started by
// fork or vfork with the peak RSS of its parent at exec time, so a tool
// started from the harness itself (grown by walking trees) would inherit
// the harness's peak; started from the small launcher it inherits only the
// launcher's few MB. Output is kept only for the error message of a failed
// run.
func timeCmd(ctx context.Context, argv, env []string) (Sample, error) {
	self, err := os.Executable()
	if err != nil {
		return Sample{}, err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return Sample{}, err
	}
	defer r.Close()
	cmd := exec.CommandContext(ctx, self, append([]string{launchArg}, argv...)...)
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.ExtraFiles = []*os.File{w}
	if err := cmd.Start(); err != nil {
		w.Close()
		return Sample{}, err
	}
	w.Close()
	var res launchResult
	derr := json.NewDecoder(r).Decode(&res)
	err = cmd.Wait()
	switch {
	case err != nil:
		return res.Sample, fmt.Errorf("%s: %w\n%s", strings.Join(argv, " "), err, tail(out.String(), 2000))
	case derr != nil:
		return res.Sample, fmt.Errorf("%s: no result from the launcher: %w", strings.Join(argv, " "), derr)
	}
	return res.Sample, nil
}

// launchResult is what the launcher reports.
type launchResult struct {
	Sample Sample `json:"sample"`
}

// launch is the launcher's main: it runs argv with the launcher's standard
// streams, writes a launchResult to file descriptor 3 and exits with
// argv's exit status. argv dies with the launcher.
func launch(argv []string) int {
	res := os.NewFile(3, "result")
	syscall.CloseOnExec(3)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	start := time.Now()
	err := cmd.Run()
	s := Sample{Wall: time.Since(start), Written: -1, DevWritten: -1}
	code := 0
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 127
	}
	if cmd.ProcessState != nil {
		code = cmd.ProcessState.ExitCode()
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			s.CPU = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
			s.MaxRSS = ru.Maxrss * 1024 // Linux reports KiB
		}
	}
	if err := json.NewEncoder(res).Encode(launchResult{Sample: s}); err != nil {
		return 125
	}
	return code
}

// run runs an untimed helper command and returns its error with its output.
func run(ctx context.Context, argv ...string) error { return runEnv(ctx, nil, argv...) }

// runEnv is run with env added to the harness's environment.
func runEnv(ctx context.Context, env []string, argv ...string) error {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w\n%s", strings.Join(argv, " "), err, tail(string(out), 2000))
	}
	return nil
}

// output runs an untimed helper command and returns its standard output.
func output(ctx context.Context, argv ...string) (string, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s: %w\n%s", strings.Join(argv, " "), err, tail(stderr.String(), 2000))
	}
	return strings.TrimSpace(string(out)), nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}
