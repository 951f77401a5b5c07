package app

import (
	"errors"
	"fmt"
	"os"
	"runtime/pprof"

	"github.com/spf13/pflag"
)

// profileFlags are the opt-in profiling flags of the server commands, for `make bench-profile`
// and whoever chases the hot path: the whole run's CPU profile, and the allocation profile
// (every allocation since start, sampled) written at exit. Both are read with go tool pprof.
type profileFlags struct {
	cpu, allocs *string
}

func addProfileFlags(fs *pflag.FlagSet) profileFlags {
	return profileFlags{
		cpu:    fs.String("cpuprofile", "", "write a CPU profile of the whole run to `file` (go tool pprof)"),
		allocs: fs.String("memprofile", "", "write the allocation profile to `file` at exit (go tool pprof -sample_index=alloc_space)"),
	}
}

// start begins the CPU profile; stop ends it and writes the allocation profile. Without the
// flags both do nothing.
func (p profileFlags) start() (stop func() error, err error) {
	var cpuFile *os.File
	if *p.cpu != "" {
		if cpuFile, err = os.Create(*p.cpu); err != nil {
			return nil, fmt.Errorf("cpu profile: %w", err)
		}
		if err := pprof.StartCPUProfile(cpuFile); err != nil {
			cpuFile.Close()
			return nil, fmt.Errorf("cpu profile: %w", err)
		}
	}
	return func() error {
		var errs []error
		if cpuFile != nil {
			pprof.StopCPUProfile()
			if err := cpuFile.Close(); err != nil {
				errs = append(errs, fmt.Errorf("cpu profile: %w", err))
			}
		}
		if *p.allocs != "" {
			if err := writeProfile("allocs", *p.allocs); err != nil {
				errs = append(errs, fmt.Errorf("memory profile: %w", err))
			}
		}
		return errors.Join(errs...)
	}, nil
}

func writeProfile(name, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup(name).WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
