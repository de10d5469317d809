package volume

import (
	"fmt"
	"os"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/internal/runtime/oci/spec"
)

// file is one file of a configMap, secret, downwardAPI or projected
// volume, at a path relative to the volume.
type file struct {
	Data []byte
	Mode os.FileMode
}

// payload is the content of an API-data volume, by relative path.
type payload map[string]file

// defaultMode is the API server's default for defaultMode and item modes.
const defaultMode = 0o644

func modeOr(m *int32, def os.FileMode) os.FileMode {
	if m == nil {
		return def
	}
	return os.FileMode(*m) & 0o777
}

// configMapPayload is the kubelet's configMap MakePayload: every key of
// data and binaryData, or only the listed items; a listed key that is
// missing fails unless optional.
func configMapPayload(cm *corev1.ConfigMap, items []corev1.KeyToPath, mode os.FileMode, optional bool) (payload, error) {
	p := payload{}
	if len(items) == 0 {
		for k, v := range cm.Data {
			p[k] = file{Data: []byte(v), Mode: mode}
		}
		for k, v := range cm.BinaryData {
			p[k] = file{Data: v, Mode: mode}
		}
		return p, nil
	}
	for _, it := range items {
		var data []byte
		if v, ok := cm.Data[it.Key]; ok {
			data = []byte(v)
		} else if v, ok := cm.BinaryData[it.Key]; ok {
			data = v
		} else {
			if optional {
				continue
			}
			return nil, fmt.Errorf("configmap references non-existent config key: %s", it.Key)
		}
		p[it.Path] = file{Data: data, Mode: modeOr(it.Mode, mode)}
	}
	return p, nil
}

// secretPayload is the kubelet's secret MakePayload.
func secretPayload(s *corev1.Secret, items []corev1.KeyToPath, mode os.FileMode, optional bool) (payload, error) {
	data := spec.SecretData(s)
	p := payload{}
	if len(items) == 0 {
		for k, v := range data {
			p[k] = file{Data: []byte(v), Mode: mode}
		}
		return p, nil
	}
	for _, it := range items {
		v, ok := data[it.Key]
		if !ok {
			if optional {
				continue
			}
			return nil, fmt.Errorf("references non-existent secret key: %s", it.Key)
		}
		p[it.Path] = file{Data: []byte(v), Mode: modeOr(it.Mode, mode)}
	}
	return p, nil
}

// downwardAPIPayload resolves downward-API items against the pod.
func downwardAPIPayload(pod *corev1.Pod, info spec.PodInfo, items []corev1.DownwardAPIVolumeFile, mode os.FileMode) (payload, error) {
	p := payload{}
	for _, it := range items {
		var v string
		var err error
		switch {
		case it.FieldRef != nil:
			v, err = spec.FieldRefValue(pod, info, it.FieldRef)
		case it.ResourceFieldRef != nil:
			c := findContainer(pod, it.ResourceFieldRef.ContainerName)
			if c == nil {
				return nil, fmt.Errorf("downward API item %q: container %q not found", it.Path, it.ResourceFieldRef.ContainerName)
			}
			v, err = spec.ResourceFieldRefValue(pod, info, c, it.ResourceFieldRef)
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("downward API item %q: %w", it.Path, err)
		}
		p[it.Path] = file{Data: []byte(v), Mode: modeOr(it.Mode, mode)}
	}
	return p, nil
}

func findContainer(pod *corev1.Pod, name string) *corev1.Container {
	for _, list := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for i := range list {
			if list[i].Name == name {
				return &list[i]
			}
		}
	}
	return nil
}

// projectedPayload combines the sources of a projected volume, later
// sources overriding earlier paths. serviceAccountToken,
// clusterTrustBundle and podCertificate sources are skipped: podrun has no
// API server to issue them.
func projectedPayload(pod *corev1.Pod, src Sources, v *corev1.ProjectedVolumeSource) (payload, error) {
	mode := modeOr(v.DefaultMode, defaultMode)
	p := payload{}
	for _, s := range v.Sources {
		var part payload
		var err error
		switch {
		case s.ConfigMap != nil:
			optional := s.ConfigMap.Optional != nil && *s.ConfigMap.Optional
			cm, ok := src.ConfigMaps[s.ConfigMap.Name]
			if !ok {
				if optional {
					continue
				}
				return nil, fmt.Errorf("couldn't get configMap %s/%s: configmap %q not found", pod.Namespace, s.ConfigMap.Name, s.ConfigMap.Name)
			}
			part, err = configMapPayload(cm, s.ConfigMap.Items, mode, optional)
		case s.Secret != nil:
			optional := s.Secret.Optional != nil && *s.Secret.Optional
			sec, ok := src.Secrets[s.Secret.Name]
			if !ok {
				if optional {
					continue
				}
				return nil, fmt.Errorf("couldn't get secret %s/%s: secret %q not found", pod.Namespace, s.Secret.Name, s.Secret.Name)
			}
			part, err = secretPayload(sec, s.Secret.Items, mode, optional)
		case s.DownwardAPI != nil:
			part, err = downwardAPIPayload(pod, src.Info, s.DownwardAPI.Items, mode)
		default:
			continue
		}
		if err != nil {
			return nil, err
		}
		for k, f := range part {
			p[k] = f
		}
	}
	return p, nil
}

// validatePayloadPath is the atomic writer's rule: relative, no "..",
// no component starting with "..".
func validatePayloadPath(p string) error {
	if p == "" {
		return fmt.Errorf("invalid path: must not be empty")
	}
	if strings.HasPrefix(p, "/") {
		return fmt.Errorf("invalid path %q: must be relative", p)
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == ".." || strings.HasPrefix(seg, "..") {
			return fmt.Errorf("invalid path %q: must not contain '..'", p)
		}
	}
	return nil
}
