// Package deps pins the modules podrun builds on while its packages are
// written in parallel; it is removed once every module is imported for real.
package deps

import (
	_ "github.com/google/go-cmp/cmp"
	_ "github.com/google/go-containerregistry/pkg/registry"
	_ "github.com/google/go-containerregistry/pkg/v1/remote"
	_ "github.com/opencontainers/runtime-spec/specs-go"
	_ "github.com/spf13/cobra"
	_ "github.com/vishvananda/netlink"
	_ "golang.org/x/sys/unix"
	_ "k8s.io/api/batch/v1"
	_ "k8s.io/api/core/v1"
	_ "k8s.io/apimachinery/pkg/util/validation/field"
	_ "k8s.io/cli-runtime/pkg/printers"
	_ "k8s.io/client-go/kubernetes/fake"
	_ "k8s.io/component-helpers/resource"
	_ "k8s.io/kubectl/pkg/describe"
	_ "k8s.io/utils/clock/testing"
	_ "sigs.k8s.io/yaml"
)
