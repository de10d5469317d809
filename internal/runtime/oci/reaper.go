package oci

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// shimComm is the command name of a podrun-shim process.
const shimComm = "podrun-shim"

// Reaper makes this process a child subreaper and reaps the orphans that
// adoption brings.
//
// Container processes are children of their shims, not of this process.
// Other processes are adopted, though: a `runc exec` process that dies
// before its child leaves that child, a zombie inside the container's PID
// namespace, to us. A container's init cannot finish exiting while any
// process of its namespace is unreaped, so such orphans must be reaped or
// the container's exit is never seen.
//
// The Reaper reaps on SIGCHLD, and only zombies that live in a nested PID
// namespace and that nobody registered (watch: the PID-namespace holder of
// a sandbox), so it never takes an exit status that exec.Cmd.Wait
// elsewhere in this process waits for (those children share our
// namespace). Exited shims are reaped too, whoever started them: their
// status is in their exit.json, and a Runtime watching one reaps it only
// if it is still there. There must be one Reaper per process, shared
// by all its Runtimes: main creates it and passes it in Options, or
// Runtimes created without one share a default Reaper.
type Reaper struct {
	mu sync.Mutex
	// watched counts registrations of container PIDs; starting counts
	// containers whose PID is not known yet (reaping waits for zero).
	watched  map[int]int
	starting int
	// idle is signalled when starting drops to zero.
	idle *sync.Cond

	kick chan struct{}
	stop chan struct{}
	wg   sync.WaitGroup
	once sync.Once
}

// The process's default Reaper, for Runtimes created without one.
var (
	defaultReaperOnce sync.Once
	defaultReaper     *Reaper
	defaultReaperErr  error
)

// processReaper returns the process's default Reaper, creating it on first
// use; it is never closed.
func processReaper() (*Reaper, error) {
	defaultReaperOnce.Do(func() { defaultReaper, defaultReaperErr = NewReaper() })
	return defaultReaper, defaultReaperErr
}

// NewReaper makes this process a child subreaper and starts reaping.
// Close stops it.
func NewReaper() (*Reaper, error) {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return nil, fmt.Errorf("become child subreaper: %w", err)
	}
	rp := &Reaper{watched: map[int]int{}, kick: make(chan struct{}, 1), stop: make(chan struct{})}
	rp.idle = sync.NewCond(&rp.mu)
	sigc := make(chan os.Signal, 1)
	signal.Notify(sigc, syscall.SIGCHLD)
	rp.wg.Add(1)
	go func() {
		defer rp.wg.Done()
		defer signal.Stop(sigc)
		for {
			select {
			case <-rp.stop:
				return
			case <-sigc:
			case <-rp.kick:
			}
			rp.reapOrphans()
		}
	}()
	return rp, nil
}

// Close stops reaping and waits for the reaper goroutine. The process stays
// a subreaper.
func (rp *Reaper) Close() {
	rp.once.Do(func() { close(rp.stop) })
	rp.wg.Wait()
}

// beginStart holds off reaping while a container's PID is unknown.
func (rp *Reaper) beginStart() {
	rp.mu.Lock()
	rp.starting++
	rp.mu.Unlock()
}

// endStart ends a beginStart and triggers a reaping pass.
func (rp *Reaper) endStart() {
	rp.mu.Lock()
	if rp.starting--; rp.starting == 0 {
		rp.idle.Broadcast()
	}
	rp.mu.Unlock()
	select {
	case rp.kick <- struct{}{}:
	default:
	}
}

// watch registers a nested-namespace child the caller reaps itself.
func (rp *Reaper) watch(pid int) {
	rp.mu.Lock()
	rp.watched[pid]++
	rp.mu.Unlock()
}

// unwatch ends a watch.
func (rp *Reaper) unwatch(pid int) {
	rp.mu.Lock()
	if rp.watched[pid]--; rp.watched[pid] <= 0 {
		delete(rp.watched, pid)
	}
	rp.mu.Unlock()
}

// reapOrphans reaps every zombie child that lives in a nested PID
// namespace and is not watched, unless a start is under way (endStart
// triggers another pass).
func (rp *Reaper) reapOrphans() {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	if rp.starting > 0 {
		return
	}
	rp.reapLocked()
}

// settle waits until no start is under way and reaps: afterwards every
// orphan that was a zombie when it was called is gone.
func (rp *Reaper) settle() {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	for rp.starting > 0 {
		rp.idle.Wait()
	}
	rp.reapLocked()
}

// reapLocked reaps unwatched nested zombies. Callers hold mu.
func (rp *Reaper) reapLocked() {
	for _, pid := range zombieChildren() {
		if rp.watched[pid] > 0 {
			continue
		}
		var ws unix.WaitStatus
		if _, err := unix.Wait4(pid, &ws, unix.WNOHANG, nil); err != nil && !errors.Is(err, unix.ECHILD) {
			continue
		}
	}
}

// zombieChildren lists this process's children that are zombies in a
// PID namespace nested below ours, or shims.
func zombieChildren() []int {
	tasks, _ := filepath.Glob("/proc/self/task/*/children")
	var out []int
	for _, t := range tasks {
		data, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(data)) {
			pid, err := strconv.Atoi(f)
			if err == nil && orphanZombie(pid) {
				out = append(out, pid)
			}
		}
	}
	return out
}

// orphanZombie reports whether pid is a zombie whose NSpid line shows it
// in more than one PID namespace, or a podrun-shim: a shim whose podrun
// died is re-parented to the nearest subreaper, and nobody needs its exit
// status (its exit.json holds the container's). The short stat file is
// read first: most children are not zombies.
func orphanZombie(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(stat), ')')
	if i < 0 || i+2 >= len(stat) || stat[i+2] != 'Z' {
		return false
	}
	if j := strings.IndexByte(string(stat), '('); j >= 0 && string(stat[j+1:i]) == shimComm {
		return true
	}
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "NSpid:") {
			return len(strings.Fields(line)) > 2
		}
	}
	return false
}
