package shimtest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"sync"
)

// EnvVar is the variable the OCI runtime reads the shim's path from.
const EnvVar = "PODRUN_SHIM"

var built struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// Build builds cmd/podrun-shim once per process into a temporary
// directory and returns the binary's path; Remove deletes it.
func Build(ctx context.Context) (string, error) {
	built.once.Do(func() {
		dir, err := os.MkdirTemp("", "podrun-shim-")
		if err != nil {
			built.err = err
			return
		}
		built.dir = dir
		goTool, err := exec.LookPath("go")
		if err != nil {
			goTool = filepath.Join(goruntime.GOROOT(), "bin", "go")
		}
		path := filepath.Join(dir, "podrun-shim")
		cmd := exec.CommandContext(ctx, goTool, "build", "-o", path, "github.com/podrun/podrun/cmd/podrun-shim")
		if out, err := cmd.CombinedOutput(); err != nil {
			built.err = fmt.Errorf("go build podrun-shim: %w\n%s", err, out)
			return
		}
		built.path = path
	})
	return built.path, built.err
}

// Setenv builds the shim (Build) and points $PODRUN_SHIM at it, unless the
// variable is set already.
func Setenv(ctx context.Context) error {
	if os.Getenv(EnvVar) != "" {
		return nil
	}
	path, err := Build(ctx)
	if err != nil {
		return err
	}
	return os.Setenv(EnvVar, path)
}

// Remove deletes what Build made; a later Build fails.
func Remove() {
	if built.dir != "" {
		_ = os.RemoveAll(built.dir)
	}
}
