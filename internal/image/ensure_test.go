package image

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	corev1 "k8s.io/api/core/v1"
)

func TestEnsureImage(t *testing.T) {
	requireRoot(t)
	img := fixedImage(t, "ensure")
	digest, _ := img.Digest()
	tests := []struct {
		name       string
		ref        string // REG is the test registry
		policy     corev1.PullPolicy
		present    bool
		wantPulled bool
		wantReason string
		wantMsg    string // prefix of the error message
		wantBlobs  bool   // whether blobs were downloaded
	}{
		{name: "Never, absent", ref: "REG/team/app", policy: corev1.PullNever,
			wantReason: "ErrImageNeverPull", wantMsg: `Container image "REG/team/app:latest" is not present with pull policy of Never`},
		{name: "Never, present", ref: "REG/team/app:v1", policy: corev1.PullNever, present: true},
		{name: "IfNotPresent, present", ref: "REG/team/app:v1", policy: corev1.PullIfNotPresent, present: true},
		{name: "IfNotPresent, absent", ref: "REG/team/app:v1", policy: corev1.PullIfNotPresent, wantPulled: true, wantBlobs: true},
		{name: "Always, present", ref: "REG/team/app:v1", policy: corev1.PullAlways, present: true, wantPulled: true},
		{name: "default for latest is Always", ref: "REG/team/app", present: true, wantPulled: true},
		{name: "default for a tag is IfNotPresent", ref: "REG/team/app:v1", present: true},
		{name: "Always, not in the registry", ref: "REG/team/gone:v1", policy: corev1.PullAlways,
			wantReason: "ErrImagePull", wantMsg: `failed to pull and unpack image "REG/team/gone:v1"`},
		{name: "invalid name", ref: "REG/Team/App", policy: corev1.PullAlways,
			wantReason: "InvalidImageName", wantMsg: `Failed to apply default image tag "REG/Team/App"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			reg := newTestRegistry(t, "", "")
			reg.push(t, "team/app:v1", img)
			reg.push(t, "team/app:latest", img)
			ref := strings.ReplaceAll(tc.ref, "REG", reg.host)
			s := openStore(t, t.TempDir())
			if tc.present {
				if _, err := s.Pull(ctx, ref); err != nil {
					t.Fatalf("preload: %v", err)
				}
				reg.reset()
			}
			resolved, pulled, err := s.EnsureImage(ctx, ref, tc.policy, nil)
			if got := Reason(err); got != tc.wantReason {
				t.Fatalf("EnsureImage error = %v (reason %q), want reason %q", err, got, tc.wantReason)
			}
			if err != nil {
				want := strings.ReplaceAll(tc.wantMsg, "REG", reg.host)
				if !strings.HasPrefix(err.Error(), want) {
					t.Errorf("EnsureImage error = %q, want prefix %q", err, want)
				}
				return
			}
			if pulled != tc.wantPulled {
				t.Errorf("pulled = %v, want %v", pulled, tc.wantPulled)
			}
			wantResolved := reg.host + "/team/app@" + digest.String()
			if resolved != wantResolved {
				t.Errorf("resolved = %q, want %q", resolved, wantResolved)
			}
			requests, blobs := reg.counts()
			if !tc.wantPulled && len(requests) != 0 {
				t.Errorf("registry requests without a pull: %v", requests)
			}
			if gotBlobs := len(blobs) > 0; gotBlobs != tc.wantBlobs {
				t.Errorf("blob downloads = %v, want any: %v", blobs, tc.wantBlobs)
			}
		})
	}
}

func TestDefaultPullPolicy(t *testing.T) {
	got := map[string]corev1.PullPolicy{}
	refs := []string{"busybox", "busybox:latest", "busybox:1.36", "registry:5000/x", "busybox@sha256:" + strings.Repeat("a", 64)}
	for _, r := range refs {
		got[r] = DefaultPullPolicy(r)
	}
	want := map[string]corev1.PullPolicy{
		"busybox": corev1.PullAlways, "busybox:latest": corev1.PullAlways, "busybox:1.36": corev1.PullIfNotPresent,
		"registry:5000/x": corev1.PullAlways, "busybox@sha256:" + strings.Repeat("a", 64): corev1.PullIfNotPresent,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("DefaultPullPolicy (-want +got):\n%s", diff)
	}
}

func TestNormalize(t *testing.T) {
	tests := map[string]string{
		"alpine":                        "docker.io/library/alpine:latest",
		"alpine:3.20":                   "docker.io/library/alpine:3.20",
		"library/alpine":                "docker.io/library/alpine:latest",
		"docker.io/alpine":              "docker.io/library/alpine:latest",
		"index.docker.io/user/app:v1":   "docker.io/user/app:v1",
		"quay.io/team/app":              "quay.io/team/app:latest",
		"localhost:5000/app:v2":         "localhost:5000/app:v2",
		"postgres:9-alpine":             "docker.io/library/postgres:9-alpine",
		"alpine@sha256:" + hex64("b"):   "docker.io/library/alpine@sha256:" + hex64("b"),
		"alpine:3@sha256:" + hex64("c"): "docker.io/library/alpine@sha256:" + hex64("c"),
	}
	for in, want := range tests {
		got, err := Normalize(in)
		if err != nil || got != want {
			t.Errorf("Normalize(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "Alpine", "alpine:", " alpine", "a b"} {
		if _, err := Normalize(bad); Reason(err) != "InvalidImageName" {
			t.Errorf("Normalize(%q) error = %v, want InvalidImageName", bad, err)
		}
	}
}

func hex64(c string) string { return strings.Repeat(c, 64) }

func TestEnsureImageResolvesIndexDigest(t *testing.T) {
	requireRoot(t)
	ctx := context.Background()
	reg := newTestRegistry(t, "", "")
	amd := fixedImage(t, "amd64")
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: amd, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}})
	ref := reg.pushIndex(t, "multi:v1", idx)
	idxDigest, _ := idx.Digest()
	want := reg.host + "/multi@" + idxDigest.String()
	s := openStore(t, t.TempDir(), WithPlatform(v1.Platform{OS: "linux", Architecture: "amd64"}))
	for _, policy := range []corev1.PullPolicy{corev1.PullIfNotPresent, corev1.PullNever, corev1.PullAlways} {
		resolved, _, err := s.EnsureImage(ctx, ref, policy, nil)
		if err != nil || resolved != want {
			t.Errorf("EnsureImage(%s) = %q, %v; want %q (the index digest, as containerd reports imageID)", policy, resolved, err, want)
		}
	}
}
