package twilio

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// DefaultMediaHosts are the hosts Twilio serves inbound media from. Only
// these receive the account's credentials.
var DefaultMediaHosts = []string{"api.twilio.com", "media.twiliocdn.com", "mms.twiliocdn.com"}

// MediaInspector reads the size and type of inbound media (MediaUrlN). A
// MediaUrl arrives in a webhook, so anyone who can reach the webhook could
// name any host: the account's credentials go only to the configured media
// hosts over HTTPS (plain HTTP only for a host explicitly configured with
// http://, the local fake), and a URL elsewhere is never fetched at all.
type MediaInspector struct {
	accountSID, authToken string
	hosts                 map[string]string // host → scheme allowed
	hc                    *http.Client
}

// NewMediaInspector checks its arguments. hosts are host names (HTTPS) or
// http(s)://host[:port] URLs; nil means DefaultMediaHosts.
func NewMediaInspector(accountSID, authToken string, hosts []string, hc *http.Client) (*MediaInspector, error) {
	if accountSID == "" || authToken == "" {
		return nil, errors.New("twilio: media inspector needs the account SID and auth token")
	}
	if hosts == nil {
		hosts = DefaultMediaHosts
	}
	mi := &MediaInspector{accountSID: accountSID, authToken: authToken, hosts: map[string]string{}, hc: hc}
	for _, h := range hosts {
		h = strings.TrimSpace(h)
		if h == "" {
			continue
		}
		scheme := "https"
		if u, err := url.Parse(h); err == nil && u.Host != "" {
			scheme, h = u.Scheme, u.Host
		}
		mi.hosts[strings.ToLower(h)] = scheme
	}
	if mi.hc == nil {
		mi.hc = &http.Client{Timeout: 10 * time.Second}
	}
	// Credentials never follow a redirect to another host (Twilio redirects
	// media to signed storage URLs that need none).
	base := *mi.hc
	base.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= 5 {
			return errors.New("too many redirects")
		}
		if !mi.Trusted(req.URL.String()) {
			req.Header.Del("Authorization")
		}
		return nil
	}
	mi.hc = &base
	return mi, nil
}

// Trusted reports whether a media URL is on a configured Twilio media host.
func (mi *MediaInspector) Trusted(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.User != nil {
		return false
	}
	scheme, ok := mi.hosts[strings.ToLower(u.Host)]
	return ok && u.Scheme == scheme && slices.Contains([]string{"http", "https"}, u.Scheme)
}

// Inspect asks a trusted media URL for its type and size (HEAD, with the
// account's credentials); an untrusted URL is not requested (trusted false).
func (mi *MediaInspector) Inspect(ctx context.Context, raw string) (contentType string, size int64, trusted bool, err error) {
	if !mi.Trusted(raw) {
		return "", 0, false, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, raw, nil)
	if err != nil {
		return "", 0, true, fmt.Errorf("twilio: media: %w", err)
	}
	req.SetBasicAuth(mi.accountSID, mi.authToken)
	resp, err := mi.hc.Do(req)
	if err != nil {
		return "", 0, true, fmt.Errorf("twilio: media: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		return "", 0, true, fmt.Errorf("twilio: media: HTTP %d", resp.StatusCode)
	}
	return resp.Header.Get("Content-Type"), max(resp.ContentLength, 0), true, nil
}
