package core

import (
	"context"
	"net/mail"
	"sort"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // any machine gets the zone data, so schedules mean the same everywhere
)

// BootstrapInput creates the first organization, its director and a key.
type BootstrapInput struct {
	OrgName      string
	Timezone     string
	Locale       string
	Currency     string
	DirectorName string
	Email        string
}

// BootstrapResult carries the plain key, shown this once.
type BootstrapResult struct {
	Organization Organization
	Director     Staff
	Key          APIKey
	PlainKey     string
}

// Bootstrap creates an organization with a director and a director key. It is
// reached only from the operator's command line or with the admin token.
func (s *TenancyService) Bootstrap(ctx context.Context, in BootstrapInput) (BootstrapResult, error) {
	var f Fields
	in.OrgName = strings.TrimSpace(in.OrgName)
	f.Check(in.OrgName == "", "org_name", "is required")
	if in.Timezone == "" {
		in.Timezone = "UTC"
	}
	checkTimezone(&f, "timezone", in.Timezone)
	if in.Locale == "" {
		in.Locale = "en"
	}
	f.Check(!ValidLocale(in.Locale), "locale", "must be one of "+strings.Join(Locales, ", "))
	if in.Currency == "" {
		in.Currency = "EUR"
	}
	checkCurrency(&f, "currency", in.Currency)
	if in.DirectorName == "" {
		in.DirectorName = "Director"
	}
	if in.Email != "" {
		checkEmail(&f, "email", in.Email)
	}
	if err := f.Err("invalid bootstrap input"); err != nil {
		return BootstrapResult{}, err
	}
	now := s.Now()
	org := Organization{ID: NewID(), Name: in.OrgName, Timezone: in.Timezone, Locale: in.Locale,
		Currency: strings.ToUpper(in.Currency), LostAfterDays: DefaultLostAfterDays, CancelNoticeHours: 24, CreatedAt: now}
	dir := Staff{ID: NewID(), OrgID: org.ID, Name: in.DirectorName, Email: in.Email, Role: RoleDirector,
		Timezone: in.Timezone, CenterIDs: []string{}, Active: true, CreatedAt: now}
	key := APIKey{ID: NewID(), OrgID: org.ID, StaffID: dir.ID, Name: "bootstrap", CreatedAt: now}
	plain, hash := NewAPIKeySecret(key.ID)
	key.Hash = hash
	if err := s.store.CreateOrganization(ctx, org, dir, key); err != nil {
		return BootstrapResult{}, err
	}
	return BootstrapResult{Organization: org, Director: dir, Key: key, PlainKey: plain}, nil
}

// Authenticate resolves a plain API key to its principal.
func (s *TenancyService) Authenticate(ctx context.Context, plain string) (Principal, error) {
	id, secret, ok := ParseAPIKey(plain)
	if !ok {
		return Principal{}, Unauthorized("malformed API key")
	}
	k, st, err := s.store.FindAPIKey(ctx, id)
	if ErrorCode(err) == CodeNotFound {
		return Principal{}, Unauthorized("unknown API key")
	}
	if err != nil {
		return Principal{}, err
	}
	if !SecretMatches(secret, k.Hash) {
		return Principal{}, Unauthorized("unknown API key")
	}
	if k.RevokedAt != nil {
		return Principal{}, Unauthorized("API key revoked")
	}
	if !st.Active {
		return Principal{}, Unauthorized("staff member deactivated")
	}
	return Principal{OrgID: k.OrgID, StaffID: st.ID, KeyID: k.ID, Role: st.Role, CenterIDs: st.CenterIDs}, nil
}

// Organization returns the caller's organization.
func (s *TenancyService) Organization(ctx context.Context, p Principal) (Organization, error) {
	return s.store.GetOrganization(ctx, p.OrgID)
}

// OrganizationPatch changes organization settings; nil fields stay.
type OrganizationPatch struct {
	Name              *string   `json:"name"`
	Timezone          *string   `json:"timezone"`
	Locale            *string   `json:"locale"`
	Currency          *string   `json:"currency"`
	LostAfterDays     *int      `json:"lost_after_days"`
	CancelNoticeHours *int      `json:"cancel_notice_hours"`
	ChannelOrder      []Channel `json:"channel_order" doc:"default order of client channels: telegram, whatsapp, sms, email"`
	SMSFrom           *string   `json:"sms_from" doc:"Twilio number (E.164) or messaging service SID (MG…) of centres that set none; empty: the gateway's default"`
	// HideContactsFromMarketers hides clients' phones and emails from marketers.
	HideContactsFromMarketers *bool `json:"hide_contacts_from_marketers" doc:"marketers are not shown clients' phone numbers and emails"`
}

// UpdateOrganization changes settings; directors only.
func (s *TenancyService) UpdateOrganization(ctx context.Context, p Principal, in OrganizationPatch) (Organization, error) {
	if err := p.Require(RoleDirector); err != nil {
		return Organization{}, err
	}
	o, err := s.store.GetOrganization(ctx, p.OrgID)
	if err != nil {
		return Organization{}, err
	}
	var f Fields
	if in.Name != nil {
		o.Name = strings.TrimSpace(*in.Name)
		f.Check(o.Name == "", "name", "is required")
	}
	if in.Timezone != nil {
		o.Timezone = *in.Timezone
		checkTimezone(&f, "timezone", o.Timezone)
	}
	if in.Locale != nil {
		o.Locale = *in.Locale
		f.Check(!ValidLocale(o.Locale), "locale", "must be one of "+strings.Join(Locales, ", "))
	}
	if in.Currency != nil {
		o.Currency = strings.ToUpper(*in.Currency)
		checkCurrency(&f, "currency", o.Currency)
	}
	if in.LostAfterDays != nil {
		o.LostAfterDays = *in.LostAfterDays
		switch o.LostAfterDays {
		case 7, 14, 21, 28:
		default:
			f.Add("lost_after_days", "must be 7, 14, 21 or 28")
		}
	}
	if in.CancelNoticeHours != nil {
		o.CancelNoticeHours = *in.CancelNoticeHours
		f.Check(o.CancelNoticeHours < 0 || o.CancelNoticeHours > 24*30, "cancel_notice_hours", "must be between 0 and 720")
	}
	if in.ChannelOrder != nil {
		seen := map[Channel]bool{}
		for _, c := range in.ChannelOrder {
			f.Check(!c.Valid() || c == ChannelSlack || seen[c], "channel_order", "must list distinct client channels: telegram, whatsapp, sms, email")
			seen[c] = true
		}
		o.ChannelOrder = in.ChannelOrder
	}
	if in.SMSFrom != nil {
		o.SMSFrom = checkSender(&f, "sms_from", *in.SMSFrom)
	}
	if in.HideContactsFromMarketers != nil {
		o.HideContactsFromMarketers = *in.HideContactsFromMarketers
	}
	if err := f.Err("invalid organization settings"); err != nil {
		return Organization{}, err
	}
	return o, s.told(p.OrgID, s.store.UpdateOrganization(ctx, o))
}

// OnChange registers f to be told, after the change is stored, that an
// organization's settings, centres or staff changed. It is wiring, called
// before the service serves.
func (s *TenancyService) OnChange(f func(orgID string)) { s.changed = append(s.changed, f) }

// told tells OnChange's functions of a change stored without error.
func (s *TenancyService) told(orgID string, err error) error {
	if err == nil {
		for _, f := range s.changed {
			f(orgID)
		}
	}
	return err
}

// CenterInput creates or replaces a center's fields.
type CenterInput struct {
	Name         string `json:"name"`
	Address      string `json:"address"`
	Phone        string `json:"phone"`
	Timezone     string `json:"timezone"`
	SMSFrom      string `json:"sms_from" doc:"Twilio number (E.164) or messaging service SID (MG…); empty: the default"`
	SlackChannel string `json:"slack_channel" doc:"Slack channel id for staff notifications"`
}

func (in *CenterInput) validate(orgTZ string) error {
	var f Fields
	in.Name = strings.TrimSpace(in.Name)
	f.Check(in.Name == "", "name", "is required")
	if in.Timezone == "" {
		in.Timezone = orgTZ
	}
	checkTimezone(&f, "timezone", in.Timezone)
	if in.Phone != "" {
		if e164, err := NormalizePhone(in.Phone, ""); err != nil {
			f.Add("phone", err.Error())
		} else {
			in.Phone = e164
		}
	}
	in.SMSFrom = checkSender(&f, "sms_from", in.SMSFrom)
	return f.Err("invalid center")
}

// CreateCenter adds a center; directors only.
func (s *TenancyService) CreateCenter(ctx context.Context, p Principal, in CenterInput) (Center, error) {
	if err := p.Require(RoleDirector); err != nil {
		return Center{}, err
	}
	o, err := s.store.GetOrganization(ctx, p.OrgID)
	if err != nil {
		return Center{}, err
	}
	if err := in.validate(o.Timezone); err != nil {
		return Center{}, err
	}
	c := Center{ID: NewID(), OrgID: p.OrgID, Name: in.Name, Address: in.Address, Phone: in.Phone,
		Timezone: in.Timezone, SMSFrom: in.SMSFrom, SlackChannel: in.SlackChannel, CreatedAt: s.Now()}
	return c, s.store.CreateCenter(ctx, c)
}

// UpdateCenter replaces a center's fields; directors only.
func (s *TenancyService) UpdateCenter(ctx context.Context, p Principal, id string, in CenterInput) (Center, error) {
	if err := p.Require(RoleDirector); err != nil {
		return Center{}, err
	}
	c, err := s.store.GetCenter(ctx, p.OrgID, id)
	if err != nil {
		return Center{}, err
	}
	if err := in.validate(c.Timezone); err != nil {
		return Center{}, err
	}
	c.Name, c.Address, c.Phone, c.Timezone, c.SMSFrom, c.SlackChannel = in.Name, in.Address, in.Phone, in.Timezone, in.SMSFrom, in.SlackChannel
	return c, s.told(p.OrgID, s.store.UpdateCenter(ctx, c))
}

// GetCenter returns a center the caller may see.
func (s *TenancyService) GetCenter(ctx context.Context, p Principal, id string) (Center, error) {
	if !p.CanCenter(id) {
		return Center{}, NotFound("center")
	}
	return s.store.GetCenter(ctx, p.OrgID, id)
}

// ListCenters lists the centers the caller may see.
func (s *TenancyService) ListCenters(ctx context.Context, p Principal, pg Page) ([]Center, error) {
	if p.AllCenters() {
		return s.store.ListCenters(ctx, p.OrgID, pg)
	}
	// Others see the few centers granted to them: read those, in id order,
	// so pages are full and the cursor works.
	ids := append([]string(nil), p.CenterIDs...)
	sort.Strings(ids)
	out := []Center{}
	for _, id := range ids {
		if id <= pg.After || (pg.Limit > 0 && len(out) == pg.Limit) {
			continue
		}
		c, err := s.store.GetCenter(ctx, p.OrgID, id)
		if ErrorCode(err) == CodeNotFound {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// StaffInput creates or replaces a staff member's fields.
type StaffInput struct {
	Name      string   `json:"name"`
	Email     string   `json:"email"`
	Phone     string   `json:"phone"`
	Role      Role     `json:"role"`
	Timezone  string   `json:"timezone"`
	CenterIDs []string `json:"center_ids"`
	Active    *bool    `json:"active"`
	// Where staff notifications reach this person.
	SlackUserID    string `json:"slack_user_id"`
	TelegramChatID string `json:"telegram_chat_id"`
}

func (s *TenancyService) validateStaff(ctx context.Context, orgID string, in *StaffInput, orgTZ string) error {
	var f Fields
	in.Name = strings.TrimSpace(in.Name)
	f.Check(in.Name == "", "name", "is required")
	f.Check(!in.Role.Valid(), "role", "must be director, administrator, specialist or marketer")
	if in.Email != "" {
		checkEmail(&f, "email", in.Email)
	}
	if in.Phone != "" {
		if e164, err := NormalizePhone(in.Phone, ""); err != nil {
			f.Add("phone", err.Error())
		} else {
			in.Phone = e164
		}
	}
	if in.Timezone == "" {
		in.Timezone = orgTZ
	}
	checkTimezone(&f, "timezone", in.Timezone)
	if in.CenterIDs == nil {
		in.CenterIDs = []string{}
	}
	seen := map[string]bool{}
	for i, c := range in.CenterIDs {
		if seen[c] {
			f.Add("center_ids", "lists a center twice")
			continue
		}
		seen[c] = true
		if !ValidID(c) {
			f.Add("center_ids", "item "+strconv.Itoa(i)+" is not a center id")
			continue
		}
		if _, err := s.store.GetCenter(ctx, orgID, c); err != nil {
			if ErrorCode(err) == CodeNotFound {
				f.Add("center_ids", "center "+c+" does not exist")
				continue
			}
			return err
		}
	}
	return f.Err("invalid staff member")
}

// CreateStaff adds a staff member; directors only.
func (s *TenancyService) CreateStaff(ctx context.Context, p Principal, in StaffInput) (Staff, error) {
	if err := p.Require(RoleDirector); err != nil {
		return Staff{}, err
	}
	o, err := s.store.GetOrganization(ctx, p.OrgID)
	if err != nil {
		return Staff{}, err
	}
	if err := s.validateStaff(ctx, p.OrgID, &in, o.Timezone); err != nil {
		return Staff{}, err
	}
	st := Staff{ID: NewID(), OrgID: p.OrgID, Name: in.Name, Email: in.Email, Phone: in.Phone, Role: in.Role,
		Timezone: in.Timezone, CenterIDs: in.CenterIDs, Active: in.Active == nil || *in.Active,
		SlackUserID: in.SlackUserID, TelegramChatID: in.TelegramChatID, CreatedAt: s.Now()}
	return st, s.told(p.OrgID, s.store.CreateStaff(ctx, st))
}

// UpdateStaff replaces a staff member's fields; directors only.
func (s *TenancyService) UpdateStaff(ctx context.Context, p Principal, id string, in StaffInput) (Staff, error) {
	if err := p.Require(RoleDirector); err != nil {
		return Staff{}, err
	}
	st, err := s.store.GetStaff(ctx, p.OrgID, id)
	if err != nil {
		return Staff{}, err
	}
	if err := s.validateStaff(ctx, p.OrgID, &in, st.Timezone); err != nil {
		return Staff{}, err
	}
	if st.ID == p.StaffID && (in.Role != RoleDirector || (in.Active != nil && !*in.Active)) {
		return Staff{}, Invalid("a director cannot demote or deactivate themselves",
			FieldError{Field: "role", Message: "would lock the organization out"})
	}
	st.Name, st.Email, st.Phone, st.Role, st.Timezone, st.CenterIDs = in.Name, in.Email, in.Phone, in.Role, in.Timezone, in.CenterIDs
	st.SlackUserID, st.TelegramChatID = in.SlackUserID, in.TelegramChatID
	if in.Active != nil {
		st.Active = *in.Active
	}
	return st, s.told(p.OrgID, s.store.UpdateStaff(ctx, st))
}

// GetStaff returns a staff member the caller may see.
func (s *TenancyService) GetStaff(ctx context.Context, p Principal, id string) (Staff, error) {
	return visibleStaff(ctx, s.policy, s.store, p, id)
}

// ListStaff lists the staff the caller may see.
func (s *TenancyService) ListStaff(ctx context.Context, p Principal, pg Page) ([]Staff, error) {
	return visiblePage(pg, func(st Staff) string { return st.ID },
		func(pg Page) ([]Staff, error) { return s.store.ListStaff(ctx, p.OrgID, pg) },
		func(st Staff) (bool, error) { return s.policy.Staff(p, st) == nil, nil })
}

// CreateAPIKey issues a key for a staff member and returns the plain key
// once. Directors issue keys for anyone; others only for themselves.
func (s *TenancyService) CreateAPIKey(ctx context.Context, p Principal, staffID, name string) (APIKey, string, error) {
	if staffID == "" {
		staffID = p.StaffID
	}
	if staffID != p.StaffID {
		if err := p.Require(RoleDirector); err != nil {
			return APIKey{}, "", err
		}
	}
	var f Fields
	name = strings.TrimSpace(name)
	f.Check(name == "", "name", "is required")
	f.Check(len(name) > 100, "name", "is longer than 100 characters")
	f.Check(!ValidID(staffID), "staff_id", "is not a staff id")
	if err := f.Err("invalid API key"); err != nil {
		return APIKey{}, "", err
	}
	if _, err := s.store.GetStaff(ctx, p.OrgID, staffID); err != nil {
		return APIKey{}, "", err
	}
	k := APIKey{ID: NewID(), OrgID: p.OrgID, StaffID: staffID, Name: name, CreatedAt: s.Now()}
	plain, hash := NewAPIKeySecret(k.ID)
	k.Hash = hash
	return k, plain, s.store.CreateAPIKey(ctx, k)
}

// ListAPIKeys lists the organization's keys (never their secrets); directors only.
func (s *TenancyService) ListAPIKeys(ctx context.Context, p Principal, pg Page) ([]APIKey, error) {
	if err := p.Require(RoleDirector); err != nil {
		return nil, err
	}
	return s.store.ListAPIKeys(ctx, p.OrgID, pg)
}

// RevokeAPIKey revokes a key; directors only.
func (s *TenancyService) RevokeAPIKey(ctx context.Context, p Principal, id string) error {
	if err := p.Require(RoleDirector); err != nil {
		return err
	}
	return s.store.RevokeAPIKey(ctx, p.OrgID, id, s.Now())
}

// Locales are the languages templates exist for.
var Locales = []string{"en", "fr", "de", "ru", "pl"}

// ValidLocale reports whether templates exist for a locale.
func ValidLocale(l string) bool {
	for _, x := range Locales {
		if x == l {
			return true
		}
	}
	return false
}

func checkTimezone(f *Fields, field, tz string) {
	if tz == "" || tz == "Local" {
		f.Add(field, "must be an IANA timezone such as Europe/Paris")
		return
	}
	if _, err := time.LoadLocation(tz); err != nil {
		f.Add(field, "unknown timezone "+tz)
	}
}

func checkCurrency(f *Fields, field, c string) {
	if len(c) != 3 || strings.ToUpper(c) != c && strings.ToLower(c) != c {
		f.Add(field, "must be an ISO 4217 code such as EUR")
		return
	}
	for _, r := range strings.ToUpper(c) {
		if r < 'A' || r > 'Z' {
			f.Add(field, "must be an ISO 4217 code such as EUR")
			return
		}
	}
}

func checkEmail(f *Fields, field, e string) {
	a, err := mail.ParseAddress(e)
	if err != nil || a.Address != e {
		f.Add(field, "is not an email address")
	}
}
