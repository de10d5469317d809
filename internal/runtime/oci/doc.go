// Package oci implements runtime.Runtime with an OCI runtime command line:
// runc (the default) or crun, driven through the typed client in
// runtime/oci/runc. Nothing links libcontainer.
//
// A pod sandbox is a directory under Options.Root holding bind-mounted
// network, UTS and IPC namespaces (loopback up, hostname = pod hostname),
// the pod's /etc/hosts, /etc/resolv.conf and /etc/hostname, and, with
// shareProcessNamespace, a PID-namespace holder process. Every container
// joins those namespaces and gets the cgroup <CgroupParent>/pod-<sandbox>/<id>.
//
// A container's life:
//
//	CreateContainer   bundle: rootfs (overlay of the image layers with a
//	      |           per-container upper dir, or a copy), config.json,
//	      |           termination-message file, container.json
//	      v                                                  -> Created
//	StartContainer    podrun-shim (package shim) runs `runc create` with
//	      |           the container's stdout/stderr piped into itself and
//	      |           copies them into the CRI log; pidfds on the shim and
//	      v           the container process; runc start      -> Running
//	(exit)            the shim reaps the process, drains the output,
//	      |           writes exit.json and exits; its pidfd turns
//	      |           readable; OOM counter and termination message are
//	      v           read                                   -> Exited
//	RemoveContainer   runc delete, rootfs unmount, bundle removal
//
// A failed runc create or start is a RunContainerError, and the container
// ends Exited with reason StartError and exit code 128, as with containerd.
// A shim that died without writing exit.json leaves the container's fate
// unknown: it ends Exited with reason ContainerStatusUnknown and exit code
// 137, as a container the kubelet cannot locate.
//
// Exits are learnt without polling: the Go netpoller wakes the watcher
// when the shim's pidfd is readable. Container processes are children of
// their shims, never of this process, so they outlive it with their
// output and exit status. The Reaper makes this process a child subreaper
// for what remains: orphaned zombies from nested PID namespaces (a killed
// runc exec's child), which would otherwise keep a container's init from
// finishing its exit.
//
// The Reaper is process-wide: podrun's main creates one and passes it to
// every Runtime in Options.Reaper; Runtimes created without one share a
// default Reaper that lives as long as the process.
//
// Each sandbox and bundle directory holds a JSON record (sandbox.json,
// container.json) besides the shim's files, so a Runtime on the same Root
// takes over what another process left (reattach.go): asked about a
// sandbox or container it does not hold, it loads it, watches its running
// containers' shims, and reports those that ended meanwhile with the
// status their shims recorded. ListPodSandbox finds a pod's sandboxes on
// disk by the pod's UID (SandboxID). A sandbox recorded by an older build
// can only be removed.
//
// RemovePodSandbox leaves nothing behind: containers and their shims,
// namespace mounts, the PID holder, the pod's cgroup directories in every
// v1 hierarchy and the v2 mount (runc leaves the parents), bundles and
// runc state.
package oci
