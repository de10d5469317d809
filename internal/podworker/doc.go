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
// # Continuing a pod another worker drove
//
// After every step the worker saves a Checkpoint (Store.SaveCheckpoint,
// after the status and the record): the observation the planner reads,
// the record, the aggregated events, the BackOff and Unhealthy
// bookkeeping and the deletion under way. When its process dies the
// containers keep running; a worker created with Config.Resume starts
// from the last checkpoint (or from nothing, if none was saved) and its
// first step reconciles with the runtime before it plans — finds the
// sandbox by pod UID, adopts the instances started after the last save,
// removes strays, settles the hooks whose goroutines died — as
// Worker.resume documents, following the kubelet after its own restart:
// no container's status changes because of the restart. Restart counts,
// crash-loop back-off, activeDeadlineSeconds, kills and the termination
// keep counting from when they began, and the probe results of the
// instances that predate the resume carry over until the prober reports
// its own (ProbeTarget.Seed), so a started sidecar stays started
// (kubernetes/kubernetes#137146).
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
