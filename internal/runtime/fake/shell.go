package fake

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Program is a container command compiled for the fake: a few busybox
// shell idioms turned into instructions the fake runs on its clock. Build
// one with ParseCommand or from a Behavior.
type Program struct {
	code   []instr
	binary string
}

// Forever is a duration long enough to mean "never ends" (sleep infinity).
const Forever = time.Duration(1<<62 - 1)

// opcode is one kind of instruction.
type opcode int

const (
	opCmd         opcode = iota // run a simple command
	opJumpIfFalse               // jump to target if status != 0
	opJumpIfTrue                // jump to target if status == 0
	opBackground                // start sub as a background job
	opJump                      // jump to target
	opAssign                    // set variable name to word
)

// instr is one instruction of a compiled program.
type instr struct {
	op     opcode
	cmd    *simpleCmd
	target int
	sub    []instr
	name   string // opAssign
	value  word   // opAssign
}

// word is a shell word: literal text with deferred expansions.
type word []wordPart

// wordPart is a literal, a variable, `$(date +%s)` or `$((a+1))`.
type wordPart struct {
	lit   string
	env   string
	date  bool
	arith string
}

// simpleCmd is argv plus an optional output redirection.
type simpleCmd struct {
	argv     []word
	redirect word // file that receives stdout, "" for the log
	appendTo bool
}

// knownCommands are the programs the fake can run.
var knownCommands = map[string]bool{
	"sh": true, "sleep": true, "exit": true, "trap": true, "wait": true,
	"echo": true, "touch": true, "test": true, "[": true, "true": true,
	"false": true, ":": true, "rm": true, "cat": true,
}

// ParseCommand compiles a container's argv (command followed by args) into
// a Program. It understands `sh -c SCRIPT` with the idioms of the
// conformance catalog — sleep N, exit C, trap 'BODY' TERM, cmd &, wait,
// ( list ) &, echo with >> redirection and $(date +%s), touch, test / [ -f ],
// if/then/else/fi, && and || — and the plain programs sleep, true, false
// and echo. Anything else is an error naming what is not understood. A
// first word that is not a known program yields a Program that fails to
// start, as a missing binary does on a real runtime.
func ParseCommand(argv []string) (*Program, error) {
	if len(argv) == 0 {
		return nil, fmt.Errorf("empty command")
	}
	bin := argv[0]
	if i := strings.LastIndexByte(bin, '/'); i >= 0 {
		bin = bin[i+1:]
	}
	switch {
	case bin == "sh" && len(argv) >= 3 && argv[1] == "-c":
		code, err := parseScript(argv[2])
		if err != nil {
			return nil, fmt.Errorf("parse script %q: %w", argv[2], err)
		}
		return &Program{code: code, binary: bin}, nil
	case knownCommands[bin] && bin != "sh":
		cmd := &simpleCmd{}
		for _, a := range argv {
			cmd.argv = append(cmd.argv, word{{lit: a}})
		}
		cmd.argv[0] = word{{lit: bin}}
		return &Program{code: []instr{{op: opCmd, cmd: cmd}}, binary: bin}, nil
	default:
		return &Program{binary: argv[0]}, nil
	}
}

// Runnable reports whether the program's binary exists in the fake's
// image; a Program that is not runnable fails StartContainer.
func (p *Program) Runnable() bool { return p.binary == "sh" || knownCommands[p.binary] }

// parser compiles tokens to instructions.
type parser struct {
	toks []token
	pos  int
}

func parseScript(s string) ([]instr, error) {
	toks, err := lex(s)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	code, err := p.list(nil)
	if err != nil {
		return nil, err
	}
	if p.pos < len(p.toks) {
		return nil, fmt.Errorf("unexpected %q", p.peekText())
	}
	return code, nil
}

func (p *parser) peekText() string {
	if p.pos >= len(p.toks) {
		return "end of script"
	}
	t := p.toks[p.pos]
	if t.op != "" {
		return t.op
	}
	return t.raw
}

// atKeyword reports whether the next token is one of the reserved words.
func (p *parser) atKeyword(kws ...string) bool {
	if p.pos >= len(p.toks) || p.toks[p.pos].op != "" {
		return false
	}
	for _, k := range kws {
		if p.toks[p.pos].raw == k {
			return true
		}
	}
	return false
}

// list parses statements until the end, ")" or one of the stop keywords.
func (p *parser) list(stop []string) ([]instr, error) {
	var code []instr
	for p.pos < len(p.toks) {
		t := p.toks[p.pos]
		if t.op == ";" {
			p.pos++
			continue
		}
		if t.op == ")" || p.atKeyword(stop...) {
			break
		}
		stmt, err := p.andOr()
		if err != nil {
			return nil, err
		}
		if p.pos < len(p.toks) && p.toks[p.pos].op == "&" {
			p.pos++
			code = append(code, instr{op: opBackground, sub: stmt})
			continue
		}
		code = append(code, relocate(stmt, len(code))...)
	}
	return code, nil
}

// andOr parses a pipeline-free and-or list: cmd (&& cmd | || cmd)*.
func (p *parser) andOr() ([]instr, error) {
	code, err := p.command()
	if err != nil {
		return nil, err
	}
	for p.pos < len(p.toks) && (p.toks[p.pos].op == "&&" || p.toks[p.pos].op == "||") {
		op := p.toks[p.pos].op
		p.pos++
		next, err := p.command()
		if err != nil {
			return nil, err
		}
		jump := instr{op: opJumpIfFalse}
		if op == "||" {
			jump.op = opJumpIfTrue
		}
		jump.target = len(code) + 1 + len(next)
		code = append(code, jump)
		code = append(code, relocate(next, len(code))...)
	}
	return code, nil
}

// relocate shifts the jump targets of code placed at offset.
func relocate(code []instr, offset int) []instr {
	out := make([]instr, len(code))
	for i, in := range code {
		if in.op == opJumpIfFalse || in.op == opJumpIfTrue || in.op == opJump {
			in.target += offset
		}
		out[i] = in
	}
	return out
}

// command parses a simple command, a subshell or an if statement.
func (p *parser) command() ([]instr, error) {
	if p.pos >= len(p.toks) {
		return nil, fmt.Errorf("missing command at end of script")
	}
	t := p.toks[p.pos]
	switch {
	case t.op == "(":
		p.pos++
		body, err := p.list(nil)
		if err != nil {
			return nil, err
		}
		if p.pos >= len(p.toks) || p.toks[p.pos].op != ")" {
			return nil, fmt.Errorf("missing )")
		}
		p.pos++
		// A subshell runs as a job that the parent waits for at once.
		return []instr{{op: opBackground, sub: body}, {op: opCmd, cmd: &simpleCmd{argv: []word{{{lit: "wait"}}}}}}, nil
	case t.op != "":
		return nil, fmt.Errorf("unexpected %q", t.op)
	case t.raw == "if":
		return p.ifStmt()
	case t.raw == "while":
		return p.whileStmt()
	case t.raw == "until" || t.raw == "for" || t.raw == "case":
		return nil, fmt.Errorf("%q is not supported", t.raw)
	case isAssignment(t.raw) && (p.pos+1 >= len(p.toks) || p.toks[p.pos+1].op != ""):
		p.pos++
		name, _, _ := strings.Cut(t.raw, "=")
		// the value is what follows "=" in the word
		value := t.word
		value = trimPrefixWord(value, name+"=")
		return []instr{{op: opAssign, name: name, value: value}}, nil
	}
	cmd := &simpleCmd{}
	for p.pos < len(p.toks) {
		t := p.toks[p.pos]
		if t.op == ">" || t.op == ">>" {
			if p.pos+1 >= len(p.toks) || p.toks[p.pos+1].op != "" {
				return nil, fmt.Errorf("redirection without a file")
			}
			cmd.redirect, cmd.appendTo = p.toks[p.pos+1].word, t.op == ">>"
			p.pos += 2
			continue
		}
		if t.op != "" {
			break
		}
		if len(cmd.argv) == 0 && isAssignment(t.raw) {
			return nil, fmt.Errorf("assignment %q before a command is not supported", t.raw)
		}
		cmd.argv = append(cmd.argv, t.word)
		p.pos++
	}
	name := cmd.argv[0].literal()
	if !knownCommands[name] || name == "sh" {
		return nil, fmt.Errorf("command %q is not supported", name)
	}
	if name == "trap" {
		if len(cmd.argv) < 3 {
			return nil, fmt.Errorf("trap needs a body and a signal")
		}
		if _, err := parseScript(cmd.argv[1].literal()); err != nil {
			return nil, fmt.Errorf("trap body: %w", err)
		}
	}
	return []instr{{op: opCmd, cmd: cmd}}, nil
}

// ifStmt parses if LIST; then LIST; [else LIST;] fi.
func (p *parser) ifStmt() ([]instr, error) {
	p.pos++ // if
	cond, err := p.list([]string{"then"})
	if err != nil {
		return nil, err
	}
	if !p.atKeyword("then") {
		return nil, fmt.Errorf("if without then")
	}
	p.pos++
	then, err := p.list([]string{"else", "fi", "elif"})
	if err != nil {
		return nil, err
	}
	var els []instr
	if p.atKeyword("elif") {
		return nil, fmt.Errorf("elif is not supported")
	}
	if p.atKeyword("else") {
		p.pos++
		if els, err = p.list([]string{"fi"}); err != nil {
			return nil, err
		}
	}
	if !p.atKeyword("fi") {
		return nil, fmt.Errorf("if without fi")
	}
	p.pos++
	code := append([]instr{}, cond...)
	jf := len(code)
	code = append(code, instr{op: opJumpIfFalse})
	code = append(code, relocate(then, len(code))...)
	if els == nil {
		code[jf].target = len(code)
		return code, nil
	}
	// Jump over else: reuse opJumpIfFalse/True pair as an unconditional jump
	// is not needed because "then" ends with some status; encode explicitly.
	jend := len(code)
	code = append(code, instr{op: opJumpIfTrue}, instr{op: opJumpIfFalse})
	code[jf].target = len(code)
	code = append(code, relocate(els, len(code))...)
	code[jend].target, code[jend+1].target = len(code), len(code)
	return code, nil
}

// whileStmt parses while LIST; do LIST; done.
func (p *parser) whileStmt() ([]instr, error) {
	p.pos++ // while
	cond, err := p.list([]string{"do"})
	if err != nil {
		return nil, err
	}
	if !p.atKeyword("do") {
		return nil, fmt.Errorf("while without do")
	}
	p.pos++
	body, err := p.list([]string{"done"})
	if err != nil {
		return nil, err
	}
	if !p.atKeyword("done") {
		return nil, fmt.Errorf("while without done")
	}
	p.pos++
	code := append([]instr{}, cond...)
	exit := len(code)
	code = append(code, instr{op: opJumpIfFalse})
	code = append(code, relocate(body, len(code))...)
	code = append(code, instr{op: opJump, target: 0})
	code[exit].target = len(code)
	return code, nil
}

// literal returns the word's text ignoring expansions.
func (w word) literal() string {
	var b strings.Builder
	for _, p := range w {
		b.WriteString(p.lit)
	}
	return b.String()
}

// parseSeconds parses a sleep operand: seconds (fractions allowed) or inf.
func parseSeconds(s string) (time.Duration, error) {
	if s == "inf" || s == "infinity" {
		return Forever, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 {
		return 0, fmt.Errorf("bad sleep operand %q", s)
	}
	return time.Duration(f * float64(time.Second)), nil
}
