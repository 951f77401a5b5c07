package wire

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// jsonHeader mirrors the JSON header; unknown keys (Java's serializeTypeCurrentRPC) are ignored.
type jsonHeader struct {
	Code      int16             `json:"code"`
	Language  string            `json:"language"`
	Version   int16             `json:"version"`
	Opaque    int32             `json:"opaque"`
	Flag      int32             `json:"flag"`
	Remark    string            `json:"remark"`
	ExtFields map[string]string `json:"extFields"`
}

func decodeJSONHeader(b []byte, cmd *Command) error {
	var h jsonHeader
	if err := json.Unmarshal(b, &h); err != nil {
		return malformed("json header: %v", err)
	}
	cmd.Code, cmd.Language, cmd.Version = h.Code, h.Language, h.Version
	cmd.Opaque, cmd.Flag, cmd.Remark, cmd.ExtFields = h.Opaque, h.Flag, h.Remark, h.ExtFields
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
	for k, v := range cmd.ExtFields {
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = AppendJSONString(dst, k)
		dst = append(dst, ':')
		dst = AppendJSONString(dst, v)
	}
	dst = append(dst, "}}"...)
	return dst
}

const hexDigits = "0123456789abcdef"

// AppendJSONString appends s as a JSON string literal. Control bytes are written as \u00XX (the
// property separators 0x01 and 0x02 among them) and invalid UTF-8 as U+FFFD.
func AppendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
