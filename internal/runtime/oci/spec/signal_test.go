package spec

import (
	"syscall"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

func TestStopSignal(t *testing.T) {
	for _, tc := range []struct {
		name      string
		lifecycle *corev1.Lifecycle
		image     *v1.ConfigFile
		want      syscall.Signal
		wantErr   bool
	}{
		{name: "default", want: syscall.SIGTERM},
		{name: "image without STOPSIGNAL", image: &v1.ConfigFile{}, want: syscall.SIGTERM},
		{name: "image name", image: &v1.ConfigFile{Config: v1.Config{StopSignal: "SIGQUIT"}}, want: syscall.SIGQUIT},
		{name: "image short lower-case name", image: &v1.ConfigFile{Config: v1.Config{StopSignal: "int"}}, want: syscall.SIGINT},
		{name: "image number", image: &v1.ConfigFile{Config: v1.Config{StopSignal: "10"}}, want: syscall.SIGUSR1},
		{name: "lifecycle beats image", lifecycle: &corev1.Lifecycle{StopSignal: ptr.To(corev1.SIGUSR2)}, image: &v1.ConfigFile{Config: v1.Config{StopSignal: "SIGQUIT"}}, want: syscall.SIGUSR2},
		{name: "lifecycle real-time", lifecycle: &corev1.Lifecycle{StopSignal: ptr.To(corev1.Signal("SIGRTMIN+3"))}, want: syscall.Signal(37)},
		{name: "image RTMAX-2", image: &v1.ConfigFile{Config: v1.Config{StopSignal: "RTMAX-2"}}, want: syscall.Signal(62)},
		{name: "bad image signal", image: &v1.ConfigFile{Config: v1.Config{StopSignal: "SIGBOGUS"}}, wantErr: true},
		{name: "out of range", image: &v1.ConfigFile{Config: v1.Config{StopSignal: "65"}}, wantErr: true},
		{name: "RTMIN overflow", image: &v1.ConfigFile{Config: v1.Config{StopSignal: "SIGRTMIN+31"}}, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &corev1.Container{Name: "main", Lifecycle: tc.lifecycle}
			got, err := StopSignal(c, tc.image)
			if (err != nil) != tc.wantErr {
				t.Fatalf("StopSignal error = %v, want error %v", err, tc.wantErr)
			}
			if got != tc.want {
				t.Errorf("StopSignal = %v (%d), want %v (%d)", got, got, tc.want, tc.want)
			}
		})
	}
}
