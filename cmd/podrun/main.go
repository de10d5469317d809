// Command podrun runs Kubernetes Pod and Job manifests on one Linux machine
// through a real OCI runtime, with the kubelet's container lifecycle.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/podrun/podrun/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	code := cli.Main(ctx, cli.Streams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}, os.Args[1:])
	stop()
	os.Exit(code)
}
