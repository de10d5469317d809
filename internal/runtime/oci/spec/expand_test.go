package spec

import "testing"

func TestExpand(t *testing.T) {
	vars := map[string]string{
		"VAR_A":     "A",
		"VAR_B":     "B",
		"VAR_C":     "C",
		"VAR_REF":   "$(VAR_A)",
		"VAR_EMPTY": "",
	}
	for _, tc := range []struct {
		in, want string
	}{
		{"", ""},
		{"plain", "plain"},
		{"$(VAR_A)", "A"},
		{"___$(VAR_B)___", "___B___"},
		{"$(VAR_A)-$(VAR_B)-$(VAR_C)", "A-B-C"},
		{"$(VAR_REF)", "$(VAR_A)"}, // no recursion
		{"$(VAR_EMPTY)", ""},
		{"$(UNKNOWN)", "$(UNKNOWN)"},
		{"foo$(UNKNOWN)bar", "foo$(UNKNOWN)bar"},
		{"$$(VAR_A)", "$(VAR_A)"},
		{"$$$(VAR_A)", "$A"},
		{"$$$$(VAR_A)", "$$(VAR_A)"},
		{"$$", "$"},
		{"$$$", "$$"},
		{"$", "$"},
		{"x$", "x$"},
		{"$VAR_A", "$VAR_A"},
		{"$-", "$-"},
		{"$(VAR_A", "$(VAR_A"},
		{"$(", "$("},
		{"$()", "$()"},
		{"$(VAR_A)$(VAR_A", "A$(VAR_A"},
		{"$(VAR_A$(VAR_B)", "$(VAR_A$(VAR_B)"},
		{"(VAR_A)", "(VAR_A)"},
		{"$(VAR_A)$$(VAR_B)", "A$(VAR_B)"},
		{"f00__(VAR_A)__", "f00__(VAR_A)__"},
		{"$?_boo_$!", "$?_boo_$!"},
		{"héllo $(VAR_A) wörld", "héllo A wörld"},
	} {
		if got := Expand(tc.in, MapLookup(vars)); got != tc.want {
			t.Errorf("Expand(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestMapLookupOrder(t *testing.T) {
	lookup := MapLookup(map[string]string{"A": "first"}, map[string]string{"A": "second", "B": "b"})
	if got := Expand("$(A)$(B)", lookup); got != "firstb" {
		t.Errorf("got %q, want %q", got, "firstb")
	}
}
