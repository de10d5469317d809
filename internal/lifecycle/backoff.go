package lifecycle

import (
	"time"
)

// Crash-loop and image-pull back-off constants (SEMANTICS.md §3.4).
const (
	// InitialBackoff is the first non-zero restart delay.
	InitialBackoff = 10 * time.Second
	// MaxBackoff is the default ceiling of both back-offs.
	MaxBackoff = 300 * time.Second
	// BackoffResetAfter: an exit this long after the previous restart
	// decision starts a fresh curve (the kubelet's flat 600 s override of
	// client-go's 2×max rule).
	BackoffResetAfter = 600 * time.Second
)

// BackoffEntry is one back-off curve, as client-go's flowcontrol.Backoff
// keeps per key: the current delay and when it was last advanced.
type BackoffEntry struct {
	Delay      time.Duration
	LastUpdate time.Time
}

// backoffCurve holds a curve's initial delay and ceiling.
type backoffCurve struct {
	initial, max time.Duration
}

// crashLoopCurve is the restart curve under s (§3.4, KEP-5593: a ceiling
// below 10 s lowers the initial delay too).
func crashLoopCurve(s Settings) backoffCurve {
	max := s.MaxContainerRestartPeriod
	if max <= 0 {
		max = MaxBackoff
	}
	return backoffCurve{initial: min(InitialBackoff, max), max: max}
}

// expired reports whether an entry last advanced at lastUpdate no longer
// applies to an event at eventTime (§3.4 reset).
func expired(eventTime, lastUpdate time.Time) bool {
	return eventTime.Sub(lastUpdate) > BackoffResetAfter
}

// next advances entry (nil = none) for an event at eventTime, decided at
// now, as flowcontrol.Backoff.Next does without jitter.
func (c backoffCurve) next(entry *BackoffEntry, eventTime, now time.Time) *BackoffEntry {
	if entry == nil || expired(eventTime, entry.LastUpdate) {
		return &BackoffEntry{Delay: c.initial, LastUpdate: now}
	}
	return &BackoffEntry{Delay: min(2*entry.Delay, c.max), LastUpdate: now}
}

// inBackoffSince reports whether an event at eventTime is still inside
// entry's window at now, as flowcontrol.Backoff.IsInBackOffSince does.
func inBackoffSince(entry *BackoffEntry, eventTime, now time.Time) bool {
	if entry == nil || expired(eventTime, entry.LastUpdate) {
		return false
	}
	return now.Sub(eventTime) < entry.Delay
}

// CrashLoopEntry replays the restart decisions recorded in a container's
// attempts and returns the back-off entry in force after the newest one
// (nil if no restart ever went through the gate). Restart i was decided
// when attempt i was created, for the exit of attempt i-1 (§3.4: the gate
// runs at every start of a container that has an exited instance). Being
// derived from the attempts, it survives a supervisor restart.
//
// An attempt killed by a probe (or for an unknown state) is restarted in
// the sync that killed it, and the kubelet gates that start against the
// snapshot taken before the kill: the newest exited instance is then the
// one before the killed attempt, and without one the gate is skipped (no
// entry is created). Only when that check refuses does the restart wait
// for the killed attempt's own window. This is why a sidecar failing its
// startup probe restarts at once twice before back-off engages (§17).
func CrashLoopEntry(s Settings, c *ContainerObservation) *BackoffEntry {
	if c == nil {
		return nil
	}
	curve := crashLoopCurve(s)
	var entry *BackoffEntry
	for i := 1; i < len(c.Attempts); i++ {
		prev, cur := &c.Attempts[i-1], &c.Attempts[i]
		if cur.CreatedAt.IsZero() {
			continue
		}
		if killedForRestart(prev) {
			if pass, older := killSyncGate(entry, c.Attempts[:i-1], prev); pass {
				if older != nil {
					entry = curve.next(entry, older.FinishedAt, cur.CreatedAt)
				}
				continue
			}
		}
		if prev.FinishedAt.IsZero() {
			continue
		}
		entry = curve.next(entry, prev.FinishedAt, cur.CreatedAt)
	}
	return entry
}

// killSyncGate is the gate of a restart made in the same sync as the kill
// of killed, whose earlier attempts are before: it passes when there is no
// earlier exited instance (older is then nil: no entry is advanced) or
// when that instance is out of entry's window at the end of the kill.
func killSyncGate(entry *BackoffEntry, before []Attempt, killed *Attempt) (pass bool, older *Attempt) {
	if len(before) == 0 || before[len(before)-1].FinishedAt.IsZero() {
		return true, nil
	}
	older = &before[len(before)-1]
	return !inBackoffSince(entry, older.FinishedAt, killed.FinishedAt), older
}

// restartsInKillSync reports whether the current attempt of c was killed
// for a restart and that restart passes the gate of the kill's own sync
// (see CrashLoopEntry): the start happens at once.
func restartsInKillSync(s Settings, c *ContainerObservation) bool {
	cur := c.Current()
	if cur == nil || cur.State != AttemptExited || !killedForRestart(cur) {
		return false
	}
	entry := CrashLoopEntry(s, c)
	pass, _ := killSyncGate(entry, c.Attempts[:len(c.Attempts)-1], cur)
	return pass
}

// CrashLoopBackOff reports whether the newest attempt of c, which has
// exited, may not be restarted yet at now; if so, it returns the delay in
// force and the instant the restart becomes allowed (§3.4, R1.4).
func CrashLoopBackOff(s Settings, c *ContainerObservation, now time.Time) (waiting bool, delay time.Duration, until time.Time) {
	cur := c.Current()
	if cur == nil || cur.State != AttemptExited || cur.FinishedAt.IsZero() {
		return false, 0, time.Time{}
	}
	if restartsInKillSync(s, c) {
		return false, 0, time.Time{}
	}
	entry := CrashLoopEntry(s, c)
	if !inBackoffSince(entry, cur.FinishedAt, now) {
		return false, 0, time.Time{}
	}
	return true, entry.Delay, cur.FinishedAt.Add(entry.Delay)
}

// NextImagePullBackoff advances an image-pull back-off entry for a failed
// pull at now (10 s doubling to 300 s, §3.4 last point).
func NextImagePullBackoff(entry *BackoffEntry, now time.Time) *BackoffEntry {
	return backoffCurve{initial: InitialBackoff, max: MaxBackoff}.next(entry, now, now)
}

// ImagePullBackOff reports whether a pull that failed at failedAt may not be
// retried yet at now, and until when.
func ImagePullBackOff(entry *BackoffEntry, failedAt, now time.Time) (waiting bool, until time.Time) {
	if !inBackoffSince(entry, failedAt, now) {
		return false, time.Time{}
	}
	return true, failedAt.Add(entry.Delay)
}
