package cli

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/podrun/podrun/internal/backend/local"
)

// superviseOptions are the flags of the hidden `podrun supervise`.
type superviseOptions struct {
	namespace string
	job       bool
	readyFD   int
}

// newSuperviseCommand returns `podrun supervise [--job] NAME`, the
// detached process podrun apply starts for each pod (or Job) and that
// owns it until it is done. SIGTERM stops supervising and leaves the
// containers running; the next podrun command adopts them.
func newSuperviseCommand(g *globalOptions, streams Streams) *cobra.Command {
	o := &superviseOptions{}
	cmd := &cobra.Command{
		Use:    "supervise [--job] NAME",
		Short:  "Own one pod or Job in the background (started by apply)",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd.Context(), g, streams, args[0])
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.namespace, "namespace", "n", "default", "namespace of the object")
	f.BoolVar(&o.job, "job", false, "supervise the Job NAME (its controller loop and pods)")
	f.IntVar(&o.readyFD, "ready-fd", -1, "descriptor to close once the supervisor lock is held")
	return cmd
}

func (o *superviseOptions) run(ctx context.Context, g *globalOptions, streams Streams, name string) error {
	ready := func() {}
	if o.readyFD >= 0 {
		f := os.NewFile(uintptr(o.readyFD), "ready")
		ready = func() {
			if f != nil {
				f.Close()
				f = nil
			}
		}
		defer ready()
	}
	kind := local.KindPod
	if o.job {
		kind = local.KindJob
	}
	logger := slog.New(slog.NewTextHandler(streams.ErrOut, &slog.HandlerOptions{Level: slog.LevelInfo}))
	logger = logger.With(string(kind), o.namespace+"/"+name, "pid", os.Getpid())
	logger.Info("supervisor started")
	// SIGTERM and SIGINT stop supervising. cli.Main cancels ctx on them
	// too; listening here as well keeps the supervisor's contract
	// independent of how Main routes interrupts.
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := local.Supervise(ctx, local.Options{Root: g.root, Logger: logger}, kind, o.namespace, name, ready); err != nil {
		logger.Error("supervisor failed", "err", err)
		return &ExitError{Code: ExitRuntime, Err: err}
	}
	if ctx.Err() != nil {
		logger.Info("stopped supervising; containers left running")
	} else {
		logger.Info("supervisor done")
	}
	return nil
}
