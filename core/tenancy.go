package core

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Role is a staff member's role. Roles decide what a key may do; centers
// decide which data it may see.
type Role string

const (
	RoleDirector      Role = "director"
	RoleAdministrator Role = "administrator"
	RoleSpecialist    Role = "specialist"
	RoleMarketer      Role = "marketer"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool {
	switch r {
	case RoleDirector, RoleAdministrator, RoleSpecialist, RoleMarketer:
		return true
	}
	return false
}

// Organization is a tenant. Nothing of one organization is visible to another.
type Organization struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Timezone string `json:"timezone"`
	Locale   string `json:"locale"`
	Currency string `json:"currency"`
	// LostAfterDays: a client with no visit and nothing planned for this
	// many days is "lost" (seed 004 offers 7, 14, 21 or 28; 7 by default).
	LostAfterDays int `json:"lost_after_days"`
	// CancelNoticeHours: a client cancellation closer to the visit than this
	// is recorded as late (the cancellation policy shown on cancel links).
	CancelNoticeHours int `json:"cancel_notice_hours"`
	// ChannelOrder is the default order of client channels (empty: telegram,
	// whatsapp, sms, email).
	ChannelOrder []Channel `json:"channel_order"`
	// SMSFrom is the Twilio number or messaging service SID (MG…) of
	// centres that set none; empty uses the gateway's default. Inbound
	// messages to it belong to this organization.
	SMSFrom string `json:"sms_from"`
	// HideContactsFromMarketers: marketers are not shown clients' phone
	// numbers and emails (messages still reach the clients).
	HideContactsFromMarketers bool      `json:"hide_contacts_from_marketers" doc:"marketers are not shown clients' phone numbers and emails; messages and campaigns still reach the clients"`
	CreatedAt                 time.Time `json:"created_at"`
}

// Center is a branch of an organization with its own address and timezone.
type Center struct {
	ID       string `json:"id"`
	OrgID    string `json:"-"`
	Name     string `json:"name"`
	Address  string `json:"address"`
	Phone    string `json:"phone"`
	Timezone string `json:"timezone"`
	// SMSFrom is the Twilio number or messaging service SID (MG…) this
	// center sends from; empty uses the gateway's default.
	SMSFrom string `json:"sms_from"`
	// SlackChannel receives staff notifications of this center.
	SlackChannel string    `json:"slack_channel"`
	CreatedAt    time.Time `json:"created_at"`
}

// Staff is a person working for an organization, with access to some centers.
type Staff struct {
	ID        string   `json:"id"`
	OrgID     string   `json:"-"`
	Name      string   `json:"name"`
	Email     string   `json:"email"`
	Phone     string   `json:"phone"`
	Role      Role     `json:"role"`
	Timezone  string   `json:"timezone"`
	CenterIDs []string `json:"center_ids"`
	Active    bool     `json:"active"`
	// Where staff notifications reach this person.
	SlackUserID    string    `json:"slack_user_id"`
	TelegramChatID string    `json:"telegram_chat_id"`
	CreatedAt      time.Time `json:"created_at"`
}

// APIKey authenticates a staff member. Only a hash of the secret is stored;
// the plain key is shown once, when it is created.
type APIKey struct {
	ID         string     `json:"id"`
	OrgID      string     `json:"-"`
	StaffID    string     `json:"staff_id"`
	Name       string     `json:"name"`
	Hash       string     `json:"-"`
	CreatedAt  time.Time  `json:"created_at"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
}

// Principal is who is calling: the key's staff member, role and centers.
type Principal struct {
	OrgID     string
	StaffID   string
	KeyID     string
	Role      Role
	CenterIDs []string
}

// AllCenters reports whether the principal sees every center of its
// organization. Directors do; everyone else sees the centers granted to them.
func (p Principal) AllCenters() bool { return p.Role == RoleDirector }

// CanCenter reports whether the principal may see data of a center.
func (p Principal) CanCenter(centerID string) bool {
	if p.AllCenters() {
		return true
	}
	for _, c := range p.CenterIDs {
		if c == centerID {
			return true
		}
	}
	return false
}

// Require returns Forbidden unless the principal has one of the roles.
func (p Principal) Require(roles ...Role) error {
	for _, r := range roles {
		if p.Role == r {
			return nil
		}
	}
	return Forbidden("this action needs the role " + joinRoles(roles))
}

func joinRoles(rs []Role) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = string(r)
	}
	return strings.Join(s, " or ")
}

// NewID returns a time-ordered unique id (UUIDv7), so ids sort by creation
// and serve as pagination cursors.
func NewID() string {
	return uuid.Must(uuid.NewV7()).String()
}

// ValidID reports whether s looks like an id this service issued; anything
// else cannot exist and is rejected early.
func ValidID(s string) bool {
	_, err := uuid.Parse(s)
	return err == nil && len(s) == 36
}

const keyPrefix = "bgw_"

// NewAPIKeySecret makes a plain key "bgw_<id>_<secret>" and the hash stored
// for it. The id part lets the store find the row without the secret.
func NewAPIKeySecret(id string) (plain, hash string) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	secret := base64.RawURLEncoding.EncodeToString(b)
	plain = keyPrefix + strings.ReplaceAll(id, "-", "") + "_" + secret
	return plain, hashSecret(secret)
}

// ParseAPIKey splits a plain key into the key id and the secret.
func ParseAPIKey(plain string) (id, secret string, ok bool) {
	rest, found := strings.CutPrefix(plain, keyPrefix)
	if !found {
		return "", "", false
	}
	hexID, secret, found := strings.Cut(rest, "_")
	if !found || len(hexID) != 32 || secret == "" {
		return "", "", false
	}
	if _, err := hex.DecodeString(hexID); err != nil {
		return "", "", false
	}
	id = hexID[0:8] + "-" + hexID[8:12] + "-" + hexID[12:16] + "-" + hexID[16:20] + "-" + hexID[20:]
	return id, secret, true
}

// SecretMatches compares a presented secret with a stored hash in constant time.
func SecretMatches(secret, hash string) bool {
	return subtle.ConstantTimeCompare([]byte(hashSecret(secret)), []byte(hash)) == 1
}

// hashSecret is a plain SHA-256: keys carry 256 bits of randomness, so a
// slow password hash would add latency to every request and no safety.
func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// Clock tells the time; tests pass a fixed one.
type Clock interface {
	Now() time.Time
}

// SystemClock is the real clock.
type SystemClock struct{}

// Now returns the current time in UTC.
func (SystemClock) Now() time.Time { return time.Now().UTC() }

// Page asks for one page of a list: at most Limit items with ids after After.
type Page struct {
	Limit int
	After string
}

// TenancyStore keeps organizations, centers, staff and keys.
type TenancyStore interface {
	CreateOrganization(ctx context.Context, o Organization, director Staff, key APIKey) error
	GetOrganization(ctx context.Context, orgID string) (Organization, error)
	UpdateOrganization(ctx context.Context, o Organization) error
	CreateCenter(ctx context.Context, c Center) error
	GetCenter(ctx context.Context, orgID, id string) (Center, error)
	ListCenters(ctx context.Context, orgID string, p Page) ([]Center, error)
	UpdateCenter(ctx context.Context, c Center) error
	CreateStaff(ctx context.Context, s Staff) error
	GetStaff(ctx context.Context, orgID, id string) (Staff, error)
	ListStaff(ctx context.Context, orgID string, p Page) ([]Staff, error)
	UpdateStaff(ctx context.Context, s Staff) error
	CreateAPIKey(ctx context.Context, k APIKey) error
	// FindAPIKey looks a key up by id across organizations: it is the one
	// query that establishes which organization a request belongs to.
	FindAPIKey(ctx context.Context, id string) (APIKey, Staff, error)
	ListAPIKeys(ctx context.Context, orgID string, p Page) ([]APIKey, error)
	RevokeAPIKey(ctx context.Context, orgID, id string, at time.Time) error
}

// IdempotentRecord is a remembered response to a creating request sent with
// an Idempotency-Key.
type IdempotentRecord struct {
	Fingerprint string // hash of method, path and body
	Status      int    // 0 while the first request is still running
	Body        string
}
