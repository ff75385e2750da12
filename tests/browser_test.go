package tests

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/bookinggw/gateway/adapters/store/storetest"
	"github.com/bookinggw/gateway/core"
)

// chromiumPath finds Debian's chromium. Outside CI a machine without it
// skips the browser tests, saying so; CI installs it (.ci/run), so there
// a missing browser fails.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is not installed; .ci/run installs it (apt-get install -y chromium)")
	}
	t.Skip("SKIPPED: no chromium on this machine (apt-get install -y chromium); the browser test did not run")
	return ""
}

// artifactDir is where screenshots go: $ARTIFACTS_DIR, else
// tests/artifacts (ignored by git).
func artifactDir(t *testing.T) string {
	dir := os.Getenv("ARTIFACTS_DIR")
	if dir == "" {
		dir = "artifacts"
	}
	dir = filepath.Join(dir, "pages")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func newChrome(t *testing.T) context.Context {
	t.Helper()
	path := chromiumPath(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
		chromedp.Flag("headless", true), chromedp.Flag("disable-gpu", true), chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(800, 1000))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	// An older protocol package than the browser logs events it cannot
	// decode (new enum values); they are not ours to see.
	ctx, cancelC := chromedp.NewContext(actx, chromedp.WithErrorf(func(string, ...any) {}))
	ctx, cancelT := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelT(); cancelC(); cancelA() })
	if err := chromedp.Run(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	var buf []byte
	if err := chromedp.Run(ctx, chromedp.FullScreenshot(&buf, 80)); err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	p := filepath.Join(artifactDir(t), name+".jpg")
	if err := os.WriteFile(p, buf, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", p)
}

// waitZone waits until the page's optional script has sent the browser's
// timezone (it reloads the page with ?tz=) and the page is loaded. The
// reload may destroy the context of an evaluation: retried.
func waitZone(t *testing.T, ctx context.Context) {
	t.Helper()
	waitJS(t, ctx, `location.search.indexOf("tz=") >= 0`)
}

// waitJS waits until expr is true on a loaded page, across navigations.
func waitJS(t *testing.T, ctx context.Context, expr string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		var ok bool
		err := chromedp.Run(ctx, chromedp.Evaluate(`(`+expr+`) && document.readyState === "complete"`, &ok))
		if err == nil && ok {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("never true: %s", expr)
}

// TestBrowserBooksThroughInvitation drives a real headless Chromium: a
// client opens /join/{code}, books a slot with the SMS code read from the
// fake provider (the devsink), and sees the confirmation in French; then
// /paid shows the recorded state. A screenshot of each page is kept.
func TestBrowserBooksThroughInvitation(t *testing.T) {
	ctx := newChrome(t)
	e := newAPIEnv(t, storetest.Backends(t)[0].URL)
	_, code := e.selfServeFixture("Séance individuelle", core.InvitationInput{Name: "QR cabinet"}, false)
	base := e.srv.URL
	var href, text string
	follow := func(name string) {
		t.Helper()
		waitZone(t, ctx)
		if err := chromedp.Run(ctx,
			chromedp.WaitVisible(`a.choice`, chromedp.ByQuery),
			chromedp.AttributeValue(`a.choice`, "href", &href, nil, chromedp.ByQuery)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		shot(t, ctx, name)
		if err := chromedp.Run(ctx, chromedp.Navigate(base+href)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	if err := chromedp.Run(ctx, chromedp.Navigate(base+"/join/"+code+"?lang=fr"), chromedp.WaitVisible(`#book-web`, chromedp.ByID),
		chromedp.Text(`#book-web`, &text, chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	if text != "Réserver en ligne" {
		t.Fatalf("join page button = %q", text)
	}
	shot(t, ctx, "01-join")
	if err := chromedp.Run(ctx, chromedp.Click(`#book-web`, chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	follow("02-services")
	follow("03-days")
	follow("04-times")
	if err := chromedp.Run(ctx, chromedp.WaitVisible(`#f-phone`, chromedp.ByID),
		chromedp.SendKeys(`#f-name`, "Élodie Client", chromedp.ByID),
		chromedp.SendKeys(`#f-phone`, "+33 6 98 76 54 32", chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	shot(t, ctx, "05-details")
	if err := chromedp.Run(ctx, chromedp.Click(`#submit`, chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, `document.querySelector("#f-code") !== null`)
	shot(t, ctx, "06-code")
	codes := e.codesSentTo("+33698765432")
	if len(codes) != 1 {
		t.Fatalf("codes at the fake provider = %v", codes)
	}
	if err := chromedp.Run(ctx, chromedp.SendKeys(`#f-code`, codes[0], chromedp.ByID), chromedp.Click(`#submit`, chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, `document.querySelector("#f-code") === null`)
	if err := chromedp.Run(ctx, chromedp.Text(`#message`, &text, chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	shot(t, ctx, "07-booked")
	if !strings.Contains(text, "Votre demande a été envoyée") {
		t.Fatalf("confirmation = %q", text)
	}

	// /paid shows what the webhook recorded: pending, then paid.
	ref := core.PaidRef([]byte("browser"), "paid-page")
	if _, err := e.app.Store.SavePaymentLink(context.Background(), core.StoredLink{ID: core.NewID(), OrgID: e.org, Purpose: "appointment",
		RefID: core.NewID(), AmountMinor: 6000, Currency: "EUR", ProviderID: "cs_test_browser", URL: "https://checkout.example/b", Ref: ref,
		CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Run(ctx, chromedp.Navigate(base+"/paid/"+ref+"?lang=fr"), chromedp.Text(`#message`, &text, chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	shot(t, ctx, "08-paid-pending")
	if !strings.Contains(text, "en cours de confirmation") {
		t.Fatalf("pending page = %q", text)
	}
	if _, err := e.app.Store.SetPaymentLinkState(context.Background(), "cs_test_browser", core.LinkPaid); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Run(ctx, chromedp.Navigate(base+"/paid/"+ref+"?lang=fr"), chromedp.Text(`#message`, &text, chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	shot(t, ctx, "09-paid")
	if !strings.Contains(text, "paiement a bien été reçu") {
		t.Fatalf("paid page = %q", text)
	}
}
