package image

import (
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// dockerHub is the registry name containerd and the kubelet show for Docker
// Hub images; ggcr calls it name.DefaultRegistry (index.docker.io).
const dockerHub = "docker.io"

// Normalize returns ref's full name as containerd writes it: Docker Hub
// names gain docker.io/ and library/, a name without tag or digest gains
// :latest ("alpine" -> "docker.io/library/alpine:latest"). A name with both
// a tag and a digest keeps only the digest. An unparsable name is an
// ErrInvalidImageName.
func Normalize(ref string) (string, error) {
	r, err := parse(ref, nil)
	if err != nil {
		return "", err
	}
	return canonical(r), nil
}

// parse parses ref, marking its registry insecure (plain HTTP allowed)
// when insecure says so.
func parse(ref string, insecure func(host string) bool) (name.Reference, error) {
	if ref == "" || strings.TrimSpace(ref) != ref {
		return nil, newKindError(ErrInvalidImageName, nil, "couldn't parse image name %q: invalid reference format", ref)
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		return nil, newKindError(ErrInvalidImageName, err, "couldn't parse image name %q", ref)
	}
	if insecure != nil && insecure(r.Context().RegistryStr()) {
		r, err = name.ParseReference(ref, name.Insecure)
		if err != nil {
			return nil, newKindError(ErrInvalidImageName, err, "couldn't parse image name %q", ref)
		}
	}
	return r, nil
}

// repository returns r's repository as containerd writes it.
func repository(r name.Reference) string {
	reg := r.Context().RegistryStr()
	if reg == name.DefaultRegistry {
		reg = dockerHub
	}
	return reg + "/" + r.Context().RepositoryStr()
}

// canonical returns r's full name as containerd writes it.
func canonical(r name.Reference) string {
	switch r := r.(type) {
	case name.Digest:
		return repository(r) + "@" + r.DigestStr()
	case name.Tag:
		return repository(r) + ":" + r.TagStr()
	}
	return r.Name()
}

// digestRef returns repo@digest for the repository of r.
func digestRef(r name.Reference, digest string) string {
	return repository(r) + "@" + digest
}

// defaultTag applies the kubelet's default tag: a name with neither tag
// nor digest gains ":latest", otherwise it is returned unchanged. It is the
// name the kubelet prints in its pull messages.
func defaultTag(ref string) (string, error) {
	r, err := parse(ref, nil)
	if err != nil {
		return "", err
	}
	if _, ok := r.(name.Tag); ok && !hasTagOrDigest(ref) {
		return ref + ":" + name.DefaultTag, nil
	}
	return ref, nil
}

func hasTagOrDigest(ref string) bool {
	if strings.Contains(ref, "@") {
		return true
	}
	last := ref[strings.LastIndex(ref, "/")+1:]
	return strings.Contains(last, ":")
}

// quoteRefs quotes names for an error message.
func quoteRefs(refs []string) string {
	q := make([]string, len(refs))
	for i, r := range refs {
		q[i] = fmt.Sprintf("%q", r)
	}
	return strings.Join(q, ", ")
}
