package spec

import (
	"fmt"
	goruntime "runtime"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	corev1 "k8s.io/api/core/v1"
)

// Kind says which list of the pod spec a container comes from.
type Kind int

// The kinds of containers.
const (
	// KindRegular is an entry of spec.containers.
	KindRegular Kind = iota
	// KindInit is an init container that runs to completion.
	KindInit
	// KindSidecar is an init container with restartPolicy: Always.
	KindSidecar
)

// String returns "regular", "init" or "sidecar".
func (k Kind) String() string {
	switch k {
	case KindInit:
		return "init"
	case KindSidecar:
		return "sidecar"
	default:
		return "regular"
	}
}

// Namespaces are the sandbox's namespaces a container joins, as paths
// (/proc/PID/ns/net or a bind-mounted file). An empty path means: the
// host's when the pod asks for it (hostNetwork, hostIPC, hostPID), else a
// new namespace of the container's own.
type Namespaces struct {
	// Network and UTS are ignored with hostNetwork (the host's are used).
	Network string
	UTS     string
	// IPC is ignored with hostIPC.
	IPC string
	// PID is the sandbox's PID namespace for shareProcessNamespace; ignored
	// with hostPID; empty gives the container its own.
	PID string
	// Cgroup gives the container a cgroup namespace (containerd does on a
	// cgroup v2 host).
	Cgroup bool
}

// Input is everything Generate reads. Nothing else is consulted: no
// files, environment or clock.
type Input struct {
	// Pod is the defaulted pod; Container points into its spec.
	Pod       *corev1.Pod
	Container *corev1.Container
	Kind      Kind
	// Image is the image's config file; nil for an image without one.
	Image *v1.ConfigFile
	// ConfigMaps and Secrets are the objects of the apply set, by name.
	ConfigMaps map[string]*corev1.ConfigMap
	Secrets    map[string]*corev1.Secret
	// Info holds the pod and node facts the downward API reads.
	Info PodInfo
	// Rootfs is the container's root directory (config.json root.path).
	Rootfs string
	// Namespaces of the sandbox.
	Namespaces Namespaces
	// Mounts are the container's volume mounts, from volume.Set.Mounts.
	Mounts []specs.Mount
	// EtcHosts, ResolvConf and EtcHostname are host files bind-mounted at
	// /etc/hosts, /etc/resolv.conf and /etc/hostname; empty: not mounted.
	EtcHosts    string
	ResolvConf  string
	EtcHostname string
	// ShmPath is the sandbox's /dev/shm to bind-mount (the host's
	// /dev/shm with hostIPC); empty gives the container a private tmpfs.
	ShmPath string
	// TerminationMessageFile is the host file mounted at the container's
	// terminationMessagePath; empty: not mounted.
	TerminationMessageFile string
	// CgroupsPath is linux.cgroupsPath.
	CgroupsPath string
	// PidsLimit is the pids cgroup limit; 0 leaves it unset.
	PidsLimit int64
	// Users is the image's /etc/passwd and /etc/group (ParseUserDB); nil
	// when it has none.
	Users *UserDB
	// Hostname overrides the UTS hostname and $HOSTNAME (default:
	// PodHostname, or Info.NodeName with hostNetwork).
	Hostname string
	// HostDevices are given to a privileged container.
	HostDevices []specs.LinuxDevice
	// SeccompLocalhostProfile is the content of the Localhost profile the
	// container asks for (see SeccompLocalhostProfile).
	SeccompLocalhostProfile []byte
	// SeccompUnconfinedByDefault leaves containers without a
	// seccompProfile unconfined, as a kubelet with seccompDefault: false;
	// by default they get RuntimeDefault.
	SeccompUnconfinedByDefault bool
	// NoNewPrivilegesByDefault sets no_new_privs when
	// allowPrivilegeEscalation is unset (not for privileged or
	// CAP_SYS_ADMIN containers); the kubelet sets it only when the field is
	// false.
	NoNewPrivilegesByDefault bool
	// Arch is the GOARCH the seccomp profile is rendered for; default
	// this program's.
	Arch string
}

func (in *Input) arch() string {
	if in.Arch != "" {
		return in.Arch
	}
	return goruntime.GOARCH
}

// Annotations Generate writes on every spec.
const (
	AnnotationPodName       = "io.kubernetes.pod.name"
	AnnotationPodNamespace  = "io.kubernetes.pod.namespace"
	AnnotationPodUID        = "io.kubernetes.pod.uid"
	AnnotationContainerName = "io.kubernetes.container.name"
	AnnotationContainerKind = "dev.podrun.container.kind"
)

// Generate translates one container of a pod into an OCI runtime config.
// It fails with a *ConfigError (CreateContainerConfigError) for a missing
// ConfigMap/Secret/key or a runAsNonRoot violation, with ErrNoCommand when
// there is nothing to run, and with a plain error for anything else the
// runtime could not honour (CreateContainerError).
func Generate(in Input) (*specs.Spec, error) {
	if in.Pod == nil || in.Container == nil {
		return nil, fmt.Errorf("generate spec: pod and container are required")
	}
	pod, c := in.Pod, in.Container
	wrap := func(err error) error {
		return fmt.Errorf("container %q of pod %s/%s: %w", c.Name, pod.Namespace, pod.Name, err)
	}
	sc := effectiveSC(pod, c)
	env, err := Env(&in)
	if err != nil {
		return nil, wrap(err)
	}
	if err := verifyRunAsNonRoot(pod, c, sc, in.Image); err != nil {
		return nil, wrap(err)
	}
	argv, err := Args(c, EnvMap(env), in.Image)
	if err != nil {
		return nil, wrap(err)
	}
	user, err := processUser(pod, sc, in.Image, in.Users)
	if err != nil {
		return nil, wrap(err)
	}
	privileged := sc.Privileged != nil && *sc.Privileged
	roRoot := sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem
	caps := capabilities(sc)
	seccomp, err := seccompFor(&in, sc, caps)
	if err != nil {
		return nil, wrap(err)
	}
	hostname := in.Hostname
	if hostname == "" {
		hostname = PodHostname(pod)
		if pod.Spec.HostNetwork {
			hostname = in.Info.NodeName
		}
	}
	var imageEnv []string
	if in.Image != nil {
		imageEnv = in.Image.Config.Env
	}

	s := &specs.Spec{
		Version: specs.Version,
		Process: &specs.Process{
			Terminal:        false,
			User:            user,
			Args:            argv,
			Env:             processEnv(hostname, imageEnv, env),
			Cwd:             workingDir(c, in.Image),
			Capabilities:    capSet(caps),
			NoNewPrivileges: noNewPrivileges(sc, caps, in.NoNewPrivilegesByDefault),
		},
		Root:        &specs.Root{Path: in.Rootfs, Readonly: roRoot},
		Mounts:      mounts(&in, privileged, roRoot),
		Annotations: annotations(&in),
		Linux: &specs.Linux{
			Resources:   resources(c, in.PidsLimit, privileged),
			CgroupsPath: in.CgroupsPath,
			Namespaces:  namespaces(pod, in.Namespaces),
			Seccomp:     seccomp,
			Sysctl:      sysctls(pod),
		},
	}
	if !pod.Spec.HostNetwork {
		s.Hostname = hostname
	}
	s.Linux.RootfsPropagation = rootfsPropagation(s.Mounts)
	if privileged {
		s.Linux.Devices = in.HostDevices
	} else if sc.ProcMount == nil || *sc.ProcMount != corev1.UnmaskedProcMount {
		s.Linux.MaskedPaths = append([]string(nil), MaskedPaths...)
		s.Linux.ReadonlyPaths = append([]string(nil), ReadonlyPaths...)
	}
	return s, nil
}

func namespaces(pod *corev1.Pod, ns Namespaces) []specs.LinuxNamespace {
	out := []specs.LinuxNamespace{}
	switch {
	case pod.Spec.HostPID:
	case pod.Spec.ShareProcessNamespace != nil && *pod.Spec.ShareProcessNamespace && ns.PID != "":
		out = append(out, specs.LinuxNamespace{Type: specs.PIDNamespace, Path: ns.PID})
	default:
		out = append(out, specs.LinuxNamespace{Type: specs.PIDNamespace})
	}
	if !pod.Spec.HostIPC {
		out = append(out, specs.LinuxNamespace{Type: specs.IPCNamespace, Path: ns.IPC})
	}
	if !pod.Spec.HostNetwork {
		out = append(out,
			specs.LinuxNamespace{Type: specs.UTSNamespace, Path: ns.UTS},
			specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: ns.Network})
	}
	out = append(out, specs.LinuxNamespace{Type: specs.MountNamespace})
	if ns.Cgroup {
		out = append(out, specs.LinuxNamespace{Type: specs.CgroupNamespace})
	}
	return out
}

// rootfsPropagation is containerd's: a mount that receives propagation
// (HostToContainer is rslave, Bidirectional rshared) needs a root that
// allows it.
func rootfsPropagation(ms []specs.Mount) string {
	prop := ""
	for _, m := range ms {
		for _, o := range m.Options {
			switch {
			case o == "rshared":
				return "rshared"
			case o == "rslave":
				prop = "rslave"
			}
		}
	}
	return prop
}

func annotations(in *Input) map[string]string {
	return map[string]string{
		AnnotationPodName:       in.Pod.Name,
		AnnotationPodNamespace:  in.Pod.Namespace,
		AnnotationPodUID:        string(in.Pod.UID),
		AnnotationContainerName: in.Container.Name,
		AnnotationContainerKind: in.Kind.String(),
	}
}

func sysctls(pod *corev1.Pod) map[string]string {
	psc := pod.Spec.SecurityContext
	if psc == nil || len(psc.Sysctls) == 0 {
		return nil
	}
	out := map[string]string{}
	for _, s := range psc.Sysctls {
		out[s.Name] = s.Value
	}
	return out
}
