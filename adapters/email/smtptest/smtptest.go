// Package smtptest is a tiny SMTP server for tests, listening on loopback:
// EHLO/HELO, optional STARTTLS or implicit TLS (with a self-signed
// certificate for 127.0.0.1 and localhost), optional AUTH PLAIN, MAIL FROM,
// RCPT TO (with configurable rejections), DATA, RSET, NOOP and QUIT. It
// records every accepted message as received, CRLF line endings included.
//
// Point the email adapter at Server.Host and Server.Port, with
// TLSConfig: Server.ClientTLSConfig() when TLS is on.
package smtptest

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"fmt"
	"math/big"
	"net"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Message is one message the server accepted.
type Message struct {
	From     string   // MAIL FROM address
	To       []string // RCPT TO addresses accepted
	Data     []byte   // the message as received (dot-unstuffed), CRLF line endings
	Helo     string   // EHLO/HELO name
	AuthUser string   // username of a successful AUTH PLAIN, empty without
	TLS      bool     // the session was encrypted
	At       time.Time
}

// Parse parses Data with net/mail.
func (m Message) Parse() (*mail.Message, error) {
	return mail.ReadMessage(bytes.NewReader(m.Data))
}

// Option configures a Server.
type Option func(*Server)

// WithAuth requires AUTH PLAIN with username and password before MAIL FROM.
// Over plain text it is offered too (net/smtp allows PLAIN to localhost).
func WithAuth(username, password string) Option {
	return func(s *Server) { s.user, s.pass = username, password }
}

// WithStartTLS offers STARTTLS and refuses MAIL FROM before it.
func WithStartTLS() Option { return func(s *Server) { s.startTLS = true } }

// WithImplicitTLS speaks TLS from the first byte (port 465 style).
func WithImplicitTLS() Option { return func(s *Server) { s.implicitTLS = true } }

// Reply is an SMTP reply the server answers instead of accepting.
type Reply struct {
	Code int    // e.g. 550, 450
	Text string // e.g. "5.1.1 <x@example.com>: Recipient address rejected: User unknown"
}

// Server is the fake. Its methods are safe for concurrent use.
type Server struct {
	Addr string // "127.0.0.1:port"
	Host string // "127.0.0.1"
	Port int

	user, pass            string
	startTLS, implicitTLS bool
	tlsConfig             *tls.Config
	roots                 *x509.CertPool

	ln    net.Listener
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns map[net.Conn]bool

	messages []Message
	rejectTo map[string]Reply // lower-cased address → reply
	failData []Reply          // answers to the next DATA ends
	sessions int
}

// New starts a server on 127.0.0.1; it stops when the test ends.
func New(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := &Server{conns: map[net.Conn]bool{}, rejectTo: map[string]Reply{}}
	for _, o := range opts {
		o(s)
	}
	if s.startTLS || s.implicitTLS {
		cert, roots, err := selfSigned()
		if err != nil {
			t.Fatal(err)
		}
		s.tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		s.roots = roots
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if s.implicitTLS {
		ln = tls.NewListener(ln, s.tlsConfig)
	}
	s.ln = ln
	s.Addr = ln.Addr().String()
	s.Host = "127.0.0.1"
	s.Port = ln.Addr().(*net.TCPAddr).Port
	s.wg.Add(1)
	go s.accept()
	t.Cleanup(s.Close)
	return s
}

// ClientTLSConfig trusts the server's certificate; nil when TLS is off.
func (s *Server) ClientTLSConfig() *tls.Config {
	if s.roots == nil {
		return nil
	}
	return &tls.Config{RootCAs: s.roots, ServerName: s.Host, MinVersion: tls.VersionTLS12}
}

// Messages returns the accepted messages, oldest first.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, len(s.messages))
	for i, m := range s.messages {
		m.To = slices.Clone(m.To)
		m.Data = slices.Clone(m.Data)
		out[i] = m
	}
	return out
}

// Sessions returns how many connections were accepted.
func (s *Server) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessions
}

// RejectRecipient answers RCPT TO:<addr> with r, e.g.
// Reply{550, "5.1.1 Mailbox unavailable"} or Reply{450, "4.2.1 Try later"}.
// A zero Code clears it.
func (s *Server) RejectRecipient(addr string, r Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.Code == 0 {
		delete(s.rejectTo, strings.ToLower(addr))
		return
	}
	s.rejectTo[strings.ToLower(addr)] = r
}

// FailNextData answers the end of the next n DATA commands with r instead
// of accepting, e.g. Reply{451, "4.3.0 Temporary failure"} or
// Reply{554, "5.7.1 Message rejected as spam"}.
func (s *Server) FailNextData(n int, r Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failData = append(s.failData, r)
	}
}

// Reset forgets messages and knobs.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.messages, s.failData, s.sessions = nil, nil, 0
	s.rejectTo = map[string]Reply{}
}

// Close stops the server and ends open sessions.
func (s *Server) Close() {
	_ = s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		_ = c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns[c] = true
		s.sessions++
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer func() {
				s.mu.Lock()
				delete(s.conns, c)
				s.mu.Unlock()
				_ = c.Close()
			}()
			_ = c.SetDeadline(time.Now().Add(time.Minute))
			s.session(c)
		}()
	}
}

type session struct {
	conn     net.Conn
	r        *bufio.Reader
	w        *bufio.Writer
	tls      bool
	helo     string
	authUser string
	from     string
	hasFrom  bool
	to       []string
}

func (ss *session) reply(code int, lines ...string) {
	for i, l := range lines {
		sep := "-"
		if i == len(lines)-1 {
			sep = " "
		}
		fmt.Fprintf(ss.w, "%d%s%s\r\n", code, sep, l)
	}
	_ = ss.w.Flush()
}

func (s *Server) session(c net.Conn) {
	_, isTLS := c.(*tls.Conn)
	ss := &session{conn: c, r: bufio.NewReader(c), w: bufio.NewWriter(c), tls: isTLS}
	ss.reply(220, s.Host+" ESMTP smtptest")
	for {
		line, err := ss.r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO":
			ss.helo, ss.from, ss.hasFrom, ss.to = arg, "", false, nil
			lines := []string{s.Host + " greets " + arg, "8BITMIME", "SIZE 10485760", "ENHANCEDSTATUSCODES"}
			if s.startTLS && !ss.tls {
				lines = append(lines, "STARTTLS")
			}
			if s.user != "" && (ss.tls || !s.startTLS) {
				lines = append(lines, "AUTH PLAIN")
			}
			ss.reply(250, lines...)
		case "HELO":
			ss.helo, ss.from, ss.hasFrom, ss.to = arg, "", false, nil
			ss.reply(250, s.Host)
		case "STARTTLS":
			if !s.startTLS || ss.tls {
				ss.reply(502, "5.5.1 STARTTLS not available")
				continue
			}
			ss.reply(220, "2.0.0 Ready to start TLS")
			tc := tls.Server(c, s.tlsConfig)
			if err := tc.Handshake(); err != nil {
				return
			}
			ss.conn, ss.r, ss.w, ss.tls = tc, bufio.NewReader(tc), bufio.NewWriter(tc), true
			ss.helo, ss.from, ss.hasFrom, ss.to = "", "", false, nil
		case "AUTH":
			s.auth(ss, arg)
		case "MAIL":
			addr, ok := pathArg(arg, "FROM:")
			switch {
			case !ok:
				ss.reply(501, "5.5.4 Syntax: MAIL FROM:<address>")
			case ss.helo == "":
				ss.reply(503, "5.5.1 Error: send HELO/EHLO first")
			case s.startTLS && !ss.tls:
				ss.reply(530, "5.7.0 Must issue a STARTTLS command first")
			case s.user != "" && ss.authUser == "":
				ss.reply(530, "5.7.0 Authentication required")
			default:
				ss.from, ss.hasFrom, ss.to = addr, true, nil
				ss.reply(250, "2.1.0 Ok")
			}
		case "RCPT":
			addr, ok := pathArg(arg, "TO:")
			if !ok || addr == "" {
				ss.reply(501, "5.5.4 Syntax: RCPT TO:<address>")
				continue
			}
			if !ss.hasFrom {
				ss.reply(503, "5.5.1 Error: need MAIL command")
				continue
			}
			s.mu.Lock()
			rej, rejected := s.rejectTo[strings.ToLower(addr)]
			s.mu.Unlock()
			if rejected {
				ss.reply(rej.Code, rej.Text)
				continue
			}
			ss.to = append(ss.to, addr)
			ss.reply(250, "2.1.5 Ok")
		case "DATA":
			if len(ss.to) == 0 {
				ss.reply(503, "5.5.1 Error: need RCPT command")
				continue
			}
			ss.reply(354, "End data with <CR><LF>.<CR><LF>")
			data, err := readData(ss.r)
			if err != nil {
				return
			}
			s.mu.Lock()
			var fail *Reply
			if len(s.failData) > 0 {
				fail = &s.failData[0]
				s.failData = s.failData[1:]
			} else {
				s.messages = append(s.messages, Message{From: ss.from, To: slices.Clone(ss.to), Data: data,
					Helo: ss.helo, AuthUser: ss.authUser, TLS: ss.tls, At: time.Now()})
			}
			n := len(s.messages)
			s.mu.Unlock()
			ss.from, ss.hasFrom, ss.to = "", false, nil
			if fail != nil {
				ss.reply(fail.Code, fail.Text)
				continue
			}
			ss.reply(250, "2.0.0 Ok: queued as SMTPTEST"+strconv.Itoa(n))
		case "RSET":
			ss.from, ss.hasFrom, ss.to = "", false, nil
			ss.reply(250, "2.0.0 Ok")
		case "NOOP":
			ss.reply(250, "2.0.0 Ok")
		case "QUIT":
			ss.reply(221, "2.0.0 Bye")
			return
		default:
			ss.reply(502, "5.5.2 Error: command not recognized")
		}
		c = ss.conn
	}
}

func (s *Server) auth(ss *session, arg string) {
	mech, initial, _ := strings.Cut(arg, " ")
	switch {
	case s.user == "" || (s.startTLS && !ss.tls):
		ss.reply(503, "5.5.1 Error: authentication not enabled")
		return
	case !strings.EqualFold(mech, "PLAIN"):
		ss.reply(504, "5.5.4 Unrecognized authentication type")
		return
	case ss.authUser != "":
		ss.reply(503, "5.5.1 Error: already authenticated")
		return
	}
	if initial == "" {
		ss.reply(334, "")
		line, err := ss.r.ReadString('\n')
		if err != nil {
			return
		}
		initial = strings.TrimRight(line, "\r\n")
	}
	raw, err := base64.StdEncoding.DecodeString(initial)
	parts := strings.Split(string(raw), "\x00")
	if err != nil || len(parts) != 3 {
		ss.reply(501, "5.5.2 Cannot decode response")
		return
	}
	if parts[1] != s.user || parts[2] != s.pass {
		ss.reply(535, "5.7.8 Error: authentication failed")
		return
	}
	ss.authUser = parts[1]
	ss.reply(235, "2.7.0 Authentication successful")
}

// pathArg reads "FROM:<addr> PARAMS" (prefix "FROM:") and returns addr.
func pathArg(arg, prefix string) (string, bool) {
	if len(arg) < len(prefix) || !strings.EqualFold(arg[:len(prefix)], prefix) {
		return "", false
	}
	rest := strings.TrimSpace(arg[len(prefix):])
	if !strings.HasPrefix(rest, "<") {
		return "", false
	}
	end := strings.IndexByte(rest, '>')
	if end < 0 {
		return "", false
	}
	return rest[1:end], true
}

// readData reads the DATA section up to the lone ".", un-stuffing dots and
// keeping the line endings as sent.
func readData(r *bufio.Reader) ([]byte, error) {
	var buf bytes.Buffer
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return nil, err
		}
		if line == ".\r\n" || line == ".\n" {
			return buf.Bytes(), nil
		}
		if strings.HasPrefix(line, ".") {
			line = line[1:]
		}
		if buf.Len()+len(line) > 10<<20 {
			return nil, fmt.Errorf("message too large")
		}
		buf.WriteString(line)
	}
}

func selfSigned() (tls.Certificate, *x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "smtptest"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool, nil
}
