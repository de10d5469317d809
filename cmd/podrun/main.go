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
	interrupts := make(chan os.Signal, 4)
	// A closed terminal (SIGHUP) stops a run as Ctrl-C does: nothing is
	// left running behind a lost ssh session.
	signal.Notify(interrupts, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	streams := cli.Streams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr, Interrupts: interrupts}
	os.Exit(cli.Main(context.Background(), streams, os.Args[1:]))
}
