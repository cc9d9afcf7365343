package main

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// oneLine escapes s for one line of text output (file names in ls, find
// and dump's messages, error messages naming paths), unambiguously and
// without handing the terminal a control character: a backslash becomes
// \\, newline, tab and carriage return \n \t \r, any other control byte
// (0x00-0x1f, 0x7f) and every byte that is not valid UTF-8 \xHH, and a C1
// control character (U+0080-U+009F, which some terminals obey) \u00HH.
// Other UTF-8 is kept as it is.
func oneLine(s string) string {
	if !needsEscape(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r >= 0x80 && r <= 0x9f:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// needsEscape reports whether oneLine changes s.
func needsEscape(s string) bool {
	if !utf8.ValidString(s) {
		return true
	}
	return strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '\\' || (r >= 0x80 && r <= 0x9f) })
}
