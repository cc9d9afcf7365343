package weed

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// CPUTime returns the CPU time (user and system) the running weed
// process has used so far, with that of children it waited for: what a
// client's requests cost the server is the difference over the requests.
// It fails while the server is stopped, and off Linux.
func (s *Server) CPUTime() (time.Duration, error) {
	s.mu.Lock()
	p := s.proc
	s.mu.Unlock()
	if p == nil {
		return 0, fmt.Errorf("weed is not running")
	}
	return processCPU(p.cmd.Process.Pid)
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat's times: 100 on
// every Linux architecture (it is part of the kernel's ABI, whatever
// CONFIG_HZ is).
const clockTicks = 100

// parseStatCPU returns utime+stime+cutime+cstime (fields 14-17) of a
// /proc/PID/stat line, in clock ticks. The command name (field 2) is in
// parentheses and may hold spaces and parentheses itself, so the fields
// are counted from the last ')'.
func parseStatCPU(stat string) (int64, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("proc stat %q: no command name", stat)
	}
	f := strings.Fields(stat[i+1:]) // f[0] is field 3, the state
	if len(f) < 15 {
		return 0, fmt.Errorf("proc stat %q: %d fields after the command name, want at least 15", stat, len(f))
	}
	var sum int64
	for _, s := range f[11:15] { // fields 14-17
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("proc stat %q: cpu time %q", stat, s)
		}
		sum += n
	}
	return sum, nil
}
