// Package testimage builds small container images offline for tests and
// for scripts that must run without a registry.
//
// The busybox image is made from the host's statically linked busybox
// (Debian package busybox-static) in about a second, deterministically: the
// same busybox binary always gives the same image digest.
package testimage
