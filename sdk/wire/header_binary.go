package wire

import "encoding/binary"

// binaryFixed is the fixed part of a ROCKETMQ binary header.
const binaryFixed = 21

var languageNames = [...]string{"JAVA", "CPP", "DOTNET", "PYTHON", "DELPHI", "ERLANG", "RUBY", "OTHER", "HTTP", "GO", "PHP", "OMS", "RUST"}

func languageName(b byte) string {
	if int(b) < len(languageNames) {
		return languageNames[b]
	}
	return "OTHER"
}

func languageCode(name string) byte {
	for i, n := range languageNames {
		if n == name {
			return byte(i)
		}
	}
	return 7 // OTHER
}

func decodeBinaryHeader(b []byte, cmd *Command) error {
	if len(b) < binaryFixed {
		return malformed("binary header of %d bytes", len(b))
	}
	cmd.Code = int16(binary.BigEndian.Uint16(b[0:]))
	cmd.Language = languageName(b[2])
	cmd.Version = int16(binary.BigEndian.Uint16(b[3:]))
	cmd.Opaque = int32(binary.BigEndian.Uint32(b[5:]))
	cmd.Flag = int32(binary.BigEndian.Uint32(b[9:]))
	rest := b[13:]
	rl := int(int32(binary.BigEndian.Uint32(rest)))
	rest = rest[4:]
	if rl < 0 || rl > len(rest) {
		return malformed("binary header remark length %d", rl)
	}
	cmd.Remark = string(rest[:rl])
	rest = rest[rl:]
	if len(rest) < 4 {
		return malformed("binary header truncated before extFields")
	}
	el := int(int32(binary.BigEndian.Uint32(rest)))
	rest = rest[4:]
	if el < 0 || el > len(rest) {
		return malformed("binary header extFields length %d", el)
	}
	ext := rest[:el]
	var pairBuf [16]ExtField
	pairs := pairBuf[:0]
	var (
		seen  uint64
		index map[string]int
	)
	for len(ext) > 0 {
		if len(ext) < 2 {
			return malformed("binary header key length truncated")
		}
		kl := int(binary.BigEndian.Uint16(ext))
		ext = ext[2:]
		if kl > len(ext) {
			return malformed("binary header key length %d", kl)
		}
		k := string(ext[:kl])
		ext = ext[kl:]
		if len(ext) < 4 {
			return malformed("binary header value length truncated")
		}
		vl := int(int32(binary.BigEndian.Uint32(ext)))
		ext = ext[4:]
		if vl < 0 || vl > len(ext) {
			return malformed("binary header value length %d", vl)
		}
		pairs, seen, index = extSet(pairs, seen, index, k, string(ext[:vl])) // the last value wins
		ext = ext[vl:]
	}
	if el > 0 {
		cmd.ext = append(make([]ExtField, 0, len(pairs)), pairs...)
	}
	return nil
}

func appendBinaryHeader(dst []byte, cmd *Command) []byte {
	dst = binary.BigEndian.AppendUint16(dst, uint16(cmd.Code))
	lang := cmd.Language
	if lang == "" {
		lang = LanguageGo // as the JSON form writes it
	}
	dst = append(dst, languageCode(lang))
	dst = binary.BigEndian.AppendUint16(dst, uint16(cmd.Version))
	dst = binary.BigEndian.AppendUint32(dst, uint32(cmd.Opaque))
	dst = binary.BigEndian.AppendUint32(dst, uint32(cmd.Flag))
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(cmd.Remark)))
	dst = append(dst, cmd.Remark...)
	lenAt := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	for _, f := range cmd.ext {
		dst = binary.BigEndian.AppendUint16(dst, uint16(len(f.Key)))
		dst = append(dst, f.Key...)
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(f.Value)))
		dst = append(dst, f.Value...)
	}
	binary.BigEndian.PutUint32(dst[lenAt:], uint32(len(dst)-lenAt-4))
	return dst
}
