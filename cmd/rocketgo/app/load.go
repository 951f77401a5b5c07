package app

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/go-viper/mapstructure/v2"
	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/confmap"
	"github.com/knadh/koanf/providers/env/v2"
	"github.com/knadh/koanf/providers/file"
	"github.com/knadh/koanf/providers/posflag"
	"github.com/knadh/koanf/v2"
	"github.com/spf13/pflag"
)

// EnvPrefix starts every environment variable the loader reads. A ROCKETGO_ variable is
// configuration when its name has a "__" level separator or names a top-level key (or nearly
// does: a typo); such a variable must name a known key, or loading fails. Any other ROCKETGO_
// variable, such as the e2e harness's ROCKETGO_E2E_BIN which child processes inherit, is left to
// whoever reads it.
const EnvPrefix = "ROCKETGO_"

// envDelim separates nesting levels in a variable name: ROCKETGO_STORAGE__MMAP__FLUSH.
const envDelim = "__"

// layer is one source of values: the file, one environment variable, the named flags, one --set.
// Each is checked and decoded on its own so that an error names the source that caused it.
type layer struct {
	source string         // for messages: "in configs/x.yaml", "from environment variable ..."
	values map[string]any // nested, keys as in the struct
}

// Load builds the effective configuration of role: defaults, then the YAML file named by
// --config, then ROCKETGO_ variables from environ, then the named flags, then each --set, later
// winning. fs must have been set up with AddConfigFlags and parsed; nil means no flags. Every
// error wraps ErrConfig and names the offending key and its source.
func Load(role Role, fs *pflag.FlagSet, environ []string) (Config, error) {
	defaults := leaves(DefaultsFor(role))
	ks := newKeySet(defaults)

	var layers []layer
	var errs problems
	if fs != nil {
		if path, _ := fs.GetString(flagConfig); path != "" {
			l, err := fileLayer(path)
			if err != nil {
				return Config{}, err
			}
			layers = append(layers, l)
		}
	}
	layers = append(layers, envLayers(environ, ks, &errs)...)
	if fs != nil {
		layers = append(layers, flagLayer(fs))
		sets, err := setLayers(fs)
		if err != nil {
			return Config{}, err
		}
		layers = append(layers, sets...)
	}

	base := koanf.New(".")
	if err := base.Load(confmap.Provider(nest(defaults), ""), nil); err != nil {
		return Config{}, fmt.Errorf("loading defaults: %w", err)
	}
	merged := base.Copy()
	for _, l := range layers {
		values := ks.check(l.values, "", l.source, &errs)
		// Decoding each layer over the defaults alone pins a type error on its source.
		trial := base.Copy()
		if err := trial.Load(confmap.Provider(values, ""), nil); err != nil {
			return Config{}, fmt.Errorf("%w: %s: %v", ErrConfig, l.source, err)
		}
		if _, err := decode(trial); err != nil {
			errs = append(errs, describeDecodeError(err, l.source)...)
			continue
		}
		if err := merged.Load(confmap.Provider(values, ""), nil); err != nil {
			return Config{}, fmt.Errorf("%w: %s: %v", ErrConfig, l.source, err)
		}
	}
	if err := errs.err(); err != nil {
		return Config{}, err
	}

	cfg, err := decode(merged)
	if err != nil {
		return Config{}, problems(describeDecodeError(err, "")).err()
	}
	cfg.resolve()
	if err := cfg.ValidateFor(role); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// decode unmarshals strictly: a key the struct does not have is an error (ErrorUnused), and
// only the hooks convert types.
func decode(k *koanf.Koanf) (Config, error) {
	var cfg Config
	err := k.UnmarshalWithConf("", &cfg, koanf.UnmarshalConf{
		Tag: "koanf",
		DecoderConfig: &mapstructure.DecoderConfig{
			DecodeHook:  decodeHooks(),
			ErrorUnused: true,
		},
	})
	return cfg, err
}

// describeDecodeError turns mapstructure's "'a.b' expected type ..." into one line per field,
// "a.b <source>: ...", so messages read like the other ones. source may be empty.
func describeDecodeError(err error, source string) []string {
	var out []string
	var visit func(error)
	visit = func(e error) {
		if de, ok := e.(*mapstructure.DecodeError); ok {
			out = append(out, strings.TrimSpace(fmt.Sprintf("%s %s", de.Name(), source))+": "+de.Unwrap().Error())
			return
		}
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, inner := range j.Unwrap() {
				visit(inner)
			}
			return
		}
		if u := errors.Unwrap(e); u != nil {
			visit(u)
			return
		}
		out = append(out, strings.TrimSpace(source+" "+e.Error()))
	}
	visit(err)
	sort.Strings(out)
	return out
}

func fileLayer(path string) (layer, error) {
	k := koanf.New(".")
	if err := k.Load(file.Provider(path), yaml.Parser()); err != nil {
		return layer{}, fmt.Errorf("%w: reading config file %s: %w", ErrConfig, path, err)
	}
	return layer{source: "in " + path, values: k.Raw()}, nil
}

// envLayers maps ROCKETGO_A__B_C to the key a.bC by matching the "__"-separated path
// case-insensitively against the known keys, because variable names are conventionally upper
// case while the keys are camelCase.
func envLayers(environ []string, ks keySet, errs *problems) []layer {
	var out []layer
	p := env.Provider(".", env.Opt{
		Prefix:      EnvPrefix,
		EnvironFunc: func() []string { return environ },
		TransformFunc: func(name, value string) (string, any) {
			rest := strings.TrimPrefix(name, EnvPrefix)
			folded := strings.ToLower(strings.ReplaceAll(rest, envDelim, "."))
			key, ok := ks.folded[folded]
			if !ok && !strings.Contains(rest, envDelim) && ks.suggest(folded) == "" {
				return "", nil // not configuration (see EnvPrefix)
			}
			source := "from environment variable " + name
			switch {
			case !ok:
				errs.addf("unknown config key %q %s%s", folded, source, ks.hint(folded))
			case ks.sections[key]:
				errs.addf("config key %q %s is a section; set one of its keys, e.g. %s%s...", key, source, name, envDelim)
			default:
				out = append(out, layer{source: source, values: nestOne(key, value)})
			}
			return "", nil // the layers above carry the values, one per variable
		},
	})
	if _, err := p.Read(); err != nil {
		errs.addf("reading the environment: %v", err)
	}
	return out
}

// flagLayer holds the named flags the user set (unset flags are left out by posflag).
func flagLayer(fs *pflag.FlagSet) layer {
	keys := map[string]string{}
	for _, f := range namedFlags() {
		keys[f.name] = f.key
	}
	p := posflag.ProviderWithFlag(fs, ".", nil, func(f *pflag.Flag) (string, any) {
		return keys[f.Name], f.Value.String() // "" drops flags that are not key shortcuts
	})
	values, _ := p.Read() // posflag's Read never fails
	return layer{source: "from command-line flags", values: values}
}

func setLayers(fs *pflag.FlagSet) ([]layer, error) {
	sets, err := fs.GetStringArray(flagSet)
	if err != nil {
		return nil, nil // the flag set has no --set
	}
	var out []layer
	for _, s := range sets {
		key, value, ok := strings.Cut(s, "=")
		key = strings.TrimSpace(key)
		if !ok || key == "" {
			return nil, fmt.Errorf("%w: --set %q: want key=value, e.g. --set storage.mmap.flush=sync", ErrConfig, s)
		}
		out = append(out, layer{source: "in --set " + s, values: nestOne(key, value)})
	}
	return out, nil
}

func nestOne(key string, value any) map[string]any {
	return nest([]leaf{{path: key, value: value}})
}

// check walks one layer's values against the known keys, records unknown keys and misplaced
// sections in errs, and returns the values without empty sections (a YAML section whose keys
// are all commented out is null, and merging that null would erase the defaults under it).
func (ks keySet) check(values map[string]any, prefix, source string, errs *problems) map[string]any {
	out := make(map[string]any, len(values))
	for _, name := range slices.Sorted(maps.Keys(values)) { // sorted: stable error order
		v := values[name]
		key := name
		if prefix != "" {
			key = prefix + "." + name
		}
		sub, isMap := v.(map[string]any)
		switch {
		case ks.sections[key] && isMap:
			out[name] = ks.check(sub, key, source, errs)
		case ks.sections[key] && v == nil:
			// empty section: nothing to merge
		case ks.sections[key]:
			errs.addf("config key %q %s is a section of keys, not a value", key, source)
		case ks.leaves[key] && isMap:
			errs.addf("config key %q %s takes a value, not a section of keys", key, source)
		case ks.leaves[key] && v == nil:
			errs.addf("config key %q %s has no value", key, source)
		case ks.leaves[key]:
			out[name] = v
		default:
			errs.addf("unknown config key %q %s%s", key, source, ks.hint(key))
		}
	}
	return out
}

// hint is a " (did you mean ...?)" suffix for an unknown key, or "".
func (ks keySet) hint(key string) string {
	if s := ks.suggest(key); s != "" {
		return fmt.Sprintf(" (did you mean %q?)", s)
	}
	return ""
}
