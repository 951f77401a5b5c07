package app

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
)

// decodeHooks convert what people write (strings from YAML, environment and flags) into the
// struct's types. The decoder is otherwise strict: no weak typing, so `listen: 9876` or
// `autoCreateTopic: yes-please` is an error rather than a guess.
func decodeHooks() mapstructure.DecodeHookFunc {
	return mapstructure.ComposeDecodeHookFunc(durationHook, sizeHook, boolHook, listHook)
}

var durationType = reflect.TypeFor[time.Duration]()

// durationHook takes Go duration strings. A bare number is refused (except 0) because YAML's
// `30` would otherwise silently mean 30 nanoseconds.
func durationHook(from, to reflect.Type, data any) (any, error) {
	if to != durationType {
		return data, nil
	}
	switch from.Kind() {
	case reflect.String:
		s := strings.TrimSpace(data.(string))
		d, err := time.ParseDuration(s)
		if err != nil {
			return nil, fmt.Errorf("invalid duration %q: use a number with a unit, e.g. \"500ms\", \"30s\", \"5m\"", s)
		}
		return d, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		if reflect.ValueOf(data).IsZero() {
			return time.Duration(0), nil
		}
		return nil, fmt.Errorf("invalid duration %v: a duration needs a unit, e.g. \"%vs\" or \"%vms\"", data, data, data)
	}
	return data, nil
}

// sizeHook turns strings into integers, with an optional binary unit ("16MiB"). It applies to
// every integer field, so a count written as a string from the environment parses too.
func sizeHook(from, to reflect.Type, data any) (any, error) {
	if from.Kind() != reflect.String || to == durationType {
		return data, nil
	}
	switch to.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
	default:
		return data, nil
	}
	n, err := parseSize(data.(string))
	if err != nil {
		return nil, err
	}
	if reflect.Zero(to).OverflowInt(n) {
		return nil, fmt.Errorf("%q is out of range for this key", data)
	}
	return reflect.ValueOf(n).Convert(to).Interface(), nil
}

var sizeUnits = map[string]int64{
	"":    1,
	"b":   1,
	"kib": 1 << 10,
	"mib": 1 << 20,
	"gib": 1 << 30,
	"tib": 1 << 40,
}

// parseSize reads "512", "512B", "64KiB", "16MiB", "1GiB", "1TiB" (units case-insensitive, a
// space allowed before the unit). Decimal units (MB) are refused rather than guessed at.
func parseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	i := 0
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		i++
	}
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	num, unit := s[:i], strings.ToLower(strings.TrimSpace(s[i:]))
	mult, ok := sizeUnits[unit]
	n, err := strconv.ParseInt(num, 10, 64)
	if !ok || err != nil {
		return 0, fmt.Errorf("invalid size %q: use a whole number of bytes, optionally with a unit B, KiB, MiB, GiB or TiB (e.g. \"16MiB\")", s)
	}
	if n > math.MaxInt64/mult || n < math.MinInt64/mult {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	return n * mult, nil
}

// boolHook reads true/false (and 1/0, t/f) from environment variables and --set.
func boolHook(from, to reflect.Type, data any) (any, error) {
	if from.Kind() != reflect.String || to.Kind() != reflect.Bool {
		return data, nil
	}
	b, err := strconv.ParseBool(strings.TrimSpace(data.(string)))
	if err != nil {
		return nil, fmt.Errorf("invalid boolean %q: use true or false", data)
	}
	return b, nil
}

// listHook reads a comma-separated list, which is how a list is written in an environment
// variable or --set ("127.0.0.1:9876,127.0.0.1:9877"); an empty string is an empty list.
func listHook(from, to reflect.Type, data any) (any, error) {
	if from.Kind() != reflect.String || to.Kind() != reflect.Slice || to.Elem().Kind() != reflect.String {
		return data, nil
	}
	var out []string
	for item := range strings.SplitSeq(data.(string), ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out, nil
}
