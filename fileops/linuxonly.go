package fileops

// lvback runs on Linux only: off Linux this import fails the build with
// one message (see package linuxonly).
import _ "github.com/lvback/lvback/internal/linuxonly"
