package notify

import (
	"context"
	"sync"
	"time"

	"github.com/bookinggw/gateway/core"
	"github.com/bookinggw/gateway/templates"
)

// refTTL is how long the builder reuses an organization's reference data
// (organization, services, staff, centers, template overrides). A burst of
// events then costs the store only what differs per message (appointment,
// client with channels); an edit shows in messages built at most refTTL
// later.
const refTTL = 2 * time.Second

type cached[V any] struct {
	v   V
	err error
	at  time.Time
}

// ttlCache remembers lookups (errors too: a missing record stays missing
// for the TTL) for a short time.
type ttlCache[K comparable, V any] struct {
	mu  sync.Mutex
	m   map[K]cached[V]
	ttl time.Duration
}

func (c *ttlCache[K, V]) get(k K, load func() (V, error)) (V, error) {
	now := time.Now()
	c.mu.Lock()
	e, ok := c.m[k]
	c.mu.Unlock()
	if ok && now.Sub(e.at) < c.ttl {
		return e.v, e.err
	}
	v, err := load()
	if err != nil && core.ErrorCode(err) == core.CodeInternal {
		return v, err // a database error is not remembered
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) > 10_000 {
		c.m = map[K]cached[V]{}
	}
	c.m[k] = cached[V]{v: v, err: err, at: now}
	return v, err
}

func (c *ttlCache[K, V]) forget(k K) {
	c.mu.Lock()
	delete(c.m, k)
	c.mu.Unlock()
}

type refKey struct{ org, id string }

type overrideKey struct{ org, kind, locale string }

type override struct {
	o     templates.Override
	found bool
}

// refs reads reference data through short-lived caches.
type refs struct {
	st        Store
	orgs      ttlCache[string, core.Organization]
	services  ttlCache[refKey, core.Offering]
	staff     ttlCache[refKey, core.Staff]
	centers   ttlCache[refKey, core.Center]
	overrides ttlCache[overrideKey, override]
}

func newRefs(st Store) *refs {
	r := &refs{st: st}
	r.orgs.ttl, r.services.ttl, r.staff.ttl, r.centers.ttl, r.overrides.ttl = refTTL, refTTL, refTTL, refTTL, refTTL
	return r
}

func (r *refs) organization(ctx context.Context, id string) (core.Organization, error) {
	return r.orgs.get(id, func() (core.Organization, error) { return r.st.GetOrganization(ctx, id) })
}

func (r *refs) service(ctx context.Context, org, id string) (core.Offering, error) {
	return r.services.get(refKey{org, id}, func() (core.Offering, error) { return r.st.GetService(ctx, org, id) })
}

func (r *refs) staffMember(ctx context.Context, org, id string) (core.Staff, error) {
	return r.staff.get(refKey{org, id}, func() (core.Staff, error) { return r.st.GetStaff(ctx, org, id) })
}

func (r *refs) center(ctx context.Context, org, id string) (core.Center, error) {
	return r.centers.get(refKey{org, id}, func() (core.Center, error) { return r.st.GetCenter(ctx, org, id) })
}

func (r *refs) override(ctx context.Context, org, kind, locale string) (templates.Override, bool, error) {
	o, err := r.overrides.get(overrideKey{org, kind, locale}, func() (override, error) {
		o, found, err := r.st.GetTemplateOverride(ctx, org, kind, locale)
		return override{o, found}, err
	})
	return o.o, o.found, err
}
