package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/podrun/podrun/internal/manifest"
)

// validateOptions are the flags of `podrun validate`.
type validateOptions struct {
	files []string
}

// newValidateCommand returns `podrun validate -f FILE`: decode, default
// and validate manifests as the API server would, and run nothing.
func newValidateCommand(g *globalOptions, streams Streams) *cobra.Command {
	o := &validateOptions{}
	cmd := &cobra.Command{
		Use:   "validate -f FILE [-f FILE ...]",
		Short: "Check manifests as the API server would, without running anything",
		Long: `Decode the manifests strictly (unknown or duplicated fields are errors),
apply the API server's defaults and validate every object as the API server
of the emulated Kubernetes release would on create. Prints TYPE/NAME valid
for each good object and every error of the others; exits 2 if any object
is invalid.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error { return o.run(g, streams) },
	}
	cmd.Flags().StringArrayVarP(&o.files, "filename", "f", nil, "manifest file, directory (*.yaml, *.yml, *.json) or - for stdin; repeatable")
	return cmd
}

func (o *validateOptions) run(g *globalOptions, streams Streams) error {
	if len(o.files) == 0 {
		return InputError(errors.New("must specify -f FILE (a file, a directory or - for stdin)"))
	}
	opts := manifest.Options{Gates: g.gates}
	set, loadErr := manifest.Load(o.files, streams.In, opts)
	if set == nil {
		return InputError(loadErr)
	}
	// Documents that did not decode are reported, and the others are
	// still validated, so that one run shows every error.
	if loadErr != nil {
		errs := []error{loadErr}
		if joined, ok := loadErr.(interface{ Unwrap() []error }); ok {
			errs = joined.Unwrap()
		}
		for _, err := range errs {
			fmt.Fprintf(streams.ErrOut, "error: %v\n", err)
		}
	}
	verr := set.Validate(opts)
	var failed map[int]*manifest.ObjectError
	if verr != nil {
		var ve *manifest.ValidationError
		if !errors.As(verr, &ve) {
			return InputError(verr)
		}
		failed = map[int]*manifest.ObjectError{}
		for _, oe := range ve.Objects {
			for i, obj := range set.Objects {
				if obj == oe.Object {
					failed[i] = oe
				}
			}
		}
	}
	if len(set.Objects) == 0 {
		if loadErr != nil {
			return &ExitError{Code: ExitInput}
		}
		return InputError(errors.New("no objects passed to validate"))
	}
	for i, obj := range set.Objects {
		if oe, bad := failed[i]; bad {
			fmt.Fprintln(streams.ErrOut, oe.Error())
			continue
		}
		fmt.Fprintf(streams.Out, "%s valid\n", manifest.ResourceName(obj.Object))
	}
	if len(failed) > 0 {
		return InputError(fmt.Errorf("%d of %d objects invalid", len(failed), len(set.Objects)))
	}
	if loadErr != nil {
		return &ExitError{Code: ExitInput}
	}
	return nil
}
