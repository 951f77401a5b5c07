package wire

import (
	"bytes"
	"math"
	"strconv"
)

// headerField identifies a key of the JSON header.
type headerField int

const (
	fieldUnknown headerField = iota
	fieldCode
	fieldLanguage
	fieldVersion
	fieldOpaque
	fieldFlag
	fieldRemark
	fieldExtFields
)

// headerFieldNames is indexed by headerField.
var headerFieldNames = [...]string{"", "code", "language", "version", "opaque", "flag", "remark", "extFields"}

// lookupHeaderField matches a key as encoding/json matches struct fields: exactly first, then
// under Unicode case folding (so "CODE" and "ver\u017fion" count). The Go client decodes headers
// with encoding/json, so this keeps us reading them as it does.
func lookupHeaderField(key []byte) headerField {
	switch string(key) {
	case "code":
		return fieldCode
	case "language":
		return fieldLanguage
	case "version":
		return fieldVersion
	case "opaque":
		return fieldOpaque
	case "flag":
		return fieldFlag
	case "remark":
		return fieldRemark
	case "extFields":
		return fieldExtFields
	}
	for f := fieldCode; f <= fieldExtFields; f++ {
		if bytes.EqualFold(key, []byte(headerFieldNames[f])) {
			return f
		}
	}
	return fieldUnknown
}

// decodeJSONHeader decodes a JSON header without reflection. It accepts exactly what
// encoding/json accepts when decoding into the header's struct form (the reference in
// header_json_ref_test.go) and yields the same values: code and version must fit int16, opaque
// and flag int32; extFields values must be strings; null leaves a field as it is (extFields: nil);
// a repeated key overwrites, and a repeated extFields adds to the map; unknown keys are
// validated and skipped.
func decodeJSONHeader(b []byte, cmd *Command) error {
	r := jsonReader{b: b}
	switch r.next() {
	case '{':
		if err := r.headerObject(cmd); err != nil {
			return err
		}
	case 'n':
		// encoding/json accepts a bare null as "no fields".
		if err := r.literal("null"); err != nil {
			return err
		}
	default:
		return r.errorf("header is not a JSON object")
	}
	if r.skipSpace(); r.i != len(r.b) {
		return r.errorf("data after the header object")
	}
	return nil
}

func (r *jsonReader) headerObject(cmd *Command) error {
	r.i++ // '{'
	if r.next() == '}' {
		r.i++
		return nil
	}
	for {
		if r.next() != '"' {
			return r.errorf("want object key")
		}
		start, end, plain, err := r.scanString()
		if err != nil {
			return err
		}
		var field headerField
		if plain {
			field = lookupHeaderField(r.b[start:end])
		} else {
			field = lookupHeaderField([]byte(unescapeJSON(r.b[start:end])))
		}
		if err := r.consume(':'); err != nil {
			return err
		}
		if err := r.headerValue(field, cmd); err != nil {
			return err
		}
		switch r.next() {
		case ',':
			r.i++
		case '}':
			r.i++
			return nil
		default:
			return r.errorf("want ',' or '}'")
		}
	}
}

func (r *jsonReader) headerValue(field headerField, cmd *Command) error {
	switch field {
	case fieldCode:
		return r.intField(math.MinInt16, math.MaxInt16, func(v int64) { cmd.Code = int16(v) })
	case fieldVersion:
		return r.intField(math.MinInt16, math.MaxInt16, func(v int64) { cmd.Version = int16(v) })
	case fieldOpaque:
		return r.intField(math.MinInt32, math.MaxInt32, func(v int64) { cmd.Opaque = int32(v) })
	case fieldFlag:
		return r.intField(math.MinInt32, math.MaxInt32, func(v int64) { cmd.Flag = int32(v) })
	case fieldLanguage:
		return r.stringField(&cmd.Language)
	case fieldRemark:
		return r.stringField(&cmd.Remark)
	case fieldExtFields:
		return r.extFields(cmd)
	default:
		// Java adds serializeTypeCurrentRPC; anything else is skipped the same way, but must still
		// be valid JSON, as encoding/json demands.
		return r.skipValue(1)
	}
}

// intField reads an integer or null; null keeps the old value.
func (r *jsonReader) intField(lo, hi int64, set func(int64)) error {
	if r.next() == 'n' {
		return r.literal("null")
	}
	v, err := r.readInt(lo, hi)
	if err != nil {
		return err
	}
	set(v)
	return nil
}

// stringField reads a string or null; null keeps the old value.
func (r *jsonReader) stringField(dst *string) error {
	switch r.next() {
	case 'n':
		return r.literal("null")
	case '"':
		s, err := r.readString()
		if err != nil {
			return err
		}
		*dst = s
		return nil
	default:
		return r.errorf("want a string")
	}
}

func (r *jsonReader) extFields(cmd *Command) error {
	switch r.next() {
	case 'n':
		cmd.ext = nil
		return r.literal("null")
	case '{':
		r.i++
	default:
		return r.errorf("extFields is not an object")
	}
	// Collected on the stack, then copied into one slice of the final size. A repeated
	// extFields member adds to the fields already decoded, as encoding/json adds to the map it
	// already made.
	var pairBuf [16]ExtField
	pairs := pairBuf[:0]
	var (
		seen  uint64
		index map[string]int
	)
	for _, f := range cmd.ext {
		pairs, seen, index = extSet(pairs, seen, index, f.Key, f.Value)
	}
	if r.next() == '}' {
		r.i++
	} else {
		for {
			if r.next() != '"' {
				return r.errorf("want extFields key")
			}
			k, err := r.readString()
			if err != nil {
				return err
			}
			if err := r.consume(':'); err != nil {
				return err
			}
			var v string // null decodes as "", as encoding/json does for a map of strings
			if err := r.stringField(&v); err != nil {
				return err
			}
			pairs, seen, index = extSet(pairs, seen, index, k, v)
			c := r.next()
			if c == '}' {
				r.i++
				break
			}
			if c != ',' {
				return r.errorf("want ',' or '}' in extFields")
			}
			r.i++
		}
	}
	cmd.ext = append(make([]ExtField, 0, len(pairs)), pairs...) // never nil: {} has fields, none
	return nil
}

// appendJSONHeader writes the header as compact JSON with every extFields value a string, which
// is what the Go client's decoder demands.
func appendJSONHeader(dst []byte, cmd *Command) []byte {
	dst = append(dst, `{"code":`...)
	dst = strconv.AppendInt(dst, int64(cmd.Code), 10)
	dst = append(dst, `,"language":`...)
	lang := cmd.Language
	if lang == "" {
		lang = LanguageGo
	}
	dst = AppendJSONString(dst, lang)
	dst = append(dst, `,"version":`...)
	dst = strconv.AppendInt(dst, int64(cmd.Version), 10)
	dst = append(dst, `,"opaque":`...)
	dst = strconv.AppendInt(dst, int64(cmd.Opaque), 10)
	dst = append(dst, `,"flag":`...)
	dst = strconv.AppendInt(dst, int64(cmd.Flag), 10)
	if cmd.Remark != "" {
		dst = append(dst, `,"remark":`...)
		dst = AppendJSONString(dst, cmd.Remark)
	}
	dst = append(dst, `,"extFields":{`...)
	first := true
	for _, f := range cmd.ext {
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = AppendJSONString(dst, f.Key)
		dst = append(dst, ':')
		dst = AppendJSONString(dst, f.Value)
	}
	dst = append(dst, "}}"...)
	return dst
}
