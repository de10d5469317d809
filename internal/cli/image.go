package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/podrun/podrun/internal/image"
)

// imageOptions are the flags of `podrun image` and its subcommands.
type imageOptions struct {
	insecure []string
	input    string
}

// newImageCommand returns `podrun image`: ls, pull, rm, prune and load on
// the image store under the state directory.
func newImageCommand(g *globalOptions, streams Streams) *cobra.Command {
	o := &imageOptions{}
	cmd := &cobra.Command{
		Use:   "image",
		Short: "Manage the images in podrun's store: ls, pull, rm, prune, load",
	}
	cmd.PersistentFlags().StringSliceVar(&o.insecure, "insecure-registry", nil, "registry host[:port] that may be reached over plain HTTP (localhost and 127.0.0.1 always may)")
	open := func() (*image.Store, error) {
		root := g.root
		if root == "" {
			root = image.DefaultRoot()
		}
		return image.Open(root,
			image.WithInsecureRegistries(o.insecure...),
			image.WithProgress(streams.ErrOut, writerIsTerminal(streams.ErrOut)))
	}
	cmd.AddCommand(
		&cobra.Command{
			Use:     "ls",
			Aliases: []string{"list"},
			Short:   "List stored images",
			Args:    cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				s, err := open()
				if err != nil {
					return err
				}
				imgs, err := s.List(cmd.Context())
				if err != nil {
					return err
				}
				return printImages(streams.Out, imgs)
			},
		},
		&cobra.Command{
			Use:   "pull REF",
			Short: "Pull an image from its registry",
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				s, err := open()
				if err != nil {
					return err
				}
				img, err := s.Pull(cmd.Context(), args[0])
				if err != nil {
					return imageError(err)
				}
				fmt.Fprintf(streams.Out, "%s\n", img.Name)
				fmt.Fprintf(streams.Out, "Digest: %s\n", img.Digest)
				return nil
			},
		},
		&cobra.Command{
			Use:     "rm REF...",
			Aliases: []string{"remove"},
			Short:   "Remove image names; `image prune` frees what no name uses",
			Args:    cobra.MinimumNArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				s, err := open()
				if err != nil {
					return err
				}
				var errs []error
				for _, ref := range args {
					if err := s.Remove(cmd.Context(), ref); err != nil {
						errs = append(errs, err)
						continue
					}
					full, _ := image.Normalize(ref)
					fmt.Fprintf(streams.Out, "Untagged: %s\n", full)
				}
				return imageError(errors.Join(errs...))
			},
		},
		&cobra.Command{
			Use:   "prune",
			Short: "Remove blobs and unpacked layers no image name uses",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				s, err := open()
				if err != nil {
					return err
				}
				res, err := s.Prune(cmd.Context())
				if err != nil {
					return err
				}
				fmt.Fprintf(streams.Out, "Removed %d blobs and %d unpacked layers, %s reclaimed\n", res.Blobs, res.Layers, humanBytes(res.Bytes))
				return nil
			},
		},
		newImageLoadCommand(o, open, streams),
		&cobra.Command{
			Use:   "inspect REF",
			Short: "Print an image's name, digests, size and config as JSON",
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				s, err := open()
				if err != nil {
					return err
				}
				return imageError(inspectImage(cmd.Context(), s, args[0], streams.Out))
			},
		},
	)
	return cmd
}

func newImageLoadCommand(o *imageOptions, open func() (*image.Store, error), streams Streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "load -i FILE",
		Short: "Load images from a docker save archive, an OCI archive or an OCI layout directory",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.input == "" {
				return InputError(errors.New("image load: -i FILE is required"))
			}
			s, err := open()
			if err != nil {
				return err
			}
			var imgs []image.Image
			if o.input == "-" {
				imgs, err = s.LoadArchive(cmd.Context(), streams.In)
			} else {
				imgs, err = s.Load(cmd.Context(), o.input)
			}
			for _, img := range imgs {
				fmt.Fprintf(streams.Out, "Loaded image: %s\n", img.Name)
			}
			return imageError(err)
		},
	}
	cmd.Flags().StringVarP(&o.input, "input", "i", "", "archive file or OCI layout directory to load, - for standard input")
	return cmd
}

// inspectImage prints the stored image ref as JSON.
func inspectImage(ctx context.Context, s *image.Store, ref string, out io.Writer) error {
	img, err := s.Get(ref)
	if err != nil {
		return err
	}
	_, cfg, err := s.Lookup(ctx, ref)
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(struct {
		Name   string         `json:"name"`
		Digest string         `json:"digest"`
		ID     string         `json:"id"`
		Size   int64          `json:"size"`
		Config *v1.ConfigFile `json:"config"`
	}{img.Name, img.Digest.String(), img.ID.String(), img.Size, cfg}, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(out, "%s\n", b)
	return err
}

// imageError maps image error kinds to exit codes: a bad name is bad input
// (2), an absent image a failure (1); anything else is a system error.
func imageError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, image.ErrInvalidImageName):
		return InputError(err)
	case errors.Is(err, image.ErrNotFound), errors.Is(err, image.ErrImagePull):
		return &ExitError{Code: ExitFailed, Err: err}
	}
	return err
}

// printImages prints images as `crictl images` does: one row per tag, and
// a digest name only for an image that has no tag in its repository.
func printImages(out io.Writer, imgs []image.Image) error {
	tagged := map[string]bool{} // repository + "@" + digest
	for _, img := range imgs {
		if repo, tag, ok := splitTag(img.Name); ok && tag != "" {
			tagged[repo+"@"+img.Digest.String()] = true
		}
	}
	tw := tabwriter.NewWriter(out, 0, 8, 3, ' ', 0)
	fmt.Fprintln(tw, "IMAGE\tTAG\tIMAGE ID\tSIZE")
	for _, img := range imgs {
		repo, tag, _ := splitTag(img.Name)
		if tag == "" {
			if tagged[img.Name] {
				continue
			}
			tag = "<none>"
		}
		id := img.ID.Hex
		if len(id) > 13 {
			id = id[:13]
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", repo, tag, id, humanBytes(img.Size))
	}
	return tw.Flush()
}

// splitTag splits a full name into repository and tag ("" for a digest
// name, whose repository is then the part before "@").
func splitTag(full string) (repo, tag string, ok bool) {
	if i := strings.Index(full, "@"); i >= 0 {
		return full[:i], "", true
	}
	i := strings.LastIndex(full, ":")
	if i < 0 || i < strings.LastIndex(full, "/") {
		return full, "", false
	}
	return full[:i], full[i+1:], true
}

// humanBytes prints a size in decimal units as crictl and docker do.
func humanBytes(n int64) string {
	units := []string{"B", "kB", "MB", "GB", "TB"}
	f := float64(n)
	i := 0
	for f >= 1000 && i < len(units)-1 {
		f /= 1000
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%dB", n)
	}
	return fmt.Sprintf("%.3g%s", f, units[i])
}

// writerIsTerminal reports whether w is a terminal.
func writerIsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
