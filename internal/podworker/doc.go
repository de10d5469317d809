// Package podworker is the executor of one pod: the only code that turns
// the planner's decisions into runtime calls.
//
//	          +------------------------------------------------+
//	events -> | step: apply event -> observe -> Plan -> act ... | -> Store
//	          |       (until Plan asks for nothing) -> publish  |
//	          +------------------------------------------------+
//	             ^ exits (one WaitContainer goroutine per running container)
//	             ^ hook ends (postStart / preStop goroutines)
//	             ^ probe updates (Prober.Updates)
//	             ^ timer at Decision.WakeAt (injected clock)
//	             ^ Delete(grace)
//
// One goroutine, Run, owns the pod: it only waits for the next event and
// calls step, which tests call directly. step observes the runtime
// (ListContainers → lifecycle.Observed attempts, Prober.Results), asks
// lifecycle.Plan what to do, performs the actions in order recording each
// effect in Observed as lifecycle/decision.go documents, plans again until
// the decision is empty, then computes lifecycle.Status, updates the run
// record and saves both with the events. Hooks run in goroutines owned by
// the worker (the planner holds later starts while a postStart runs,
// R1.1), so a deletion is seen while a hook runs.
//
// Two stops (STYLE.md habit 16): Delete kills the pod — the planner orders
// the termination with the grace period — and Run returns nil once it is
// done; cancelling Run's context stops supervising and leaves the
// containers running. Done is closed after Run returned and every
// goroutine the worker started has ended.
//
// Events carry the kubelet's reasons and messages (Scheduled, Pulling,
// Pulled, Created, Started, Killing, BackOff, Failed, FailedPostStartHook,
// FailedPreStopHook, DeadlineExceeded), repeats aggregated into count and
// lastTimestamp as the kubelet's recorder does.
//
// # The run record
//
// Record (JSON, stable; times RFC3339Nano, absent times omitted):
//
//	namespace, name, uid, node
//	startTime                 pod accepted by the worker (pod.start)
//	deletedAt                 the pod was deleted (delete)
//	finishedAt                the worker finished the pod (pod.gone)
//	containers[]              init then regular containers, spec order
//	  name, kind              kind: init | sidecar | regular
//	  attempts[]              one per container instance
//	    attempt, containerID
//	    createdAt, startedAt  runtime create / process start
//	    startedTrueAt         status.started became true
//	    readyTransitions[]    {at, ready} each change of status.ready
//	    finishedAt, exitCode, signal, reason, message
//	    killedFor             why the executor killed it (PodTermination,
//	                          LivenessProbe, StartupProbe, PostStartHook)
//	    kill                  {startedAt, graceSeconds, preStop, signaledAt,
//	                           killedAt}: the steps of that kill
//	    postStart             {state, startedAt, doneAt, message}; preStop
//	                          has the same shape
//	statusHistory[]           one entry per change of the status
//	  at, phase, reason
//	  conditions[]            {type, status, reason, message}
//	  containers[]            {name, state running|waiting|terminated,
//	                           reason, ready, started, restartCount}
//	  columns                 {status, ready, restarts}: kubectl get pods
//	events[]                  {type, reason, message, object (fieldPath),
//	                           count, firstTime, lastTime}
//
// A status change is recorded when anything above changes except the
// "(Xs ago)" part of RESTARTS.
package podworker
