package oci

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"

	"golang.org/x/sys/unix"
)

// nsFiles are the bind-mounted namespace files of a sandbox, empty for a
// namespace the pod shares with the host.
type nsFiles struct {
	Net string `json:"net,omitempty"`
	UTS string `json:"uts,omitempty"`
	IPC string `json:"ipc,omitempty"`
}

// nsRequest says which namespaces a sandbox gets of its own.
type nsRequest struct {
	Net, UTS, IPC bool
	Hostname      string
}

// createNamespaces makes new network, UTS and IPC namespaces as requested,
// brings loopback up in the network namespace, sets the hostname in the UTS
// namespace, and keeps each alive by bind-mounting it onto a file in dir.
//
// The work happens on a dedicated OS thread that unshares and is then
// discarded: its goroutine exits while still locked to the thread, so the
// Go runtime terminates the thread and no other goroutine ever runs in
// those namespaces.
func createNamespaces(dir string, req nsRequest) (nsFiles, error) {
	var files nsFiles
	flags := 0
	if req.Net {
		flags |= unix.CLONE_NEWNET
		files.Net = filepath.Join(dir, "net")
	}
	if req.UTS {
		flags |= unix.CLONE_NEWUTS
		files.UTS = filepath.Join(dir, "uts")
	}
	if req.IPC {
		flags |= unix.CLONE_NEWIPC
		files.IPC = filepath.Join(dir, "ipc")
	}
	if flags == 0 {
		return files, nil
	}
	errc := make(chan error, 1)
	go func() {
		goruntime.LockOSThread()
		// No UnlockOSThread: the thread dies with this goroutine.
		errc <- setupNamespacesOnThread(flags, files, req.Hostname)
	}()
	if err := <-errc; err != nil {
		return nsFiles{}, errors.Join(err, removeNamespaces(files))
	}
	return files, nil
}

// setupNamespacesOnThread runs on a locked, disposable thread.
func setupNamespacesOnThread(flags int, files nsFiles, hostname string) error {
	if err := unix.Unshare(flags); err != nil {
		return fmt.Errorf("unshare namespaces: %w", err)
	}
	if files.UTS != "" && hostname != "" {
		if err := unix.Sethostname([]byte(hostname)); err != nil {
			return fmt.Errorf("set hostname %q: %w", hostname, err)
		}
	}
	if files.Net != "" {
		if err := loopbackUp(); err != nil {
			return err
		}
	}
	tid := unix.Gettid()
	for _, b := range []struct{ kind, file string }{{"net", files.Net}, {"uts", files.UTS}, {"ipc", files.IPC}} {
		if b.file == "" {
			continue
		}
		if err := bindNamespace(fmt.Sprintf("/proc/self/task/%d/ns/%s", tid, b.kind), b.file); err != nil {
			return err
		}
	}
	return nil
}

// loopbackUp sets IFF_UP on lo in the calling thread's network namespace.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("bring up lo: socket: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return fmt.Errorf("bring up lo: %w", err)
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("bring up lo: get flags: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("bring up lo: set flags: %w", err)
	}
	return nil
}

// bindNamespace keeps the namespace at src alive by bind-mounting it on
// target (created empty).
func bindNamespace(src, target string) error {
	f, err := os.OpenFile(target, os.O_CREATE|os.O_EXCL|os.O_RDONLY, 0o444)
	if err != nil {
		return fmt.Errorf("namespace file %s: %w", target, err)
	}
	f.Close()
	if err := unix.Mount(src, target, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind namespace %s on %s: %w", src, target, err)
	}
	return nil
}

// removeNamespaces unmounts and deletes the namespace files; the kernel
// frees a namespace when its last user is gone. Missing files are fine.
func removeNamespaces(files nsFiles) error {
	var errs []error
	for _, file := range []string{files.Net, files.UTS, files.IPC} {
		if file == "" {
			continue
		}
		if err := unix.Unmount(file, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
			errs = append(errs, fmt.Errorf("unmount namespace %s: %w", file, err))
			continue
		}
		if err := os.Remove(file); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("remove namespace file: %w", err))
		}
	}
	return errors.Join(errs...)
}
