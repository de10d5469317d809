package spec

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	corev1 "k8s.io/api/core/v1"
)

func TestArgs(t *testing.T) {
	img := func(ep, cmd []string) *v1.ConfigFile {
		return &v1.ConfigFile{Config: v1.Config{Entrypoint: ep, Cmd: cmd}}
	}
	env := map[string]string{"NAME": "world", "EMPTY": ""}
	for _, tc := range []struct {
		name    string
		command []string
		args    []string
		image   *v1.ConfigFile
		want    []string
		wantErr error
	}{
		{name: "image entrypoint and cmd", image: img([]string{"/ep"}, []string{"c1", "c2"}), want: []string{"/ep", "c1", "c2"}},
		{name: "image cmd only", image: img(nil, []string{"sh"}), want: []string{"sh"}},
		{name: "command replaces entrypoint and drops cmd", command: []string{"/bin/x"}, image: img([]string{"/ep"}, []string{"c1"}), want: []string{"/bin/x"}},
		{name: "args replace cmd and keep entrypoint", args: []string{"a1"}, image: img([]string{"/ep"}, []string{"c1"}), want: []string{"/ep", "a1"}},
		{name: "command and args", command: []string{"/bin/x"}, args: []string{"a1"}, image: img([]string{"/ep"}, []string{"c1"}), want: []string{"/bin/x", "a1"}},
		{name: "entrypoint of one empty string is none", image: img([]string{""}, []string{"c1"}), want: []string{"c1"}},
		{name: "args with empty entrypoint", args: []string{"a1"}, image: img([]string{""}, []string{"c1"}), want: []string{"a1"}},
		{name: "expansion in command and args", command: []string{"echo", "$(NAME)"}, args: []string{"$$(NAME)", "$(MISSING)", "[$(EMPTY)]"}, image: img(nil, nil), want: []string{"echo", "world", "$(NAME)", "$(MISSING)", "[]"}},
		{name: "no image config", command: []string{"/bin/x"}, want: []string{"/bin/x"}},
		{name: "nothing to run", image: img(nil, nil), wantErr: ErrNoCommand},
		{name: "nothing to run without config", wantErr: ErrNoCommand},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &corev1.Container{Name: "c", Command: tc.command, Args: tc.args}
			got, err := Args(c, env, tc.image)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Args error = %v, want %v", err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Args mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestWorkingDir(t *testing.T) {
	for _, tc := range []struct {
		container, image, want string
	}{
		{"", "", "/"},
		{"", "/srv", "/srv"},
		{"/work", "/srv", "/work"},
	} {
		got := workingDir(&corev1.Container{WorkingDir: tc.container}, &v1.ConfigFile{Config: v1.Config{WorkingDir: tc.image}})
		if got != tc.want {
			t.Errorf("workingDir(%q, image %q) = %q, want %q", tc.container, tc.image, got, tc.want)
		}
	}
}
