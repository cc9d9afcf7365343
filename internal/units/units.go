// Package units formats quantities for people: byte counts with a binary
// unit. It is the one formatter the command's output and the engine's
// reports share. It never parses.
package units

import "fmt"

// Bytes formats a byte count with a binary unit: "512 B", "1.5 KiB",
// "6.0 MiB", one decimal from KiB on.
func Bytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
