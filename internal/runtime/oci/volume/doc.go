// Package volume materialises a pod's volumes on the host and resolves its
// containers' volumeMounts into OCI bind mounts, as the kubelet's volume
// plugins and makeMounts do. It needs root (mount(2)).
//
//	set, err := volume.Setup(ctx, podDir, pod, volume.Sources{...})  // *MountError
//	mounts, err := set.Mounts(ctx, container, spec.EnvMap(env))      // *spec.ConfigError
//	... spec.Input{Mounts: mounts} ...
//	err = set.Teardown(ctx)            // or volume.Teardown(ctx, podDir) after a crash
//
// # Volumes
//
//	volume                    on the host (podDir/volumes/<name>)          mounted
//	------------------------  -------------------------------------------  -----------
//	emptyDir                  a 0777 directory, kept across Setup calls    rw
//	emptyDir medium: Memory   a tmpfs on it, sized as the kubelet: node     rw
//	                          allocatable memory (Sources.Info), lowered to
//	                          the pod's memory limit (when every container
//	                          has one), lowered to sizeLimit
//	hostPath                  the host path itself, after the type check:  rw
//	                          "" nothing; DirectoryOrCreate mkdir -p 0755;
//	                          FileOrCreate empty 0644 file; Directory, File,
//	                          Socket, CharDevice, BlockDevice must exist
//	                          with that type ("hostPath type check failed:
//	                          P is not a directory", ...)
//	configMap                 atomic-writer layout (below), on disk         ro
//	secret                    atomic-writer layout on a tmpfs               ro
//	downwardAPI               atomic-writer layout on a tmpfs               ro
//	projected                 configMap, secret and downwardAPI sources     ro
//	                          merged (later paths win) on a tmpfs;
//	                          serviceAccountToken, clusterTrustBundle and
//	                          podCertificate sources are skipped
//
// configMap and secret: every key, or only items (key -> path, mode);
// modes from item mode, else defaultMode, else 0644. A missing object or
// item key fails unless optional (an optional missing object gives an
// empty volume). downwardAPI: fieldRef and resourceFieldRef as in
// spec.FieldRefValue and spec.ResourceFieldRefValue. With fsGroup every
// file and directory of emptyDir and API-data volumes gets that group, g+rw
// (g+r for API data), and directories g+xs, as SetVolumeOwnership.
//
// Atomic-writer layout (what a reader sees is always one whole version):
//
//	podDir/volumes/cfg/..data        -> ..<random>
//	podDir/volumes/cfg/..<random>/   the files of this version
//	podDir/volumes/cfg/<top-level>   -> ..data/<top-level>
//
// A volume that cannot be set up is a *MountError whose text is the
// kubelet's FailedMount event ("MountVolume.SetUp failed for volume "v" :
// configmap "x" not found"); the kubelet keeps such a pod in
// ContainerCreating and retries.
//
// # volumeMounts
//
//	readOnly, or an API-data volume      "ro", else "rw"
//	mountPropagation None (default)      rprivate
//	mountPropagation HostToContainer     rslave
//	mountPropagation Bidirectional       rshared
//	subPathExpr                          $(VAR) from the container's env; unknown
//	                                     or empty: "missing value for VAR"
//	subPath absolute                     "error SubPath `p` must not be an absolute path"
//	subPath with ".."                    "unable to provision SubPath `p`: must not
//	                                     contain '..'"
//	subPath missing                      created (mkdirat, no symlink followed) with the
//	                                     volume's mode
//	subPath escaping (symlinks)          "failed to prepare subPath for volumeMount "m"
//	                                     of container "c""
//
// Errors of Mounts are *spec.ConfigError (CreateContainerConfigError), as
// makeMounts errors are in the kubelet.
//
// # subPath safety
//
// The kubelet's 2017 subPath escape (CVE-2017-1002101) used a symlink in a
// volume to mount a host path into a container. Here a subPath is resolved
// with its symlinks, refused unless the result is inside the (resolved)
// volume, then opened again component by component from the volume root
// with O_PATH|O_NOFOLLOW — a symlink met on this walk, such as one swapped
// in after the check, is refused — and the descriptor itself is
// bind-mounted through /proc/self/fd/N at
// podDir/volume-subpaths/<volume>/<container>/<index>. That bind, whose
// inode is checked against the descriptor's, is what the container mounts.
//
// # Reading an image's files
//
// ReadFileInRoot and LoadUserDB read files of a container's rootfs the
// way the container would see them (openat2 RESOLVE_IN_ROOT): an image
// whose /etc/passwd is a symlink to a host path cannot make podrun read
// the host's file. LoadUserDB feeds spec.Input.Users.
//
// # Teardown
//
// Teardown reads /proc/self/mountinfo, unmounts everything below
// podDir/volumes and podDir/volume-subpaths deepest first, checks that
// nothing is left and only then removes both directories. It is
// idempotent and needs no *Set.
package volume
