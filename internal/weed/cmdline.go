package weed

// This file holds weed's command line, its identity config, its log and
// the sockets it leaves.

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
)

// ports are the TCP ports of weed's servers. SeaweedFS derives each
// gRPC port as port+10000 unless told; Start sets all ten explicitly,
// each one found free.
type ports struct {
	master, masterGRPC, volume, volumeGRPC, filer, filerGRPC, s3, s3GRPC, admin, adminGRPC int
}

// args returns weed's command line: every server on 127.0.0.1 on the
// chosen ports; WebDAV, the admin UI, and the Iceberg and Lance ports
// mini would also open turned off (the admin server mini always starts
// gets ports of its own); no telemetry; logs on stderr rather than in
// /tmp. weed mini starts writable in 5 s where weed server takes 11 s:
// mini skips the filer's wait for peers and the master's hold on volume
// allocation, both pointless with one of each.
func (s *Server) args() []string {
	p := s.ports
	return []string{
		"-logtostderr",
		"mini",
		"-dir=" + s.dataDir(),
		"-ip=127.0.0.1",
		"-ip.bind=127.0.0.1",
		fmt.Sprintf("-master.port=%d", p.master),
		fmt.Sprintf("-master.port.grpc=%d", p.masterGRPC),
		"-master.telemetry=false",
		fmt.Sprintf("-volume.port=%d", p.volume),
		fmt.Sprintf("-volume.port.grpc=%d", p.volumeGRPC),
		fmt.Sprintf("-filer.port=%d", p.filer),
		fmt.Sprintf("-filer.port.grpc=%d", p.filerGRPC),
		fmt.Sprintf("-s3.port=%d", p.s3),
		fmt.Sprintf("-s3.port.grpc=%d", p.s3GRPC),
		"-s3.port.iceberg=0",
		"-s3.port.lance=0",
		"-s3.config=" + s.configPath(),
		"-webdav=false",
		"-admin.ui=false",
		fmt.Sprintf("-admin.port=%d", p.admin),
		fmt.Sprintf("-admin.port.grpc=%d", p.adminGRPC),
		"-admin.port.legacy=0",
	}
}

// removeSockets removes the Unix sockets weed makes in /tmp next to its
// TCP ports (paths fixed by SeaweedFS, named by the port). A killed weed
// leaves them behind; a restarted one replaces them.
func (s *Server) removeSockets() error {
	p := s.ports
	var errs []error
	for _, name := range []string{
		fmt.Sprintf("seaweedfs-master-grpc-%d.sock", p.masterGRPC),
		fmt.Sprintf("seaweedfs-volume-grpc-%d.sock", p.volumeGRPC),
		fmt.Sprintf("seaweedfs-filer-grpc-%d.sock", p.filerGRPC),
		fmt.Sprintf("seaweedfs-s3-grpc-%d.sock", p.s3GRPC),
		fmt.Sprintf("seaweedfs-admin-grpc-%d.sock", p.adminGRPC),
		fmt.Sprintf("seaweedfs-filer-%d.sock", p.filer),
		fmt.Sprintf("seaweedfs-s3-%d.sock", p.s3),
	} {
		if err := os.Remove(filepath.Join("/tmp", name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (s *Server) dataDir() string    { return filepath.Join(s.dir, "data") }
func (s *Server) configPath() string { return filepath.Join(s.dir, "s3.json") }

// LogPath returns the file weed logs to; each start appends to it.
func (s *Server) LogPath() string { return filepath.Join(s.dir, "weed.log") }

// writeConfig writes the S3 identity config: one identity, allowed
// everything, with the server's credentials; anonymous requests are
// refused.
func (s *Server) writeConfig() error {
	type credential struct {
		AccessKey string `json:"accessKey"`
		SecretKey string `json:"secretKey"`
	}
	type identity struct {
		Name        string       `json:"name"`
		Credentials []credential `json:"credentials"`
		Actions     []string     `json:"actions"`
	}
	cfg := struct {
		Identities []identity `json:"identities"`
	}{[]identity{{
		Name:        "lvback",
		Credentials: []credential{{s.creds.AccessKeyID, s.creds.SecretAccessKey}},
		Actions:     []string{"Admin", "Read", "Write", "List", "Tagging"},
	}}}
	b, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	return os.WriteFile(s.configPath(), b, 0o600)
}

// LogTail returns the last lines of weed's log, for error messages.
func (s *Server) LogTail() string {
	const max = 30
	b, err := os.ReadFile(s.LogPath())
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > max {
		lines = lines[len(lines)-max:]
	}
	return strings.Join(lines, "\n")
}

// freePorts returns ten distinct TCP ports that were free on 127.0.0.1
// a moment ago.
func freePorts() (ports, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var n [10]int
	for i := range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return ports{}, fmt.Errorf("find a free port: %w", err)
		}
		ls = append(ls, l)
		n[i] = l.Addr().(*net.TCPAddr).Port
	}
	return ports{n[0], n[1], n[2], n[3], n[4], n[5], n[6], n[7], n[8], n[9]}, nil
}
