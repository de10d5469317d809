package image

import (
	"fmt"
	"net"
	"net/http"
	"strings"
)

// plainHTTPAllowed reports whether the registry host[:port] may be reached
// over plain HTTP: localhost, loopback addresses and the insecure
// registries the store was given.
func (s *Store) plainHTTPAllowed(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if host == "localhost" {
		return true
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return true
	}
	for _, r := range s.opts.insecure {
		if r == hostport || r == host {
			return true
		}
	}
	return false
}

// transport returns the HTTP transport for registries: the configured one
// or a clone of the default (system CAs), refusing plain HTTP to any
// registry plainHTTPAllowed does not allow.
func (s *Store) transport() http.RoundTripper {
	base := s.opts.transport
	if base == nil {
		base = http.DefaultTransport.(*http.Transport).Clone()
	}
	return &httpGuard{base: base, allowed: s.plainHTTPAllowed}
}

// httpGuard refuses plain HTTP requests to hosts not allowed to use it.
type httpGuard struct {
	base    http.RoundTripper
	allowed func(host string) bool
}

func (g *httpGuard) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme == "http" && !g.allowed(req.URL.Host) {
		return nil, fmt.Errorf("refusing plain HTTP to registry %q: only localhost, loopback addresses and --insecure-registry hosts may use HTTP", req.URL.Host)
	}
	return g.base.RoundTrip(req)
}
