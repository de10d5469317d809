package image

import (
	"bytes"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// testRegistry is an in-memory registry on 127.0.0.1 that counts requests
// and, when user is set, demands HTTP basic authentication.
type testRegistry struct {
	host       string
	user, pass string

	mu       sync.Mutex
	requests map[string]int // "METHOD kind" -> count, kind is blobs or manifests
	blobGets map[string]int // blob digest -> GET count
}

func newTestRegistry(t *testing.T, user, pass string) *testRegistry {
	t.Helper()
	tr := &testRegistry{user: user, pass: pass, requests: map[string]int{}, blobGets: map[string]int{}}
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tr.user != "" {
			u, p, ok := r.BasicAuth()
			if !ok || u != tr.user || p != tr.pass {
				w.Header().Set("WWW-Authenticate", `Basic realm="podrun-test"`)
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
		}
		tr.count(r)
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	tr.host = strings.TrimPrefix(srv.URL, "http://")
	return tr
}

func (tr *testRegistry) count(r *http.Request) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	parts := strings.Split(r.URL.Path, "/")
	if len(parts) < 3 {
		return
	}
	kind := parts[len(parts)-2]
	tr.requests[r.Method+" "+kind]++
	if r.Method == http.MethodGet && kind == "blobs" {
		tr.blobGets[parts[len(parts)-1]]++
	}
}

func (tr *testRegistry) counts() (map[string]int, map[string]int) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	req, blobs := map[string]int{}, map[string]int{}
	for k, v := range tr.requests {
		req[k] = v
	}
	for k, v := range tr.blobGets {
		blobs[k] = v
	}
	return req, blobs
}

func (tr *testRegistry) reset() {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.requests, tr.blobGets = map[string]int{}, map[string]int{}
}

func (tr *testRegistry) auth() remote.Option {
	if tr.user == "" {
		return remote.WithAuth(authn.Anonymous)
	}
	return remote.WithAuth(&authn.Basic{Username: tr.user, Password: tr.pass})
}

// push stores img in the registry as repo:tag and returns the full name.
func (tr *testRegistry) push(t *testing.T, repoTag string, img v1.Image) string {
	t.Helper()
	ref, err := name.ParseReference(tr.host + "/" + repoTag)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img, tr.auth()); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	tr.reset()
	return ref.Name()
}

// pushIndex stores idx in the registry as repo:tag and returns the name.
func (tr *testRegistry) pushIndex(t *testing.T, repoTag string, idx v1.ImageIndex) string {
	t.Helper()
	ref, err := name.ParseReference(tr.host + "/" + repoTag)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(ref, idx, tr.auth()); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	tr.reset()
	return ref.Name()
}

// fixedImage builds a deterministic image with one layer per content,
// each layer holding the file "data" with that content.
func fixedImage(t *testing.T, contents ...string) v1.Image {
	t.Helper()
	var layers [][]tarEntry
	for _, c := range contents {
		layers = append(layers, []tarEntry{{Name: "data", Body: c}})
	}
	return imageFromTars(t, layers)
}

// imageFromTars builds a deterministic linux/amd64 image with a layer per
// entry list.
func imageFromTars(t *testing.T, layers [][]tarEntry) v1.Image {
	t.Helper()
	img := empty.Image
	for _, entries := range layers {
		b := makeTar(t, entries)
		l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(b)), nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if img, err = mutate.AppendLayers(img, l); err != nil {
			t.Fatal(err)
		}
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}
