package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/internal/logs"
	"github.com/podrun/podrun/internal/store"
)

// adoptInterval is how often logs -f checks that the pod it follows
// still has a supervisor.
const adoptInterval = 2 * time.Second

// follow prints the live containers' logs as they grow, each until its
// instance stops running or the pod is deleted (or ctx ends), and waits
// for the last line of each.
func (v *viewer) follow(ctx context.Context, changes <-chan store.Change, pod *corev1.Pod, live []logSource, out *lineWriter, o *logsOptions, since time.Time) error {
	type follower struct {
		src    logSource
		cancel context.CancelFunc
	}
	done := make(chan int, len(live))
	errs := make([]error, len(live))
	followers := make([]follower, len(live))
	var wg sync.WaitGroup
	for i, src := range live {
		fctx, cancel := context.WithCancel(ctx)
		followers[i] = follower{src, cancel}
		skip := 0
		if o.tail >= 0 {
			existing, err := logs.ReadFile(src.path, logs.Options{Tail: -1})
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				cancel()
				return err
			}
			skip = max(0, len(existing)-o.tail)
		}
		wg.Go(func() {
			defer func() { done <- i }()
			errs[i] = logs.Follow(fctx, src.path, func(e logs.Entry) {
				if skip > 0 {
					skip--
					return
				}
				if !e.Time.Before(since) {
					out.entry(pod.Name, src.container, e, o)
				}
			})
		})
	}
	defer func() {
		for _, f := range followers {
			f.cancel()
		}
		wg.Wait()
	}()
	// A supervisor's death is no store change: look for one every few
	// seconds, so that following alone is enough for the pod to be
	// continued by a new supervisor (the files go on growing meanwhile).
	adopt := v.clock.NewTimer(adoptInterval)
	defer adopt.Stop()
	running := len(live)
	for running > 0 {
		select {
		case <-adopt.C():
			if cur, err := v.s.GetPod(ctx, pod.Namespace, pod.Name); err == nil && cur.UID == pod.UID {
				v.adopt(ctx, cur)
			}
			adopt.Reset(adoptInterval)
		case <-done:
			running--
		case c, ok := <-changes:
			if !ok { // ctx ended
				changes = nil
				continue
			}
			if !c.Resync && (c.Kind != store.Pods || c.Name != pod.Name) {
				continue
			}
			cur, err := v.s.GetPod(ctx, pod.Namespace, pod.Name)
			gone := errors.Is(err, store.ErrNotFound) || (err == nil && cur.UID != pod.UID)
			if err != nil && !gone {
				return err
			}
			for _, f := range followers {
				if gone || !stillRunning(cur, f.src) {
					f.cancel()
				}
			}
		}
	}
	return errors.Join(errs...)
}

// stillRunning reports whether the instance src follows is still running.
func stillRunning(pod *corev1.Pod, src logSource) bool {
	st := containerStatus(pod, src.container)
	return st != nil && st.State.Running != nil && st.ContainerID == src.runningID
}

// lineWriter writes log lines whole, from several goroutines.
type lineWriter struct {
	mu sync.Mutex
	w  io.Writer
}

// entry writes one log line with the prefixes o asks for.
func (l *lineWriter) entry(pod, container string, e logs.Entry, o *logsOptions) {
	var b []byte
	if o.prefix {
		b = fmt.Appendf(b, "[pod/%s/%s] ", pod, container)
	}
	if o.timestamps {
		b = e.Time.UTC().AppendFormat(b, time.RFC3339Nano)
		b = append(b, ' ')
	}
	b = append(b, e.Content...)
	b = append(b, '\n')
	l.mu.Lock()
	defer l.mu.Unlock()
	l.w.Write(b)
}
