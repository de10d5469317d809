package spec

import (
	v1 "github.com/google/go-containerregistry/pkg/v1"
	corev1 "k8s.io/api/core/v1"
)

// Args returns the container process's argv, as the kubelet and containerd
// compute it: command and args are $(VAR)-expanded against env (the
// container's variables, not the image's); a command replaces the image's
// ENTRYPOINT and drops its CMD; args alone replace CMD and keep
// ENTRYPOINT; with neither, ENTRYPOINT + CMD. An ENTRYPOINT of exactly
// [""] counts as none. An empty result is ErrNoCommand.
func Args(c *corev1.Container, env map[string]string, image *v1.ConfigFile) ([]string, error) {
	lookup := MapLookup(env)
	var command, args []string
	for _, s := range c.Command {
		command = append(command, Expand(s, lookup))
	}
	for _, s := range c.Args {
		args = append(args, Expand(s, lookup))
	}
	if len(command) == 0 && image != nil {
		if len(args) == 0 {
			args = append(args, image.Config.Cmd...)
		}
		ep := image.Config.Entrypoint
		if !(len(ep) == 1 && ep[0] == "") {
			command = append(command, ep...)
		}
	}
	argv := append(command, args...)
	if len(argv) == 0 {
		return nil, ErrNoCommand
	}
	return argv, nil
}

// workingDir is the container's workingDir, else the image's, else "/".
func workingDir(c *corev1.Container, image *v1.ConfigFile) string {
	if c.WorkingDir != "" {
		return c.WorkingDir
	}
	if image != nil && image.Config.WorkingDir != "" {
		return image.Config.WorkingDir
	}
	return "/"
}
