package fake

import (
	"fmt"
	"strconv"
	"strings"
)

// token is a lexical token: an operator or a word.
type token struct {
	op   string // ";", "&", "&&", "||", ">", ">>", "(", ")" or "" for a word
	word word
	raw  string
}

// lex splits a script into tokens, honouring single and double quotes.
func lex(s string) ([]token, error) {
	var toks []token
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			i++
		case c == '\n' || c == ';':
			toks = append(toks, token{op: ";"})
			i++
		case c == '&' || c == '|':
			if i+1 < len(s) && s[i+1] == c {
				toks = append(toks, token{op: s[i : i+2]})
				i += 2
			} else if c == '&' {
				toks = append(toks, token{op: "&"})
				i++
			} else {
				return nil, fmt.Errorf("pipes are not supported")
			}
		case c == '>':
			if i+1 < len(s) && s[i+1] == '>' {
				toks = append(toks, token{op: ">>"})
				i += 2
			} else {
				toks = append(toks, token{op: ">"})
				i++
			}
		case c == '(' || c == ')':
			toks = append(toks, token{op: string(c)})
			i++
		default:
			w, raw, n, err := lexWord(s[i:])
			if err != nil {
				return nil, err
			}
			toks = append(toks, token{word: w, raw: raw})
			i += n
		}
	}
	return toks, nil
}

// lexWord reads one word from the start of s and returns it, its source
// text with quotes removed and the number of bytes consumed.
func lexWord(s string) (word, string, int, error) {
	var w word
	var raw strings.Builder
	lit := func(t string) {
		raw.WriteString(t)
		if n := len(w); n > 0 && w[n-1].env == "" && !w[n-1].date && w[n-1].arith == "" {
			w[n-1].lit += t
			return
		}
		w = append(w, wordPart{lit: t})
	}
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case strings.IndexByte(" \t\n;&|<>()", c) >= 0:
			return w, raw.String(), i, nil
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, "", 0, fmt.Errorf("unterminated single quote")
			}
			lit(s[i+1 : i+1+j])
			i += j + 2
		case c == '"':
			i++
			for {
				if i >= len(s) {
					return nil, "", 0, fmt.Errorf("unterminated double quote")
				}
				if s[i] == '"' {
					i++
					break
				}
				if s[i] == '\\' && i+1 < len(s) {
					lit(s[i+1 : i+2])
					i += 2
					continue
				}
				if s[i] == '$' {
					p, n, err := lexDollar(s[i:])
					if err != nil {
						return nil, "", 0, err
					}
					w = append(w, p)
					raw.WriteString(s[i : i+n])
					i += n
					continue
				}
				lit(s[i : i+1])
				i++
			}
		case c == '$':
			p, n, err := lexDollar(s[i:])
			if err != nil {
				return nil, "", 0, err
			}
			w = append(w, p)
			raw.WriteString(s[i : i+n])
			i += n
		case c == '\\' && i+1 < len(s):
			lit(s[i+1 : i+2])
			i += 2
		default:
			lit(s[i : i+1])
			i++
		}
	}
	return w, raw.String(), i, nil
}

// lexDollar reads $(date +%s), $NAME or ${NAME} at the start of s.
func lexDollar(s string) (wordPart, int, error) {
	if strings.HasPrefix(s, "$(date +%s)") {
		return wordPart{date: true}, len("$(date +%s)"), nil
	}
	if strings.HasPrefix(s, "$((") {
		end := strings.Index(s, "))")
		if end < 0 {
			return wordPart{}, 0, fmt.Errorf("unterminated arithmetic %q", firstField(s))
		}
		expr := s[3:end]
		if _, err := parseArith(expr); err != nil {
			return wordPart{}, 0, err
		}
		return wordPart{arith: expr}, end + 2, nil
	}
	if strings.HasPrefix(s, "$(") {
		return wordPart{}, 0, fmt.Errorf("command substitution %q is not supported", firstField(s))
	}
	if strings.HasPrefix(s, "${") {
		j := strings.IndexByte(s, '}')
		if j < 0 || !isName(s[2:j]) {
			return wordPart{}, 0, fmt.Errorf("parameter expansion %q is not supported", firstField(s))
		}
		return wordPart{env: s[2:j]}, j + 1, nil
	}
	j := 1
	for j < len(s) && (s[j] == '_' || s[j] >= 'A' && s[j] <= 'Z' || s[j] >= 'a' && s[j] <= 'z' || j > 1 && s[j] >= '0' && s[j] <= '9') {
		j++
	}
	if j == 1 {
		return wordPart{}, 0, fmt.Errorf("%q is not supported", firstField(s))
	}
	return wordPart{env: s[1:j]}, j, nil
}

func isName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		if !(c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func firstField(s string) string {
	if f := strings.Fields(s); len(f) > 0 {
		return f[0]
	}
	return s
}

// isAssignment reports whether a raw word is NAME=VALUE.
func isAssignment(raw string) bool {
	name, _, ok := strings.Cut(raw, "=")
	return ok && isName(name)
}

// trimPrefixWord removes the literal prefix p from the start of w.
func trimPrefixWord(w word, p string) word {
	out := append(word(nil), w...)
	for len(out) > 0 && p != "" {
		lit := out[0].lit
		if out[0].env != "" || out[0].date || out[0].arith != "" {
			break
		}
		if len(lit) <= len(p) {
			p = p[len(lit):]
			out = out[1:]
			continue
		}
		out[0].lit = lit[len(p):]
		p = ""
	}
	return out
}

// arithTerm is one operand of an arithmetic expression with its sign.
type arithTerm struct {
	neg   bool
	name  string
	value int
}

// parseArith parses NAME|NUMBER ((+|-) NAME|NUMBER)*.
func parseArith(expr string) ([]arithTerm, error) {
	var terms []arithTerm
	s := strings.ReplaceAll(expr, " ", "")
	neg := false
	for s != "" {
		j := 0
		for j < len(s) && s[j] != '+' && s[j] != '-' {
			j++
		}
		operand := strings.TrimPrefix(s[:j], "$")
		t := arithTerm{neg: neg}
		if n, err := strconv.Atoi(operand); err == nil {
			t.value = n
		} else if isName(operand) {
			t.name = operand
		} else {
			return nil, fmt.Errorf("arithmetic %q is not supported", expr)
		}
		terms = append(terms, t)
		if j == len(s) {
			break
		}
		neg = s[j] == '-'
		s = s[j+1:]
		if s == "" {
			return nil, fmt.Errorf("arithmetic %q is not supported", expr)
		}
	}
	return terms, nil
}
