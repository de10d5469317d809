package features

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDefaults137(t *testing.T) {
	want := map[string]bool{
		SidecarContainers:                       true,
		ContainerRestartRules:                   true,
		RestartAllContainersOnContainerExits:    false,
		SidecarsRestartableDuringPodTermination: false,
		PodLifecycleSleepAction:                 true,
		PodLifecycleSleepActionAllowZero:        true,
		ContainerStopSignals:                    false,
		KubeletCrashLoopBackOffMax:              false,
		ReduceDefaultCrashLoopBackoffDecay:      false,
		PodReadyToStartContainersCondition:      true,
	}
	got := map[string]bool{}
	for _, name := range Known() {
		got[name] = Default().Enabled(name)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("1.37 defaults (-want +got):\n%s", diff)
	}
	var zero Gates
	if !zero.Enabled(ContainerRestartRules) {
		t.Errorf("zero Gates: ContainerRestartRules off, want the default (on)")
	}
	if Default().Enabled("NoSuchGate") {
		t.Errorf("unknown gate reported enabled")
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    map[string]bool // gates to check
		wantErr string
	}{
		{name: "empty gives defaults", in: "", want: map[string]bool{ContainerRestartRules: true, ContainerStopSignals: false}},
		{name: "turn a beta gate off", in: "ContainerRestartRules=false", want: map[string]bool{ContainerRestartRules: false}},
		{name: "turn alpha gates on, spaces tolerated", in: " ContainerStopSignals=true , SidecarsRestartableDuringPodTermination=TRUE",
			want: map[string]bool{ContainerStopSignals: true, SidecarsRestartableDuringPodTermination: true}},
		{name: "last value wins", in: "ContainerStopSignals=true,ContainerStopSignals=false", want: map[string]bool{ContainerStopSignals: false}},
		{name: "GA gate set to its locked value", in: "SidecarContainers=true", want: map[string]bool{SidecarContainers: true}},
		{name: "AllAlpha, named gate overrides", in: "AllAlpha=true,KubeletCrashLoopBackOffMax=false",
			want: map[string]bool{ContainerStopSignals: true, KubeletCrashLoopBackOffMax: false, ContainerRestartRules: true}},
		{name: "AllBeta off", in: "AllBeta=false", want: map[string]bool{ContainerRestartRules: false, SidecarContainers: true}},
		{name: "unknown gate", in: "Foo=true", wantErr: "unrecognized feature gate: Foo"},
		{name: "names are case-sensitive", in: "containerrestartrules=false", wantErr: "unrecognized feature gate: containerrestartrules"},
		{name: "locked GA gate", in: "SidecarContainers=false", wantErr: "cannot set feature gate SidecarContainers to false, feature is locked to true"},
		{name: "bad bool", in: "ContainerStopSignals=yes", wantErr: "invalid value of ContainerStopSignals=yes"},
		{name: "missing value", in: "ContainerStopSignals", wantErr: "missing bool value for ContainerStopSignals"},
		{name: "dependency off", in: "RestartAllContainersOnContainerExits=true,ContainerRestartRules=false",
			wantErr: "RestartAllContainersOnContainerExits is enabled, but depends on features: ContainerRestartRules"},
		{name: "dependency on", in: "RestartAllContainersOnContainerExits=true", want: map[string]bool{RestartAllContainersOnContainerExits: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := Parse(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Parse(%q) error = %v, want one containing %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			got := map[string]bool{}
			for name := range tt.want {
				got[name] = g.Enabled(name)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Parse(%q) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestWithDoesNotMutate(t *testing.T) {
	base := Default()
	off, err := base.With(ContainerRestartRules, false)
	if err != nil {
		t.Fatal(err)
	}
	if !base.Enabled(ContainerRestartRules) || off.Enabled(ContainerRestartRules) {
		t.Errorf("With changed the receiver or did not apply: base=%v off=%v",
			base.Enabled(ContainerRestartRules), off.Enabled(ContainerRestartRules))
	}
	if _, err := base.With("Nope", true); err == nil {
		t.Errorf("With(unknown) succeeded")
	}
}

func TestString(t *testing.T) {
	g, err := Parse("ContainerStopSignals=true,ContainerRestartRules=false,SidecarContainers=true")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := g.String(), "ContainerRestartRules=false,ContainerStopSignals=true"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if got := Default().String(); got != "" {
		t.Errorf("Default().String() = %q, want empty", got)
	}
}
