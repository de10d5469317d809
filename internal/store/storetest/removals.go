package storetest

import (
	"errors"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podrun/podrun/internal/store"
)

// testRemovals checks removal requests: only MarkPodForRemoval makes one
// (a deletion mark written by UpdatePod does not), it applies its update
// like UpdatePod, and DeletePod takes it away with the pod.
func testRemovals(t *testing.T, s *store.Store) {
	ctx := ctxFor(t)
	requested := func(name string) bool {
		t.Helper()
		ok, err := s.RemovalRequested(ctx, "default", name)
		if err != nil {
			t.Fatalf("RemovalRequested(%s): %v", name, err)
		}
		return ok
	}
	mark := func(p *corev1.Pod) error {
		now := metav1.NewTime(time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC))
		p.DeletionTimestamp = &now
		return nil
	}
	for _, name := range []string{"stopped", "deleted"} {
		if _, err := s.CreatePod(ctx, Pod("default", name)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.UpdatePod(ctx, "default", "stopped", mark); err != nil {
		t.Fatal(err)
	}
	if requested("stopped") {
		t.Error("a pod marked by UpdatePod has a removal request")
	}
	got, err := s.MarkPodForRemoval(ctx, "default", "deleted", mark)
	if err != nil {
		t.Fatalf("MarkPodForRemoval: %v", err)
	}
	if got.DeletionTimestamp == nil {
		t.Error("MarkPodForRemoval returned the pod without its update")
	}
	if stored, err := s.GetPod(ctx, "default", "deleted"); err != nil || stored.DeletionTimestamp == nil {
		t.Errorf("pod after MarkPodForRemoval: %v, %v; want it marked", stored, err)
	}
	if !requested("deleted") {
		t.Error("no removal request after MarkPodForRemoval")
	}
	if _, err := s.MarkPodForRemoval(ctx, "default", "missing", mark); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("MarkPodForRemoval of a missing pod: err = %v, want ErrNotFound", err)
	}
	if requested("missing") {
		t.Error("a missing pod has a removal request")
	}
	failing := errors.New("refused")
	if _, err := s.MarkPodForRemoval(ctx, "default", "stopped", func(*corev1.Pod) error { return failing }); !errors.Is(err, failing) {
		t.Errorf("MarkPodForRemoval with a failing update: err = %v, want it", err)
	}
	if requested("stopped") {
		t.Error("a failed MarkPodForRemoval left a removal request")
	}
	if err := s.DeletePod(ctx, "default", "deleted"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreatePod(ctx, Pod("default", "deleted")); err != nil {
		t.Fatal(err)
	}
	if requested("deleted") {
		t.Error("a new pod of a removed pod's name inherited its removal request")
	}
}
