package hook

import "strings"

// shellChars are the characters that make a command need /bin/sh: pipes,
// lists, redirections, subshells, expansions, quoting, globs, comments and
// a newline. A command without them means the same split at blanks as the
// shell would read it.
const shellChars = "|&;<>()$`\\\"'*?[]#~\n"

// NeedsShell reports whether command needs /bin/sh -c to mean what the
// operator wrote: it holds one of | & ; < > ( ) $ ` \ " ' * ? [ ] # ~ or a
// newline, or its first word is a variable assignment (VAR=value cmd).
func NeedsShell(command string) bool {
	if strings.ContainsAny(command, shellChars) {
		return true
	}
	words := Words(command)
	return len(words) > 0 && strings.Contains(words[0], "=")
}

// Words splits a command without shell metacharacters at blanks (spaces and
// tabs), the shell's own rule for such a command.
func Words(command string) []string {
	return strings.FieldsFunc(command, func(r rune) bool { return r == ' ' || r == '\t' })
}
