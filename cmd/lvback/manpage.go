package main

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// manHeader is what the .TH line of every page says besides its title.
type manHeader struct {
	section, date, source, manual string
}

// writeManPage writes cmd's man page as roff. The help text is written
// as it reads in --help, never taken as markup: every character is
// escaped (roffText), lines indented by two or more spaces stay lines
// (.nf), the others are filled into paragraphs split at blank lines.
func writeManPage(w io.Writer, cmd *cobra.Command, h manHeader) error {
	cmd.InitDefaultHelpFlag()
	cmd.InitDefaultVersionFlag()
	dashed := strings.ReplaceAll(cmd.CommandPath(), " ", "-")
	var b strings.Builder
	fmt.Fprintf(&b, ".TH %s %s %s %s %s\n.nh\n.ad l\n", roffQuote(strings.ToUpper(dashed)),
		roffQuote(h.section), roffQuote(h.date), roffQuote(h.source), roffQuote(h.manual))
	fmt.Fprintf(&b, ".SH NAME\n%s \\- %s\n", roffText(dashed), roffText(cmd.Short))
	fmt.Fprintf(&b, ".SH SYNOPSIS\n\\fB%s\\fR\n", roffText(cmd.UseLine()))
	description := cmd.Long
	if description == "" {
		description = cmd.Short
	}
	b.WriteString(".SH DESCRIPTION\n" + roffHelp(description))
	manFlags(&b, "OPTIONS", cmd.NonInheritedFlags())
	manFlags(&b, "OPTIONS INHERITED FROM PARENT COMMANDS", cmd.InheritedFlags())
	if cmd.Example != "" {
		b.WriteString(".SH EXAMPLE\n.nf\n" + roffLines(cmd.Example) + ".fi\n")
	}
	if also := seeAlso(cmd, h.section); also != "" {
		b.WriteString(".SH SEE ALSO\n" + also + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// roffHelp turns help text into roff paragraphs and preformatted blocks.
func roffHelp(text string) string {
	var b strings.Builder
	pre := false
	for _, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		indented := strings.HasPrefix(line, "  ") || strings.HasPrefix(line, "\t")
		if indented != pre {
			if indented {
				b.WriteString(".nf\n")
			} else {
				b.WriteString(".fi\n")
			}
			pre = indented
		}
		if strings.TrimSpace(line) == "" {
			b.WriteString(".PP\n")
			continue
		}
		b.WriteString(roffLine(line) + "\n")
	}
	if pre {
		b.WriteString(".fi\n")
	}
	return b.String()
}

// manFlags writes a section listing flags, one .TP entry each, as
// --help shows them: "-s, --name TYPE" and the usage with its default.
func manFlags(b *strings.Builder, title string, flags *pflag.FlagSet) {
	if !flags.HasAvailableFlags() {
		return
	}
	b.WriteString(".SH " + title + "\n")
	flags.VisitAll(func(f *pflag.Flag) {
		if f.Hidden || f.Deprecated != "" {
			return
		}
		name, usage := pflag.UnquoteUsage(f)
		tag := "\\fB\\-\\-" + roffText(f.Name) + "\\fR"
		if f.Shorthand != "" && f.ShorthandDeprecated == "" {
			tag = "\\fB\\-" + roffText(f.Shorthand) + "\\fR, " + tag
		}
		if name != "" {
			tag += " \\fI" + roffText(name) + "\\fR"
		}
		if d := flagDefault(f); d != "" {
			usage += " (default " + d + ")"
		}
		b.WriteString(".TP\n" + tag + "\n" + roffLines(usage))
	})
}

// flagDefault is the default --help shows for f ("" for none): pflag
// leaves out zero values and quotes strings.
func flagDefault(f *pflag.Flag) string {
	switch f.DefValue {
	case "", "false", "0", "[]", "0s":
		return ""
	}
	if f.Value.Type() == "string" {
		return fmt.Sprintf("%q", f.DefValue)
	}
	return f.DefValue
}

// seeAlso names the parent's and the visible subcommands' pages.
func seeAlso(cmd *cobra.Command, section string) string {
	var refs []string
	if cmd.HasParent() {
		refs = append(refs, cmd.Parent().CommandPath())
	}
	children := cmd.Commands()
	sort.Slice(children, func(i, j int) bool { return children[i].Name() < children[j].Name() })
	for _, c := range children {
		if manPageOf(c) {
			refs = append(refs, c.CommandPath())
		}
	}
	for i, r := range refs {
		refs[i] = "\\fB" + roffText(strings.ReplaceAll(r, " ", "-")) + "\\fR(" + section + ")"
	}
	return strings.Join(refs, ", ")
}

// manPageOf reports whether c gets a page: visible commands, not help.
func manPageOf(c *cobra.Command) bool {
	return c.IsAvailableCommand() && !c.IsAdditionalHelpTopicCommand()
}

// roffLines escapes each line of text for roff, ending each with "\n".
func roffLines(text string) string {
	var b strings.Builder
	for _, l := range strings.Split(text, "\n") {
		b.WriteString(roffLine(l) + "\n")
	}
	return b.String()
}

// roffLine escapes one line of text; one starting with a control
// character (. or ') is guarded by \&.
func roffLine(line string) string {
	s := roffText(line)
	if strings.HasPrefix(line, ".") || strings.HasPrefix(line, "'") {
		s = `\&` + s
	}
	return s
}

// roffEscapes maps the characters roff would interpret or typeset as
// other glyphs to escapes that print them as typed.
var roffEscapes = strings.NewReplacer(`\`, `\e`, `-`, `\-`, `'`, `\(aq`, "`", `\(ga`, `~`, `\(ti`, `^`, `\(ha`)

// roffText escapes text for roff (see roffEscapes).
func roffText(s string) string { return roffEscapes.Replace(s) }

// roffQuote makes s one quoted argument of a roff request.
func roffQuote(s string) string {
	return `"` + strings.ReplaceAll(roffText(s), `"`, `\(dq`) + `"`
}
