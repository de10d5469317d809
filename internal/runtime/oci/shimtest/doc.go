// Package shimtest builds cmd/podrun-shim for tests that start real
// containers: the OCI runtime finds it through $PODRUN_SHIM, which a
// package's TestMain sets with Setenv and clears up with Remove:
//
//	func TestMain(m *testing.M) {
//		if err := shimtest.Setenv(context.Background()); err != nil {
//			fmt.Fprintln(os.Stderr, err)
//			os.Exit(1)
//		}
//		code := m.Run()
//		shimtest.Remove()
//		os.Exit(code)
//	}
package shimtest
