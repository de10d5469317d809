// Command podrun-shim monitors one container for podrun: it creates the
// container through the OCI runtime, copies its output into the CRI log
// and records its exit status, independently of the podrun process that
// started it (see internal/runtime/oci/shim). podrun starts it; it is not
// run by hand.
package main

import (
	"os"

	"github.com/podrun/podrun/internal/runtime/oci/shim"
)

func main() { os.Exit(shim.Main(os.Args[1:])) }
