package email_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bookinggw/gateway/adapters/email"
	"github.com/bookinggw/gateway/adapters/email/smtptest"
	"github.com/bookinggw/gateway/core"
)

const (
	defaultFrom = "Gateway <noreply@clinic.example>"
	password    = "p4ssw0rd-s3cr3t"
)

func newSender(t *testing.T, srv *smtptest.Server, mod ...func(*email.Config)) *email.Sender {
	t.Helper()
	cfg := email.Config{Host: srv.Host, Port: srv.Port, From: defaultFrom, TLS: email.TLSNone, Timeout: 5 * time.Second}
	for _, f := range mod {
		f(&cfg)
	}
	s, err := email.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var dec = new(mime.WordDecoder)

// part is one decoded MIME part.
type part struct {
	contentType string
	params      map[string]string
	cte         string
	body        string
}

// readParts parses a received message with net/mail and mime/multipart,
// decoding quoted-printable bodies by hand to check the raw encoding too.
func readParts(t *testing.T, msg *mail.Message) []part {
	t.Helper()
	ct, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	decode := func(cte string, r io.Reader) string {
		if cte != "quoted-printable" {
			t.Fatalf("Content-Transfer-Encoding = %q", cte)
		}
		b, err := io.ReadAll(quotedprintable.NewReader(r))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if !strings.HasPrefix(ct, "multipart/") {
		// The CRLF ending the SMTP DATA is the message's last line break.
		body := strings.TrimSuffix(decode(msg.Header.Get("Content-Transfer-Encoding"), msg.Body), "\r\n")
		return []part{{ct, params, msg.Header.Get("Content-Transfer-Encoding"), body}}
	}
	if ct != "multipart/alternative" {
		t.Fatalf("Content-Type = %s", ct)
	}
	var out []part
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextRawPart()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		pct, pparams, err := mime.ParseMediaType(p.Header.Get("Content-Type"))
		if err != nil {
			t.Fatal(err)
		}
		cte := p.Header.Get("Content-Transfer-Encoding")
		out = append(out, part{pct, pparams, cte, decode(cte, p)})
	}
}

func TestSendMIME(t *testing.T) {
	longLine := strings.Repeat("Очень длинная строка без переносов, ", 10)
	tests := []struct {
		name      string
		out       core.Outbound
		wantFrom  string
		wantParts []part
	}{
		{
			name: "multipart russian",
			out: core.Outbound{ID: "outbox-42", Channel: core.ChannelEmail, To: "Анна Петрова <anna@example.com>",
				Subject: "Напоминание о записи на завтра",
				Text:    "Здравствуйте, Анна!\nВаша запись: завтра в 10:00.\n.точка в начале строки\n" + longLine,
				HTML:    "<p>Здравствуйте, <b>Анна</b>!</p>\n<p>Ваша запись: завтра в 10:00 — €25 = 25 ₽?</p>"},
			wantFrom: defaultFrom,
			wantParts: []part{
				{contentType: "text/plain", params: map[string]string{"charset": "utf-8"},
					body: "Здравствуйте, Анна!\r\nВаша запись: завтра в 10:00.\r\n.точка в начале строки\r\n" + longLine},
				{contentType: "text/html", params: map[string]string{"charset": "utf-8"},
					body: "<p>Здравствуйте, <b>Анна</b>!</p>\r\n<p>Ваша запись: завтра в 10:00 — €25 = 25 ₽?</p>"},
			},
		},
		{
			name:     "text only, sender override",
			out:      core.Outbound{ID: "o2", To: "bob@example.com", From: "Clinique Santé <rdv@sante.example>", Subject: "Rappel", Text: "À demain 9h."},
			wantFrom: "Clinique Santé <rdv@sante.example>",
			wantParts: []part{{contentType: "text/plain", params: map[string]string{"charset": "utf-8"},
				body: "À demain 9h."}},
		},
		{
			name:     "html only",
			out:      core.Outbound{ID: "o3", To: "bob@example.com", Subject: "Hi", HTML: "<p>Grüße</p>"},
			wantFrom: defaultFrom,
			wantParts: []part{{contentType: "text/html", params: map[string]string{"charset": "utf-8"},
				body: "<p>Grüße</p>"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := smtptest.New(t)
			before := time.Now().Add(-time.Second)
			sent, err := newSender(t, srv).Send(context.Background(), tt.out)
			if err != nil {
				t.Fatal(err)
			}
			msgs := srv.Messages()
			if len(msgs) != 1 {
				t.Fatalf("server got %d messages", len(msgs))
			}
			got := msgs[0]
			wantFromAddr, _ := mail.ParseAddress(tt.wantFrom)
			wantTo, _ := mail.ParseAddress(tt.out.To)
			if got.From != wantFromAddr.Address || len(got.To) != 1 || got.To[0] != wantTo.Address || got.AuthUser != "" {
				t.Errorf("envelope from %q to %v auth %q", got.From, got.To, got.AuthUser)
			}
			header, body, _ := strings.Cut(string(got.Data), "\r\n\r\n")
			for i, line := range strings.Split(header, "\r\n") {
				// 78 is a SHOULD; only an encoded word after a field name may pass it.
				if len(line) > 78 && strings.Contains(strings.TrimPrefix(line, " "), " ") && !strings.HasPrefix(line, "Subject: ") {
					t.Errorf("header line %d is %d bytes long: %q", i, len(line), line)
				}
			}
			for i, line := range strings.Split(body, "\r\n") {
				if len(line) > 76 {
					t.Errorf("body line %d is %d bytes long: %q", i, len(line), line)
				}
				if strings.ContainsRune(line, '\n') {
					t.Errorf("bare LF in line %d", i)
				}
			}
			for _, b := range got.Data {
				if b >= 0x80 {
					t.Fatal("raw message is not 7-bit")
				}
			}

			msg, err := got.Parse()
			if err != nil {
				t.Fatal(err)
			}
			h := msg.Header
			from, err := h.AddressList("From")
			if err != nil || len(from) != 1 || from[0].String() != wantFromAddr.String() || from[0].Name != wantFromAddr.Name {
				t.Errorf("From = %q (%v)", h.Get("From"), err)
			}
			to, err := h.AddressList("To")
			if err != nil || len(to) != 1 || to[0].Address != wantTo.Address || to[0].Name != wantTo.Name {
				t.Errorf("To = %q (%v)", h.Get("To"), err)
			}
			subj, err := dec.DecodeHeader(h.Get("Subject"))
			if err != nil || subj != tt.out.Subject {
				t.Errorf("Subject = %q decoded %q (%v)", h.Get("Subject"), subj, err)
			}
			if date, err := h.Date(); err != nil || date.Before(before) || date.After(time.Now().Add(time.Second)) {
				t.Errorf("Date = %q (%v)", h.Get("Date"), err)
			}
			if id := h.Get("Message-ID"); id != sent.ProviderID || !strings.HasSuffix(id, "@"+strings.Split(wantFromAddr.Address, "@")[1]+">") ||
				!strings.HasPrefix(id, "<"+tt.out.ID+"@") {
				t.Errorf("Message-ID = %q, ProviderID %q", id, sent.ProviderID)
			}
			if h.Get("MIME-Version") != "1.0" || sent.Status != "sent" {
				t.Errorf("MIME-Version %q, status %q", h.Get("MIME-Version"), sent.Status)
			}
			parts := readParts(t, msg)
			if len(parts) != len(tt.wantParts) {
				t.Fatalf("%d parts, want %d", len(parts), len(tt.wantParts))
			}
			for i, p := range parts {
				w := tt.wantParts[i]
				if p.contentType != w.contentType || !strings.EqualFold(p.params["charset"], w.params["charset"]) {
					t.Errorf("part %d: %s %v", i, p.contentType, p.params)
				}
				if p.body != w.body {
					t.Errorf("part %d body =\n%q\nwant\n%q", i, p.body, w.body)
				}
			}
		})
	}
}

func TestSubjectHeaderInjection(t *testing.T) {
	srv := smtptest.New(t)
	_, err := newSender(t, srv).Send(context.Background(), core.Outbound{ID: "x", To: "bob@example.com",
		Subject: "Hello\r\nBcc: evil@example.com", Text: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	msg, err := srv.Messages()[0].Parse()
	if err != nil {
		t.Fatal(err)
	}
	if msg.Header.Get("Bcc") != "" || len(srv.Messages()[0].To) != 1 {
		t.Fatalf("header injected: %v", msg.Header)
	}
}

func TestTLSAndAuth(t *testing.T) {
	tests := []struct {
		name string
		opts []smtptest.Option
		mode email.TLSMode
	}{
		{"starttls", []smtptest.Option{smtptest.WithStartTLS(), smtptest.WithAuth("mailer", password)}, email.TLSStartTLS},
		{"implicit tls", []smtptest.Option{smtptest.WithImplicitTLS(), smtptest.WithAuth("mailer", password)}, email.TLSImplicit},
		{"plain localhost auth", []smtptest.Option{smtptest.WithAuth("mailer", password)}, email.TLSNone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := smtptest.New(t, tt.opts...)
			s := newSender(t, srv, func(c *email.Config) {
				c.TLS, c.TLSConfig, c.Username, c.Password = tt.mode, srv.ClientTLSConfig(), "mailer", password
			})
			if _, err := s.Send(context.Background(), core.Outbound{ID: "1", To: "a@example.com", Subject: "s", Text: "t"}); err != nil {
				t.Fatal(err)
			}
			m := srv.Messages()[0]
			if m.AuthUser != "mailer" || m.TLS != (tt.mode != email.TLSNone) || m.Helo != "localhost" {
				t.Fatalf("session auth %q tls %v helo %q", m.AuthUser, m.TLS, m.Helo)
			}
		})
	}
}

func TestSendErrors(t *testing.T) {
	tests := []struct {
		name      string
		opts      []smtptest.Option
		setup     func(*smtptest.Server)
		mod       func(*email.Config, *smtptest.Server)
		permanent bool
		code      string
	}{
		{name: "550 recipient", setup: func(s *smtptest.Server) {
			s.RejectRecipient("a@example.com", smtptest.Reply{Code: 550, Text: "5.1.1 <a@example.com>: Mailbox unavailable"})
		}, permanent: true, code: "550"},
		{name: "450 recipient", setup: func(s *smtptest.Server) {
			s.RejectRecipient("A@example.com", smtptest.Reply{Code: 450, Text: "4.2.1 Try again later"})
		}, code: "450"},
		{name: "554 data", setup: func(s *smtptest.Server) {
			s.FailNextData(1, smtptest.Reply{Code: 554, Text: "5.7.1 Rejected as spam"})
		}, permanent: true, code: "554"},
		{name: "451 data", setup: func(s *smtptest.Server) {
			s.FailNextData(1, smtptest.Reply{Code: 451, Text: "4.3.0 Local error"})
		}, code: "451"},
		{name: "bad password", opts: []smtptest.Option{smtptest.WithAuth("mailer", "right")},
			mod: func(c *email.Config, _ *smtptest.Server) { c.Username, c.Password = "mailer", password }, permanent: true, code: "535"},
		{name: "auth required", opts: []smtptest.Option{smtptest.WithAuth("mailer", password)}, permanent: true, code: "530"},
		{name: "starttls not offered", mod: func(c *email.Config, _ *smtptest.Server) { c.TLS = email.TLSStartTLS },
			permanent: true, code: "starttls_unsupported"},
		{name: "untrusted certificate", opts: []smtptest.Option{smtptest.WithStartTLS()},
			mod: func(c *email.Config, _ *smtptest.Server) { c.TLS = email.TLSStartTLS }, code: "tls"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := smtptest.New(t, tt.opts...)
			if tt.setup != nil {
				tt.setup(srv)
			}
			s := newSender(t, srv, func(c *email.Config) {
				if tt.mod != nil {
					tt.mod(c, srv)
				}
			})
			_, err := s.Send(context.Background(), core.Outbound{ID: "1", To: "a@example.com", Subject: "s", Text: "t"})
			se := asSendError(t, err)
			if se.Permanent != tt.permanent || se.Code != tt.code {
				t.Fatalf("got %+v (%v), want permanent=%v code=%s", se, err, tt.permanent, tt.code)
			}
			if strings.Contains(err.Error(), password) {
				t.Fatalf("error leaks the password: %v", err)
			}
			if n := len(srv.Messages()); n != 0 {
				t.Fatalf("server accepted %d messages", n)
			}
		})
	}
}

// A server that accepts the connection but never greets.
func silentServer(t *testing.T) (host string, port int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	a := ln.Addr().(*net.TCPAddr)
	return "127.0.0.1", a.Port
}

func TestContextAndTimeout(t *testing.T) {
	host, port := silentServer(t)
	mk := func(timeout time.Duration) *email.Sender {
		s, err := email.New(email.Config{Host: host, Port: port, From: defaultFrom, TLS: email.TLSNone, Timeout: timeout})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	m := core.Outbound{To: "a@example.com", Text: "t"}

	t.Run("context deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := mk(time.Minute).Send(ctx, m)
		se := asSendError(t, err)
		if se.Permanent || se.Code != "context" || !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
			t.Fatalf("err = %+v (%v) after %v", se, err, time.Since(start))
		}
	})
	t.Run("context cancel", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(100*time.Millisecond, cancel)
		_, err := mk(time.Minute).Send(ctx, m)
		if se := asSendError(t, err); se.Permanent || se.Code != "context" || !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %+v (%v)", se, err)
		}
	})
	t.Run("config timeout", func(t *testing.T) {
		_, err := mk(150*time.Millisecond).Send(context.Background(), m)
		if se := asSendError(t, err); se.Permanent || se.Code != "network" {
			t.Fatalf("err = %+v (%v)", se, err)
		}
	})
	t.Run("connection refused", func(t *testing.T) {
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		p := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		s, _ := email.New(email.Config{Host: "127.0.0.1", Port: p, From: defaultFrom, TLS: email.TLSNone})
		_, err := s.Send(context.Background(), m)
		if se := asSendError(t, err); se.Permanent || se.Code != "network" {
			t.Fatalf("err = %+v (%v)", se, err)
		}
	})
}

func TestInvalidOutbound(t *testing.T) {
	srv := smtptest.New(t)
	s := newSender(t, srv)
	for name, m := range map[string]core.Outbound{
		"bad recipient":   {To: "not an address", Text: "t"},
		"bad sender":      {To: "a@example.com", From: "nope", Text: "t"},
		"no body":         {To: "a@example.com", Subject: "s"},
		"wrong channel":   {Channel: core.ChannelSMS, To: "a@example.com", Text: "t"},
		"injected rcpt":   {To: "a@example.com\r\nRCPT TO:<b@example.com>", Text: "t"},
		"empty recipient": {Text: "t"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := s.Send(context.Background(), m)
			if se := asSendError(t, err); !se.Permanent || se.Code != "invalid_request" {
				t.Fatalf("err = %+v", se)
			}
		})
	}
	if srv.Sessions() != 0 {
		t.Fatalf("%d sessions opened", srv.Sessions())
	}
}

func TestNewValidates(t *testing.T) {
	for name, cfg := range map[string]email.Config{
		"no host":           {From: defaultFrom},
		"bad from":          {Host: "smtp.example.com", From: "nope"},
		"bad mode":          {Host: "smtp.example.com", From: defaultFrom, TLS: "ssl3"},
		"clear credentials": {Host: "smtp.example.com", From: defaultFrom, TLS: email.TLSNone, Username: "u", Password: password},
		"bad port":          {Host: "smtp.example.com", From: defaultFrom, Port: 70000},
	} {
		if _, err := email.New(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		} else if strings.Contains(err.Error(), password) {
			t.Errorf("%s: error leaks the password", name)
		}
	}
	for in, want := range map[string]email.TLSMode{"": email.TLSStartTLS, "TLS": email.TLSImplicit, " none ": email.TLSNone} {
		if got, err := email.ParseTLSMode(in); err != nil || got != want {
			t.Errorf("ParseTLSMode(%q) = %q, %v", in, got, err)
		}
	}
}

func TestMessageID(t *testing.T) {
	if got := email.MessageID("0192-ab<c>d", "x@clinic.example"); got != "<0192-abcd@clinic.example>" {
		t.Errorf("MessageID = %s", got)
	}
	a, b := email.MessageID("", "x@e.example"), email.MessageID("", "x@e.example")
	if a == b || !strings.HasSuffix(a, "@e.example>") {
		t.Errorf("random ids %s %s", a, b)
	}
}

func TestConcurrentSends(t *testing.T) {
	srv := smtptest.New(t)
	s := newSender(t, srv)
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.Send(context.Background(), core.Outbound{ID: fmt.Sprint(i), To: fmt.Sprintf("u%d@example.com", i), Text: "t"}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := len(srv.Messages()); n != 10 {
		t.Fatalf("%d messages", n)
	}
}

func asSendError(t *testing.T, err error) *core.SendError {
	t.Helper()
	var se *core.SendError
	if !errors.As(err, &se) {
		t.Fatalf("err = %v (%T), want *core.SendError", err, err)
	}
	return se
}
