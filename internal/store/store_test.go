package store_test

import (
	"testing"

	"github.com/podrun/podrun/internal/store"
	"github.com/podrun/podrun/internal/store/storetest"
)

func TestFilesSuite(t *testing.T) {
	storetest.RunSuite(t, func(t *testing.T) *store.Store {
		s, err := store.Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestMemorySuite(t *testing.T) {
	storetest.RunSuite(t, func(t *testing.T) *store.Store { return store.NewMemory() })
}
