package spec

import (
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

var update = flag.Bool("update", false, "rewrite testdata/*.json from the current output")

// basePod is a defaulted pod with one container "main".
func basePod() *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: "web", Namespace: "default", UID: "0000-1111",
			Labels: map[string]string{"app": "web"},
		},
		Spec: corev1.PodSpec{
			NodeName:           "node-1",
			ServiceAccountName: "default",
			Containers: []corev1.Container{{
				Name:                     "main",
				Image:                    "busybox",
				TerminationMessagePath:   "/dev/termination-log",
				TerminationMessagePolicy: corev1.TerminationMessageReadFile,
			}},
		},
	}
}

func busybox() *v1.ConfigFile {
	return &v1.ConfigFile{Config: v1.Config{
		Cmd: []string{"sh"},
		Env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "IMAGE_ONLY=1"},
	}}
}

// baseInput is a sandboxed container with every host file provided.
func baseInput(pod *corev1.Pod) Input {
	return Input{
		Pod:       pod,
		Container: &pod.Spec.Containers[0],
		Image:     busybox(),
		Info:      PodInfo{PodIPs: []string{"10.88.0.5"}, HostIPs: []string{"192.168.1.10"}, NodeName: "node-1"},
		Rootfs:    "/var/lib/podrun/pods/0000-1111/main/rootfs",
		Namespaces: Namespaces{
			Network: "/var/run/netns/podrun-0000-1111",
			UTS:     "/proc/4242/ns/uts",
			IPC:     "/proc/4242/ns/ipc",
		},
		EtcHosts:               "/var/lib/podrun/pods/0000-1111/etc-hosts",
		ResolvConf:             "/var/lib/podrun/pods/0000-1111/resolv.conf",
		EtcHostname:            "/var/lib/podrun/pods/0000-1111/hostname",
		TerminationMessageFile: "/var/lib/podrun/pods/0000-1111/containers/main/0/termination-log",
		CgroupsPath:            "/podrun/pod0000-1111/main",
		PidsLimit:              4096,
		Arch:                   "amd64",
	}
}

func TestGenerateGolden(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*Input)
	}{
		{"default", func(in *Input) {}},
		{"command-env-resources", func(in *Input) {
			c := in.Container
			c.Command = []string{"sh", "-c"}
			c.Args = []string{"echo $(GREETING) $$(HOME)"}
			c.WorkingDir = "/work"
			c.Env = []corev1.EnvVar{
				{Name: "GREETING", Value: "hello from $(POD_NAME)"},
				{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
				{Name: "MEM", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.memory", Divisor: resource.MustParse("1Mi")}}},
			}
			c.Resources = corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
				Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
			}
		}},
		{"hardened", func(in *Input) {
			in.Pod.Spec.SecurityContext = &corev1.PodSecurityContext{
				RunAsUser: ptr.To[int64](1000), RunAsGroup: ptr.To[int64](3000),
				FSGroup: ptr.To[int64](2000), SupplementalGroups: []int64{4000},
				RunAsNonRoot: ptr.To(true),
				Sysctls:      []corev1.Sysctl{{Name: "net.ipv4.ping_group_range", Value: "0 2147483647"}},
			}
			in.Container.SecurityContext = &corev1.SecurityContext{
				ReadOnlyRootFilesystem:   ptr.To(true),
				AllowPrivilegeEscalation: ptr.To(false),
				Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}, Add: []corev1.Capability{"NET_BIND_SERVICE"}},
				SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
			}
			in.Mounts = []specs.Mount{
				{Destination: "/data/cache", Type: "bind", Source: "/pods/x/volumes/cache/sub", Options: []string{"rbind", "rprivate", "ro"}},
				{Destination: "/data", Type: "bind", Source: "/pods/x/volumes/data", Options: []string{"rbind", "rprivate", "rw"}},
				{Destination: "/var/log/host", Type: "bind", Source: "/var/log", Options: []string{"rbind", "rslave", "ro"}},
			}
		}},
		{"privileged-hostnetwork-sidecar", func(in *Input) {
			in.Kind = KindSidecar
			in.Pod.Spec.HostNetwork = true
			in.Pod.Spec.HostPID = true
			in.Pod.Spec.HostIPC = true
			in.ShmPath = "/dev/shm"
			in.Container.SecurityContext = &corev1.SecurityContext{Privileged: ptr.To(true)}
			in.HostDevices = []specs.LinuxDevice{{Path: "/dev/fuse", Type: "c", Major: 10, Minor: 229, FileMode: ptr.To(os.FileMode(0o666))}}
			in.Namespaces = Namespaces{}
		}},
		{"shared-pid-unconfined-image-user", func(in *Input) {
			in.Kind = KindInit
			in.Pod.Spec.ShareProcessNamespace = ptr.To(true)
			in.Namespaces.PID = "/proc/4242/ns/pid"
			in.Namespaces.Cgroup = true
			in.ShmPath = "/var/lib/podrun/pods/0000-1111/shm"
			in.SeccompUnconfinedByDefault = true
			in.Container.SecurityContext = &corev1.SecurityContext{ProcMount: ptr.To(corev1.UnmaskedProcMount)}
			in.Image.Config.User = "app"
			in.Image.Config.Entrypoint = []string{"/bin/entry"}
			in.Image.Config.WorkingDir = "/srv"
			in.Container.Args = []string{"serve"}
			in.Container.Lifecycle = &corev1.Lifecycle{StopSignal: ptr.To(corev1.SIGUSR1)}
			in.Users = mustUserDB(t, "root:x:0:0::/root:/bin/sh\napp:x:1001:1001::/home/app:/bin/sh\n",
				"root:x:0:\napp:x:1001:\nwheel:x:10:root,app\naudio:x:29:app\n")
			// A volume at /etc/hosts replaces the pod's hosts file.
			in.Mounts = []specs.Mount{{Destination: "/etc/hosts", Type: "bind", Source: "/custom/hosts", Options: []string{"rbind", "rprivate", "ro"}}}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := baseInput(basePod())
			tc.mutate(&in)
			got, err := Generate(in)
			if err != nil {
				t.Fatalf("Generate: %v", err)
			}
			data, err := json.MarshalIndent(got, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			data = append(data, '\n')
			golden := filepath.Join("testdata", tc.name+".json")
			if *update {
				if err := os.WriteFile(golden, data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), string(data)); diff != "" {
				t.Errorf("config.json mismatch for %s (-want +got):\n%s", tc.name, diff)
			}
		})
	}
}

func mustUserDB(t *testing.T, passwd, group string) *UserDB {
	t.Helper()
	db, err := ParseUserDB(strings.NewReader(passwd), strings.NewReader(group))
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func TestGenerateErrors(t *testing.T) {
	for _, tc := range []struct {
		name       string
		mutate     func(*Input)
		wantConfig string // the ConfigError message, or "" for another error
		wantErr    error
	}{
		{
			name: "runAsNonRoot with a root image",
			mutate: func(in *Input) {
				in.Pod.Spec.SecurityContext = &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true)}
			},
			wantConfig: `container has runAsNonRoot and image will run as root (pod: "web_default(0000-1111)", container: main)`,
		},
		{
			name: "runAsNonRoot with image user 0",
			mutate: func(in *Input) {
				in.Image.Config.User = "0:0"
				in.Container.SecurityContext = &corev1.SecurityContext{RunAsNonRoot: ptr.To(true)}
			},
			wantConfig: `container has runAsNonRoot and image will run as root (pod: "web_default(0000-1111)", container: main)`,
		},
		{
			name: "runAsNonRoot with runAsUser 0",
			mutate: func(in *Input) {
				in.Container.SecurityContext = &corev1.SecurityContext{RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To[int64](0)}
			},
			wantConfig: `container's runAsUser breaks non-root policy (pod: "web_default(0000-1111)", container: main)`,
		},
		{
			name: "runAsNonRoot with a named image user",
			mutate: func(in *Input) {
				in.Image.Config.User = "app"
				in.Container.SecurityContext = &corev1.SecurityContext{RunAsNonRoot: ptr.To(true)}
			},
			wantConfig: `container has runAsNonRoot and image has non-numeric user (app), cannot verify user is non-root (pod: "web_default(0000-1111)", container: main)`,
		},
		{
			name: "runAsNonRoot with an image uid out of range",
			mutate: func(in *Input) {
				in.Image.Config.User = "4294967296"
				in.Container.SecurityContext = &corev1.SecurityContext{RunAsNonRoot: ptr.To(true)}
			},
			wantConfig: `container has runAsNonRoot and image has an invalid user id (4294967296). (Must be 1-(2147483647)): must be between 0 and 2147483647, inclusive (pod: "web_default(0000-1111)", container: main)`,
		},
		{
			name: "missing configmap",
			mutate: func(in *Input) {
				in.Container.Env = []corev1.EnvVar{{Name: "V", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "x"}, Key: "k"}}}}
			},
			wantConfig: `configmap "x" not found`,
		},
		{
			name: "no command",
			mutate: func(in *Input) {
				in.Image = &v1.ConfigFile{}
			},
			wantErr: ErrNoCommand,
		},
		{
			name: "unknown image user name",
			mutate: func(in *Input) {
				in.Image.Config.User = "nobody"
			},
			wantErr: nil,
		},
		{
			name: "localhost profile not provided",
			mutate: func(in *Input) {
				in.Container.SecurityContext = &corev1.SecurityContext{SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeLocalhost, LocalhostProfile: ptr.To("p.json")}}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := baseInput(basePod())
			tc.mutate(&in)
			_, err := Generate(in)
			if err == nil {
				t.Fatal("Generate succeeded, want an error")
			}
			msg, isConfig := IsConfigError(err)
			if tc.wantConfig != "" {
				if !isConfig || msg != tc.wantConfig {
					t.Errorf("error = %v (config error %v)\nwant ConfigError %q", err, isConfig, tc.wantConfig)
				}
				return
			}
			if isConfig {
				t.Errorf("error %v is a ConfigError, want another kind", err)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("error = %v, want %v", err, tc.wantErr)
			}
		})
	}
}
