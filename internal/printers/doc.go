// Package printers renders API objects exactly as kubectl 1.37 prints them:
// the `get` tables of pods, Jobs and events (with -o wide, --show-labels and
// -L), `describe pod` and `describe job`, and the -o json|yaml|name|
// jsonpath=...|custom-columns=... formats.
//
// Every function is pure: it writes to the io.Writer it is given and reads
// time only from its now parameter, so the same objects at the same now
// always print the same bytes. Ages, "(5s ago)" suffixes and DURATION use
// k8s.io/apimachinery's duration.HumanDuration like kubectl; absolute times
// in describe output are printed in now's location.
//
// How the output stays kubectl's own:
//
//   - get tables: a metav1.Table is built with the apiserver's column
//     definitions and cells (pkg/printers/internalversion in kubernetes) and
//     printed with k8s.io/cli-runtime's table printer, the one kubectl uses
//     for server-side tables.
//   - describe: k8s.io/kubectl/pkg/describe runs over a fake clientset that
//     holds only the object. That describer reads the wall clock for two
//     things only: the event ages and "Terminating (lasts X)". The events
//     block is therefore written here (same layout, ages from now), and the
//     "lasts" duration is recomputed from now.
//   - -o formats: objects are converted to unstructured the way kubectl get
//     receives them, several objects are wrapped in a v1 List, and the
//     cli-runtime (and kubectl custom-columns) printers print them.
package printers
