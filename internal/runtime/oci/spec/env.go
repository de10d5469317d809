package spec

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// EnvVar is one resolved environment variable.
type EnvVar struct {
	Name  string
	Value string
}

// envList is an ordered map: a name keeps the position of its first
// assignment and the value of its last.
type envList struct {
	vars  []EnvVar
	index map[string]int
}

func (l *envList) set(name, value string) {
	if l.index == nil {
		l.index = map[string]int{}
	}
	if i, ok := l.index[name]; ok {
		l.vars[i].Value = value
		return
	}
	l.index[name] = len(l.vars)
	l.vars = append(l.vars, EnvVar{Name: name, Value: value})
}

func (l *envList) lookup(name string) (string, bool) {
	i, ok := l.index[name]
	if !ok {
		return "", false
	}
	return l.vars[i].Value, true
}

// Env resolves the container's environment as the kubelet's
// makeEnvironmentVariables does, without the image's variables: envFrom
// sources in order (prefix applied, keys that are not valid names
// skipped), then env in order, a later name overriding an earlier one.
// Values of env are $(VAR)-expanded against the variables defined before
// them; valueFrom values are not expanded. The order is deterministic: a
// variable stays where it was first defined, envFrom keys in key order.
//
// A ConfigMap, Secret or key that is missing and not optional is a
// *ConfigError with the kubelet's message.
func Env(in *Input) ([]EnvVar, error) {
	c := in.Container
	var env envList
	for _, from := range c.EnvFrom {
		var data map[string]string
		switch {
		case from.ConfigMapRef != nil:
			cm, ok := in.ConfigMaps[from.ConfigMapRef.Name]
			if !ok {
				if isOptional(from.ConfigMapRef.Optional) {
					continue
				}
				return nil, configErrorf("configmap %q not found", from.ConfigMapRef.Name)
			}
			data = cm.Data
		case from.SecretRef != nil:
			s, ok := in.Secrets[from.SecretRef.Name]
			if !ok {
				if isOptional(from.SecretRef.Optional) {
					continue
				}
				return nil, configErrorf("secret %q not found", from.SecretRef.Name)
			}
			data = SecretData(s)
		default:
			continue
		}
		keys := make([]string, 0, len(data))
		for k := range data {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			name := from.Prefix + k
			if !validEnvName(name) {
				continue
			}
			env.set(name, data[k])
		}
	}
	for _, e := range c.Env {
		value := e.Value
		switch {
		case value != "":
			value = Expand(value, env.lookup)
		case e.ValueFrom != nil:
			v, skip, err := valueFrom(in, e)
			if err != nil {
				return nil, err
			}
			if skip {
				continue
			}
			value = v
		}
		env.set(e.Name, value)
	}
	return env.vars, nil
}

func valueFrom(in *Input, e corev1.EnvVar) (value string, skip bool, err error) {
	pod, src := in.Pod, e.ValueFrom
	switch {
	case src.FieldRef != nil:
		v, err := FieldRefValue(pod, in.Info, src.FieldRef)
		if err != nil {
			return "", false, fmt.Errorf("env %q: %w", e.Name, err)
		}
		return v, false, nil
	case src.ResourceFieldRef != nil:
		v, err := ResourceFieldRefValue(pod, in.Info, in.Container, src.ResourceFieldRef)
		if err != nil {
			return "", false, fmt.Errorf("env %q: %w", e.Name, err)
		}
		return v, false, nil
	case src.ConfigMapKeyRef != nil:
		ref := src.ConfigMapKeyRef
		optional := isOptional(ref.Optional)
		cm, ok := in.ConfigMaps[ref.Name]
		if !ok {
			if optional {
				return "", true, nil
			}
			return "", false, configErrorf("configmap %q not found", ref.Name)
		}
		v, ok := cm.Data[ref.Key]
		if !ok {
			if optional {
				return "", true, nil
			}
			return "", false, configErrorf("couldn't find key %v in ConfigMap %v/%v", ref.Key, pod.Namespace, ref.Name)
		}
		return v, false, nil
	case src.SecretKeyRef != nil:
		ref := src.SecretKeyRef
		optional := isOptional(ref.Optional)
		s, ok := in.Secrets[ref.Name]
		if !ok {
			if optional {
				return "", true, nil
			}
			return "", false, configErrorf("secret %q not found", ref.Name)
		}
		v, ok := SecretData(s)[ref.Key]
		if !ok {
			if optional {
				return "", true, nil
			}
			return "", false, configErrorf("couldn't find key %v in Secret %v/%v", ref.Key, pod.Namespace, ref.Name)
		}
		return v, false, nil
	}
	return "", false, nil
}

// SecretData is a Secret's content as strings: data, with stringData
// merged over it as the API server would have done on create.
func SecretData(s *corev1.Secret) map[string]string {
	out := make(map[string]string, len(s.Data)+len(s.StringData))
	for k, v := range s.Data {
		out[k] = string(v)
	}
	for k, v := range s.StringData {
		out[k] = v
	}
	return out
}

func isOptional(b *bool) bool { return b != nil && *b }

// validEnvName is the relaxed rule of Kubernetes 1.34+: printable ASCII
// without '='.
func validEnvName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		if name[i] < ' ' || name[i] > '~' || name[i] == '=' {
			return false
		}
	}
	return true
}

// EnvMap returns vars as a map, for Expand and subPathExpr.
func EnvMap(vars []EnvVar) map[string]string {
	m := make(map[string]string, len(vars))
	for _, v := range vars {
		m[v.Name] = v.Value
	}
	return m
}

// defaultPath is containerd's PATH when the image sets none.
const defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// processEnv merges, as containerd does, its default PATH, HOSTNAME, the
// image's variables and the container's: a later definition of a name
// replaces the value in place.
func processEnv(hostname string, image []string, vars []EnvVar) []string {
	var l envList
	add := func(kv string) {
		name, value, _ := strings.Cut(kv, "=")
		l.set(name, value)
	}
	add(defaultPath)
	add("HOSTNAME=" + hostname)
	for _, kv := range image {
		add(kv)
	}
	for _, v := range vars {
		l.set(v.Name, v.Value)
	}
	out := make([]string, len(l.vars))
	for i, v := range l.vars {
		out[i] = v.Name + "=" + v.Value
	}
	return out
}
