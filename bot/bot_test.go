package bot

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/bookinggw/gateway/core"
	"github.com/bookinggw/gateway/templates"
)

func TestParseZone(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"Paris", "Europe/Paris", true},
		{"  new york ", "America/New_York", true},
		{"Buenos Aires", "America/Buenos_Aires", true},
		{"Ushuaia", "America/Argentina/Ushuaia", true},
		{"Europe/Warsaw", "Europe/Warsaw", true},
		{"UTC+3", "Etc/GMT-3", true},
		{"utc -5", "Etc/GMT+5", true},
		{"GMT+02:00", "Etc/GMT-2", true},
		{"+0", "UTC", true},
		{"utc", "UTC", true},
		{"UTC+15", "", false},
		{"UTC+5:30", "Asia/Kolkata", true},
		{"+0545", "Asia/Kathmandu", true},
		{"GMT-9:30", "Pacific/Marquesas", true},
		{"UTC+5:15", "", false},
		{"-3:30", "", false}, // St John's: only with its name (daylight saving)
		{"Париж", "Europe/Paris", true},
		{"  москва ", "Europe/Moscow", true},
		{"Kraków", "Europe/Warsaw", true},
		{"Санкт-Петербург", "Europe/Moscow", true},
		{"Новгород", "", false},
		{"Atlantis", "", false},
		{"Europe/Nowhere", "", false},
		{"", "", false},
	} {
		got, ok := ParseZone(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("ParseZone(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// TestCallbackData: a button's data is the keyboard id and an index,
// whatever the names on the buttons, and more than 64 bytes is refused
// before Telegram refuses the whole message.
func TestCallbackData(t *testing.T) {
	p := payload{Org: strings.Repeat("о", 40), Svc: "Консультация семейного психолога", Choices: []choice{{Act: actService, Val: strings.Repeat("я", 60)}}}
	for _, once := range []bool{false, true} {
		p.Once = once
		id := keyboardID("610000001", p)
		d, err := callbackData(id, 99)
		if err != nil || len(d) > MaxCallbackData {
			t.Errorf("once=%v: callback data %q (%d bytes), %v", once, d, len(d), err)
		}
		if got, n, ok := parseData(d); !ok || got != id || n != 99 {
			t.Errorf("parseData(%q) = %q, %d, %v", d, got, n, ok)
		}
	}
	if a, b := keyboardID("1", p), keyboardID("2", p); a == b {
		t.Error("two users' keyboards share an id")
	}
	p.Once = false
	if keyboardID("1", p) != keyboardID("1", p) {
		t.Error("the same screen gets two keyboard ids: showing it again would not be 'not modified'")
	}
	// 32 Cyrillic letters are 64 bytes: with ":0" the data is 66 bytes.
	if d, err := callbackData(strings.Repeat("я", 32), 0); err == nil {
		t.Errorf("callback data %q (%d bytes) accepted", d, len(d))
	}
	for _, bad := range []string{"", "abc", ":1", "abc:x", "abc:-1"} {
		if _, _, ok := parseData(bad); ok {
			t.Errorf("parseData(%q) accepted", bad)
		}
	}
}

func TestNotModified(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{&tgbotapi.Error{Code: 400, Message: "Bad Request: message is not modified: specified new message content and reply markup are exactly the same"}, true},
		{fmt.Errorf("bot: send: %w", &tgbotapi.Error{Code: 400, Message: "Bad Request: message is not modified"}), true},
		{&tgbotapi.Error{Code: 400, Message: "Bad Request: message to edit not found"}, false},
		{errors.New("connection refused"), false},
		{nil, false},
	} {
		if got := NotModified(tc.err); got != tc.want {
			t.Errorf("NotModified(%v) = %v", tc.err, got)
		}
	}
}

func TestKeyboardIDsAreShort(t *testing.T) {
	for _, once := range []bool{false, true} {
		id := keyboardID("610000001", payload{Once: once})
		if len(id) != 16 || !urlSafe(id) {
			t.Errorf("once=%v: keyboard id %q", once, id)
		}
	}
	if keyboardID("1", payload{Once: true}) == keyboardID("1", payload{Once: true}) {
		t.Error("two single-use keyboards share an id")
	}
}

// urlSafe: URL-safe characters only.
func urlSafe(s string) bool {
	return strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == ""
}

// TestZoneTablesLoad: every zone the offset and city tables name exists
// in this machine's timezone database, and each fractional offset's zone
// keeps that offset in January and in July.
func TestZoneTablesLoad(t *testing.T) {
	for _, table := range []map[string]string{fractionalOffsets, cityAliases} {
		for in, zone := range table {
			if _, err := time.LoadLocation(zone); err != nil {
				t.Errorf("%q → %s: %v", in, zone, err)
			}
		}
	}
	for off, zone := range fractionalOffsets {
		loc, err := time.LoadLocation(zone)
		if err != nil {
			continue
		}
		for _, month := range []time.Month{time.January, time.July} {
			_, secs := time.Date(2027, month, 15, 12, 0, 0, 0, loc).Zone()
			sign, secs := "+", secs
			if secs < 0 {
				sign, secs = "-", -secs
			}
			if got := fmt.Sprintf("%s%d:%02d", sign, secs/3600, secs%3600/60); got != off {
				t.Errorf("%s in %s is %s, want %s", zone, month, got, off)
			}
		}
	}
}

// TestStaffText: one organization's agenda and requests read as before;
// several get a section each under their name, the agenda's date once
// when it is the same for all.
func TestStaffText(t *testing.T) {
	s := &session{loc: "en"}
	paris, lyon := core.Organization{Name: "Paris"}, core.Organization{Name: "Lyon"}
	pending := []core.Appointment{{ID: "a"}}
	for _, tc := range []struct {
		name string
		act  string
		secs []staffSection
		want string
	}{
		{"one agenda", actAgenda, []staffSection{{org: paris, head: "Today:", lines: []string{"09:00 A", "10:00 B"}}},
			"Today:\n09:00 A\n10:00 B"},
		{"one organization's requests", actRequests, []staffSection{{org: paris, head: "Requests:", lines: []string{"x"}, pending: pending}},
			"Requests:"},
		{"two agendas, one date", actAgenda, []staffSection{{org: paris, head: "Today:", lines: []string{"09:00 A"}},
			{org: lyon, head: "Today:", lines: []string{"Nothing."}}},
			"Today:\n\nParis:\n09:00 A\n\nLyon:\nNothing."},
		{"two agendas, two dates", actAgenda, []staffSection{{org: paris, head: "Mon:", lines: []string{"09:00 A"}},
			{org: lyon, head: "Tue:", lines: []string{"10:00 B"}}},
			"Paris:\nMon:\n09:00 A\n\nLyon:\nTue:\n10:00 B"},
		{"two organizations' requests", actRequests, []staffSection{{org: paris},
			{org: lyon, lines: []string{"Mar 2 11:00: Bruno"}, pending: pending}},
			templates.Phrase("en", "bot.requests") + "\n\nParis:\n" + templates.Phrase("en", "bot.requests_empty") +
				"\n\nLyon:\nMar 2 11:00: Bruno"},
		{"two organizations, no requests", actRequests, []staffSection{{org: paris}, {org: lyon}},
			templates.Phrase("en", "bot.requests_empty")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := staffText(s, tc.act, tc.secs); got != tc.want {
				t.Errorf("staffText = %q, want %q", got, tc.want)
			}
		})
	}
}
