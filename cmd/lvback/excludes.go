package main

import (
	"github.com/spf13/pflag"

	"github.com/lvback/lvback/exclude"
)

// addExcludeFlags adds --exclude, --exclude-file, --exclude-caches and
// --exclude-if-present, which fill s. --exclude and --exclude-file append
// to one list in command-line order (the last matching pattern wins); a
// bad pattern is a flag error naming it (and the file and line).
func addExcludeFlags(f *pflag.FlagSet, s *exclude.Spec) {
	f.Var(&patternFlag{list: &s.Patterns}, "exclude",
		"leave out paths matching PATTERN (repeatable; see README: *, **, ?, [..], /anchored, dir/, !negation)")
	f.Var(&patternFlag{list: &s.Patterns, file: true}, "exclude-file",
		"read exclude patterns from FILE, one per line, # comments (repeatable)")
	f.BoolVar(&s.Caches, "exclude-caches", false, "keep only CACHEDIR.TAG in directories holding a valid one")
	f.StringArrayVar(&s.IfPresent, "exclude-if-present", nil,
		"keep only the `NAME` entry in directories holding one (repeatable)")
}

// patternFlag is --exclude (a pattern) or --exclude-file (a file of them).
type patternFlag struct {
	list *[]string
	file bool
}

func (p *patternFlag) String() string { return "" }

func (p *patternFlag) Type() string {
	if p.file {
		return "FILE"
	}
	return "PATTERN"
}

func (p *patternFlag) Set(v string) error {
	if p.file {
		ps, err := exclude.ReadFile(v)
		if err != nil {
			return err
		}
		*p.list = append(*p.list, ps...)
		return nil
	}
	if _, err := (exclude.Spec{Patterns: []string{v}}).Compile(); err != nil {
		return err
	}
	*p.list = append(*p.list, v)
	return nil
}
