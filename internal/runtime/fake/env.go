package fake

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/internal/runtime"
)

// containerEnv is a container's view of files and output. Files under a
// volume mount live in the sandbox (shared by the pod's containers); the
// others live in the container instance's own root file system.
type containerEnv struct {
	c      *container
	stdout *bytes.Buffer // exec output; nil writes the container log
}

// locate returns the map holding p and the key inside it.
func (e *containerEnv) locate(p string) (map[string][]string, string) {
	p = path.Clean("/" + p)
	if e.c.cfg.Container != nil {
		for _, m := range e.c.cfg.Container.VolumeMounts {
			mp := path.Clean("/" + m.MountPath)
			if p == mp || strings.HasPrefix(p, mp+"/") {
				v := e.c.sandbox.volumes[m.Name]
				if v == nil {
					v = map[string][]string{}
					e.c.sandbox.volumes[m.Name] = v
				}
				return v, strings.TrimPrefix(strings.TrimPrefix(p, mp), "/")
			}
		}
	}
	return e.c.files, p
}

func (e *containerEnv) fileExists(p string) bool {
	m, k := e.locate(p)
	_, ok := m[k]
	return ok
}

func (e *containerEnv) touch(p string) {
	m, k := e.locate(p)
	if _, ok := m[k]; !ok {
		m[k] = nil
	}
}

func (e *containerEnv) remove(p string) {
	m, k := e.locate(p)
	delete(m, k)
}

func (e *containerEnv) appendLine(p, line string) {
	m, k := e.locate(p)
	m[k] = append(m[k], line)
}

func (e *containerEnv) readFile(p string) []string {
	m, k := e.locate(p)
	return m[k]
}

func (e *containerEnv) getenv(name string) string { return e.c.env[name] }

// log writes one stdout line in the CRI log format to the container's log
// file, or to the exec's output buffer.
func (e *containerEnv) log(t time.Time, line string) {
	if e.stdout != nil {
		e.stdout.WriteString(line + "\n")
		return
	}
	if e.c.cfg.LogPath == "" {
		return
	}
	f, err := os.OpenFile(e.c.cfg.LogPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o640)
	if err != nil {
		return // the log file is best effort, as a full disk is for a runtime
	}
	defer f.Close()
	fmt.Fprintf(f, "%s stdout F %s\n", t.UTC().Format(time.RFC3339Nano), line)
}

// resolveEnv computes a container's environment as the kubelet does for
// literal values and configMap / secret key references; a missing object or
// key is a CreateContainerConfigError with the kubelet's message.
func resolveEnv(pod *corev1.Pod, c *corev1.Container, sb runtime.SandboxConfig) (map[string]string, error) {
	ns := "default"
	if pod != nil && pod.Namespace != "" {
		ns = pod.Namespace
	}
	env := map[string]string{"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	if pod != nil {
		env["HOSTNAME"] = pod.Name
	}
	for _, v := range c.Env {
		switch {
		case v.ValueFrom == nil:
			env[v.Name] = v.Value
		case v.ValueFrom.ConfigMapKeyRef != nil:
			ref := v.ValueFrom.ConfigMapKeyRef
			optional := ref.Optional != nil && *ref.Optional
			cm, ok := sb.ConfigMaps[ref.Name]
			if !ok {
				if optional {
					continue
				}
				return nil, configError(fmt.Sprintf("configmap %q not found", ref.Name))
			}
			val, ok := cm.Data[ref.Key]
			if !ok {
				if optional {
					continue
				}
				return nil, configError(fmt.Sprintf("couldn't find key %s in ConfigMap %s/%s", ref.Key, ns, ref.Name))
			}
			env[v.Name] = val
		case v.ValueFrom.SecretKeyRef != nil:
			ref := v.ValueFrom.SecretKeyRef
			optional := ref.Optional != nil && *ref.Optional
			s, ok := sb.Secrets[ref.Name]
			if !ok {
				if optional {
					continue
				}
				return nil, configError(fmt.Sprintf("secret %q not found", ref.Name))
			}
			val, ok := s.Data[ref.Key]
			if !ok {
				if sv, ok2 := s.StringData[ref.Key]; ok2 {
					val, ok = []byte(sv), true
				}
			}
			if !ok {
				if optional {
					continue
				}
				return nil, configError(fmt.Sprintf("couldn't find key %s in Secret %s/%s", ref.Key, ns, ref.Name))
			}
			env[v.Name] = string(val)
		}
	}
	return env, nil
}

func configError(msg string) error {
	return &runtime.StartError{Reason: runtime.ReasonCreateContainerConfigError, Message: msg}
}

// ExecSync runs cmd in a running container on the fake clock and waits for
// it: an exec of `sh -c "sleep 5"` returns once the clock passed 5 s.
// Output without redirection goes to the result's Stdout; files are the
// container's. The exec fails if the container stops first, and reports
// exit code 124 with an error after timeout.
func (r *Runtime) ExecSync(ctx context.Context, containerID string, cmd []string, timeout time.Duration) (runtime.ExecResult, error) {
	r.mu.Lock()
	if err := r.record("ExecSync", append([]string{containerID}, cmd...)...); err != nil {
		r.mu.Unlock()
		return runtime.ExecResult{}, err
	}
	c, ok := r.containers[containerID]
	if !ok {
		r.mu.Unlock()
		return runtime.ExecResult{}, fmt.Errorf("exec in container %q: %w", containerID, runtime.ErrNotFound)
	}
	start := r.clock.Now()
	r.syncAll(start)
	if c.status.State != runtime.StateRunning {
		r.mu.Unlock()
		return runtime.ExecResult{}, fmt.Errorf("exec in container %q: container is not running (%s)", containerID, c.status.State)
	}
	prog, err := ParseCommand(cmd)
	if err != nil || !prog.Runnable() {
		r.mu.Unlock()
		if err == nil {
			return runtime.ExecResult{ExitCode: 127, Stderr: []byte(fmt.Sprintf("exec: %q: executable file not found in $PATH", cmd[0]))}, nil
		}
		return runtime.ExecResult{}, fmt.Errorf("exec in container %q: %w: %w", containerID, runtime.ErrNotSupported, err)
	}
	out := &bytes.Buffer{}
	p := newProcess(prog, &containerEnv{c: c, stdout: out}, start)
	r.execs[p] = true
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		delete(r.execs, p)
		r.mu.Unlock()
	}()

	var deadline time.Time
	if timeout > 0 {
		deadline = start.Add(timeout)
	}
	for {
		r.mu.Lock()
		now := r.clock.Now()
		if !deadline.IsZero() && now.After(deadline) {
			now = deadline
		}
		r.syncAll(now)
		p.advance(now)
		if p.exited {
			res := runtime.ExecResult{Stdout: []byte(out.String()), ExitCode: p.exitCode}
			r.mu.Unlock()
			return res, nil
		}
		if _, still := r.containers[containerID]; !still || c.status.State != runtime.StateRunning {
			r.mu.Unlock()
			return runtime.ExecResult{ExitCode: 137}, fmt.Errorf("exec in container %q: container exited", containerID)
		}
		if !deadline.IsZero() && !now.Before(deadline) {
			r.mu.Unlock()
			return runtime.ExecResult{ExitCode: 124}, fmt.Errorf("exec in container %q: timed out after %s", containerID, timeout)
		}
		next := p.nextWake()
		if cw := c.proc.nextWake(); !cw.IsZero() && (next.IsZero() || cw.Before(next)) {
			next = cw
		}
		if !deadline.IsZero() && (next.IsZero() || deadline.Before(next)) {
			next = deadline
		}
		changed := r.changed
		r.mu.Unlock()
		if err := r.waitUntil(ctx, now, next, changed); err != nil {
			return runtime.ExecResult{}, fmt.Errorf("exec in container %q: %w", containerID, err)
		}
	}
}
