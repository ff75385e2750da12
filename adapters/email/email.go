// Package email sends messages over SMTP with the standard library's
// net/smtp: one connection per message, STARTTLS or implicit TLS, AUTH PLAIN
// when credentials are set, and a proper MIME message (UTF-8,
// quoted-printable, RFC 2047 subject, multipart/alternative when HTML is
// set).
//
// net/smtp takes no context: Send dials with the context, bounds the whole
// session with Config.Timeout, and aborts blocked I/O when the context ends
// (deadline or cancellation). Tests point Host and Port at smtptest's fake
// server.
package email

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"strconv"
	"strings"
	"time"

	"github.com/bookinggw/gateway/core"
)

// TLSMode is how the SMTP connection is secured.
type TLSMode string

const (
	TLSNone     TLSMode = "none"     // plain text (local relays, Mailpit/MailHog)
	TLSStartTLS TLSMode = "starttls" // plain connect, then STARTTLS, required (port 587)
	TLSImplicit TLSMode = "tls"      // TLS from the first byte (port 465)
)

// DefaultTimeout bounds one SMTP session when Config.Timeout is 0.
const DefaultTimeout = 30 * time.Second

// Config configures a Sender. Host and From are required.
type Config struct {
	Host string
	// Port defaults to 587 (starttls), 465 (tls) or 25 (none).
	Port     int
	Username string // AUTH PLAIN is used only when Username is set
	Password string // secret
	// From is the default sender, "Name <addr@example.com>" or a bare
	// address; Outbound.From overrides it.
	From string
	// TLS defaults to TLSStartTLS.
	TLS TLSMode
	// TLSConfig is used for STARTTLS and implicit TLS (custom roots, client
	// certificates); nil means system roots. ServerName defaults to Host.
	TLSConfig *tls.Config
	// Timeout bounds a whole SMTP session (dial to QUIT); 0 means
	// DefaultTimeout.
	Timeout time.Duration
	// LocalName is the EHLO/HELO name; empty means "localhost".
	LocalName string
}

// ParseTLSMode reads "none", "starttls" or "tls" (empty is starttls).
func ParseTLSMode(s string) (TLSMode, error) {
	switch m := TLSMode(strings.ToLower(strings.TrimSpace(s))); m {
	case "":
		return TLSStartTLS, nil
	case TLSNone, TLSStartTLS, TLSImplicit:
		return m, nil
	}
	return "", fmt.Errorf("email: TLS mode %q is not none, starttls or tls", s)
}

// Sender is a core.Sender for core.ChannelEmail. It is safe for concurrent
// use; each Send uses its own connection.
type Sender struct {
	cfg  Config
	from *mail.Address
	addr string
}

var _ core.Sender = (*Sender)(nil)

// New checks cfg and returns a Sender. It makes no network call.
func New(cfg Config) (*Sender, error) {
	if cfg.Host == "" {
		return nil, errors.New("email: Host is required")
	}
	mode, err := ParseTLSMode(string(cfg.TLS))
	if err != nil {
		return nil, err
	}
	cfg.TLS = mode
	if cfg.Port == 0 {
		cfg.Port = map[TLSMode]int{TLSStartTLS: 587, TLSImplicit: 465, TLSNone: 25}[mode]
	}
	if cfg.Port < 1 || cfg.Port > 65535 {
		return nil, fmt.Errorf("email: Port %d out of range", cfg.Port)
	}
	from, err := mail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("email: From %q: %v", cfg.From, err)
	}
	if cfg.Username != "" && mode == TLSNone && !isLocalhost(cfg.Host) {
		return nil, errors.New("email: refusing to send credentials in clear text: use TLS starttls or tls, or no credentials")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.LocalName == "" {
		cfg.LocalName = "localhost"
	}
	return &Sender{cfg: cfg, from: from, addr: net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port))}, nil
}

func isLocalhost(h string) bool {
	return h == "localhost" || h == "127.0.0.1" || h == "::1"
}

// Send delivers m to m.To. Sent.ProviderID is the Message-ID header
// ("<id@from-domain>", the id taken from m.ID).
func (s *Sender) Send(ctx context.Context, m core.Outbound) (core.Sent, error) {
	from := s.from
	if m.From != "" {
		a, err := mail.ParseAddress(m.From)
		if err != nil {
			return core.Sent{}, invalid(fmt.Sprintf("email: sender %q: %v", m.From, err))
		}
		from = a
	}
	switch {
	case m.Channel != core.ChannelEmail && m.Channel != "":
		return core.Sent{}, invalid(fmt.Sprintf("email: channel %q is not email", m.Channel))
	case m.Text == "" && m.HTML == "":
		return core.Sent{}, invalid("email: no text and no HTML")
	}
	to, err := mail.ParseAddress(m.To)
	if err != nil {
		return core.Sent{}, invalid(fmt.Sprintf("email: recipient %q: %v", m.To, err))
	}
	msgID := MessageID(m.ID, from.Address)
	raw, err := Compose(m, from, to, msgID, time.Now())
	if err != nil {
		return core.Sent{}, invalid("email: " + err.Error())
	}
	if err := ctx.Err(); err != nil {
		return core.Sent{}, &core.SendError{Code: "context", Err: err}
	}
	if err := s.deliver(ctx, from.Address, to.Address, raw); err != nil {
		return core.Sent{}, s.classify(ctx, err)
	}
	return core.Sent{ProviderID: msgID, Status: "sent"}, nil
}

// errStartTLS reports a server not offering STARTTLS in starttls mode.
var errStartTLS = errors.New("email: server does not offer STARTTLS")

func (s *Sender) deliver(ctx context.Context, from, to string, raw []byte) (err error) {
	// The session is bounded by Timeout through the connection's deadline,
	// and by ctx (deadline or cancellation) through AfterFunc below, so
	// that ctx.Err() is set whenever ctx is what stopped the session.
	deadline := time.Now().Add(s.cfg.Timeout)
	dctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()

	var d net.Dialer
	conn, err := d.DialContext(dctx, "tcp", s.addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(deadline)
	// Abort blocked reads and writes when ctx ends.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	tc := s.tlsConfig()
	if s.cfg.TLS == TLSImplicit {
		tconn := tls.Client(conn, tc)
		if err := tconn.HandshakeContext(dctx); err != nil {
			return err
		}
		conn = tconn
	}
	c, err := smtp.NewClient(conn, s.cfg.Host)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Hello(s.cfg.LocalName); err != nil {
		return err
	}
	if s.cfg.TLS == TLSStartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return errStartTLS
		}
		if err := c.StartTLS(tc); err != nil {
			return err
		}
	}
	if s.cfg.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", s.cfg.Username, s.cfg.Password, s.cfg.Host)); err != nil {
			return err
		}
	}
	if err := c.Mail(from); err != nil {
		return err
	}
	if err := c.Rcpt(to); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(raw); err != nil {
		return err
	}
	if err := w.Close(); err != nil { // the server's answer to the message
		return err
	}
	// The message is accepted; a failing QUIT changes nothing.
	_ = c.Quit()
	return nil
}

func (s *Sender) tlsConfig() *tls.Config {
	var tc *tls.Config
	if s.cfg.TLSConfig != nil {
		tc = s.cfg.TLSConfig.Clone()
	} else {
		tc = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if tc.ServerName == "" {
		tc.ServerName = s.cfg.Host
	}
	return tc
}

// classify turns an SMTP session error into a *core.SendError:
//
//	5xx reply (550 mailbox unavailable, 553, 554, 535 bad credentials…) → permanent, Code "550"…
//	4xx reply (421, 450, 451, 452…)                                    → temporary
//	STARTTLS not offered in starttls mode                              → permanent, Code "starttls_unsupported"
//	connection, TLS, timeout, context                                  → temporary
func (s *Sender) classify(ctx context.Context, err error) error {
	se := &core.SendError{Err: scrub(err, s.cfg.Password)}
	var te *textproto.Error
	var ne net.Error
	switch {
	case errors.As(err, &te):
		se.Code = strconv.Itoa(te.Code)
		se.Permanent = te.Code >= 500 && te.Code < 600
	case errors.Is(err, errStartTLS):
		se.Code, se.Permanent = "starttls_unsupported", true
	case ctx.Err() != nil:
		se.Code = "context"
		se.Err = fmt.Errorf("%w (%v)", ctx.Err(), se.Err)
	case errors.As(err, &ne), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		se.Code = "network"
	default:
		var ce *tls.CertificateVerificationError
		if errors.As(err, &ce) {
			se.Code = "tls"
		} else {
			se.Code = "smtp"
		}
	}
	return se
}

func invalid(msg string) error {
	return &core.SendError{Permanent: true, Code: "invalid_request", Err: errors.New(msg)}
}

func scrub(err error, secret string) error {
	if err == nil || secret == "" || !strings.Contains(err.Error(), secret) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), secret, "REDACTED"))
}

// MessageID returns the Message-ID for outbox id sent from address:
// "<id@domain>", with characters not allowed in a message id dropped; a
// random id when none is left.
func MessageID(id, fromAddress string) string {
	domain := "localhost"
	if i := strings.LastIndexByte(fromAddress, '@'); i >= 0 && i < len(fromAddress)-1 {
		domain = fromAddress[i+1:]
	}
	var b strings.Builder
	for _, r := range id {
		if r < 128 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("!#$%&'*+-/=?^_`{|}~.", r)) {
			b.WriteRune(r)
		}
	}
	local := strings.Trim(b.String(), ".")
	if local == "" {
		buf := make([]byte, 12)
		_, _ = rand.Read(buf)
		local = hex.EncodeToString(buf)
	}
	return "<" + local + "@" + domain + ">"
}

// Compose builds the RFC 5322 message for m: From, To, Subject (RFC 2047
// B-encoded when not ASCII), Date, Message-ID, MIME-Version,
// Auto-Submitted, then text/plain, text/html, or multipart/alternative of
// both, each UTF-8 and quoted-printable. Lines end in CRLF.
func Compose(m core.Outbound, from, to *mail.Address, messageID string, now time.Time) ([]byte, error) {
	var buf bytes.Buffer
	h := func(k, v string) { buf.WriteString(fold(k + ": " + v)) }
	h("From", from.String())
	h("To", to.String())
	h("Subject", encodeSubject(m.Subject))
	h("Date", now.Format(time.RFC1123Z))
	h("Message-ID", messageID)
	h("MIME-Version", "1.0")
	h("Auto-Submitted", "auto-generated")

	switch {
	case m.HTML == "":
		writePart(&buf, "text/plain", m.Text)
	case m.Text == "":
		writePart(&buf, "text/html", m.HTML)
	default:
		mw := multipart.NewWriter(&buf)
		h("Content-Type", mime.FormatMediaType("multipart/alternative", map[string]string{"boundary": mw.Boundary()}))
		buf.WriteString("\r\n")
		for _, p := range []struct{ ct, body string }{{"text/plain", m.Text}, {"text/html", m.HTML}} {
			pw, err := mw.CreatePart(textproto.MIMEHeader{
				"Content-Type":              {p.ct + "; charset=utf-8"},
				"Content-Transfer-Encoding": {"quoted-printable"},
			})
			if err != nil {
				return nil, err
			}
			if err := writeQP(pw, p.body); err != nil {
				return nil, err
			}
		}
		if err := mw.Close(); err != nil {
			return nil, err
		}
		buf.WriteString("\r\n")
	}
	return buf.Bytes(), nil
}

// writePart writes the headers of a single-part body, then the body.
func writePart(buf *bytes.Buffer, ct, body string) {
	buf.WriteString("Content-Type: " + ct + "; charset=utf-8\r\n")
	buf.WriteString("Content-Transfer-Encoding: quoted-printable\r\n\r\n")
	_ = writeQP(buf, body)
	buf.WriteString("\r\n")
}

func writeQP(w io.Writer, body string) error {
	qw := quotedprintable.NewWriter(w)
	if _, err := io.WriteString(qw, strings.ReplaceAll(body, "\r\n", "\n")); err != nil {
		return err
	}
	return qw.Close()
}

// encodeSubject replaces line breaks by spaces and RFC 2047-encodes a
// non-ASCII subject.
func encodeSubject(s string) string {
	s = strings.NewReplacer("\r\n", " ", "\r", " ", "\n", " ").Replace(s)
	return mime.BEncoding.Encode("utf-8", s)
}

// fold folds a header line at spaces so lines stay within 78 characters
// where the content allows (an encoded word is never split), and ends it
// with CRLF.
func fold(line string) string {
	const max = 78
	if len(line) <= max {
		return line + "\r\n"
	}
	var b strings.Builder
	cur := 0
	for i, word := range strings.Split(line, " ") {
		if i > 0 {
			if i > 1 && cur+1+len(word) > max { // never right after "Name:"
				b.WriteString("\r\n")
				cur = 0
			}
			b.WriteByte(' ')
			cur++
		}
		b.WriteString(word)
		cur += len(word)
	}
	return b.String() + "\r\n"
}
