package core

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Client is a person who books: a patient, a parent, a student. Phone is not
// unique within an organization: children often share a parent's number.
type Client struct {
	ID         string     `json:"id"`
	OrgID      string     `json:"-"`
	FirstName  string     `json:"first_name"`
	LastName   string     `json:"last_name"`
	Name       string     `json:"name" doc:"first and last name joined"`
	Phone      string     `json:"phone" doc:"E.164, or empty"`
	Email      string     `json:"email"`
	TelegramID TelegramID `json:"telegram_id" doc:"a Telegram user id or @username, or empty"`
	Language   string     `json:"language"`
	Timezone   string     `json:"timezone"`
	Notes      string     `json:"notes"`
	GroupIDs   []string   `json:"group_ids"`
	CenterIDs  []string   `json:"center_ids" doc:"centers the client belongs to; empty: every center's staff see the client"`
	// Source is free text ("instagram") or, for a client who joined through
	// an invitation link, the link's name; SourceInvitationID then names it.
	Source             string     `json:"source"`
	SourceInvitationID string     `json:"source_invitation_id,omitempty"`
	Status             string     `json:"status,omitempty" doc:"activity: active, inactive or lost"`
	LastVisitAt        *time.Time `json:"last_visit_at,omitempty"`
	NextVisitAt        *time.Time `json:"next_visit_at,omitempty"`
	ArchivedAt         *time.Time `json:"archived_at,omitempty"`
	CreatedAt          time.Time  `json:"created_at"`
}

// FullName joins a first and a last name.
func FullName(first, last string) string { return strings.TrimSpace(first + " " + last) }

// TelegramID is a Telegram user id (an int64, sent as a JSON number or
// string) or a @username. It is kept as text.
type TelegramID string

// UnmarshalJSON accepts a number or a string; a wrong JSON type is reported
// as a type error on the field, like any other.
func (t *TelegramID) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*t = ""
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*t = TelegramID(s)
	case len(b) > 0 && (b[0] == '-' || b[0] >= '0' && b[0] <= '9'):
		if _, err := strconv.ParseInt(string(b), 10, 64); err != nil {
			return &json.UnmarshalTypeError{Value: "number " + string(b), Type: reflect.TypeFor[int64]()}
		}
		*t = TelegramID(b)
	default:
		return &json.UnmarshalTypeError{Value: string(b), Type: reflect.TypeFor[string]()}
	}
	return nil
}

// normalize checks a Telegram id and returns its stored form: a positive
// decimal user id, or "@" and a username of 5 to 32 letters, digits and
// underscores.
func (t TelegramID) normalize() (TelegramID, bool) {
	s := strings.TrimSpace(string(t))
	if s == "" {
		return "", true
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return TelegramID(strconv.FormatInt(n, 10)), n > 0
	}
	u := strings.TrimPrefix(s, "@")
	if len(u) < 5 || len(u) > 32 || !(u[0] >= 'A' && u[0] <= 'Z' || u[0] >= 'a' && u[0] <= 'z') {
		return "", false
	}
	for _, r := range u {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
			return "", false
		}
	}
	return TelegramID("@" + u), true
}

// ClientInput creates or replaces a client's fields.
type ClientInput struct {
	FirstName   string     `json:"first_name"`
	LastName    string     `json:"last_name"`
	Name        string     `json:"name" doc:"the whole name, instead of first_name and last_name"`
	Phone       string     `json:"phone" doc:"any format; stored as E.164"`
	PhoneRegion string     `json:"phone_region" doc:"ISO 3166 region (FR) to read a phone number without + in; default none: such a number is rejected"`
	Email       string     `json:"email"`
	TelegramID  TelegramID `json:"telegram_id" doc:"a Telegram user id (number or string) or @username"`
	Language    string     `json:"language" doc:"en, fr, de, ru or pl; default the organization's (on update: unchanged)"`
	Timezone    string     `json:"timezone" doc:"IANA timezone; default the organization's (on update: unchanged)"`
	Notes       string     `json:"notes"`
	GroupIDs    []string   `json:"group_ids"`
	CenterIDs   []string   `json:"center_ids" doc:"staff other than directors may name only their own centers"`
	Source      string     `json:"source" doc:"where the client came from, free text (instagram)"`
}

const (
	maxNameLen  = 100
	maxNotesLen = 10000
	maxTextLen  = 200
)

// validate checks and normalizes the fields that need no store: names,
// phone, email, Telegram id, language, timezone, text lengths and the shape
// of ids. Defaults fill an empty language or timezone.
func (in *ClientInput) validate(defLanguage, defTimezone string) Fields {
	var f Fields
	in.FirstName = strings.TrimSpace(in.FirstName)
	in.LastName = strings.TrimSpace(in.LastName)
	in.Name = strings.TrimSpace(in.Name)
	switch {
	case in.Name != "" && (in.FirstName != "" || in.LastName != ""):
		f.Add("name", "give either name or first_name and last_name")
	case in.Name != "":
		if first, last, why := SplitName(in.Name); why != "" {
			f.Add("name", why)
		} else {
			in.FirstName, in.LastName = first, last
		}
	case in.FirstName == "" && in.LastName == "":
		f.Add("first_name", "is required (or name)")
	}
	f.Check(utf8.RuneCountInString(in.FirstName) > maxNameLen, "first_name", "is longer than 100 characters")
	f.Check(utf8.RuneCountInString(in.LastName) > maxNameLen, "last_name", "is longer than 100 characters")

	in.PhoneRegion = strings.ToUpper(strings.TrimSpace(in.PhoneRegion))
	regionOK := in.PhoneRegion == "" || len(in.PhoneRegion) == 2 &&
		in.PhoneRegion[0] >= 'A' && in.PhoneRegion[0] <= 'Z' && in.PhoneRegion[1] >= 'A' && in.PhoneRegion[1] <= 'Z'
	f.Check(!regionOK, "phone_region", "must be a two-letter ISO 3166 region such as FR")
	in.Phone = strings.TrimSpace(in.Phone)
	if in.Phone != "" && regionOK {
		if e164, err := NormalizePhone(in.Phone, in.PhoneRegion); err != nil {
			msg := err.Error()
			if e, ok := AsError(err); ok {
				msg = e.Message
			}
			f.Add("phone", msg)
		} else {
			in.Phone = e164
		}
	}
	in.Email = strings.TrimSpace(in.Email)
	if in.Email != "" {
		checkEmail(&f, "email", in.Email)
	}
	if tg, ok := in.TelegramID.normalize(); ok {
		in.TelegramID = tg
	} else {
		f.Add("telegram_id", "must be a Telegram user id or a @username")
	}
	if in.Language == "" {
		in.Language = defLanguage
	}
	f.Check(!ValidLocale(in.Language), "language", "must be one of "+strings.Join(Locales, ", "))
	if in.Timezone == "" {
		in.Timezone = defTimezone
	}
	checkTimezone(&f, "timezone", in.Timezone)
	f.Check(utf8.RuneCountInString(in.Notes) > maxNotesLen, "notes", "is longer than 10000 characters")
	in.Source = strings.TrimSpace(in.Source)
	f.Check(utf8.RuneCountInString(in.Source) > maxTextLen, "source", "is longer than 200 characters")
	in.GroupIDs = checkIDList(&f, "group_ids", "client group", in.GroupIDs)
	in.CenterIDs = checkIDList(&f, "center_ids", "center", in.CenterIDs)
	return f
}

// checkIDList rejects malformed and repeated ids and never returns nil.
func checkIDList(f *Fields, field, what string, ids []string) []string {
	if ids == nil {
		return []string{}
	}
	seen := map[string]bool{}
	for i, id := range ids {
		switch {
		case !ValidID(id):
			f.Add(field, "item "+strconv.Itoa(i)+" is not a "+what+" id")
		case seen[id]:
			f.Add(field, "lists "+id+" twice")
		}
		seen[id] = true
	}
	return ids
}

// checkClientRefs reports groups and centers that do not exist in the
// organization as field errors. A centre the caller has no access to is
// already reported as such (checkCenterAccess): whether it exists is not
// the caller's to learn. p is nil for the system (an invitation join).
func (s *ClientService) checkClientRefs(ctx context.Context, orgID string, p *Principal, f *Fields, in *ClientInput) error {
	for _, id := range in.GroupIDs {
		if !ValidID(id) {
			continue
		}
		if _, err := s.store.GetClientGroup(ctx, orgID, id); err != nil {
			if ErrorCode(err) != CodeNotFound {
				return err
			}
			f.Add("group_ids", "client group "+id+" does not exist")
		}
	}
	for _, id := range in.CenterIDs {
		if !ValidID(id) || p != nil && !p.CanCenter(id) {
			continue
		}
		if _, err := s.store.GetCenter(ctx, orgID, id); err != nil {
			if ErrorCode(err) != CodeNotFound {
				return err
			}
			f.Add("center_ids", "center "+id+" does not exist")
		}
	}
	return nil
}

// Staff visibility of clients: directors see every client of the
// organization. Every other role sees a client who belongs to at least one
// of their centers, or who belongs to no center at all (a client not yet
// tied to a branch is everyone's to serve). A client they cannot see is
// reported as not found, like another organization's.
func clientVisible(p Principal, c Client) bool { return Policy{}.Client(p, c) == nil }

// checkCenterAccess rejects, for staff other than directors, centers they
// have no access to.
func checkCenterAccess(p Principal, f *Fields, centerIDs []string) {
	for _, id := range centerIDs {
		if ValidID(id) && !p.CanCenter(id) {
			f.Add("center_ids", "you have no access to center "+id)
		}
	}
}

// CreateClient adds a client. Any staff role may; staff other than
// directors may put the client only in their own centers (or in none).
func (s *ClientService) CreateClient(ctx context.Context, p Principal, in ClientInput) (Client, error) {
	o, err := s.store.GetOrganization(ctx, p.OrgID)
	if err != nil {
		return Client{}, err
	}
	f := in.validate(o.Locale, o.Timezone)
	checkCenterAccess(p, &f, in.CenterIDs)
	if err := s.checkClientRefs(ctx, p.OrgID, &p, &f, &in); err != nil {
		return Client{}, err
	}
	if err := f.Err("invalid client"); err != nil {
		return Client{}, err
	}
	c := newClient(p.OrgID, in, s.Now())
	if err := s.store.CreateClient(ctx, c); err != nil {
		return Client{}, err
	}
	return s.shownClient(ctx, p)(s.withActivity(ctx, o, c))
}

func newClient(orgID string, in ClientInput, now time.Time) Client {
	c := Client{ID: NewID(), OrgID: orgID, Source: in.Source, CreatedAt: now}
	applyClientInput(&c, in)
	return c
}

func applyClientInput(c *Client, in ClientInput) {
	c.FirstName, c.LastName, c.Name = in.FirstName, in.LastName, FullName(in.FirstName, in.LastName)
	c.Phone, c.Email, c.TelegramID = in.Phone, in.Email, in.TelegramID
	c.Language, c.Timezone, c.Notes = in.Language, in.Timezone, in.Notes
	c.GroupIDs, c.CenterIDs = in.GroupIDs, in.CenterIDs
}

// getVisibleClient reads a client the principal may see.
func (s *ClientService) getVisibleClient(ctx context.Context, p Principal, id string) (Client, error) {
	c, err := s.store.GetClient(ctx, p.OrgID, id)
	if err != nil {
		return Client{}, err
	}
	return c, s.policy.Client(p, c)
}

// GetClient returns a client the caller may see, with its activity status.
func (s *ClientService) GetClient(ctx context.Context, p Principal, id string) (Client, error) {
	c, err := s.getVisibleClient(ctx, p, id)
	if err != nil {
		return Client{}, err
	}
	o, err := s.store.GetOrganization(ctx, p.OrgID)
	if err != nil {
		return Client{}, err
	}
	return s.shownClient(ctx, p)(s.withActivity(ctx, o, c))
}

// UpdateClient replaces a client's fields. An empty language or timezone
// keeps the current one. Staff other than directors may add or remove only
// their own centers; the client's other centers are kept as they are. An
// empty source keeps the current one; the invitation a client joined
// through never changes, so invitation counters stay true.
func (s *ClientService) UpdateClient(ctx context.Context, p Principal, id string, in ClientInput) (Client, error) {
	c, err := s.getVisibleClient(ctx, p, id)
	if err != nil {
		return Client{}, err
	}
	o, err := s.store.GetOrganization(ctx, p.OrgID)
	if err != nil {
		return Client{}, err
	}
	f := in.validate(c.Language, c.Timezone)
	checkCenterAccess(p, &f, in.CenterIDs)
	if err := s.checkClientRefs(ctx, p.OrgID, &p, &f, &in); err != nil {
		return Client{}, err
	}
	if err := f.Err("invalid client"); err != nil {
		return Client{}, err
	}
	if err := s.keepHiddenContacts(ctx, p, c, &in); err != nil {
		return Client{}, err
	}
	if !p.AllCenters() {
		for _, cid := range c.CenterIDs {
			if !p.CanCenter(cid) {
				in.CenterIDs = append(in.CenterIDs, cid)
			}
		}
	}
	applyClientInput(&c, in)
	if in.Source != "" {
		c.Source = in.Source
	}
	if err := s.store.UpdateClient(ctx, c); err != nil {
		return Client{}, err
	}
	return s.shownClient(ctx, p)(s.withActivity(ctx, o, c))
}

// ArchiveClient hides a client from lists (clients are archived, never
// deleted). Archiving twice keeps the first instant.
func (s *ClientService) ArchiveClient(ctx context.Context, p Principal, id string) (Client, error) {
	return s.setArchived(ctx, p, id, true)
}

// UnarchiveClient brings an archived client back.
func (s *ClientService) UnarchiveClient(ctx context.Context, p Principal, id string) (Client, error) {
	return s.setArchived(ctx, p, id, false)
}

func (s *ClientService) setArchived(ctx context.Context, p Principal, id string, archived bool) (Client, error) {
	if _, err := s.getVisibleClient(ctx, p, id); err != nil {
		return Client{}, err
	}
	var at *time.Time
	if archived {
		now := s.Now()
		at = &now
	}
	if err := s.store.SetClientArchived(ctx, p.OrgID, id, at); err != nil {
		return Client{}, err
	}
	return s.GetClient(ctx, p, id)
}

// Activity statuses of a client.
const (
	ClientActive   = "active"
	ClientInactive = "inactive"
	ClientLost     = "lost"
)

// VisitSummary is what the activity status needs from a client's
// appointments: the start of the last completed visit and of the next
// planned (pending or accepted, not yet started) one, and the next other
// planned action (PlannedActions).
type VisitSummary struct {
	LastVisit  *time.Time
	NextVisit  *time.Time
	NextAction *time.Time
}

// ActivityStatus classifies a client:
//
//   - active: a visit or another action (a planned call) is planned
//     (NextVisit or NextAction at or after now);
//   - inactive: nothing planned, but the last completed visit, or the
//     client's creation when there was no visit yet, is at most
//     lostAfterDays days ago;
//   - lost: nothing planned and that instant is more than lostAfterDays
//     days ago.
//
// The last visit counts even when it is older than the client's card
// (imported history): such a client can be lost on the day they are
// created. A lostAfterDays of zero or less means DefaultLostAfterDays.
func ActivityStatus(now, created time.Time, v VisitSummary, lostAfterDays int) string {
	if v.NextVisit != nil && !v.NextVisit.Before(now) || v.NextAction != nil && !v.NextAction.Before(now) {
		return ClientActive
	}
	if lostAfterDays <= 0 {
		lostAfterDays = DefaultLostAfterDays
	}
	since := created
	if v.LastVisit != nil {
		since = *v.LastVisit
	}
	if now.Sub(since) > time.Duration(lostAfterDays)*24*time.Hour {
		return ClientLost
	}
	return ClientInactive
}

// withActivity fills the activity status of one client.
func (s *ClientService) withActivity(ctx context.Context, o Organization, c Client) (Client, error) {
	l, err := s.withActivities(ctx, o, []Client{c})
	if err != nil {
		return Client{}, err
	}
	return l[0], nil
}

// withActivities fills the activity status of clients from their visits.
func (s *ClientService) withActivities(ctx context.Context, o Organization, cs []Client) ([]Client, error) {
	if len(cs) == 0 {
		return cs, nil
	}
	ids := make([]string, len(cs))
	for i, c := range cs {
		ids[i] = c.ID
	}
	visits, err := s.store.ClientVisits(ctx, o.ID, ids, s.Now())
	if err != nil {
		return nil, err
	}
	if err := s.addPlannedActions(ctx, o.ID, ids, visits); err != nil {
		return nil, err
	}
	now := s.Now()
	for i := range cs {
		v := visits[cs[i].ID]
		cs[i].LastVisitAt, cs[i].NextVisitAt = v.LastVisit, v.NextVisit
		cs[i].Status = ActivityStatus(now, cs[i].CreatedAt, v, o.LostAfterDays)
	}
	return cs, nil
}

// Archived filters of the client list.
const (
	ArchivedExclude = "false" // the default: archived clients are left out
	ArchivedOnly    = "true"
	ArchivedAll     = "all"
)

// ClientFilter is what a caller asks of the client list.
type ClientFilter struct {
	// Query matches a substring of the name or of the email, regardless of
	// case and accents ("elodie" finds "Élodie"), or, when it holds only
	// digits, spaces and + - ( ) . characters, a substring of the phone's
	// digits ("612 34" finds +33612345678; leading zeros of a national form
	// are also tried without them: "0612" finds it too).
	Query    string
	GroupID  string
	CenterID string
	Status   string // active, inactive, lost or empty for any
	Archived string // ArchivedExclude (default), ArchivedOnly or ArchivedAll
}

// ClientQuery is the client list query the store runs.
type ClientQuery struct {
	NameContains string   // folded by SearchFold; matches the name or the email
	NameOnly     bool     // NameContains matches names only (contacts are hidden from the caller)
	PhoneDigits  []string // any of these digit strings is a match
	GroupID      string
	CenterID     string
	Archived     string
	// AllCenters lists every client; otherwise only clients of
	// VisibleCenters or of no center are listed.
	AllCenters     bool
	VisibleCenters []string
}

func (f ClientFilter) query(p Principal) (ClientQuery, error) {
	var fe Fields
	q := ClientQuery{GroupID: f.GroupID, CenterID: f.CenterID, Archived: f.Archived,
		AllCenters: p.AllCenters(), VisibleCenters: p.CenterIDs}
	if q.VisibleCenters == nil {
		q.VisibleCenters = []string{}
	}
	text := strings.TrimSpace(f.Query)
	fe.Check(utf8.RuneCountInString(text) > maxNameLen, "q", "is longer than 100 characters")
	if digits, ok := phoneQuery(text); ok {
		q.PhoneDigits = []string{digits}
		if t := strings.TrimLeft(digits, "0"); t != digits && t != "" {
			q.PhoneDigits = append(q.PhoneDigits, t)
		}
	} else {
		q.NameContains = SearchFold(text)
	}
	fe.Check(f.GroupID != "" && !ValidID(f.GroupID), "group_id", "is not a client group id")
	fe.Check(f.CenterID != "" && !ValidID(f.CenterID), "center_id", "is not a center id")
	switch f.Status {
	case "", ClientActive, ClientInactive, ClientLost:
	default:
		fe.Add("status", "must be active, inactive or lost")
	}
	switch f.Archived {
	case "":
		q.Archived = ArchivedExclude
	case ArchivedExclude, ArchivedOnly, ArchivedAll:
	default:
		fe.Add("archived", "must be true, false or all")
	}
	return q, fe.Err("invalid client filter")
}

// phoneQuery tells whether a search text is a phone number fragment and
// returns its digits.
func phoneQuery(s string) (string, bool) {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case strings.ContainsRune(" +-().", r):
		default:
			return "", false
		}
	}
	return b.String(), b.Len() > 0
}

// ListClients lists the clients the caller may see, in creation order.
//
// The activity status comes from appointments, not from the client rows, so
// a status filter is applied here after fetching: the store is read in
// batches until the page is full or the list ends. The page's last item
// remains a correct cursor, because everything before it was examined.
func (s *ClientService) ListClients(ctx context.Context, p Principal, f ClientFilter, pg Page) ([]Client, error) {
	q, err := f.query(p)
	if err != nil {
		return nil, err
	}
	if err := s.checkGroupFilter(ctx, p, q.GroupID); err != nil {
		return nil, err
	}
	if err := s.checkContactSearch(ctx, p, &q); err != nil {
		return nil, err
	}
	o, err := s.store.GetOrganization(ctx, p.OrgID)
	if err != nil {
		return nil, err
	}
	if pg.Limit <= 0 {
		pg.Limit = 1000 // the store's own cap
	}
	if f.Status == "" {
		l, err := s.store.ListClients(ctx, p.OrgID, q, pg)
		if err != nil {
			return nil, err
		}
		return s.shownClients(ctx, p)(s.withActivities(ctx, o, l))
	}
	out := []Client{}
	batch := Page{Limit: max(pg.Limit, 200), After: pg.After}
	for {
		l, err := s.store.ListClients(ctx, p.OrgID, q, batch)
		if err != nil {
			return nil, err
		}
		if l, err = s.withActivities(ctx, o, l); err != nil {
			return nil, err
		}
		for _, c := range l {
			if c.Status == f.Status {
				out = append(out, c)
				if len(out) == pg.Limit {
					return s.shownClients(ctx, p)(out, nil)
				}
			}
		}
		if len(l) < batch.Limit {
			return s.shownClients(ctx, p)(out, nil)
		}
		batch.After = l[len(l)-1].ID
	}
}

// Family relations: what the linked client is to the client the link is
// read from. Each has an inverse, stored for the other side.
var familyInverse = map[string]string{
	"parent":   "child",
	"child":    "parent",
	"guardian": "ward",
	"ward":     "guardian",
	"sibling":  "sibling",
	"spouse":   "spouse",
	"relative": "relative",
}

// FamilyRelations lists the accepted relations.
var FamilyRelations = []string{"parent", "child", "guardian", "ward", "sibling", "spouse", "relative"}

// FamilyLinkInput links another client to one.
type FamilyLinkInput struct {
	ClientID string `json:"client_id" doc:"the client to link"`
	Relation string `json:"relation" doc:"what client_id is to this client: parent, child, guardian, ward, sibling, spouse or relative"`
}

// FamilyLink is a linked client seen from one side: Relation is what Client
// is to the client the link was read from.
type FamilyLink struct {
	Relation  string    `json:"relation"`
	Client    Client    `json:"client"`
	CreatedAt time.Time `json:"created_at"`
}

// LinkFamily links client_id to client id with a relation (and the other
// side with its inverse). Both clients must be visible to the caller.
func (s *ClientService) LinkFamily(ctx context.Context, p Principal, id string, in FamilyLinkInput) (FamilyLink, error) {
	var f Fields
	inverse, ok := familyInverse[in.Relation]
	f.Check(!ok, "relation", "must be one of "+strings.Join(FamilyRelations, ", "))
	f.Check(!ValidID(in.ClientID), "client_id", "is not a client id")
	f.Check(in.ClientID == id, "client_id", "cannot link a client to themselves")
	if err := f.Err("invalid family link"); err != nil {
		return FamilyLink{}, err
	}
	if _, err := s.getVisibleClient(ctx, p, id); err != nil {
		return FamilyLink{}, err
	}
	other, err := s.getVisibleClient(ctx, p, in.ClientID)
	if ErrorCode(err) == CodeNotFound {
		return FamilyLink{}, Invalid("invalid family link", FieldError{Field: "client_id", Message: "client does not exist"})
	}
	if err != nil {
		return FamilyLink{}, err
	}
	now := s.Now()
	if err := s.store.LinkFamily(ctx, p.OrgID, id, other.ID, in.Relation, inverse, now); err != nil {
		return FamilyLink{}, err
	}
	other, err = s.shownClient(ctx, p)(other, nil)
	return FamilyLink{Relation: in.Relation, Client: other, CreatedAt: now}, err
}

// ListFamily lists a client's linked clients that the caller may see.
func (s *ClientService) ListFamily(ctx context.Context, p Principal, id string) ([]FamilyLink, error) {
	if _, err := s.getVisibleClient(ctx, p, id); err != nil {
		return nil, err
	}
	l, err := s.store.ListFamily(ctx, p.OrgID, id)
	if err != nil {
		return nil, err
	}
	out := []FamilyLink{}
	for _, x := range l {
		if clientVisible(p, x.Client) {
			if x.Client, err = s.shownClient(ctx, p)(x.Client, nil); err != nil {
				return nil, err
			}
			out = append(out, x)
		}
	}
	return out, nil
}

// UnlinkFamily removes the link between two clients (both directions).
func (s *ClientService) UnlinkFamily(ctx context.Context, p Principal, id, otherID string) error {
	if _, err := s.getVisibleClient(ctx, p, id); err != nil {
		return err
	}
	if _, err := s.getVisibleClient(ctx, p, otherID); err != nil {
		return err
	}
	return s.store.UnlinkFamily(ctx, p.OrgID, id, otherID)
}

// ClientGroup is a named set of clients of an organization (for mailings
// and filters); a client belongs to any number of groups.
type ClientGroup struct {
	ID        string    `json:"id"`
	OrgID     string    `json:"-"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// ClientGroupInput creates a group.
type ClientGroupInput struct {
	Name string `json:"name"`
}

// CreateClientGroup adds a group; names are unique in an organization
// regardless of case.
func (s *ClientService) CreateClientGroup(ctx context.Context, p Principal, in ClientGroupInput) (ClientGroup, error) {
	var f Fields
	in.Name = strings.TrimSpace(in.Name)
	f.Check(in.Name == "", "name", "is required")
	f.Check(utf8.RuneCountInString(in.Name) > maxNameLen, "name", "is longer than 100 characters")
	if err := f.Err("invalid client group"); err != nil {
		return ClientGroup{}, err
	}
	g := ClientGroup{ID: NewID(), OrgID: p.OrgID, Name: in.Name, CreatedAt: s.Now()}
	return g, s.store.CreateClientGroup(ctx, g)
}

// ListClientGroups lists the organization's groups.
func (s *ClientService) ListClientGroups(ctx context.Context, p Principal, pg Page) ([]ClientGroup, error) {
	return s.store.ListClientGroups(ctx, p.OrgID, pg)
}

// ClientStore keeps clients, their groups and family links, and invitation
// links.
type ClientStore interface {
	Directory
	CreateClient(ctx context.Context, c Client) error
	GetClient(ctx context.Context, orgID, id string) (Client, error)
	UpdateClient(ctx context.Context, c Client) error
	// ListClients lists clients matching q in id order, with ids after p.After.
	ListClients(ctx context.Context, orgID string, q ClientQuery, p Page) ([]Client, error)
	// SetClientArchived archives (at set; an archived client keeps its first
	// instant) or unarchives (at nil) a client.
	SetClientArchived(ctx context.Context, orgID, id string, at *time.Time) error
	// ClientVisits summarizes the appointments of clients; a client with
	// none may be missing from the map.
	ClientVisits(ctx context.Context, orgID string, clientIDs []string, now time.Time) (map[string]VisitSummary, error)

	// LinkFamily stores the link both ways: relation is what related is to
	// client, inverse what client is to related. A pair already linked is a
	// conflict.
	LinkFamily(ctx context.Context, orgID, clientID, relatedID, relation, inverse string, at time.Time) error
	ListFamily(ctx context.Context, orgID, clientID string) ([]FamilyLink, error)
	// CreateFamilyMember inserts c and links it to relatedTo in one
	// transaction: relation is what c is to relatedTo, inverse the other way.
	CreateFamilyMember(ctx context.Context, c Client, relatedTo, relation, inverse string, at time.Time) error
	UnlinkFamily(ctx context.Context, orgID, clientID, relatedID string) error

	// CreateClientGroup reports a name already used in the organization
	// (regardless of case: GroupNameKey) as a conflict.
	CreateClientGroup(ctx context.Context, g ClientGroup) error
	GetClientGroup(ctx context.Context, orgID, id string) (ClientGroup, error)
	ListClientGroups(ctx context.Context, orgID string, p Page) ([]ClientGroup, error)
}

// InvitationStore keeps invitation links.
type InvitationStore interface {
	Directory
	GetClient(ctx context.Context, orgID, id string) (Client, error)
	CreateInvitation(ctx context.Context, inv Invitation) error
	GetInvitation(ctx context.Context, orgID, id string) (Invitation, error)
	ListInvitations(ctx context.Context, orgID string, p Page) ([]Invitation, error)
	// UpdateInvitation writes the editable fields (not the code or uses).
	UpdateInvitation(ctx context.Context, inv Invitation) error
	// JoinInvitation, in one transaction: reads and locks the invitation of
	// that code and the clients with the joining phone ("" reads none),
	// calls join with them (join runs the domain rule and returns what to
	// do, or an error that aborts everything; it must not use the store),
	// counts a use if join says so, and inserts the new client or writes
	// the existing one's source. Concurrent joins of one link are
	// serialized, so a single-use link admits exactly one client.
	JoinInvitation(ctx context.Context, orgID, code, phone string, join func(Invitation, []Client) (Joining, error)) (Client, error)
	// JoinTeam is JoinInvitation for a team link: check decides on the
	// locked invitation, then the use is counted and the staff member
	// inserted; a staff member of the organization with the same Telegram
	// chat is returned instead (existing), counting nothing.
	JoinTeam(ctx context.Context, orgID, code string, st Staff, check func(Invitation) error) (Staff, bool, error)
}
