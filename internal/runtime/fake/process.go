package fake

import (
	"fmt"
	"maps"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// env is what a running program sees of its container: files, variables
// and its output.
type env interface {
	// fileExists, touch, remove and appendLine act on path as seen from the
	// container (volume mounts included).
	fileExists(path string) bool
	touch(path string)
	remove(path string)
	appendLine(path, line string)
	readFile(path string) []string
	// log writes one line of stdout at t.
	log(t time.Time, line string)
	getenv(name string) string
}

// frame is one code sequence being executed (the script or a trap body).
type frame struct {
	code []instr
	pc   int
	trap bool
	// saved is $? before a trap ran; the shell restores it afterwards.
	saved int
}

// process interprets a Program on virtual time. It never blocks: advance
// runs it up to an instant and leaves it exited or parked on a sleep or a
// wait. All times are virtual; the caller feeds the clock.
type process struct {
	env    env
	frames []frame
	t      time.Time // the process's own time, never after the caller's now
	status int       // $? of the last command

	sleepUntil  time.Time // parked in a foreground sleep until then
	waiting     bool      // parked in the wait builtin
	pendingTrap string    // a trapped signal arrived during a foreground sleep
	traps       map[string]string
	vars        map[string]string
	jobs        []*process

	exited   bool
	exitCode int
	exitSig  syscall.Signal
	exitAt   time.Time
}

func newProcess(p *Program, e env, at time.Time) *process {
	return &process{env: e, frames: []frame{{code: p.code}}, t: at, traps: map[string]string{}, vars: map[string]string{}}
}

// nextWake is the earliest instant at which the process or one of its
// background jobs will change by itself, or the zero time if none will
// (exited, or parked forever).
func (p *process) nextWake() time.Time {
	if p.exited {
		return time.Time{}
	}
	if p.sleepUntil.IsZero() && !p.waiting {
		return p.t // runnable now
	}
	var w time.Time
	if !p.sleepUntil.IsZero() && !p.sleepUntil.Equal(farFuture) {
		w = p.sleepUntil
	}
	for _, j := range p.jobs {
		if jw := j.nextWake(); !jw.IsZero() && (w.IsZero() || jw.Before(w)) {
			w = jw
		}
	}
	return w
}

// advanceJobs runs the background jobs up to t.
func (p *process) advanceJobs(t time.Time) {
	for _, j := range p.jobs {
		j.advance(t)
	}
}

// advance runs the process, and its jobs, up to now.
func (p *process) advance(now time.Time) {
	for steps := 0; !p.exited; steps++ {
		if steps > 100000 {
			p.finish(p.t, 2, 0) // a runaway script
			return
		}
		if !p.sleepUntil.IsZero() {
			if p.sleepUntil.After(now) {
				p.advanceJobs(now)
				return
			}
			p.advanceJobs(p.sleepUntil)
			p.t, p.sleepUntil, p.status = p.sleepUntil, time.Time{}, 0
			if sig := p.pendingTrap; sig != "" {
				p.pendingTrap = ""
				p.runTrap(sig)
			}
			continue
		}
		if p.waiting {
			p.advanceJobs(now)
			done := p.t
			for _, j := range p.jobs {
				if !j.exited {
					return
				}
				if j.exitAt.After(done) {
					done = j.exitAt
				}
			}
			p.t, p.waiting, p.status, p.jobs = done, false, 0, nil
			continue
		}
		p.advanceJobs(p.t)
		p.exec()
	}
}

// exec executes the instruction at the top frame's program counter at p.t.
func (p *process) exec() {
	f := &p.frames[len(p.frames)-1]
	if f.pc >= len(f.code) {
		if len(p.frames) == 1 {
			p.finish(p.t, p.status, 0)
			return
		}
		p.status = f.saved
		p.frames = p.frames[:len(p.frames)-1]
		return
	}
	in := f.code[f.pc]
	f.pc++
	switch in.op {
	case opJumpIfFalse:
		if p.status != 0 {
			f.pc = in.target
		}
	case opJumpIfTrue:
		if p.status == 0 {
			f.pc = in.target
		}
	case opBackground:
		job := &process{env: p.env, frames: []frame{{code: in.sub}}, t: p.t, traps: map[string]string{}, vars: maps.Clone(p.vars)}
		job.advance(p.t)
		p.jobs = append(p.jobs, job)
		p.status = 0
	case opJump:
		f.pc = in.target
	case opAssign:
		p.vars[in.name] = p.expand(in.value)
		p.status = 0
	case opCmd:
		p.run(in.cmd)
	}
}

// expand evaluates a word at the process's time.
func (p *process) expand(w word) string {
	var b strings.Builder
	for _, part := range w {
		switch {
		case part.date:
			b.WriteString(strconv.FormatInt(p.t.Unix(), 10))
		case part.env != "":
			b.WriteString(p.getvar(part.env))
		case part.arith != "":
			b.WriteString(strconv.Itoa(p.arith(part.arith)))
		default:
			b.WriteString(part.lit)
		}
	}
	return b.String()
}

// getvar returns a shell variable, else the environment's value.
func (p *process) getvar(name string) string {
	if v, ok := p.vars[name]; ok {
		return v
	}
	return p.env.getenv(name)
}

// arith evaluates a sum of variables and numbers (validated at parse).
func (p *process) arith(expr string) int {
	terms, _ := parseArith(expr)
	sum := 0
	for _, t := range terms {
		v := t.value
		if t.name != "" {
			v, _ = strconv.Atoi(p.getvar(t.name))
		}
		if t.neg {
			v = -v
		}
		sum += v
	}
	return sum
}

// run executes one simple command.
func (p *process) run(c *simpleCmd) {
	args := make([]string, len(c.argv))
	for i, w := range c.argv {
		args[i] = p.expand(w)
	}
	out := func(line string) {
		if c.redirect == nil {
			p.env.log(p.t, line)
			return
		}
		path := p.expand(c.redirect)
		if !c.appendTo {
			p.env.remove(path)
		}
		p.env.appendLine(path, line)
	}
	switch args[0] {
	case "sleep":
		d := time.Duration(0)
		for _, a := range args[1:] {
			s, err := parseSeconds(a)
			if err != nil {
				p.status = 1
				return
			}
			d += s
		}
		if d >= Forever {
			p.sleepUntil = farFuture
		} else {
			p.sleepUntil = p.t.Add(d)
		}
	case "exit":
		code := p.status
		if len(args) > 1 {
			n, err := strconv.Atoi(args[1])
			if err != nil {
				n = 2
			}
			code = n & 0xff
		}
		p.finish(p.t, code, 0)
	case "trap":
		for _, sig := range args[2:] {
			p.traps[normalizeSignal(sig)] = args[1]
		}
		p.status = 0
	case "wait":
		if len(p.jobs) > 0 {
			p.waiting = true
		}
		p.status = 0
	case "echo":
		out(strings.Join(args[1:], " "))
		p.status = 0
	case "cat":
		for _, f := range args[1:] {
			for _, l := range p.env.readFile(f) {
				out(l)
			}
		}
		p.status = 0
	case "touch":
		for _, f := range args[1:] {
			p.env.touch(f)
		}
		p.status = 0
	case "rm":
		for _, f := range args[1:] {
			if !strings.HasPrefix(f, "-") {
				p.env.remove(f)
			}
		}
		p.status = 0
	case "true", ":":
		p.status = 0
	case "false":
		p.status = 1
	case "test", "[":
		if args[0] == "[" {
			if args[len(args)-1] != "]" {
				p.status = 2
				return
			}
			args = args[:len(args)-1]
		}
		p.status = p.test(args[1:])
	default:
		p.status = 127
	}
}

// test evaluates the operands of test: [!] -f|-e FILE, or a string.
func (p *process) test(args []string) int {
	neg := false
	if len(args) > 0 && args[0] == "!" {
		neg, args = true, args[1:]
	}
	var ok bool
	switch {
	case len(args) == 2 && (args[0] == "-f" || args[0] == "-e"):
		ok = p.env.fileExists(args[1])
	case len(args) == 1:
		ok = args[0] != ""
	case len(args) == 3 && (args[1] == "=" || args[1] == "=="):
		ok = args[0] == args[2]
	case len(args) == 3 && args[1] == "!=":
		ok = args[0] != args[2]
	case len(args) == 3 && strings.HasPrefix(args[1], "-"):
		a, errA := strconv.Atoi(args[0])
		b, errB := strconv.Atoi(args[2])
		if errA != nil || errB != nil {
			return 2
		}
		switch args[1] {
		case "-lt":
			ok = a < b
		case "-le":
			ok = a <= b
		case "-gt":
			ok = a > b
		case "-ge":
			ok = a >= b
		case "-eq":
			ok = a == b
		case "-ne":
			ok = a != b
		default:
			return 2
		}
	default:
		return 2
	}
	if ok != neg {
		return 0
	}
	return 1
}

// signal delivers sig to the process at now (the caller advanced it to now).
// PID 1 ignores a signal it has no handler for, except SIGKILL.
func (p *process) signal(sig syscall.Signal, now time.Time) {
	if p.exited {
		return
	}
	if sig == syscall.SIGKILL {
		p.finish(now, 128+int(sig), sig)
		return
	}
	name := signalName(sig)
	if _, ok := p.traps[name]; !ok || p.frames[len(p.frames)-1].trap || p.pendingTrap != "" {
		return
	}
	switch {
	case !p.sleepUntil.IsZero():
		// A foreground command finishes before the shell runs the trap.
		p.pendingTrap = name
	case p.waiting:
		// The wait builtin returns at once with 128+sig; the trap runs.
		p.t, p.waiting, p.status = now, false, 128+int(sig)
		p.runTrap(name)
	}
}

// runTrap pushes the trap body for sig.
func (p *process) runTrap(sig string) {
	code, err := parseScript(p.traps[sig])
	if err != nil {
		return
	}
	p.frames = append(p.frames, frame{code: code, trap: true, saved: p.status})
}

func (p *process) finish(at time.Time, code int, sig syscall.Signal) {
	p.exited, p.exitCode, p.exitSig, p.exitAt = true, code, sig, at
	p.sleepUntil, p.waiting = time.Time{}, false
	p.t = at
}

// farFuture stands for "never" in a sleep.
var farFuture = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

// normalizeSignal maps TERM, SIGTERM and 15 to "TERM".
func normalizeSignal(s string) string {
	s = strings.TrimPrefix(strings.ToUpper(s), "SIG")
	switch s {
	case "15":
		return "TERM"
	case "2":
		return "INT"
	case "1":
		return "HUP"
	case "3":
		return "QUIT"
	}
	return s
}

// signalName returns the trap name of sig ("TERM" for SIGTERM).
func signalName(sig syscall.Signal) string {
	switch sig {
	case syscall.SIGTERM:
		return "TERM"
	case syscall.SIGINT:
		return "INT"
	case syscall.SIGHUP:
		return "HUP"
	case syscall.SIGQUIT:
		return "QUIT"
	case syscall.SIGUSR1:
		return "USR1"
	case syscall.SIGUSR2:
		return "USR2"
	}
	return fmt.Sprintf("%d", int(sig))
}
