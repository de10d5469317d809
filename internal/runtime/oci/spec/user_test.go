package spec

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

func TestProcessUser(t *testing.T) {
	db := mustUserDB(t,
		"root:x:0:0:root:/root:/bin/sh\n# comment\nbroken line\napp:x:1001:1002::/home/app:/bin/sh\nnobody:x:65534:65534::/:/sbin/nologin\n",
		"root:x:0:\nwheel:x:10:root,app\nappgrp:x:1002:\nstaff:x:50:app\n")
	for _, tc := range []struct {
		name      string
		imageUser string
		pod       *corev1.PodSecurityContext
		sc        *corev1.SecurityContext
		db        *UserDB
		want      specs.User
		wantErr   bool
	}{
		{name: "image without user is root", db: db, want: specs.User{UID: 0, GID: 0, AdditionalGids: []uint32{0, 10}}},
		{name: "image user by name", imageUser: "app", db: db, want: specs.User{UID: 1001, GID: 1002, AdditionalGids: []uint32{1002, 10, 50}}},
		{name: "image user by number found in passwd", imageUser: "1001", db: db, want: specs.User{UID: 1001, GID: 1002, AdditionalGids: []uint32{1002, 10, 50}}},
		{name: "image user by number unknown", imageUser: "4242", db: db, want: specs.User{UID: 4242, GID: 0, AdditionalGids: []uint32{0}}},
		{name: "image user and group numbers", imageUser: "1001:7", db: db, want: specs.User{UID: 1001, GID: 7, AdditionalGids: []uint32{7, 10, 50}}},
		{name: "image user and group names", imageUser: "app:wheel", db: db, want: specs.User{UID: 1001, GID: 10, AdditionalGids: []uint32{10, 50}}},
		{name: "unknown user name", imageUser: "ghost", db: db, wantErr: true},
		{name: "unknown group name", imageUser: "app:ghosts", db: db, wantErr: true},
		{name: "named user without passwd", imageUser: "app", wantErr: true},
		{name: "runAsUser beats image user and its group", imageUser: "app:wheel", sc: &corev1.SecurityContext{RunAsUser: ptr.To[int64](65534)}, db: db,
			want: specs.User{UID: 65534, GID: 65534, AdditionalGids: []uint32{65534}}},
		{name: "pod runAsUser and runAsGroup, fsGroup, supplementalGroups", db: db,
			pod:  &corev1.PodSecurityContext{RunAsUser: ptr.To[int64](1001), RunAsGroup: ptr.To[int64](3000), FSGroup: ptr.To[int64](2000), SupplementalGroups: []int64{4000, 2000}},
			want: specs.User{UID: 1001, GID: 3000, AdditionalGids: []uint32{3000, 10, 50, 2000, 4000}}},
		{name: "container runAsGroup overrides pod's", imageUser: "1001", db: db,
			pod:  &corev1.PodSecurityContext{RunAsGroup: ptr.To[int64](3000)},
			sc:   &corev1.SecurityContext{RunAsGroup: ptr.To[int64](5)},
			want: specs.User{UID: 1001, GID: 5, AdditionalGids: []uint32{5, 10, 50}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pod := basePod()
			pod.Spec.SecurityContext = tc.pod
			c := &pod.Spec.Containers[0]
			c.SecurityContext = tc.sc
			img := &v1.ConfigFile{Config: v1.Config{User: tc.imageUser}}
			got, err := processUser(pod, effectiveSC(pod, c), img, tc.db)
			if (err != nil) != tc.wantErr {
				t.Fatalf("processUser error = %v, want error %v", err, tc.wantErr)
			}
			if tc.wantErr {
				return
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("processUser mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestVerifyRunAsNonRootAllows(t *testing.T) {
	for _, tc := range []struct {
		name      string
		imageUser string
		sc        *corev1.SecurityContext
	}{
		{"not requested", "", nil},
		{"explicitly false", "", &corev1.SecurityContext{RunAsNonRoot: ptr.To(false)}},
		{"numeric non-root image user", "1000", &corev1.SecurityContext{RunAsNonRoot: ptr.To(true)}},
		{"numeric image user with group", "1000:0", &corev1.SecurityContext{RunAsNonRoot: ptr.To(true)}},
		{"runAsUser non-root", "", &corev1.SecurityContext{RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To[int64](7)}},
	} {
		pod := basePod()
		c := &pod.Spec.Containers[0]
		c.SecurityContext = tc.sc
		img := &v1.ConfigFile{Config: v1.Config{User: tc.imageUser}}
		if err := verifyRunAsNonRoot(pod, c, effectiveSC(pod, c), img); err != nil {
			t.Errorf("%s: refused: %v", tc.name, err)
		}
	}
}
