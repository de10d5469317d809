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
//	      v           termination-message file               -> Created
//	StartContainer    runc create (stdout/stderr piped into the CRI log
//	      |           file), pidfd on the container process, runc start
//	      v                                                  -> Running
//	(exit)            the pidfd turns readable; wait4 reaps that PID;
//	      |           OOM counter and termination message are read
//	      v                                                  -> Exited
//	RemoveContainer   runc delete, rootfs unmount, bundle removal
//
// A failed runc create or start is a RunContainerError, and the container
// ends Exited with reason StartError and exit code 128, as with containerd.
//
// Exits are learnt without polling: the process is a child subreaper
// (Reaper), so each container process becomes its child when runc exits;
// the Go netpoller wakes the watcher when the pidfd is readable. The
// Reaper also reaps orphaned zombies from nested PID namespaces (a killed
// runc exec's child), which would otherwise keep a container's init from
// finishing its exit.
//
// The Reaper is process-wide: podrun's main creates one and passes it to
// every Runtime in Options.Reaper; Runtimes created without one share a
// default Reaper that lives as long as the process.
//
// Each sandbox and bundle directory holds a small JSON record (sandbox.json,
// container.json), so a Runtime on the same Root can remove a sandbox whose
// creator died: RemovePodSandbox of a sandbox it does not hold in memory
// removes what it finds on disk. It cannot adopt running containers: their
// exit statuses and output pipes died with their parent.
//
// RemovePodSandbox leaves nothing behind: containers, namespace mounts,
// the PID holder, the pod's cgroup directories in every v1 hierarchy and
// the v2 mount (runc leaves the parents), bundles and runc state.
package oci
