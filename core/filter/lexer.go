package filter

import (
	"math"
	"strconv"
	"strings"
)

type tokKind uint8

const (
	tEOF tokKind = iota
	tIdent
	tString
	tInt
	tFloat
	tLParen
	tRParen
	tComma
	tEq
	tNe
	tLt
	tLe
	tGt
	tGe
	tPlus
	tMinus
	// keywords
	tNot
	tAnd
	tOr
	tBetween
	tIn
	tTrue
	tFalse
	tNull
	tIs
	tContains
	tStartsWith
	tEndsWith
)

var keywords = map[string]tokKind{
	"NOT": tNot, "AND": tAnd, "OR": tOr, "BETWEEN": tBetween, "IN": tIn, "TRUE": tTrue,
	"FALSE": tFalse, "NULL": tNull, "IS": tIs, "CONTAINS": tContains, "STARTSWITH": tStartsWith,
	"ENDSWITH": tEndsWith,
}

var tokText = [...]string{
	tEOF: "end of expression", tIdent: "property name", tString: "string", tInt: "integer",
	tFloat: "decimal", tLParen: "(", tRParen: ")", tComma: ",", tEq: "=", tNe: "<>", tLt: "<",
	tLe: "<=", tGt: ">", tGe: ">=", tPlus: "+", tMinus: "-", tNot: "NOT", tAnd: "AND", tOr: "OR",
	tBetween: "BETWEEN", tIn: "IN", tTrue: "TRUE", tFalse: "FALSE", tNull: "NULL", tIs: "IS",
	tContains: "CONTAINS", tStartsWith: "STARTSWITH", tEndsWith: "ENDSWITH",
}

type token struct {
	kind tokKind
	pos  int
	end  int
	text string // identifier name or decoded string
	i    int64
	f    float64
}

// describe names a token in an error message.
func (t token) describe(src string) string {
	switch t.kind {
	case tEOF:
		return "end of expression"
	case tIdent, tString, tInt, tFloat:
		s := src[t.pos:t.end]
		if len(s) > 40 {
			s = s[:37] + "..."
		}
		return tokText[t.kind] + " " + strconv.Quote(s)
	}
	return strconv.Quote(src[t.pos:t.end])
}

// lex splits src into tokens, ending with tEOF. It fails on the first character that starts no
// token, an unterminated string or comment, and a malformed or out-of-range number.
func lex(src string) ([]token, error) {
	var toks []token
	i := 0
	for {
		for i < len(src) {
			c := src[i]
			if c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' {
				i++
				continue
			}
			if c == '-' && i+1 < len(src) && src[i+1] == '-' {
				// A line comment runs to the end of the line (or of the expression).
				j := strings.IndexAny(src[i:], "\r\n")
				if j < 0 {
					i = len(src)
				} else {
					i += j
				}
				continue
			}
			if c == '/' && i+1 < len(src) && src[i+1] == '*' {
				j := strings.Index(src[i+2:], "*/")
				if j < 0 {
					return nil, &ParseError{Pos: i, Reason: "comment is not closed with */"}
				}
				i += 2 + j + 2
				continue
			}
			break
		}
		if i == len(src) {
			return append(toks, token{kind: tEOF, pos: i, end: i}), nil
		}
		t, err := next(src, i)
		if err != nil {
			return nil, err
		}
		toks = append(toks, t)
		i = t.end
	}
}

func next(src string, i int) (token, error) {
	c := src[i]
	one := func(k tokKind) (token, error) { return token{kind: k, pos: i, end: i + 1}, nil }
	two := func(k tokKind) (token, error) { return token{kind: k, pos: i, end: i + 2}, nil }
	switch {
	case c == '(':
		return one(tLParen)
	case c == ')':
		return one(tRParen)
	case c == ',':
		return one(tComma)
	case c == '=':
		return one(tEq)
	case c == '+':
		return one(tPlus)
	case c == '-':
		return one(tMinus)
	case c == '<':
		if i+1 < len(src) && src[i+1] == '>' {
			return two(tNe)
		}
		if i+1 < len(src) && src[i+1] == '=' {
			return two(tLe)
		}
		return one(tLt)
	case c == '>':
		if i+1 < len(src) && src[i+1] == '=' {
			return two(tGe)
		}
		return one(tGt)
	case c == '\'':
		return lexString(src, i)
	case isDigit(c) || c == '.':
		return lexNumber(src, i)
	case isIdentStart(c):
		j := i + 1
		for j < len(src) && isIdentPart(src[j]) {
			j++
		}
		word := src[i:j]
		if k, ok := keywords[strings.ToUpper(word)]; ok {
			return token{kind: k, pos: i, end: j}, nil
		}
		return token{kind: tIdent, pos: i, end: j, text: word}, nil
	}
	what := strconv.QuoteRuneToASCII(rune(c))
	if c >= 0x80 {
		what = "a non-ASCII character"
	}
	reason := "unexpected " + what
	if c == '!' && i+1 < len(src) && src[i+1] == '=' {
		reason += ": write <> for 'not equal'"
	}
	if c == '"' {
		reason += ": strings are single-quoted"
	}
	return token{}, &ParseError{Pos: i, Reason: reason}
}

func isIdentStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '$'
}

func isIdentPart(c byte) bool { return isIdentStart(c) || isDigit(c) }

func lexString(src string, i int) (token, error) {
	var b strings.Builder
	j := i + 1
	start := j
	for {
		k := strings.IndexByte(src[j:], '\'')
		if k < 0 {
			return token{}, &ParseError{Pos: i, Reason: "string is not closed with '"}
		}
		j += k
		if j+1 < len(src) && src[j+1] == '\'' { // '' is a quote
			b.WriteString(src[start : j+1])
			j += 2
			start = j
			continue
		}
		if b.Len() == 0 {
			return token{kind: tString, pos: i, end: j + 1, text: src[start:j]}, nil
		}
		b.WriteString(src[start:j])
		return token{kind: tString, pos: i, end: j + 1, text: b.String()}, nil
	}
}

// lexNumber reads the longest number at i, as RocketMQ's token rules do: an integer
// ("0" or a digit 1-9 followed by digits, optionally ending in L) or a decimal (digits with a
// point, a point with digits, or digits with an exponent).
func lexNumber(src string, i int) (token, error) {
	j := i
	for j < len(src) && isDigit(src[j]) {
		j++
	}
	intDigits := j - i
	isFloat := false
	if j < len(src) && src[j] == '.' {
		isFloat = true
		j++
		frac := j
		for j < len(src) && isDigit(src[j]) {
			j++
		}
		if intDigits == 0 && j == frac {
			return token{}, &ParseError{Pos: i, Reason: "unexpected \".\""}
		}
	}
	if j < len(src) && (src[j] == 'e' || src[j] == 'E') {
		k := j + 1
		if k < len(src) && (src[k] == '+' || src[k] == '-') {
			k++
		}
		if k < len(src) && isDigit(src[k]) {
			for k < len(src) && isDigit(src[k]) {
				k++
			}
			isFloat = true
			j = k
		} else if isFloat || intDigits > 0 {
			return token{}, &ParseError{Pos: i, Reason: "exponent of " + strconv.Quote(src[i:k]) + " has no digits"}
		}
	}
	if isFloat {
		f, err := strconv.ParseFloat(src[i:j], 64)
		if err != nil || math.IsInf(f, 0) {
			return token{}, &ParseError{Pos: i, Reason: "decimal " + strconv.Quote(src[i:j]) + " is out of range"}
		}
		return token{kind: tFloat, pos: i, end: j, f: f}, nil
	}
	digits := src[i:j]
	if j < len(src) && (src[j] == 'l' || src[j] == 'L') {
		j++
	}
	if len(digits) > 1 && digits[0] == '0' {
		return token{}, &ParseError{Pos: i, Reason: "integer " + strconv.Quote(digits) + " has a leading zero"}
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		return token{}, &ParseError{Pos: i, Reason: "integer " + strconv.Quote(digits) + " is out of range (at most 9223372036854775807)"}
	}
	return token{kind: tInt, pos: i, end: j, i: n}, nil
}
