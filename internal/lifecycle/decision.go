package lifecycle

import (
	"fmt"
	"strings"
	"time"
)

// ActionKind names one thing the executor must do.
type ActionKind string

// The actions a Decision may hold. The executor performs them in order and
// records each effect in Observed before the next Plan; after a non-empty
// Decision it calls Plan again at once (the effects are new state).
const (
	// CreateSandbox: create the pod sandbox (network namespace, volumes).
	CreateSandbox ActionKind = "CreateSandbox"
	// StartContainer: pull the image per imagePullPolicy, create and start
	// a new instance of Container, then run its postStart hook to the end
	// before the next action (R1.1, H1). A failure is recorded as the
	// container's StartFailure.
	StartContainer ActionKind = "StartContainer"
	// BeginTermination: record Observed.Termination with Reason and Grace,
	// starting the pod's termination at now (§6.1).
	BeginTermination ActionKind = "BeginTermination"
	// KillContainer: record a Kill on the current instance of Container
	// with Reason (a KillReason) and Grace, started at now (§6.3). The
	// same Decision usually goes on with the kill's first steps.
	KillContainer ActionKind = "KillContainer"
	// RunPreStop: start Container's preStop hook (it runs concurrently;
	// the executor records its end in Kill.PreStop).
	RunPreStop ActionKind = "RunPreStop"
	// SignalStop: send the stop signal (Signal) to Container and record
	// Kill.SignaledAt and Kill.KillAt (= now + Grace).
	SignalStop ActionKind = "SignalStop"
	// ForceKill: send SIGKILL to Container and record Kill.KilledAt.
	ForceKill ActionKind = "ForceKill"
	// RemoveSandbox: the pod is finished; tear down the sandbox and
	// record it by setting Observed.Sandbox to nil (Plan emits it once,
	// while Observed.Sandbox is set).
	RemoveSandbox ActionKind = "RemoveSandbox"
)

// Action is one step of a Decision.
type Action struct {
	Kind ActionKind
	// Container is the container the action is about, if any.
	Container string
	// Reason is why: a KillReason, a TerminationReason, or the kubelet's
	// message for events ("Container main failed liveness probe, will be
	// restarted").
	Reason string
	// Grace is the grace period for KillContainer and BeginTermination,
	// and the stop window (signal to SIGKILL) for SignalStop.
	Grace time.Duration
	// Signal is the stop signal for SignalStop ("SIGTERM" unless the image
	// or lifecycle.stopSignal says otherwise; the executor resolves an
	// empty value from the image).
	Signal string
	// Rule cites the SEMANTICS.md label that decided this action.
	Rule string
}

// String renders the action for logs, golden files and explain.
func (a Action) String() string {
	var b strings.Builder
	b.WriteString(string(a.Kind))
	if a.Container != "" {
		fmt.Fprintf(&b, " %s", a.Container)
	}
	if a.Reason != "" {
		fmt.Fprintf(&b, " reason=%q", a.Reason)
	}
	if a.Grace != 0 {
		fmt.Fprintf(&b, " grace=%s", a.Grace)
	}
	if a.Signal != "" {
		fmt.Fprintf(&b, " signal=%s", a.Signal)
	}
	if a.Rule != "" {
		fmt.Fprintf(&b, " (%s)", a.Rule)
	}
	return b.String()
}

// Decision is what one Plan call asks for: actions in order, and the
// earliest instant the planner wants to run again even if nothing happens
// (a back-off expiry, a grace deadline, an active deadline); zero if none.
type Decision struct {
	Actions []Action
	WakeAt  time.Time
	// Done is true once the pod has terminated: every container exited,
	// the phase is terminal and the sandbox may be (or was) removed.
	Done bool
}

// String renders the decision one action per line.
func (d Decision) String() string {
	var b strings.Builder
	for _, a := range d.Actions {
		b.WriteString(a.String())
		b.WriteByte('\n')
	}
	if !d.WakeAt.IsZero() {
		fmt.Fprintf(&b, "wake at %s\n", d.WakeAt.UTC().Format(time.RFC3339Nano))
	}
	if d.Done {
		b.WriteString("done\n")
	}
	return b.String()
}
