package podworker

import "context"

// Step exposes step to the external tests.
func (w *Worker) Step(ctx context.Context, ev Event) error { return w.step(ctx, ev) }

// WakeAt exposes the next wake-up the planner asked for.
func (w *Worker) WakeAt() interface{ IsZero() bool } { return w.wakeAt }

// Finished reports whether the planner said the pod is done.
func (w *Worker) Finished() bool { return w.finished }

// Stop cancels and waits for the goroutines a step-driven worker started.
func (w *Worker) Stop() {
	w.bgCancel()
	w.wg.Wait()
}
