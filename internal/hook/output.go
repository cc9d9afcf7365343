package hook

import (
	"bytes"
	"log/slog"
	"sync"
)

// maxLine caps one logged line of a hook's output; the rest of a longer
// line is dropped, so a hook that writes a binary blob cannot flood the log
// or lvback's memory.
const maxLine = 4096

// lineLogger is an io.Writer that logs each complete line written to it.
// exec.Cmd writes to it from one goroutine, flush and lastLine are called
// after the command ended; the mutex makes that ordering not matter.
type lineLogger struct {
	log    *slog.Logger
	stream string // "stdout" or "stderr"

	mu      sync.Mutex // guards the fields below
	partial []byte     // the line being written, at most maxLine bytes
	long    bool       // the current line was cut at maxLine
	last    string     // the last non-empty line logged
}

func (l *lineLogger) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for rest := p; len(rest) > 0; {
		i := bytes.IndexByte(rest, '\n')
		chunk := rest
		if i >= 0 {
			chunk = rest[:i]
		}
		if room := maxLine - len(l.partial); len(chunk) > room {
			chunk, l.long = chunk[:room], true
		}
		l.partial = append(l.partial, chunk...)
		if i < 0 {
			break
		}
		l.emit()
		rest = rest[i+1:]
	}
	return len(p), nil
}

// flush logs a last line that ended without a newline.
func (l *lineLogger) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.partial) > 0 || l.long {
		l.emit()
	}
}

// lastLine is the last non-empty line logged.
func (l *lineLogger) lastLine() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.last
}

// emit logs the current line; l.mu is held.
func (l *lineLogger) emit() {
	line := string(bytes.TrimRight(l.partial, "\r"))
	if l.long {
		line += " [line cut]"
	}
	l.partial, l.long = l.partial[:0], false
	if line == "" {
		return
	}
	l.last = line
	l.log.Info("hook output", "stream", l.stream, "line", line)
}
