// Package podworkertest holds test doubles for the podworker's
// consumer-side interfaces: an in-memory Store, scripted Images and a
// settable Prober. Each is safe for concurrent use.
package podworkertest
