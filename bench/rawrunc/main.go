// Command rawrunc is the baseline of the P1 benchmark: the container
// operations `podrun run` performs for the benchmark pod (an init
// container, a native sidecar and a main container), done directly with
// runc and nothing else — no manifest, no planner, no store, no logs
// formatting.
//
//	rawrunc -templates DIR -lower DIRS [-root DIR] [-main-cmd 'true'] [-timings FILE]
//
// It does what podrun's OCI runtime does, in the order podrun does it:
//
//   - a sandbox: new network (loopback up), UTS (hostname) and IPC
//     namespaces kept alive by bind mounts, /etc/hosts, resolv.conf and
//     hostname files and a /dev/shm tmpfs for the containers;
//   - per container: a bundle with an overlay rootfs over the same image
//     layers (lowerdir), a termination-log file and config.json, then
//     `runc create --pid-file` with stdout and stderr on a log file and
//     `runc start`;
//   - init: wait for its exit; sidecar: leave running; main: wait for its
//     exit; then SIGTERM to the sidecar and wait for its exit;
//   - `runc delete --force` of the three, unmount and delete the bundles,
//     remove the pod cgroup, unmount the namespaces.
//
// That is nine runc invocations, as podrun makes. The config.json files
// are podrun's own (captured by podbench while a pod ran), with
// the paths of rootfs, namespaces, cgroup and bind-mount sources moved to
// this program's bundles, and the main container's command replaced by
// -main-cmd. The process becomes a child subreaper, as podrun does, and
// reaps each container process with wait4.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "rawrunc: %v\n", err)
		os.Exit(1)
	}
}

// options are the command-line flags.
type options struct {
	templates string
	lower     string
	root      string
	runc      string
	mainCmd   string
	timings   string
}

func run(args []string) error {
	var o options
	fs := flag.NewFlagSet("rawrunc", flag.ContinueOnError)
	fs.StringVar(&o.templates, "templates", "", "directory with init.json, sidecar.json and main.json (podrun's config.json files)")
	fs.StringVar(&o.lower, "lower", "", "overlay lowerdir: the image's layer directories, topmost first, ':'-separated")
	fs.StringVar(&o.root, "root", "/tmp/rawrunc", "scratch directory (bundles, sandbox, runc --root)")
	fs.StringVar(&o.runc, "runc", "runc", "the runc binary")
	fs.StringVar(&o.mainCmd, "main-cmd", "", "replace the main container's command (split on spaces)")
	fs.StringVar(&o.timings, "timings", "", "append this run's moments (JSON, one line) to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.templates == "" || o.lower == "" {
		return errors.New("-templates and -lower are required")
	}
	for _, p := range []*string{&o.templates, &o.root} {
		abs, err := filepath.Abs(*p) // runc wants absolute paths
		if err != nil {
			return err
		}
		*p = abs
	}
	runcPath, err := exec.LookPath(o.runc)
	if err != nil {
		return err
	}
	o.runc = runcPath
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("become child subreaper: %w", err)
	}
	p, err := newPod(o)
	if err != nil {
		return err
	}
	runErr := p.run()
	err = errors.Join(runErr, p.teardown())
	if err == nil && o.timings != "" {
		err = appendTimings(o.timings, p.times)
	}
	return err
}

// Timings are the moments of one run, as podrun's run record has them:
// a container is started when `runc start` has returned, has exited when
// wait4 has reaped it; SidecarSignaled is just before the SIGTERM.
type Timings struct {
	SidecarStarted  time.Time `json:"sidecarStarted"`
	MainStarted     time.Time `json:"mainStarted"`
	MainExited      time.Time `json:"mainExited"`
	SidecarSignaled time.Time `json:"sidecarSignaled"`
	SidecarExited   time.Time `json:"sidecarExited"`
}

// appendTimings appends t as one JSON line to path.
func appendTimings(path string, t Timings) error {
	data, err := json.Marshal(t)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(append(data, '\n'))
	return errors.Join(err, f.Close())
}

// pod is one run of the benchmark pod.
type pod struct {
	o          options
	dir        string // this run's scratch directory
	runcRoot   string
	sandbox    string
	ns         map[specs.LinuxNamespaceType]string
	cgroup     string
	containers []*ctr
	times      Timings
	// shm is the mounted pod /dev/shm, once mounted.
	shm string
}

// ctr is one container of the pod.
type ctr struct {
	name    string
	id      string
	bundle  string
	spec    *specs.Spec
	pid     int
	created bool
	mounted bool
}

func newPod(o options) (*pod, error) {
	if err := os.MkdirAll(o.root, 0o711); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(o.root, "pod-")
	if err != nil {
		return nil, err
	}
	tag := filepath.Base(dir)
	p := &pod{o: o, dir: dir, runcRoot: filepath.Join(o.root, "runc"), sandbox: filepath.Join(dir, "sandbox"),
		ns: map[specs.LinuxNamespaceType]string{}, cgroup: "/podrun-bench/" + tag}
	for _, name := range []string{"init", "sidecar", "main"} {
		data, err := os.ReadFile(filepath.Join(o.templates, name+".json"))
		if err != nil {
			return nil, err
		}
		s := &specs.Spec{}
		if err := json.Unmarshal(data, s); err != nil {
			return nil, fmt.Errorf("template %s: %w", name, err)
		}
		p.containers = append(p.containers, &ctr{name: name, id: tag + "-" + name, bundle: filepath.Join(dir, name), spec: s})
	}
	if o.mainCmd != "" {
		p.containers[2].spec.Process.Args = strings.Fields(o.mainCmd)
	}
	return p, nil
}

// run creates the sandbox and runs the three containers in order.
func (p *pod) run() error {
	if err := p.setupSandbox(); err != nil {
		return err
	}
	initC, sidecar, mainC := p.containers[0], p.containers[1], p.containers[2]
	for _, c := range []*ctr{initC, sidecar, mainC} {
		if err := p.start(c); err != nil {
			return err
		}
		switch c {
		case sidecar:
			p.times.SidecarStarted = time.Now()
			continue
		case mainC:
			p.times.MainStarted = time.Now()
		}
		if code, err := wait(c.pid); err != nil || code != 0 {
			return fmt.Errorf("container %s: exit %d: %v", c.name, code, err)
		}
	}
	p.times.MainExited = time.Now()
	p.times.SidecarSignaled = time.Now()
	if err := unix.Kill(sidecar.pid, unix.SIGTERM); err != nil {
		return fmt.Errorf("signal sidecar: %w", err)
	}
	_, err := wait(sidecar.pid)
	p.times.SidecarExited = time.Now()
	return err
}

// setupSandbox makes the namespaces and the /etc files.
func (p *pod) setupSandbox() error {
	if err := os.MkdirAll(p.sandbox, 0o711); err != nil {
		return err
	}
	for _, t := range []specs.LinuxNamespaceType{specs.NetworkNamespace, specs.UTSNamespace, specs.IPCNamespace} {
		p.ns[t] = filepath.Join(p.sandbox, string(t))
	}
	errc := make(chan error, 1)
	go func() {
		goruntime.LockOSThread() // never unlocked: the thread dies with the goroutine
		errc <- p.unshareOnThread()
	}()
	if err := <-errc; err != nil {
		return err
	}
	files := map[string]string{
		"hosts":       "127.0.0.1\tlocalhost\n127.0.0.1\tbench\n",
		"resolv.conf": "",
		"hostname":    "bench\n",
	}
	if rc, err := os.ReadFile("/etc/resolv.conf"); err == nil {
		files["resolv.conf"] = string(rc)
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(p.sandbox, name), []byte(content), 0o644); err != nil {
			return err
		}
	}
	// The pod's /dev/shm, shared by its containers, as podrun mounts it.
	shm := filepath.Join(p.sandbox, "shm")
	if err := os.MkdirAll(shm, 0o755); err != nil {
		return err
	}
	if err := unix.Mount("shm", shm, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=1777,size=65536k"); err != nil {
		return fmt.Errorf("mount pod /dev/shm: %w", err)
	}
	p.shm = shm
	return nil
}

// sandboxFiles are the sandbox entries setupSandbox makes, which the
// templates may bind-mount.
var sandboxFiles = map[string]bool{"hosts": true, "resolv.conf": true, "hostname": true, "shm": true}

// unshareOnThread runs on a locked, disposable thread.
func (p *pod) unshareOnThread() error {
	if err := unix.Unshare(unix.CLONE_NEWNET | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC); err != nil {
		return fmt.Errorf("unshare: %w", err)
	}
	if err := unix.Sethostname([]byte("bench")); err != nil {
		return err
	}
	if err := loopbackUp(); err != nil {
		return err
	}
	tid := unix.Gettid()
	for t, kind := range map[specs.LinuxNamespaceType]string{specs.NetworkNamespace: "net", specs.UTSNamespace: "uts", specs.IPCNamespace: "ipc"} {
		f, err := os.OpenFile(p.ns[t], os.O_CREATE|os.O_EXCL|os.O_RDONLY, 0o444)
		if err != nil {
			return err
		}
		f.Close()
		src := fmt.Sprintf("/proc/self/task/%d/ns/%s", tid, kind)
		if err := unix.Mount(src, p.ns[t], "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("bind %s: %w", src, err)
		}
	}
	return nil
}

// loopbackUp sets IFF_UP on lo in the calling thread's network namespace.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return err
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	return unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr)
}

// start builds c's bundle and runs runc create and start.
func (p *pod) start(c *ctr) error {
	rootfs := filepath.Join(c.bundle, "rootfs")
	upper, work := filepath.Join(c.bundle, "upper"), filepath.Join(c.bundle, "work")
	for _, d := range []string{rootfs, upper, work} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	opts := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s", p.o.lower, upper, work)
	if err := unix.Mount("overlay", rootfs, "overlay", 0, opts); err != nil {
		return fmt.Errorf("mount overlay for %s: %w", c.name, err)
	}
	c.mounted = true
	term := filepath.Join(c.bundle, "termination-log")
	if err := os.WriteFile(term, nil, 0o666); err != nil {
		return err
	}
	if err := p.rebind(c, rootfs); err != nil {
		return err
	}
	data, err := json.MarshalIndent(c.spec, "", "\t")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(c.bundle, "config.json"), data, 0o600); err != nil {
		return err
	}
	log, err := os.OpenFile(filepath.Join(c.bundle, "log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return err
	}
	defer log.Close()
	pidFile := filepath.Join(c.bundle, "pid")
	create := exec.Command(p.o.runc, "--root", p.runcRoot, "create", "--bundle", c.bundle, "--pid-file", pidFile, c.id)
	create.Stdout, create.Stderr = log, log
	c.created = true
	if err := create.Run(); err != nil {
		out, _ := os.ReadFile(log.Name())
		return fmt.Errorf("runc create %s: %w: %s", c.name, err, strings.TrimSpace(string(out)))
	}
	raw, err := os.ReadFile(pidFile)
	if err != nil {
		return err
	}
	if c.pid, err = strconv.Atoi(strings.TrimSpace(string(raw))); err != nil {
		return fmt.Errorf("pid file of %s: %w", c.name, err)
	}
	if out, err := exec.Command(p.o.runc, "--root", p.runcRoot, "start", c.id).CombinedOutput(); err != nil {
		return fmt.Errorf("runc start %s: %w: %s", c.name, err, out)
	}
	return nil
}

// rebind moves the template's paths to this run: rootfs, the sandbox's
// namespaces, the cgroup, and bind-mount sources in podrun's sandbox and
// bundle directories.
func (p *pod) rebind(c *ctr, rootfs string) error {
	s := c.spec
	oldBundle := filepath.Dir(s.Root.Path)
	s.Root.Path = rootfs
	var oldSandbox string
	for i, n := range s.Linux.Namespaces {
		if n.Path == "" {
			continue
		}
		if path, ok := p.ns[n.Type]; ok {
			oldSandbox = filepath.Dir(n.Path)
			s.Linux.Namespaces[i].Path = path
		}
	}
	s.Linux.CgroupsPath = p.cgroup + "/" + c.name
	s.Hostname = "bench"
	for i, m := range s.Mounts {
		switch {
		case oldSandbox != "" && strings.HasPrefix(m.Source, oldSandbox+"/"):
			rel := strings.TrimPrefix(m.Source, oldSandbox+"/")
			if !sandboxFiles[rel] {
				return fmt.Errorf("container %s: the template mounts %s from podrun's sandbox, which rawrunc does not make", c.name, rel)
			}
			s.Mounts[i].Source = filepath.Join(p.sandbox, rel)
		case strings.HasPrefix(m.Source, oldBundle+"/"):
			rel := strings.TrimPrefix(m.Source, oldBundle+"/")
			if rel != "termination-log" {
				return fmt.Errorf("container %s: the template mounts %s from podrun's bundle, which rawrunc does not make", c.name, rel)
			}
			s.Mounts[i].Source = filepath.Join(c.bundle, rel)
		}
	}
	return nil
}

// wait reaps pid (a child of this subreaper) and returns its exit code.
func wait(pid int) (int, error) {
	var ws unix.WaitStatus
	for {
		_, err := unix.Wait4(pid, &ws, 0, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return -1, fmt.Errorf("wait for %d: %w", pid, err)
		}
		if ws.Signaled() {
			return 128 + int(ws.Signal()), nil
		}
		return ws.ExitStatus(), nil
	}
}

// teardown deletes the containers, their bundles, the pod cgroup and the
// sandbox; it tolerates a partial run.
func (p *pod) teardown() error {
	var errs []error
	for _, c := range p.containers {
		if c.created {
			if out, err := exec.Command(p.o.runc, "--root", p.runcRoot, "delete", "--force", c.id).CombinedOutput(); err != nil {
				errs = append(errs, fmt.Errorf("runc delete %s: %w: %s", c.name, err, out))
			}
		}
		if c.mounted {
			if err := unix.Unmount(filepath.Join(c.bundle, "rootfs"), unix.MNT_DETACH); err != nil {
				errs = append(errs, err)
			}
		}
	}
	errs = append(errs, removeCgroup(p.cgroup))
	if p.shm != "" {
		if err := unix.Unmount(p.shm, unix.MNT_DETACH); err != nil {
			errs = append(errs, err)
		}
	}
	for _, path := range p.ns {
		if err := unix.Unmount(path, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return os.RemoveAll(p.dir)
}

// removeCgroup removes path in every cgroup hierarchy (v1 controllers, the
// unified one, or a v2-only mount).
func removeCgroup(path string) error {
	const base = "/sys/fs/cgroup"
	dirs := []string{base}
	if _, err := os.Stat(filepath.Join(base, "cgroup.controllers")); err != nil {
		entries, err := os.ReadDir(base)
		if err != nil {
			return err
		}
		dirs = dirs[:0]
		for _, e := range entries {
			if e.IsDir() {
				dirs = append(dirs, filepath.Join(base, e.Name()))
			}
		}
	}
	var errs []error
	for _, d := range dirs {
		for _, p := range []string{filepath.Join(d, path), filepath.Dir(filepath.Join(d, path))} {
			if err := unix.Rmdir(p); err != nil && !errors.Is(err, unix.ENOENT) && !errors.Is(err, unix.ENOTEMPTY) && !errors.Is(err, unix.EBUSY) {
				errs = append(errs, fmt.Errorf("remove cgroup %s: %w", p, err))
			}
		}
	}
	return errors.Join(errs...)
}
