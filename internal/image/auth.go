package image

import (
	"encoding/json"
	"fmt"
	"net/url"
	"path"
	"sort"
	"strings"

	"github.com/docker/cli/cli/config"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	corev1 "k8s.io/api/core/v1"
)

// keychain returns the credentials for a pull: the pod's image pull
// secrets first, as the kubelet tries them, then the Docker config file.
func (s *Store) keychain(secrets []*corev1.Secret) (authn.Keychain, error) {
	var docker authn.Keychain = authn.DefaultKeychain
	if s.opts.dockerConfig != "" {
		docker = dockerConfigKeychain{dir: s.opts.dockerConfig}
	}
	if len(secrets) == 0 {
		return docker, nil
	}
	kc, err := SecretsKeychain(secrets)
	if err != nil {
		return nil, err
	}
	return authn.NewMultiKeychain(kc, docker), nil
}

// dockerConfigKeychain reads the config.json in dir: auths entries,
// credsStore and credHelpers, as docker login writes them.
type dockerConfigKeychain struct{ dir string }

func (k dockerConfigKeychain) Resolve(target authn.Resource) (authn.Authenticator, error) {
	cf, err := config.Load(k.dir)
	if err != nil {
		return nil, fmt.Errorf("docker config %q: %w", k.dir, err)
	}
	key := target.RegistryStr()
	if key == name.DefaultRegistry {
		key = authn.DefaultAuthKey
	}
	cfg, err := cf.GetAuthConfig(key)
	if err != nil {
		return nil, fmt.Errorf("docker config %q: credentials for %s: %w", k.dir, key, err)
	}
	if cfg.Username == "" && cfg.Password == "" && cfg.Auth == "" && cfg.IdentityToken == "" && cfg.RegistryToken == "" {
		return authn.Anonymous, nil
	}
	return authn.FromConfig(authn.AuthConfig{
		Username: cfg.Username, Password: cfg.Password, Auth: cfg.Auth,
		IdentityToken: cfg.IdentityToken, RegistryToken: cfg.RegistryToken,
	}), nil
}

// secretKeychain holds the credentials of image pull secrets, matched as
// the kubelet's credential keyring matches them: a key is a registry host
// (components may be globs such as *.example.com), an optional port and
// an optional repository path prefix; the most specific key wins.
type secretKeychain struct{ creds []secretCred }

type secretCred struct {
	host, port, path string
	auth             authn.AuthConfig
}

// SecretsKeychain returns the credentials of image pull secrets of type
// kubernetes.io/dockerconfigjson (.dockerconfigjson) or
// kubernetes.io/dockercfg (.dockercfg); secrets of other types are
// ignored, as the kubelet ignores them.
func SecretsKeychain(secrets []*corev1.Secret) (authn.Keychain, error) {
	kc := &secretKeychain{}
	for _, sec := range secrets {
		if sec == nil {
			continue
		}
		var auths map[string]authn.AuthConfig
		switch sec.Type {
		case corev1.SecretTypeDockerConfigJson:
			var cfg struct {
				Auths map[string]authn.AuthConfig `json:"auths"`
			}
			if err := json.Unmarshal(sec.Data[corev1.DockerConfigJsonKey], &cfg); err != nil {
				return nil, fmt.Errorf("image pull secret %q: %s: %w", sec.Name, corev1.DockerConfigJsonKey, err)
			}
			auths = cfg.Auths
		case corev1.SecretTypeDockercfg:
			if err := json.Unmarshal(sec.Data[corev1.DockerConfigKey], &auths); err != nil {
				return nil, fmt.Errorf("image pull secret %q: %s: %w", sec.Name, corev1.DockerConfigKey, err)
			}
		default:
			continue
		}
		for key, auth := range auths {
			host, port, p, err := parseCredKey(key)
			if err != nil {
				return nil, fmt.Errorf("image pull secret %q: registry %q: %w", sec.Name, key, err)
			}
			kc.creds = append(kc.creds, secretCred{host: host, port: port, path: p, auth: auth})
		}
	}
	// The kubelet's keyring tries keys in reverse lexical order, which puts
	// longer (more specific) keys of one host first.
	sort.SliceStable(kc.creds, func(i, j int) bool {
		a, b := kc.creds[i], kc.creds[j]
		return a.host+":"+a.port+"/"+a.path > b.host+":"+b.port+"/"+b.path
	})
	return kc, nil
}

// parseCredKey splits a credential key ("https://index.docker.io/v1/",
// "registry.example.com:5000/team", "*.example.com") into host, port and
// repository path.
func parseCredKey(key string) (host, port, p string, err error) {
	if !strings.Contains(key, "://") {
		key = "https://" + key
	}
	u, err := url.Parse(key)
	if err != nil {
		return "", "", "", err
	}
	p = strings.Trim(u.Path, "/")
	for _, api := range []string{"v1", "v2"} {
		if p == api || strings.HasPrefix(p, api+"/") {
			p = strings.Trim(strings.TrimPrefix(p, api), "/")
		}
	}
	return hubHost(u.Hostname()), u.Port(), p, nil
}

// hubHost maps Docker Hub's host names onto the one ggcr uses.
func hubHost(host string) string {
	switch host {
	case "docker.io", "registry-1.docker.io", "index.docker.io":
		return name.DefaultRegistry
	}
	return host
}

func (k *secretKeychain) Resolve(target authn.Resource) (authn.Authenticator, error) {
	u, err := url.Parse("https://" + target.RegistryStr())
	if err != nil {
		return authn.Anonymous, nil
	}
	host, port := hubHost(u.Hostname()), u.Port()
	repo := ""
	if r, ok := target.(name.Repository); ok {
		repo = r.RepositoryStr()
	}
	for _, c := range k.creds {
		if c.port != port || !hostMatches(c.host, host) {
			continue
		}
		if c.path != "" && repo != c.path && !strings.HasPrefix(repo, c.path+"/") {
			continue
		}
		return authn.FromConfig(c.auth), nil
	}
	return authn.Anonymous, nil
}

// hostMatches matches host against a key whose dot-separated components
// may be globs.
func hostMatches(glob, host string) bool {
	gs, hs := strings.Split(glob, "."), strings.Split(host, ".")
	if len(gs) != len(hs) {
		return false
	}
	for i := range gs {
		if ok, err := path.Match(gs[i], hs[i]); err != nil || !ok {
			return false
		}
	}
	return true
}
