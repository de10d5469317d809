package bench

import (
	"context"
	"os"
	"testing"

	"github.com/podrun/podrun/internal/image"
	"github.com/podrun/podrun/internal/image/testimage"
)

// BenchmarkImageLookup is the image store's Lookup of an image whose layer
// is already unpacked, as the runtime calls it for every container it
// creates (the busybox test image, built from /bin/busybox).
func BenchmarkImageLookup(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("unpacking layers needs root")
	}
	if _, err := os.Stat("/bin/busybox"); err != nil {
		b.Skip("no /bin/busybox (busybox-static)")
	}
	ctx := context.Background()
	img, err := testimage.BusyboxImage(ctx)
	if err != nil {
		b.Fatalf("busybox image: %v", err)
	}
	s, err := image.Open(b.TempDir())
	if err != nil {
		b.Fatalf("open image store: %v", err)
	}
	if _, err := s.Add(ctx, img, "busybox:latest"); err != nil {
		b.Fatalf("add busybox: %v", err)
	}
	if _, _, err := s.Lookup(ctx, "busybox"); err != nil { // unpacks once
		b.Fatalf("lookup busybox: %v", err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := s.Lookup(ctx, "busybox"); err != nil {
			b.Fatalf("lookup busybox: %v", err)
		}
	}
}
