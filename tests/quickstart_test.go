package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The quickstart's own values, which the test looks for in what the
// devsink kept.
const (
	quickstartPhone   = "+33612345678"
	quickstartService = "Consultation"
	quickstartStaff   = "Dr Anna Martin"
)

// TestQuickstart runs README.md's "Five-minute quickstart" block, as a
// newcomer pastes it, against the real binary on its embedded default
// (SQLite in ./data, in-process Redis, no provider: the devsink), so the
// README's commands cannot drift from the API. Only two things are
// changed in the block: `go run ./cmd/gateway` becomes the built binary
// (the same program, without compiling it again) and `localhost:8080`
// becomes the free port this test's gateway listens on. The block runs
// under bash -euo pipefail in the gateway's working directory, so its
// bootstrap writes the database the server reads.
func TestQuickstart(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "date"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the quickstart needs %s: %v", tool, err)
		}
	}
	block := readmeBlock(t, filepath.Join("..", "README.md"), "### Five-minute quickstart")

	dir := t.TempDir()
	addr := freePort(t)
	env := withoutProviders(baseEnv("GATEWAY_HTTP_ADDR=" + addr))
	startGateway(t, "quickstart", dir, env)

	script := block
	for _, r := range []struct{ from, to string }{
		{"go run ./cmd/gateway", shellQuote(gatewayBinary(t))},
		{"localhost:8080", addr},
	} {
		if !strings.Contains(script, r.from) {
			t.Fatalf("the quickstart block no longer contains %q, which this test replaces:\n%s", r.from, block)
		}
		script = strings.ReplaceAll(script, r.from, r.to)
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", script)
	cmd.Dir, cmd.Env = dir, env
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	t.Logf("quickstart ran in %s; stdout:\n%s\nstderr:\n%s", time.Since(start).Round(time.Millisecond), stdout.String(), stderr.String())
	if err != nil {
		t.Fatalf("the quickstart failed: %v (stderr above)", err)
	}

	// Its last line is the devsink's answer: the client's confirmation.
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	last := lines[len(lines)-1]
	var sink struct {
		Items []struct {
			Channel, To, Text, Status string
		}
	}
	if err := json.Unmarshal([]byte(last), &sink); err != nil {
		t.Fatalf("the quickstart's last line is not the devsink's list: %v\n%s", err, last)
	}
	found := false
	for _, m := range sink.Items {
		if m.To == quickstartPhone && m.Channel == "sms" && m.Status == "delivered" &&
			strings.Contains(m.Text, quickstartService) && strings.Contains(m.Text, quickstartStaff) {
			found = true
		}
	}
	if !found {
		t.Fatalf("the devsink shows no SMS to %s naming %q and %q: %s", quickstartPhone, quickstartService, quickstartStaff, last)
	}
}

// readmeBlock returns the first ```sh block under the heading in the
// markdown file, failing when the section or the block is missing.
func readmeBlock(t *testing.T, path, heading string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n"+heading+"\n")
	if !ok {
		t.Fatalf("%s has no %q section", path, heading)
	}
	prose, rest, ok := strings.Cut(section, "\n```sh\n")
	if !ok || strings.Contains(prose, "\n#") {
		t.Fatalf("the %q section of %s has no ```sh block", heading, path)
	}
	code, _, ok := strings.Cut(rest, "\n```\n")
	if !ok {
		t.Fatalf("the ```sh block of %q in %s does not end", heading, path)
	}
	return code + "\n"
}

// withoutProviders drops the providers' credentials a developer's shell
// may hold, so the gateway runs on the devsink as the quickstart says and
// never sends for real.
func withoutProviders(env []string) []string {
	var out []string
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(k, "TWILIO_"), strings.HasPrefix(k, "TELEGRAM_"), strings.HasPrefix(k, "SLACK_"),
			strings.HasPrefix(k, "SMTP_"), strings.HasPrefix(k, "STRIPE_"):
			continue
		}
		out = append(out, kv)
	}
	return out
}

// shellQuote quotes s as one word for bash.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
