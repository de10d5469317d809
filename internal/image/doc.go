// Package image is podrun's image store: it pulls images from OCI and Docker
// registries, loads image archives, keeps every blob once in an OCI image
// layout, and unpacks each layer once into a directory the runtime stacks
// as an overlay lower dir.
//
// On disk, under podrun's state directory:
//
//	ROOT/images/
//	  oci-layout, index.json   an OCI image layout; index.json is the
//	                           ref -> manifest index, one entry per name
//	                           (annotation io.containerd.image.name)
//	  blobs/sha256/<hex>       manifests, configs and layers as their source
//	                           has them (usually gzipped), content-addressed,
//	                           written to a temporary file, verified, then
//	                           renamed into place
//	  layers/<diffID hex>/     one unpacked layer per uncompressed digest,
//	                           unpacked once into a temporary directory and
//	                           renamed; never written again
//	  locks/                   flock(2) files
//
// Several podrun processes may use one store at once: index.json is
// rewritten under an exclusive lock and replaced by rename, so readers never
// see a torn file; a pull holds a lock per image name, so two pulls of one
// image download it once; a layer is unpacked under a lock per layer; and
// Prune takes the store's collection lock exclusively, which writers hold
// shared, so it never removes a blob a pull is about to reference.
//
// The API, in the order a pod needs it:
//
//	s, err := image.Open(root)                    // root: podrun's state dir
//	ref, pulled, err := s.EnsureImage(ctx, "busybox", corev1.PullIfNotPresent, secrets)
//	layerDirs, cfg, err := s.Lookup(ctx, "busybox") // overlay lower dirs, bottom first
//
// and for `podrun image`: Pull, Load, Add, List, Get, Remove, Prune;
// Flatten for a root filesystem without overlay. Errors are kinds checked
// with errors.Is (ErrNotFound, ErrImagePull, ErrInvalidImageName,
// ErrImageNeverPull); Reason names the container Waiting reason of a pull
// error and the *Message functions give the kubelet's event texts. Waiting
// for another process's lock does not observe ctx.
//
// Unpacked layers keep the overlay filesystem's conventions: a whiteout is a
// character device 0:0 and an opaque directory carries the
// trusted.overlay.opaque="y" attribute, so the layers can be mounted as
// lower dirs directly. Unpack refuses any entry that would land outside the
// layer's root.
package image
