package core

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/nyaruka/phonenumbers"

	"github.com/bookinggw/gateway/core/schedule"
)

// Client self-service: what a client does with no staff key, from an
// invitation's web page (and, through the same use cases, the Telegram
// bot): see the organization's or specialist's services and free times,
// prove their phone with a one-time code, and book. Everything is read
// through the invitation, so a link of one organization never shows
// another's services, staff or times.

// StartToken stands for an invitation in a Telegram deep link
// (t.me/<bot>?start=<token>): random, expiring, mapped on the server, so
// the link carries no data.
type StartToken struct {
	Token        string
	OrgID        string
	InvitationID string
	Expires      time.Time
	CreatedAt    time.Time
}

// startParam is what Telegram accepts as a start parameter.
var startParam = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// ValidStartParam tells whether s may be a Telegram start parameter.
func ValidStartParam(s string) bool { return startParam.MatchString(s) }

// OTP is a one-time code sent to a phone; the booking it unlocks rides
// with it, so the code proves the phone of exactly that request.
type OTP struct {
	ID        string
	OrgID     string
	Phone     string
	CodeHash  string
	Request   BookingRequest
	Attempts  int
	Expires   time.Time
	UsedAt    *time.Time
	CreatedAt time.Time
}

// BookingRequest is what a client asks for on the web page.
type BookingRequest struct {
	InvitationCode string    `json:"invitation_code"`
	SpecialistID   string    `json:"specialist_id"`
	ServiceID      string    `json:"service_id"`
	Start          time.Time `json:"start"`
	Name           string    `json:"name"`
	Phone          string    `json:"phone"`
	PhoneRegion    string    `json:"phone_region,omitempty"`
	Locale         string    `json:"locale"`
	Timezone       string    `json:"timezone"`
}

// MarshalRequest and UnmarshalRequest keep a request in the store.
func MarshalRequest(r BookingRequest) string {
	b, _ := json.Marshal(r)
	return string(b)
}

// UnmarshalRequest reads what MarshalRequest wrote.
func UnmarshalRequest(s string) (BookingRequest, error) {
	var r BookingRequest
	err := json.Unmarshal([]byte(s), &r)
	return r, err
}

// Hit kinds counted by the limits.
const (
	HitSendPhone  = "send_phone"
	HitSendIP     = "send_ip"
	HitSendPrefix = "send_prefix"
	HitSendAll    = "send_all"
	HitCheckPhone = "check_phone"
	HitCheckIP    = "check_ip"
)

// SelfServeStore is the port of client self-service.
type SelfServeStore interface {
	Directory
	// InvitationByCode reads an invitation by its code, of any
	// organization (the code is unique and is all the client has).
	InvitationByCode(ctx context.Context, code string) (Invitation, error)
	ListStaff(ctx context.Context, orgID string, p Page) ([]Staff, error)
	ListServices(ctx context.Context, orgID, ownerID string, catalogue bool, p Page) ([]Offering, error)
	GetService(ctx context.Context, orgID, id string) (Offering, error)
	// LiveStartToken reads an invitation's token that is valid at now.
	LiveStartToken(ctx context.Context, invitationID string, now time.Time) (StartToken, error)
	SaveStartToken(ctx context.Context, t StartToken) error
	ResolveStartToken(ctx context.Context, token string) (StartToken, error)
	CreateOTP(ctx context.Context, o OTP) error
	// CountOTPCheck counts one check of a code and returns it after.
	CountOTPCheck(ctx context.Context, id string) (OTP, error)
	// UseOTP marks a code used; false when it already was (a replay).
	UseOTP(ctx context.Context, id string, at time.Time) (bool, error)
	// Hit records one event of a kind and key; CountHits counts them since
	// an instant; LastHit reads the latest (zero when none).
	Hit(ctx context.Context, kind, key string, at time.Time) error
	CountHits(ctx context.Context, kind, key string, since time.Time) (int, error)
	LastHit(ctx context.Context, kind, key string) (time.Time, error)
	PaymentLinkByRef(ctx context.Context, ref string) (StoredLink, error)
}

// CodeSender writes a one-time code's message to the outbox and queues it
// (SMS to the phone, or Telegram where a client card with that phone is
// linked to a chat). The message is an outbox row like any other.
type CodeSender interface {
	SendCode(ctx context.Context, orgID, phone, locale, code, dedupeKey string) (Message, error)
}

// Limits bound one-time codes, against brute force and SMS pumping
// (fraudsters making a code endpoint send paid SMS to premium numbers).
type Limits struct {
	CodeTTL       time.Duration // a code expires after this (10 minutes)
	CodeChecks    int           // and allows this many checks (5)
	PhoneCooldown time.Duration // between two sends to one phone
	PhoneSends    int           // sends to one phone per PhoneWindow (5)
	PhoneWindow   time.Duration // (10 minutes)
	IPSends       int           // sends asked from one IP per hour
	PrefixSends   int           // sends to one country calling code per hour
	GlobalSends   int           // sends in all per hour: the breaker
	IPChecks      int           // wrong codes from one IP per hour
	StartTokenTTL time.Duration // a Telegram deep link's token lives this long at most
}

// DefaultLimits are the limits in production.
func DefaultLimits() Limits {
	return Limits{CodeTTL: 10 * time.Minute, CodeChecks: 5, PhoneCooldown: 30 * time.Second, PhoneSends: 5,
		PhoneWindow: 10 * time.Minute, IPSends: 20, PrefixSends: 200, GlobalSends: 1000, IPChecks: 30,
		StartTokenTTL: 90 * 24 * time.Hour}
}

// SelfServeService is client self-service.
type SelfServeService struct {
	base
	store    SelfServeStore
	invites  *InvitationService
	booking  *BookingService
	sender   CodeSender
	limits   Limits
	secret   []byte
	maxDays  int
	codeHash func(secret []byte, id, code string) string
}

// NewSelfServeService wires self-service; it needs the services it books
// and joins through, the code sender and the secret codes are keyed with.
func NewSelfServeService(svc *Services, store SelfServeStore, sender CodeSender, secret []byte, limits Limits) (*SelfServeService, error) {
	if svc == nil || store == nil || sender == nil || len(secret) == 0 {
		return nil, fmt.Errorf("core: NewSelfServeService needs services, a store, a code sender and a secret")
	}
	return &SelfServeService{base: svc.Booking.base, store: store, invites: svc.Invitations, booking: svc.Booking,
		sender: sender, limits: limits, secret: secret, maxDays: 21, codeHash: hashCode}, nil
}

// Landing is what an invitation's page shows.
type Landing struct {
	Invitation Invitation
	Org        Organization
	Specialist *Staff
	// Usable is nil when clients may join; else why not (expired, used,
	// deactivated).
	Usable error
}

// Landing reads an invitation by its code. A code that does not exist is
// NotFound.
func (s *SelfServeService) Landing(ctx context.Context, code string) (Landing, error) {
	if !ValidStartParam(code) {
		return Landing{}, NotFound("invitation")
	}
	inv, err := s.store.InvitationByCode(ctx, code)
	if err != nil {
		return Landing{}, err
	}
	o, err := s.store.GetOrganization(ctx, inv.OrgID)
	if err != nil {
		return Landing{}, err
	}
	l := Landing{Invitation: inv, Org: o, Usable: inv.CheckUsable(s.Now())}
	if inv.TargetStaffID != "" {
		st, err := s.store.GetStaff(ctx, inv.OrgID, inv.TargetStaffID)
		if err != nil {
			return Landing{}, err
		}
		if !st.Active {
			l.Usable = Conflict("invitation is no longer active")
		}
		l.Specialist = &st
	}
	return l, nil
}

// StartToken returns the Telegram start token of an invitation the caller
// has already been allowed to see, making one when none is live. It
// expires with the invitation, and after StartTokenTTL at most.
func (s *SelfServeService) StartToken(ctx context.Context, inv Invitation) (string, error) {
	now := s.Now()
	t, err := s.store.LiveStartToken(ctx, inv.ID, now.Add(time.Hour))
	if err == nil {
		return t.Token, nil
	}
	if ErrorCode(err) != CodeNotFound {
		return "", err
	}
	exp := now.Add(s.limits.StartTokenTTL)
	if inv.ValidUntil != nil && inv.ValidUntil.Before(exp) {
		exp = *inv.ValidUntil
	}
	t = StartToken{Token: randomToken(24), OrgID: inv.OrgID, InvitationID: inv.ID, Expires: exp, CreatedAt: now}
	if !ValidStartParam(t.Token) {
		return "", fmt.Errorf("core: start token %d characters", len(t.Token))
	}
	return t.Token, s.store.SaveStartToken(ctx, t)
}

// ResolveStart reads the invitation a Telegram start parameter stands
// for; an unknown or expired token is NotFound or Invalid.
func (s *SelfServeService) ResolveStart(ctx context.Context, token string) (Landing, error) {
	if !ValidStartParam(token) {
		return Landing{}, NotFound("start token")
	}
	t, err := s.store.ResolveStartToken(ctx, token)
	if err != nil {
		return Landing{}, err
	}
	if !s.Now().Before(t.Expires) {
		return Landing{}, &Error{Code: CodeInvalid, Message: "this link has expired"}
	}
	l, err := s.landingByID(ctx, t)
	return l, err
}

func (s *SelfServeService) landingByID(ctx context.Context, t StartToken) (Landing, error) {
	inv, err := s.invites.store.GetInvitation(ctx, t.OrgID, t.InvitationID)
	if err != nil {
		return Landing{}, err
	}
	return s.Landing(ctx, inv.Code)
}

// Specialists lists whom a client of the invitation may book: its
// specialist, or the organization's active specialists (and directors,
// who often are the practitioner of a one-person practice).
func (s *SelfServeService) Specialists(ctx context.Context, l Landing) ([]Staff, error) {
	if l.Specialist != nil {
		return []Staff{*l.Specialist}, nil
	}
	var out []Staff
	err := eachPage(func(pg Page) ([]Staff, error) { return s.store.ListStaff(ctx, l.Org.ID, pg) },
		func(st Staff) string { return st.ID }, func(st Staff) {
			if st.Active && (st.Role == RoleSpecialist || st.Role == RoleDirector) {
				out = append(out, st)
			}
		})
	return out, err
}

// Specialist reads one specialist the invitation offers; any other id is
// NotFound, as a made-up one is.
func (s *SelfServeService) Specialist(ctx context.Context, l Landing, id string) (Staff, error) {
	sps, err := s.Specialists(ctx, l)
	if err != nil {
		return Staff{}, err
	}
	for _, st := range sps {
		if st.ID == id {
			return st, nil
		}
	}
	return Staff{}, NotFound("specialist")
}

// Services lists what a client may book with a specialist: their own
// services and the catalogue's they have not copied, active and not
// packages, by name.
func (s *SelfServeService) Services(ctx context.Context, l Landing, specialistID string) ([]Offering, error) {
	if _, err := s.Specialist(ctx, l, specialistID); err != nil {
		return nil, err
	}
	var own, cat []Offering
	keep := func(to *[]Offering) func(Offering) {
		return func(o Offering) {
			if o.Active && !o.IsPackage {
				*to = append(*to, o)
			}
		}
	}
	id := func(o Offering) string { return o.ID }
	if err := eachPage(func(pg Page) ([]Offering, error) {
		return s.store.ListServices(ctx, l.Org.ID, specialistID, false, pg)
	}, id, keep(&own)); err != nil {
		return nil, err
	}
	if err := eachPage(func(pg Page) ([]Offering, error) { return s.store.ListServices(ctx, l.Org.ID, "", true, pg) }, id, keep(&cat)); err != nil {
		return nil, err
	}
	copied := map[string]bool{}
	for _, o := range own {
		copied[o.SourceID] = true
	}
	out := own
	for _, o := range cat {
		if !copied[o.ID] {
			out = append(out, o)
		}
	}
	slices.SortFunc(out, func(a, b Offering) int { return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)) })
	return out, nil
}

// Service reads one service the invitation offers with a specialist.
func (s *SelfServeService) Service(ctx context.Context, l Landing, specialistID, serviceID string) (Offering, error) {
	svcs, err := s.Services(ctx, l, specialistID)
	if err != nil {
		return Offering{}, err
	}
	for _, o := range svcs {
		if o.ID == serviceID {
			return o, nil
		}
	}
	return Offering{}, NotFound("service")
}

// FreeSlots lists a specialist's free slots of a service over the next
// days (from today in tz), in tz.
func (s *SelfServeService) FreeSlots(ctx context.Context, l Landing, specialistID, serviceID, tz string) (Availability, error) {
	if _, err := s.Service(ctx, l, specialistID, serviceID); err != nil {
		return Availability{}, err
	}
	loc, err := time.LoadLocation(tz)
	if err != nil || tz == "" {
		return Availability{}, Invalid("invalid timezone", FieldError{Field: "tz", Message: "must be an IANA timezone such as Europe/Paris"})
	}
	today := schedule.DateOf(s.Now().In(loc))
	return s.booking.Availability(ctx, system(l.Org.ID), AvailabilityQuery{SpecialistID: specialistID, ServiceID: serviceID,
		From: today.String(), To: today.AddDays(s.maxDays).String(), Timezone: tz})
}

// CodeRequest asks for a one-time code for a booking.
type CodeRequest struct {
	BookingRequest
	IP string
}

// RequestCode checks a booking request and the limits, and sends a
// one-time code to the phone. It answers the same whether the phone is
// known or not. Over a limit it is RateLimited and nothing is sent.
func (s *SelfServeService) RequestCode(ctx context.Context, in CodeRequest) (string, error) {
	l, err := s.Landing(ctx, in.InvitationCode)
	if err != nil {
		return "", err
	}
	if l.Usable != nil {
		return "", l.Usable
	}
	var f Fields
	in.Name = strings.TrimSpace(in.Name)
	f.Check(in.Name == "", "name", "is required")
	f.Check(len([]rune(in.Name)) > maxNameLen, "name", "is longer than 100 characters")
	phone, perr := NormalizePhone(in.Phone, in.PhoneRegion)
	f.Check(perr != nil, "phone", "is not a phone number; write it with its country code, such as +33 6 12 34 56 78")
	if _, err := time.LoadLocation(in.Timezone); err != nil || in.Timezone == "" {
		f.Add("tz", "must be an IANA timezone such as Europe/Paris")
	}
	f.Check(in.Start.IsZero(), "start", "is required")
	if err := f.Err("invalid booking request"); err != nil {
		return "", err
	}
	in.Phone = phone
	if err := s.slotFree(ctx, l, in.BookingRequest); err != nil {
		return "", err
	}
	now := s.Now()
	if err := s.checkSendLimits(ctx, phone, in.IP, now); err != nil {
		return "", err
	}
	code := randomDigits(6)
	o := OTP{ID: NewID(), OrgID: l.Org.ID, Phone: phone, Request: in.BookingRequest, Expires: now.Add(s.limits.CodeTTL), CreatedAt: now}
	o.CodeHash = s.codeHash(s.secret, o.ID, code)
	if err := s.store.CreateOTP(ctx, o); err != nil {
		return "", err
	}
	if _, err := s.sender.SendCode(ctx, l.Org.ID, phone, in.Locale, code, "otp:"+o.ID); err != nil {
		return "", fmt.Errorf("send code: %w", err)
	}
	return o.ID, nil
}

// slotFree checks the asked start is among the free slots now, so a code
// is never sent for a booking that cannot be made.
func (s *SelfServeService) slotFree(ctx context.Context, l Landing, r BookingRequest) error {
	av, err := s.FreeSlots(ctx, l, r.SpecialistID, r.ServiceID, r.Timezone)
	if err != nil {
		return err
	}
	for _, sl := range av.Slots {
		if sl.Start.Equal(r.Start) {
			return nil
		}
	}
	return Conflict("this time is no longer free")
}

// checkSendLimits records a send and refuses it past a limit. Recording
// first and counting after means concurrent requests cannot both pass the
// last free place; a refused request counts too, so hammering keeps the
// door shut.
func (s *SelfServeService) checkSendLimits(ctx context.Context, phone, ip string, now time.Time) error {
	lim := s.limits
	if lim.PhoneCooldown > 0 {
		last, err := s.store.LastHit(ctx, HitSendPhone, phone)
		if err != nil {
			return err
		}
		if !last.IsZero() && now.Sub(last) < lim.PhoneCooldown {
			return RateLimited("a code was just sent to this phone; wait a moment before asking again")
		}
	}
	hour := now.Add(-time.Hour)
	checks := []struct {
		kind, key string
		max       int
		since     time.Time
		msg       string
	}{
		{HitSendAll, "all", lim.GlobalSends, hour, "codes cannot be sent right now; try again later"},
		{HitSendIP, ip, lim.IPSends, hour, "too many codes were asked from this network; try again later"},
		{HitSendPrefix, callingCode(phone), lim.PrefixSends, hour, "codes cannot be sent to this country right now; try again later"},
		{HitSendPhone, phone, lim.PhoneSends, now.Add(-lim.PhoneWindow), "too many codes were sent to this phone; try again later"},
	}
	for _, c := range checks {
		if c.max <= 0 || c.key == "" {
			continue
		}
		if err := s.store.Hit(ctx, c.kind, c.key, now); err != nil {
			return err
		}
		n, err := s.store.CountHits(ctx, c.kind, c.key, c.since)
		if err != nil {
			return err
		}
		if n > c.max {
			return RateLimited(c.msg)
		}
	}
	return nil
}

// callingCode is a phone's country calling code ("33" for +33…).
func callingCode(e164 string) string {
	n, err := phonenumbers.Parse(e164, "")
	if err != nil {
		return "?"
	}
	return fmt.Sprint(n.GetCountryCode())
}

// Booked is what a checked code made.
type Booked struct {
	Appointment Appointment
	Client      Client
	Landing     Landing
}

// Verify checks a one-time code and, when it is right, joins the client
// through the invitation (a phone already on a card links that card) and
// books the slot: pending until staff accept, or accepted at once when
// the service says so. A wrong code counts against the code (5 checks)
// and the IP; an expired, used-up or replayed code is refused; nothing is
// booked then.
func (s *SelfServeService) Verify(ctx context.Context, otpID, code, ip string) (Booked, error) {
	now := s.Now()
	if !ValidID(otpID) {
		return Booked{}, Invalid("this code has expired; ask for a new one", FieldError{Field: "code", Message: "expired"})
	}
	if ip != "" && s.limits.IPChecks > 0 {
		n, err := s.store.CountHits(ctx, HitCheckIP, ip, now.Add(-time.Hour))
		if err != nil {
			return Booked{}, err
		}
		if n >= s.limits.IPChecks {
			return Booked{}, RateLimited("too many wrong codes from this network; try again later")
		}
	}
	o, err := s.store.CountOTPCheck(ctx, otpID)
	if ErrorCode(err) == CodeNotFound {
		return Booked{}, Invalid("this code has expired; ask for a new one", FieldError{Field: "code", Message: "expired"})
	}
	if err != nil {
		return Booked{}, err
	}
	if s.limits.IPChecks > 0 {
		// Wrong codes per phone, across its codes: a new code does not
		// give a guesser five more tries for free forever.
		n, err := s.store.CountHits(ctx, HitCheckPhone, o.Phone, now.Add(-time.Hour))
		if err != nil {
			return Booked{}, err
		}
		if n >= 2*s.limits.CodeChecks {
			return Booked{}, RateLimited("too many wrong codes for this phone; try again later")
		}
	}
	switch {
	case o.UsedAt != nil:
		return Booked{}, Invalid("this code was already used", FieldError{Field: "code", Message: "used"})
	case !now.Before(o.Expires):
		return Booked{}, Invalid("this code has expired; ask for a new one", FieldError{Field: "code", Message: "expired"})
	case o.Attempts > s.limits.CodeChecks:
		return Booked{}, RateLimited("too many wrong codes; ask for a new one")
	}
	code = strings.TrimSpace(code)
	if !hmac.Equal([]byte(s.codeHash(s.secret, o.ID, code)), []byte(o.CodeHash)) {
		if ip != "" {
			_ = s.store.Hit(ctx, HitCheckIP, ip, now)
		}
		_ = s.store.Hit(ctx, HitCheckPhone, o.Phone, now)
		return Booked{}, Invalid("wrong code", FieldError{Field: "code", Message: "wrong code"})
	}
	if ok, err := s.store.UseOTP(ctx, o.ID, now); err != nil {
		return Booked{}, err
	} else if !ok {
		return Booked{}, Invalid("this code was already used", FieldError{Field: "code", Message: "used"})
	}
	return s.book(ctx, o.Request, o.Phone)
}

// book joins and books a request whose phone is proven.
func (s *SelfServeService) book(ctx context.Context, r BookingRequest, phone string) (Booked, error) {
	l, err := s.Landing(ctx, r.InvitationCode)
	if err != nil {
		return Booked{}, err
	}
	sv, err := s.Service(ctx, l, r.SpecialistID, r.ServiceID)
	if err != nil {
		return Booked{}, err
	}
	in := ClientInput{Name: r.Name, Phone: phone, Language: r.Locale, Timezone: r.Timezone}
	if l.Specialist != nil && len(l.Specialist.CenterIDs) == 1 {
		in.CenterIDs = []string{l.Specialist.CenterIDs[0]}
	}
	c, err := s.invites.JoinInvitation(ctx, l.Org.ID, l.Invitation.Code, in)
	if err != nil {
		return Booked{}, err
	}
	by := "client"
	if sv.AutoAccept {
		by = "staff" // accepted at once, as the service says
	}
	res, err := s.booking.CreateAppointment(ctx, system(l.Org.ID), AppointmentInput{SpecialistID: r.SpecialistID,
		ServiceID: r.ServiceID, ClientID: c.ID, Start: r.Start, RequestedBy: by})
	if err != nil {
		return Booked{Client: c, Landing: l}, err
	}
	return Booked{Appointment: res.Appointments[0], Client: c, Landing: l}, nil
}

// PaymentLink reads the payment link behind a result page reference.
func (s *SelfServeService) PaymentLink(ctx context.Context, ref string) (StoredLink, error) {
	if !ValidStartParam(ref) {
		return StoredLink{}, NotFound("payment")
	}
	return s.store.PaymentLinkByRef(ctx, ref)
}

func hashCode(secret []byte, id, code string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("otp:" + id + ":" + code))
	return hex.EncodeToString(m.Sum(nil))
}

func randomDigits(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		d, err := rand.Int(rand.Reader, big.NewInt(10))
		if err != nil {
			panic(err) // crypto/rand never fails on supported platforms
		}
		b.WriteByte(byte('0' + d.Int64()))
	}
	return b.String()
}

// randomToken returns n random bytes, URL-safe (4/3 n characters).
func randomToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// eachPage calls fn with every item of a paged list.
func eachPage[T any](list func(Page) ([]T, error), id func(T) string, fn func(T)) error {
	pg := Page{Limit: 200}
	for {
		items, err := list(pg)
		if err != nil {
			return err
		}
		for _, it := range items {
			fn(it)
		}
		if len(items) < pg.Limit {
			return nil
		}
		pg.After = id(items[len(items)-1])
	}
}
