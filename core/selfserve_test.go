package core

import (
	"context"
	"strings"
	"testing"
	"time"
)

// selfFake keeps the hits and codes of self-service in memory; the other
// methods are left to the nil embedded interface and panic if called.
type selfFake struct {
	SelfServeStore
	hits map[string][]time.Time
	otps map[string]OTP
}

func newSelfFake() *selfFake {
	return &selfFake{hits: map[string][]time.Time{}, otps: map[string]OTP{}}
}

func (f *selfFake) Hit(_ context.Context, kind, key string, at time.Time) error {
	f.hits[kind+"|"+key] = append(f.hits[kind+"|"+key], at)
	return nil
}

func (f *selfFake) CountHits(_ context.Context, kind, key string, since time.Time) (int, error) {
	n := 0
	for _, at := range f.hits[kind+"|"+key] {
		if at.After(since) {
			n++
		}
	}
	return n, nil
}

func (f *selfFake) LastHit(_ context.Context, kind, key string) (time.Time, error) {
	var last time.Time
	for _, at := range f.hits[kind+"|"+key] {
		if at.After(last) {
			last = at
		}
	}
	return last, nil
}

func (f *selfFake) CountOTPCheck(_ context.Context, id string) (OTP, error) {
	o, ok := f.otps[id]
	if !ok {
		return o, NotFound("code")
	}
	o.Attempts++
	f.otps[id] = o
	return o, nil
}

func (f *selfFake) UseOTP(_ context.Context, id string, at time.Time) (bool, error) {
	o := f.otps[id]
	if o.UsedAt != nil {
		return false, nil
	}
	o.UsedAt = &at
	f.otps[id] = o
	return true, nil
}

type stepClock struct{ t time.Time }

func (c *stepClock) Now() time.Time { return c.t }

func newSelfService(f *selfFake, clock *stepClock, lim Limits) *SelfServeService {
	return &SelfServeService{base: base{clock: clock}, store: f, limits: lim, secret: []byte("k"), codeHash: hashCode}
}

func TestSendLimits(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	lim := Limits{PhoneCooldown: 30 * time.Second, PhoneSends: 5, PhoneWindow: 10 * time.Minute, IPSends: 8, PrefixSends: 12, GlobalSends: 15}
	type send struct {
		after        time.Duration // since the previous send
		phone, ip    string
		wantRefused  bool
		wantContains string
	}
	fr, fr2, uk := "+33612345678", "+33698765432", "+447911123456"
	tests := []struct {
		name  string
		sends []send
	}{
		{"cooldown per phone", []send{{0, fr, "1", false, ""}, {10 * time.Second, fr, "1", true, "just sent"}, {31 * time.Second, fr, "1", false, ""}}},
		{"five per phone in ten minutes, the sixth refused", []send{
			{0, fr, "1", false, ""}, {time.Minute, fr, "2", false, ""}, {time.Minute, fr, "3", false, ""}, {time.Minute, fr, "4", false, ""},
			{time.Minute, fr, "5", false, ""}, {time.Minute, fr, "6", true, "this phone"},
			// ten minutes after the first, places free again
			{6 * time.Minute, fr, "7", false, ""}}},
		{"per IP across phones", []send{
			{0, "+33600000001", "9", false, ""}, {0, "+33600000002", "9", false, ""}, {0, "+33600000003", "9", false, ""},
			{0, "+33600000004", "9", false, ""}, {0, "+33600000005", "9", false, ""}, {0, "+33600000006", "9", false, ""},
			{0, "+33600000007", "9", false, ""}, {0, "+33600000008", "9", false, ""}, {0, "+33600000009", "9", true, "network"}}},
		{"per country prefix across IPs", []send{
			{0, "+447911000001", "a", false, ""}, {0, "+447911000002", "b", false, ""}, {0, "+447911000003", "c", false, ""},
			{0, "+447911000004", "d", false, ""}, {0, "+447911000005", "e", false, ""}, {0, "+447911000006", "f", false, ""},
			{0, "+447911000007", "g", false, ""}, {0, "+447911000008", "h", false, ""}, {0, "+447911000009", "i", false, ""},
			{0, "+447911000010", "j", false, ""}, {0, "+447911000011", "k", false, ""}, {0, "+447911000012", "l", false, ""},
			{0, "+447911000013", "m", true, "country"}, {0, fr2, "n", false, ""}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := &stepClock{t: t0}
			s := newSelfService(newSelfFake(), clock, lim)
			for i, sd := range tt.sends {
				clock.t = clock.t.Add(sd.after)
				err := s.checkSendLimits(context.Background(), sd.phone, sd.ip, clock.t)
				if refused := ErrorCode(err) == CodeRateLimited; refused != sd.wantRefused {
					t.Fatalf("send %d (%s from %s) err = %v, want refused %v", i+1, sd.phone, sd.ip, err, sd.wantRefused)
				}
				if sd.wantContains != "" && !strings.Contains(err.Error(), sd.wantContains) {
					t.Fatalf("send %d err = %v, want it to mention %q", i+1, err, sd.wantContains)
				}
			}
		})
	}
	t.Run("global breaker", func(t *testing.T) {
		clock := &stepClock{t: t0}
		s := newSelfService(newSelfFake(), clock, Limits{GlobalSends: 3})
		for i, phone := range []string{fr, fr2, uk, "+48512345678"} {
			err := s.checkSendLimits(context.Background(), phone, "", clock.t)
			if want := i == 3; (ErrorCode(err) == CodeRateLimited) != want {
				t.Fatalf("send %d err = %v", i+1, err)
			}
		}
	})
}

func TestVerifyRefusals(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	used := t0
	tests := []struct {
		name     string
		otp      OTP
		code     string
		wantCode Code
		wantMsg  string
	}{
		{"unknown code id", OTP{ID: "x"}, "123456", CodeInvalid, "expired"},
		{"wrong code", OTP{Expires: t0.Add(time.Minute)}, "000000", CodeInvalid, "wrong code"},
		{"expired", OTP{Expires: t0}, "123456", CodeInvalid, "expired"},
		{"replayed", OTP{Expires: t0.Add(time.Minute), UsedAt: &used}, "123456", CodeInvalid, "already used"},
		{"sixth check", OTP{Expires: t0.Add(time.Minute), Attempts: 5}, "123456", CodeRateLimited, "too many"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newSelfFake()
			clock := &stepClock{t: t0}
			s := newSelfService(f, clock, DefaultLimits())
			id := NewID()
			if tt.otp.ID == "" {
				tt.otp.ID = id
				tt.otp.Phone = "+33612345678"
				tt.otp.CodeHash = hashCode(s.secret, id, "123456")
				f.otps[id] = tt.otp
			}
			_, err := s.Verify(context.Background(), id, tt.code, "10.0.0.1")
			if ErrorCode(err) != tt.wantCode || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("Verify err = %v, want %s mentioning %q", err, tt.wantCode, tt.wantMsg)
			}
		})
	}
	t.Run("wrong codes from one IP", func(t *testing.T) {
		f := newSelfFake()
		clock := &stepClock{t: t0}
		lim := DefaultLimits()
		lim.IPChecks = 3
		s := newSelfService(f, clock, lim)
		for i := 0; i < 4; i++ {
			id := NewID()
			f.otps[id] = OTP{ID: id, Phone: "+3361234567" + string(rune('0'+i)), Expires: t0.Add(time.Minute), CodeHash: hashCode(s.secret, id, "123456")}
			_, err := s.Verify(context.Background(), id, "999999", "10.0.0.9")
			want := CodeInvalid
			if i == 3 {
				want = CodeRateLimited
			}
			if ErrorCode(err) != want {
				t.Fatalf("check %d err = %v, want %s", i+1, err, want)
			}
		}
	})
}

func TestStartParams(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want bool
	}{
		{"abc_DEF-123", true}, {randomToken(24), true}, {randomToken(48), true}, {randomToken(49), false},
		{"", false}, {"a b", false}, {"привет", false}, {"a.b", false},
	} {
		if got := ValidStartParam(tt.in); got != tt.want {
			t.Errorf("ValidStartParam(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
