package store

import (
	"sync"
	"time"

	"github.com/bookinggw/gateway/core"
)

// busyCacheTTL bounds how stale availability may be about bookings made
// by another process on the same database: this process drops a cached
// owner's busy times when it writes that owner's appointments, but learns
// of other processes' writes only by reading again, at most this long after.
//
// The staleness accepted: for up to busyCacheTTL, a slot booked (or moved
// onto) through another process may still be offered, and a slot freed
// there may not be offered yet. Neither lets a booking succeed wrongly:
// booking re-checks the specialist's and room's appointments inside its
// transaction, under their locks, and answers 409 for a slot taken.
const busyCacheTTL = time.Second

// busyCacheMaxItems bounds the busy times held in all (about 50 bytes
// each): past it, the cache is emptied and fills again from reads.
const busyCacheMaxItems = 200_000

// busyCache keeps Busy's answers per owner (specialist or room) for
// availability, which reads a busy month again and again while the diary
// changes far more rarely. Each owner has a generation that this
// process's booking transactions advance after they commit; an answer
// read under an older generation is not used.
type busyCache struct {
	mu      sync.Mutex
	entries map[busyKey]busyEntry
	gens    map[busyOwner]uint64
	items   int
}

type busyOwner struct {
	org  string
	kind core.OwnerKind
	id   string
}

type busyKey struct {
	owner    busyOwner
	from, to int64 // the window asked, in ms
}

type busyEntry struct {
	busy []core.Busy
	gen  uint64
	at   time.Time
}

// get returns the cached answer for exactly this window, if still good.
// The slice is shared: callers must not change it.
func (c *busyCache) get(o busyOwner, from, to time.Time) ([]core.Busy, uint64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	gen := c.gens[o]
	e, ok := c.entries[busyKey{o, ms(from), ms(to)}]
	if !ok || e.gen != gen || time.Since(e.at) >= busyCacheTTL {
		return nil, gen, false
	}
	return e.busy, gen, true
}

// put stores an answer read under generation gen (taken before the read:
// a write committed meanwhile has advanced it, and the answer is never
// used).
func (c *busyCache) put(o busyOwner, from, to time.Time, gen uint64, busy []core.Busy, readAt time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gens[o] != gen {
		return
	}
	if c.entries == nil || c.items+len(busy) > busyCacheMaxItems {
		c.entries, c.items = map[busyKey]busyEntry{}, 0
	}
	k := busyKey{o, ms(from), ms(to)}
	c.items += len(busy) - len(c.entries[k].busy)
	c.entries[k] = busyEntry{busy: busy, gen: gen, at: readAt}
}

// changed advances the generations of owners whose appointments a
// committed transaction wrote.
func (c *busyCache) changed(owners []busyOwner) {
	if len(owners) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gens == nil {
		c.gens = map[busyOwner]uint64{}
	}
	for _, o := range owners {
		c.gens[o]++
	}
}

// wrote lists the owners whose busy times an appointment's write changes.
func wrote(owners []busyOwner, orgID string, a core.Appointment) []busyOwner {
	owners = append(owners, busyOwner{orgID, core.OwnerStaff, a.SpecialistID})
	if a.RoomID != "" {
		owners = append(owners, busyOwner{orgID, core.OwnerRoom, a.RoomID})
	}
	return owners
}
