package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/pprof"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lvback/lvback/engine"
	"github.com/lvback/lvback/objstore/crypt"
	"github.com/lvback/lvback/repo"
)

// Exit codes, documented in --help and the README.
const (
	exitOK      = 0 // everything succeeded; a mount ended by a signal or umount
	exitFailed  = 1 // a backup, copy, verify or restore failed, verify --repair left damage, or entries were skipped
	exitUsage   = 2 // bad command line, config or input; nothing was changed
	exitLocked  = 3 // another lvback run holds the repository lock
	exitAborted = 4 // interrupted by SIGINT, SIGTERM or SIGHUP; cleaned up
)

const exitHelp = `Exit codes:
  0  success (for mount also its normal end: unmounted after a signal or umount)
  1  a backup, copy, verify or restore failed (or verify --repair could not
     heal everything), or some entries were skipped
  2  usage error (bad flag, argument, name or path, or a backup id or path
     the repository does not hold); nothing was changed
  3  the repository is locked by another lvback run
  4  interrupted by a signal (the partial work was cleaned up)`

// usageError marks errors that are the caller's input, not a failure.
type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// usageArgs makes the errors of a command's argument check usage errors.
func usageArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return usageError{err}
		}
		return nil
	}
}

type globals struct {
	verbose   bool
	quiet     bool
	logFormat string
	stdout    io.Writer
	stderr    io.Writer
}

func (g *globals) logger() *slog.Logger {
	level := slog.LevelWarn
	if g.verbose {
		level = slog.LevelInfo
	}
	if g.quiet {
		level = slog.LevelError
	}
	opts := &slog.HandlerOptions{Level: level}
	if g.logFormat == "json" {
		return slog.New(slog.NewJSONHandler(g.stderr, opts))
	}
	return slog.New(slog.NewTextHandler(g.stderr, opts))
}

// execute runs the command line and returns the process exit code.
func execute(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	g := &globals{stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:           "lvback",
		Short:         "Incremental, verifiable backups of directories and LVM volumes",
		Long:          "lvback makes dated, browsable backup trees that hard-link unchanged files,\nwith a BLAKE3 manifest per backup.\n\n" + exitHelp,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().BoolVarP(&g.verbose, "verbose", "v", false, "log progress details to stderr")
	root.PersistentFlags().BoolVarP(&g.quiet, "quiet", "q", false, "log only errors, no progress bar")
	root.PersistentFlags().StringVar(&g.logFormat, "log-format", "text", "log format on stderr: text or json")
	var cpuProfile, keyFile string
	root.PersistentFlags().StringVar(&keyFile, "key-file", "", "key file of an encrypted remote repository (same as $"+repo.KeyFileEnv+"; else $LVBACK_PASSWORD or $LVBACK_PASSWORD_FILE)")
	root.PersistentFlags().StringVar(&cpuProfile, "cpuprofile", "", "write a Go CPU profile to this file")
	_ = root.PersistentFlags().MarkHidden("cpuprofile")
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		if err := checkIDFlag(cmd); err != nil {
			return err
		}
		if err := checkJobsFlag(cmd); err != nil {
			return err
		}
		if g.logFormat != "text" && g.logFormat != "json" {
			return usagef("--log-format must be text or json")
		}
		if keyFile != "" {
			if err := os.Setenv(repo.KeyFileEnv, keyFile); err != nil {
				return err
			}
		}
		return startProfile(cpuProfile)
	}
	defer pprof.StopCPUProfile()
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(initCmd(g), backupCmd(g), listCmd(g), verifyCmd(g), restoreCmd(g), pruneCmd(g), diffCmd(g), runCmd(g), cleanupCmd(g), mountCmd(g), copyCmd(g), statsCmd(g), lsCmd(g), findCmd(g), dumpCmd(g), versionCmd(g),
		tagCmd(g), protectCmd(g, true), protectCmd(g, false), gendocsCmd())
	setVersion(root)
	strictCompletion(root)
	for _, c := range root.Commands() {
		if c.Args != nil {
			c.Args = usageArgs(c.Args) // a wrong number of arguments is a usage error
		}
	}
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	if ctx.Err() != nil {
		g.printError("interrupted by a signal; partial backups and snapshots were removed")
	} else {
		g.printError(err.Error())
	}
	return exitCode(ctx, err)
}

// printError writes one error line to stderr, whatever -q says: "lvback:
// MSG" as text, or one JSON object (level ERROR) with --log-format json, so
// that every line on stderr has the one format asked for.
func (g *globals) printError(msg string) {
	if g.logFormat == "json" {
		slog.New(slog.NewJSONHandler(g.stderr, nil)).Error(msg)
		return
	}
	fmt.Fprintln(g.stderr, "lvback: "+oneLine(msg))
}

func exitCode(ctx context.Context, err error) int {
	var u usageError
	switch {
	case errors.As(err, &u) || strings.HasPrefix(err.Error(), "unknown command") || strings.HasPrefix(err.Error(), "required flag"),
		errors.Is(err, repo.ErrNotFound), errors.Is(err, repo.ErrIncomplete), errors.Is(err, engine.ErrNotApplicable),
		errors.Is(err, repo.ErrNotLocal), errors.Is(err, repo.ErrNotRepo), errors.Is(err, repo.ErrNotMounted), errors.Is(err, repo.ErrExists), errors.Is(err, repo.ErrLayout),
		errors.Is(err, repo.ErrRemoteSetup), errors.Is(err, crypt.ErrWrongKey), errors.Is(err, engine.ErrSameRepository):
		return exitUsage
	case errors.Is(err, engine.ErrOverlap): // a repository inside the source: bad input, nothing kept
		return exitUsage
	case errors.Is(err, engine.ErrNotSnapshot): // --require-snapshot and a live device: refused up front
		return exitUsage
	case errors.Is(err, repo.ErrLocked):
		return exitLocked
	case ctx.Err() != nil:
		return exitAborted
	case errors.Is(err, engine.ErrEntriesSkipped):
		return exitFailed
	}
	return exitFailed
}

// startProfile starts a CPU profile when path is set (for performance work).
func startProfile(path string) error {
	if path == "" {
		return nil
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	return pprof.StartCPUProfile(f)
}

// checkName refuses a bad volume name as a usage error before anything is
// read or written; "" (every name) passes.
func checkName(name string) error {
	if name == "" {
		return nil
	}
	if err := repo.ValidName(name); err != nil {
		return usageError{err}
	}
	return nil
}

// checkJobsFlag refuses a negative --jobs, whichever command has one
// (0 is each command's default, as for backup and the config's jobs).
func checkJobsFlag(cmd *cobra.Command) error {
	f := cmd.Flags().Lookup("jobs")
	if f == nil || !f.Changed {
		return nil
	}
	if n, err := cmd.Flags().GetInt("jobs"); err == nil && n < 0 {
		return usagef("--jobs %d: must be 1 or more (0: the default)", n)
	}
	return nil
}

// strictCompletion makes cobra's completion command refuse an unknown
// shell as a usage error (cobra prints its help and exits 0 otherwise);
// with no shell it still prints its help.
func strictCompletion(root *cobra.Command) {
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() == "completion" && c.RunE == nil && c.Run == nil {
			c.Args = cobra.NoArgs // a shell it knows is a subcommand; anything else an unknown one
			c.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
		}
	}
}
