package spec

import (
	"fmt"
	"strconv"
	"strings"
	"syscall"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	corev1 "k8s.io/api/core/v1"
)

// StopSignal is the signal that asks the container to stop: its
// lifecycle.stopSignal, else the image's STOPSIGNAL, else SIGTERM (as
// containerd with the ContainerStopSignals gate). image may be nil.
func StopSignal(c *corev1.Container, image *v1.ConfigFile) (syscall.Signal, error) {
	if c.Lifecycle != nil && c.Lifecycle.StopSignal != nil {
		sig, err := ParseSignal(string(*c.Lifecycle.StopSignal))
		if err != nil {
			return 0, fmt.Errorf("container %q lifecycle.stopSignal: %w", c.Name, err)
		}
		return sig, nil
	}
	if image != nil && image.Config.StopSignal != "" {
		sig, err := ParseSignal(image.Config.StopSignal)
		if err != nil {
			return 0, fmt.Errorf("image STOPSIGNAL of container %q: %w", c.Name, err)
		}
		return sig, nil
	}
	return syscall.SIGTERM, nil
}

var signalNames = map[string]syscall.Signal{
	"ABRT": syscall.SIGABRT, "ALRM": syscall.SIGALRM, "BUS": syscall.SIGBUS,
	"CHLD": syscall.SIGCHLD, "CLD": syscall.SIGCHLD, "CONT": syscall.SIGCONT,
	"FPE": syscall.SIGFPE, "HUP": syscall.SIGHUP, "ILL": syscall.SIGILL,
	"INT": syscall.SIGINT, "IO": syscall.SIGIO, "IOT": syscall.SIGIOT,
	"KILL": syscall.SIGKILL, "PIPE": syscall.SIGPIPE, "POLL": syscall.SIGPOLL,
	"PROF": syscall.SIGPROF, "PWR": syscall.SIGPWR, "QUIT": syscall.SIGQUIT,
	"SEGV": syscall.SIGSEGV, "STKFLT": syscall.SIGSTKFLT, "STOP": syscall.SIGSTOP,
	"SYS": syscall.SIGSYS, "TERM": syscall.SIGTERM, "TRAP": syscall.SIGTRAP,
	"TSTP": syscall.SIGTSTP, "TTIN": syscall.SIGTTIN, "TTOU": syscall.SIGTTOU,
	"URG": syscall.SIGURG, "USR1": syscall.SIGUSR1, "USR2": syscall.SIGUSR2,
	"VTALRM": syscall.SIGVTALRM, "WINCH": syscall.SIGWINCH, "XCPU": syscall.SIGXCPU,
	"XFSZ": syscall.SIGXFSZ,
}

const (
	sigRTMin = 34
	sigRTMax = 64
)

// ParseSignal parses a signal as Docker and containerd accept it: a number
// ("15"), a name with or without the SIG prefix in any case ("SIGTERM",
// "term"), or a real-time signal ("SIGRTMIN+3", "RTMAX-1").
func ParseSignal(s string) (syscall.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n <= 0 || n > sigRTMax {
			return 0, fmt.Errorf("invalid signal %q", s)
		}
		return syscall.Signal(n), nil
	}
	name := strings.TrimPrefix(strings.ToUpper(s), "SIG")
	if sig, ok := signalNames[name]; ok {
		return sig, nil
	}
	for _, rt := range []struct {
		prefix string
		base   int
		sign   int
	}{{"RTMIN", sigRTMin, 1}, {"RTMAX", sigRTMax, -1}} {
		rest, ok := strings.CutPrefix(name, rt.prefix)
		if !ok {
			continue
		}
		if rest == "" {
			return syscall.Signal(rt.base), nil
		}
		op := "+"
		if rt.sign < 0 {
			op = "-"
		}
		num, ok := strings.CutPrefix(rest, op)
		if !ok {
			break
		}
		off, err := strconv.Atoi(num)
		if err != nil || off < 0 {
			break
		}
		n := rt.base + rt.sign*off
		if n < sigRTMin || n > sigRTMax {
			break
		}
		return syscall.Signal(n), nil
	}
	return 0, fmt.Errorf("invalid signal %q", s)
}
