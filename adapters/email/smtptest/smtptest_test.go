package smtptest_test

import (
	"errors"
	"net/smtp"
	"net/textproto"
	"testing"

	"github.com/bookinggw/gateway/adapters/email/smtptest"
)

func TestPlainSessionWithNetSMTP(t *testing.T) {
	srv := smtptest.New(t)
	srv.RejectRecipient("gone@example.com", smtptest.Reply{Code: 550, Text: "5.1.1 Mailbox unavailable"})
	msg := "Subject: x\r\n\r\n.leading dot\r\nline\r\n"
	err := smtp.SendMail(srv.Addr, nil, "a@example.com", []string{"b@example.com"}, []byte(msg))
	if err != nil {
		t.Fatal(err)
	}
	m := srv.Messages()[0]
	if m.From != "a@example.com" || m.To[0] != "b@example.com" || string(m.Data) != msg {
		t.Fatalf("recorded %+v %q", m, m.Data)
	}
	err = smtp.SendMail(srv.Addr, nil, "a@example.com", []string{"gone@example.com"}, []byte(msg))
	var te *textproto.Error
	if !errors.As(err, &te) || te.Code != 550 {
		t.Fatalf("err = %v", err)
	}
}

func TestStartTLSRequiredBeforeMail(t *testing.T) {
	srv := smtptest.New(t, smtptest.WithStartTLS())
	c, err := smtp.Dial(srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); !ok {
		t.Fatal("STARTTLS not advertised")
	}
	var te *textproto.Error
	if err := c.Mail("a@example.com"); !errors.As(err, &te) || te.Code != 530 {
		t.Fatalf("MAIL before STARTTLS: %v", err)
	}
	if err := c.StartTLS(srv.ClientTLSConfig()); err != nil {
		t.Fatal(err)
	}
	if err := c.Mail("a@example.com"); err != nil {
		t.Fatal(err)
	}
}
