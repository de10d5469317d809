// Command images builds podrun's test images offline and loads them into
// podrun's image store or writes them as OCI layouts.
//
//	go run ./hack/images busybox --load [--root DIR] [--tag NAME]...
//	go run ./hack/images busybox --layout DIR
//
// busybox is made from Debian's busybox-static (/bin/busybox) and named
// docker.io/library/busybox:latest, so manifests saying `image: busybox`
// resolve; --tag adds names.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"github.com/podrun/podrun/internal/image"
	"github.com/podrun/podrun/internal/image/testimage"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "images: %v\n", err)
		os.Exit(1)
	}
}

// tags collects repeated --tag flags.
type tags []string

func (t *tags) String() string     { return strings.Join(*t, ",") }
func (t *tags) Set(v string) error { *t = append(*t, v); return nil }

func run(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 || args[0] != "busybox" {
		return errors.New("usage: images busybox [--load] [--root DIR] [--tag NAME]... [--layout DIR]")
	}
	fs := flag.NewFlagSet("images busybox", flag.ContinueOnError)
	load := fs.Bool("load", false, "load the image into podrun's image store")
	root := fs.String("root", "", "podrun state directory (default: podrun's default)")
	layoutDir := fs.String("layout", "", "also write the image as an OCI layout in this directory")
	var extra tags
	fs.Var(&extra, "tag", "another name for the image (repeatable)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if !*load && *layoutDir == "" {
		return errors.New("nothing to do: give --load and/or --layout DIR")
	}
	img, err := testimage.BusyboxImage(ctx)
	if err != nil {
		return err
	}
	if *layoutDir != "" {
		if err := testimage.WriteLayout(*layoutDir, img, testimage.BusyboxRef); err != nil {
			return err
		}
		fmt.Fprintf(out, "Wrote %s to OCI layout %s\n", testimage.BusyboxRef, *layoutDir)
	}
	if *load {
		if *root == "" {
			*root = image.DefaultRoot()
		}
		s, err := image.Open(*root)
		if err != nil {
			return err
		}
		names := append([]string{"busybox:latest", testimage.BusyboxRef}, extra...)
		added, err := s.Add(ctx, img, names...)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "Loaded %s (%s) into %s\n", strings.Join(names, ", "), added.Digest, *root)
	}
	return nil
}
