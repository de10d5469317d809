// Package spec translates one container of a pod into an OCI runtime
// config (config.json), as the kubelet and containerd together would.
//
// The translation is pure: Generate reads only its Input — the defaulted
// pod, the container, the image config, the ConfigMaps and Secrets of the
// apply set, node facts, sandbox namespace paths, resolved volume mounts
// and host file paths. It reads no file, environment variable or clock;
// imports_test.go enforces that. The caller reads what must be read (the
// image's /etc/passwd and /etc/group into a UserDB, a Localhost seccomp
// profile) and passes it in.
//
// # Use
//
//	env, err := spec.Env(&in)                 // container env, for subPathExpr
//	in.Mounts, err = set.Mounts(ctx, c, spec.EnvMap(env))
//	s, err := spec.Generate(in)               // *specs.Spec for config.json
//	sig, err := spec.StopSignal(c, in.Image)  // what to send on stop
//
// Errors: a *ConfigError (IsConfigError) carries the kubelet's message and
// becomes a CreateContainerConfigError; ErrNoCommand and everything else
// become CreateContainerError.
//
// # Process
//
//	pod / image                          config.json
//	-----------------------------------  ---------------------------------------------
//	command + args                       process.args = command + args (both $(VAR)-expanded)
//	command only                         command (image ENTRYPOINT and CMD dropped)
//	args only                            image ENTRYPOINT + args (CMD dropped)
//	neither                              image ENTRYPOINT + CMD; ENTRYPOINT [""] = none
//	nothing at all                       ErrNoCommand
//	workingDir                           process.cwd; else image WorkingDir; else /
//	env, envFrom                         process.env, see below
//	runAsUser / image USER / root        process.user.uid (USER by name via UserDB)
//	runAsGroup / USER's group / passwd   process.user.gid (else 0)
//	passwd groups, fsGroup, suppl.       process.user.additionalGids = gid, /etc/group
//	                                     memberships, fsGroup, supplementalGroups
//	runAsNonRoot and uid 0               *ConfigError "container has runAsNonRoot and image
//	                                     will run as root (pod: "n_ns(uid)", container: c)"
//	capabilities add/drop                bounding = effective = permitted; containerd's
//	                                     14 defaults, "ALL" applied before single names
//	privileged                           all 41 capabilities, no seccomp, no masked or
//	                                     read-only paths, /sys and cgroup rw,
//	                                     Input.HostDevices, devices cgroup allow all
//	allowPrivilegeEscalation: false      process.noNewPrivileges (the kubelet sets nothing
//	                                     when unset; Input.NoNewPrivilegesByDefault sets
//	                                     it unless privileged or CAP_SYS_ADMIN)
//	seccompProfile (container, pod)      RuntimeDefault: DefaultSeccompProfile (EPERM
//	                                     default, allow list, cap- and arch-gated rules);
//	                                     Unconfined: none; Localhost: the JSON passed in;
//	                                     unset: RuntimeDefault, or none with
//	                                     Input.SeccompUnconfinedByDefault (kubelet default)
//	readOnlyRootFilesystem               root.readonly; /etc/hostname, /etc/resolv.conf ro
//	                                     terminal false, no rlimits, oomScoreAdj unset
//
// # Environment
//
// The container's variables are resolved as the kubelet's
// makeEnvironmentVariables: envFrom sources in order (Prefix + key, keys
// sorted, invalid names skipped), then env in order; value is expanded
// against the variables defined so far, valueFrom is not:
//
//	fieldRef metadata.name|namespace|uid   the pod's
//	fieldRef metadata.labels['k']          label k ("" if absent)
//	fieldRef metadata.annotations['k']     annotation k
//	fieldRef status.podIP(s), hostIP(s)    Input.Info.PodIPs / HostIPs (joined by ",")
//	fieldRef spec.nodeName                 pod.spec.nodeName, else Info.NodeName
//	fieldRef spec.serviceAccountName       the pod's
//	resourceFieldRef                       ceil(value / divisor); unset limits are
//	                                       Info.NodeAllocatable
//	configMapKeyRef / secretKeyRef         missing and not optional: *ConfigError
//	                                       `configmap "x" not found`,
//	                                       `couldn't find key k in ConfigMap ns/x`
//	                                       (Secret alike); optional: variable skipped
//
// process.env is then, as containerd merges it: PATH (containerd's default),
// HOSTNAME, the image's variables, the container's — a later definition
// replaces an earlier value in place.
//
// $(VAR) expansion (Expand): known names are replaced, unknown ones kept
// verbatim, "$$" is a literal "$", no recursion.
//
// # Linux
//
//	namespaces        pid (own; sandbox's with shareProcessNamespace; none with hostPID),
//	                  ipc, uts, network (sandbox paths; host's with hostIPC/hostNetwork),
//	                  mount (own), cgroup (own when Namespaces.Cgroup)
//	hostname          PodHostname (spec.hostname or name, 63 chars); none with hostNetwork
//	mounts            /proc, /dev tmpfs, /dev/pts, /dev/mqueue, /sys ro, /sys/fs/cgroup ro,
//	                  /dev/shm (sandbox's bind or a private tmpfs), /etc/hostname,
//	                  /etc/resolv.conf, /etc/hosts (unless a volume is mounted there),
//	                  terminationMessagePath, then volume mounts parents first;
//	                  a volume mount replaces a default at the same destination
//	rootfsPropagation rshared / rslave when a mount asks for it (Bidirectional /
//	                  HostToContainer), else unset
//	maskedPaths       MaskedPaths (the kubelet's); none with procMount: Unmasked
//	readonlyPaths     ReadonlyPaths (the kubelet's); none with procMount: Unmasked
//	cpu.shares        requests.cpu millis*1024/1000, min 2, max 262144
//	                  (limits.cpu when only a limit is set)
//	cpu.quota/period  limits.cpu millis*100000/1000 (min 1000) / 100000
//	memory.limit      limits.memory
//	pids.limit        Input.PidsLimit
//	sysctl            pod securityContext.sysctls
//	cgroupsPath       Input.CgroupsPath
//	annotations       io.kubernetes.pod.{name,namespace,uid},
//	                  io.kubernetes.container.name, dev.podrun.container.kind
//
// StopSignal: lifecycle.stopSignal, else the image's STOPSIGNAL, else
// SIGTERM.
package spec
