package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	readyTimeout = 30 * time.Second
	stopTimeout  = 20 * time.Second
	// logTail caps how much of a process log is printed on failure.
	logTail = 256 << 10
)

// readyInfo is the ready file the binary writes (atomically) once both listeners are bound and the
// broker has registered with the in-process name server.
type readyInfo struct {
	Namesrv string `json:"namesrv"`
	Broker  string `json:"broker"`
	PID     int    `json:"pid"`
}

// Broker is one running `rocketgo standalone` process.
type Broker struct {
	NamesrvAddr string // ip:port of the name server (an IP literal, as the Go client requires)
	BrokerAddr  string // ip:port of the broker
	DataDir     string
	LogPath     string

	cmd     *exec.Cmd
	exited  chan struct{} // closed when cmd.Wait returned
	waitErr error         // valid after exited is closed
}

// live tracks started processes so a watchdog can kill them before the test binary exits.
var live sync.Map // *Broker -> struct{}

func killAllBrokers() {
	live.Range(func(k, _ any) bool {
		_ = k.(*Broker).cmd.Process.Kill()
		return true
	})
}

var logSeq sync.Map // test name -> *int (per-test start counter for log file names)

// startBroker launches `rocketgo standalone` on dataDir with port-0 listeners, waits for its ready
// file and returns the addresses. Restarting on the same dataDir is just another startBroker call:
// the ready file is deleted first so a stale one is never read.
func startBroker(t *testing.T, dataDir string, extraArgs ...string) *Broker {
	t.Helper()
	readyPath := filepath.Join(dataDir, "ready.json")
	if err := os.Remove(readyPath); err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("removing stale ready file: %v", err)
	}
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		t.Fatal(err)
	}

	// Logs live beside, not inside, the data dir so they never look like broker data.
	n, _ := logSeq.LoadOrStore(t.Name(), new(int))
	*n.(*int)++
	logPath := filepath.Join(filepath.Dir(dataDir), fmt.Sprintf("%s.rocketgo-%d.log", filepath.Base(dataDir), *n.(*int)))
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}

	args := append([]string{"standalone",
		"--data-dir", dataDir,
		"--namesrv-listen", "127.0.0.1:0",
		"--broker-listen", "127.0.0.1:0",
		"--ready-file", readyPath,
	}, extraArgs...)
	cmd := exec.Command(binPath, args...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = childProcAttr()
	if err := cmd.Start(); err != nil {
		logFile.Close()
		t.Fatalf("starting %s: %v", binPath, err)
	}
	b := &Broker{DataDir: dataDir, LogPath: logPath, cmd: cmd, exited: make(chan struct{})}
	live.Store(b, struct{}{})
	go func() {
		b.waitErr = cmd.Wait()
		logFile.Close()
		live.Delete(b)
		close(b.exited)
	}()

	// Registered before the wait below so a start-up failure still prints the log. Cleanups run
	// last-in first-out: clients registered later are shut down before this kills the process.
	t.Cleanup(func() {
		if !b.hasExited() {
			_ = b.cmd.Process.Kill()
			<-b.exited
		}
		if t.Failed() || os.Getenv("ROCKETGO_E2E_LOG") != "" {
			b.printLog(t)
		}
	})

	deadline := time.Now().Add(readyTimeout)
	for {
		if info, ok := readReady(readyPath); ok {
			if info.PID != cmd.Process.Pid {
				t.Fatalf("ready file pid %d, started pid %d", info.PID, cmd.Process.Pid)
			}
			b.NamesrvAddr, b.BrokerAddr = info.Namesrv, info.Broker
			t.Logf("rocketgo pid %d ready: namesrv %s broker %s (log %s)", info.PID, b.NamesrvAddr, b.BrokerAddr, logPath)
			b.checkRegistered(t)
			return b
		}
		if b.hasExited() {
			t.Fatalf("rocketgo exited before it was ready: %v", b.waitErr)
		}
		if time.Now().After(deadline) {
			t.Fatalf("rocketgo wrote no ready file %s within %s", readyPath, readyTimeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkRegistered asserts the readiness contract a client relies on: once the ready file exists the
// broker is registered with the in-process name server, so TBW102 is routable and the very first
// send to a new topic can succeed. A violation is reported as an error (it makes first sends fail
// at random with "route info not found"); the test then waits for the registration and goes on,
// so the rest of what it checks still runs.
func (b *Broker) checkRegistered(t *testing.T) {
	t.Helper()
	code, err := routeCode(b.NamesrvAddr, "TBW102")
	if err == nil && code == 0 {
		return
	}
	t.Errorf("ready file written before the broker registered with the name server: GET_ROUTEINFO_BY_TOPIC TBW102 right after readiness gave code %d, err %v", code, err)
	waitFor(t, 10*time.Second, "TBW102 route on the name server", func() (bool, string) {
		code, err := routeCode(b.NamesrvAddr, "TBW102")
		return err == nil && code == 0, fmt.Sprintf("code %d err %v", code, err)
	})
}

// readReady reads the ready file; a missing or not yet complete file is "not ready".
func readReady(path string) (readyInfo, bool) {
	data, err := os.ReadFile(path)
	if err != nil {
		return readyInfo{}, false
	}
	var info readyInfo
	if err := json.Unmarshal(data, &info); err != nil || info.Namesrv == "" || info.Broker == "" {
		return readyInfo{}, false
	}
	return info, true
}

func (b *Broker) hasExited() bool {
	select {
	case <-b.exited:
		return true
	default:
		return false
	}
}

// Stop sends SIGTERM and asserts a graceful exit with code 0 within stopTimeout.
func (b *Broker) Stop(t *testing.T) {
	t.Helper()
	if err := b.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	select {
	case <-b.exited:
	case <-time.After(stopTimeout):
		_ = b.cmd.Process.Kill()
		<-b.exited
		t.Fatalf("rocketgo did not exit within %s of SIGTERM (killed)", stopTimeout)
	}
	if b.waitErr != nil {
		t.Fatalf("rocketgo did not exit cleanly after SIGTERM: %v", b.waitErr)
	}
}

// Kill sends SIGKILL (no graceful shutdown) and waits for the process to be gone.
func (b *Broker) Kill(t *testing.T) {
	t.Helper()
	_ = b.cmd.Process.Kill()
	select {
	case <-b.exited:
	case <-time.After(stopTimeout):
		t.Fatalf("rocketgo still running %s after SIGKILL", stopTimeout)
	}
}

func (b *Broker) printLog(t *testing.T) {
	data, err := os.ReadFile(b.LogPath)
	if err != nil {
		t.Logf("reading %s: %v", b.LogPath, err)
		return
	}
	if len(data) > logTail {
		data = append([]byte("...(cut)...\n"), data[len(data)-logTail:]...)
	}
	t.Logf("---- %s ----\n%s\n---- end of %s ----", b.LogPath, data, filepath.Base(b.LogPath))
}
