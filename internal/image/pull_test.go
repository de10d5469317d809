package image

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestPullAnonymous(t *testing.T) {
	requireRoot(t)
	ctx := context.Background()
	reg := newTestRegistry(t, "", "")
	img := fixedImage(t, "one", "two")
	ref := reg.push(t, "team/app:v1", img)
	s := openStore(t, t.TempDir())
	got, err := s.Pull(ctx, ref)
	if err != nil {
		t.Fatalf("Pull(%s): %v", ref, err)
	}
	digest, _ := img.Digest()
	id, _ := img.ConfigName()
	if got.Name != ref || got.Digest != digest || got.ID != id {
		t.Errorf("Pull = %+v, want name %s digest %s id %s", got, ref, digest, id)
	}
	list, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{reg.host + "/team/app:v1", reg.host + "/team/app@" + digest.String()}
	if diff := cmp.Diff(want, names(list)); diff != "" {
		t.Errorf("names after pull (-want +got):\n%s", diff)
	}
	dirs, _, err := s.Lookup(ctx, ref)
	if err != nil {
		t.Fatalf("Lookup: %v", err)
	}
	var data []string
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "data"))
		if err != nil {
			t.Fatal(err)
		}
		data = append(data, string(b))
	}
	if diff := cmp.Diff([]string{"one", "two"}, data); diff != "" {
		t.Errorf("layer contents bottom first (-want +got):\n%s", diff)
	}
}

func dockerConfig(t *testing.T, content string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

func pullSecret(t *testing.T, typ corev1.SecretType, key string, v any) *corev1.Secret {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "creds"}, Type: typ, Data: map[string][]byte{key: b}}
}

func TestPullAuth(t *testing.T) {
	requireRoot(t)
	reg := newTestRegistry(t, "alice", "s3cret")
	ref := reg.push(t, "team/app:v1", fixedImage(t, "private"))
	basic := base64.StdEncoding.EncodeToString([]byte("alice:s3cret"))
	tests := []struct {
		name    string
		config  string // Docker config.json, "" for none
		secrets func(host string) []*corev1.Secret
		wantErr bool
	}{
		{name: "no credentials", config: `{}`, wantErr: true},
		{name: "docker config auth", config: `{"auths":{"HOST":{"auth":"` + basic + `"}}}`},
		{name: "docker config username and password", config: `{"auths":{"http://HOST":{"username":"alice","password":"s3cret"}}}`},
		{name: "docker config wrong password", config: `{"auths":{"HOST":{"username":"alice","password":"nope"}}}`, wantErr: true},
		{name: "dockerconfigjson secret", config: `{}`, secrets: func(host string) []*corev1.Secret {
			return []*corev1.Secret{pullSecret(t, corev1.SecretTypeDockerConfigJson, corev1.DockerConfigJsonKey,
				map[string]any{"auths": map[string]any{host: map[string]string{"auth": basic}}})}
		}},
		{name: "dockercfg secret with repository path", config: `{}`, secrets: func(host string) []*corev1.Secret {
			return []*corev1.Secret{pullSecret(t, corev1.SecretTypeDockercfg, corev1.DockerConfigKey,
				map[string]any{host + "/team": map[string]string{"username": "alice", "password": "s3cret"}})}
		}},
		{name: "secret for another repository", config: `{}`, secrets: func(host string) []*corev1.Secret {
			return []*corev1.Secret{pullSecret(t, corev1.SecretTypeDockerConfigJson, corev1.DockerConfigJsonKey,
				map[string]any{"auths": map[string]any{host + "/other": map[string]string{"auth": basic}}})}
		}, wantErr: true},
		{name: "secret wins over docker config", config: `{"auths":{"HOST":{"username":"alice","password":"nope"}}}`, secrets: func(host string) []*corev1.Secret {
			return []*corev1.Secret{pullSecret(t, corev1.SecretTypeDockerConfigJson, corev1.DockerConfigJsonKey,
				map[string]any{"auths": map[string]any{host: map[string]string{"auth": basic}}})}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := dockerConfig(t, strings.ReplaceAll(tc.config, "HOST", reg.host))
			s := openStore(t, t.TempDir(), WithDockerConfig(cfg))
			var secrets []*corev1.Secret
			if tc.secrets != nil {
				secrets = tc.secrets(reg.host)
			}
			_, err := s.Pull(context.Background(), ref, secrets...)
			if gotErr := err != nil; gotErr != tc.wantErr {
				t.Fatalf("Pull error = %v, want error: %v", err, tc.wantErr)
			}
			if err != nil && !errors.Is(err, ErrImagePull) {
				t.Errorf("Pull error = %v, want ErrImagePull", err)
			}
		})
	}
}

func TestPullDigest(t *testing.T) {
	requireRoot(t)
	ctx := context.Background()
	reg := newTestRegistry(t, "", "")
	img := fixedImage(t, "pinned")
	ref := reg.push(t, "team/app:v1", img)
	digest, _ := img.Digest()
	pinned := strings.TrimSuffix(ref, ":v1") + "@" + digest.String()
	s := openStore(t, t.TempDir())
	got, err := s.Pull(ctx, pinned)
	if err != nil {
		t.Fatalf("Pull(%s): %v", pinned, err)
	}
	if got.Name != pinned || got.Digest != digest {
		t.Errorf("Pull = %+v, want name %s digest %s", got, pinned, digest)
	}
	if _, _, err := s.Lookup(ctx, pinned); err != nil {
		t.Errorf("Lookup(%s): %v", pinned, err)
	}
	wrong := strings.TrimSuffix(ref, ":v1") + "@sha256:" + strings.Repeat("0", 64)
	if _, err := s.Pull(ctx, wrong); !errors.Is(err, ErrImagePull) {
		t.Errorf("Pull(unknown digest) error = %v, want ErrImagePull", err)
	}
}

func TestPullIndex(t *testing.T) {
	requireRoot(t)
	ctx := context.Background()
	reg := newTestRegistry(t, "", "")
	amd, arm := fixedImage(t, "amd64"), fixedImage(t, "arm64")
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: amd, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: arm, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}}},
	)
	ref := reg.pushIndex(t, "multi:v1", idx)
	idxDigest, _ := idx.Digest()
	for _, tc := range []struct {
		platform v1.Platform
		want     v1.Image
	}{
		{v1.Platform{OS: "linux", Architecture: "amd64"}, amd},
		{v1.Platform{OS: "linux", Architecture: "arm64"}, arm},
	} {
		t.Run(tc.platform.String(), func(t *testing.T) {
			s := openStore(t, t.TempDir(), WithPlatform(tc.platform))
			got, err := s.Pull(ctx, ref)
			if err != nil {
				t.Fatalf("Pull: %v", err)
			}
			want, _ := tc.want.Digest()
			if got.Digest != want {
				t.Errorf("Pull stored manifest %s, want %s (the %s image)", got.Digest, want, tc.platform)
			}
			byIndex := strings.TrimSuffix(ref, ":v1") + "@" + idxDigest.String()
			if _, _, err := s.Lookup(ctx, byIndex); err != nil {
				t.Errorf("Lookup(%s) by index digest: %v", byIndex, err)
			}
		})
	}
	s := openStore(t, t.TempDir(), WithPlatform(v1.Platform{OS: "linux", Architecture: "s390x"}))
	if _, err := s.Pull(ctx, ref); !errors.Is(err, ErrImagePull) {
		t.Errorf("Pull for a platform the index lacks: error = %v, want ErrImagePull", err)
	}
}

func TestPullMissing(t *testing.T) {
	reg := newTestRegistry(t, "", "")
	s := openStore(t, t.TempDir())
	ref := reg.host + "/team/absent"
	_, err := s.Pull(context.Background(), ref)
	if Reason(err) != "ErrImagePull" {
		t.Fatalf("Pull(absent) error = %v (reason %q), want reason ErrImagePull", err, Reason(err))
	}
	wantPrefix := `failed to pull and unpack image "` + ref + `:latest": `
	if !strings.HasPrefix(err.Error(), wantPrefix) {
		t.Errorf("Pull(absent) error = %q, want prefix %q", err, wantPrefix)
	}
}

func TestPullConcurrentDownloadsOnce(t *testing.T) {
	requireRoot(t)
	ctx := context.Background()
	reg := newTestRegistry(t, "", "")
	img := fixedImage(t, "a", "b", "c")
	ref := reg.push(t, "team/app:v1", img)
	root := t.TempDir()
	const pullers = 4
	errs := make([]error, pullers)
	var wg sync.WaitGroup
	for i := range pullers {
		s := openStore(t, root) // a Store per puller, as separate processes have
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = s.Pull(ctx, ref)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("concurrent pulls: %v", err)
	}
	_, blobGets := reg.counts()
	layers, _ := img.Layers()
	want := map[string]int{}
	for _, l := range layers {
		d, _ := l.Digest()
		want[d.String()] = 1
	}
	cfgName, _ := img.ConfigName()
	want[cfgName.String()] = 1
	if diff := cmp.Diff(want, blobGets); diff != "" {
		t.Errorf("blob downloads (-want +got):\n%s", diff)
	}
	if got := dirEntries(t, filepath.Join(root, "images", "blobs", "sha256")); len(got) != 5 {
		t.Errorf("blobs = %v, want 5 (3 layers, config, manifest)", got)
	}
	if got := dirEntries(t, filepath.Join(root, "images", "layers")); len(got) != 3 {
		t.Errorf("unpacked layers = %v, want 3", got)
	}
}

// recordingTransport answers every request with 200 and remembers URLs.
type recordingTransport struct{ urls []string }

func (r *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r.urls = append(r.urls, req.URL.String())
	return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody, Request: req}, nil
}

func TestPlainHTTPOnlyWhereAllowed(t *testing.T) {
	tests := []struct {
		url      string
		insecure []string
		allowed  bool
	}{
		{url: "https://registry.example.com/v2/", allowed: true},
		{url: "http://registry.example.com/v2/", allowed: false},
		{url: "http://10.1.2.3:5000/v2/", allowed: false},
		{url: "http://10.1.2.3:5000/v2/", insecure: []string{"10.1.2.3:5000"}, allowed: true},
		{url: "http://10.1.2.3:5000/v2/", insecure: []string{"10.1.2.3"}, allowed: true},
		{url: "http://10.1.2.3:5000/v2/", insecure: []string{"10.1.2.3:6000"}, allowed: false},
		{url: "http://localhost:5000/v2/", allowed: true},
		{url: "http://127.0.0.1:5000/v2/", allowed: true},
		{url: "http://[::1]:5000/v2/", allowed: true},
	}
	for _, tc := range tests {
		rt := &recordingTransport{}
		s := openStore(t, t.TempDir(), WithTransport(rt), WithInsecureRegistries(tc.insecure...))
		req, err := http.NewRequest(http.MethodGet, tc.url, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.transport().RoundTrip(req)
		if got := err == nil && len(rt.urls) == 1; got != tc.allowed {
			t.Errorf("GET %s with insecure %v: sent = %v (err %v), want %v", tc.url, tc.insecure, got, err, tc.allowed)
		}
	}
}

func TestPullProgress(t *testing.T) {
	requireRoot(t)
	for _, terminal := range []bool{false, true} {
		name := map[bool]string{false: "plain", true: "terminal"}[terminal]
		t.Run(name, func(t *testing.T) {
			reg := newTestRegistry(t, "", "")
			img := fixedImage(t, "first", "second")
			ref := reg.push(t, "team/app:v1", img)
			var out strings.Builder
			s := openStore(t, t.TempDir(), WithProgress(&out, terminal))
			// The first layer is already present from another image.
			if _, err := s.Add(context.Background(), fixedImage(t, "first"), "other"); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Pull(context.Background(), ref); err != nil {
				t.Fatal(err)
			}
			got := strings.ReplaceAll(out.String(), reg.host, "REGISTRY")
			golden := filepath.Join("testdata", "progress-"+name+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create)", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("progress output (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPullCredentialHelper(t *testing.T) {
	requireRoot(t)
	reg := newTestRegistry(t, "alice", "s3cret")
	ref := reg.push(t, "team/app:v1", fixedImage(t, "helper"))
	bin := t.TempDir()
	helper := "#!/bin/sh\n[ \"$1\" = get ] || exit 1\nread server\necho \"{\\\"ServerURL\\\":\\\"$server\\\",\\\"Username\\\":\\\"alice\\\",\\\"Secret\\\":\\\"s3cret\\\"}\"\n"
	if err := os.WriteFile(filepath.Join(bin, "docker-credential-podrun-test"), []byte(helper), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	cfg := dockerConfig(t, `{"credHelpers":{"`+reg.host+`":"podrun-test"}}`)
	s := openStore(t, t.TempDir(), WithDockerConfig(cfg))
	if _, err := s.Pull(context.Background(), ref); err != nil {
		t.Fatalf("Pull with a credential helper: %v", err)
	}
}
