package core

import (
	"slices"
	"strings"
)

// ReplyWords are the replies that mean something in one language, upper
// case. Confirm[1] and Cancel[1] are the words the reminder shows next to
// 1 and 2.
type ReplyWords struct {
	Confirm, Cancel, Stop, Start, Help []string
}

// twilioKeywords act in every language: Twilio and the carriers opt a
// number out (or back in) on them whatever the organization's language, so
// the gateway must agree with them.
var twilioKeywords = ReplyWords{
	Stop:  []string{"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"},
	Start: []string{"START", "UNSTOP"},
	Help:  []string{"HELP", "INFO"},
}

// replyTables are each language's replies. Polish takes only 1/TAK and
// 2/NIE: "no" is colloquial Polish for "yeah", so NO and N there are a
// message for staff, not a cancellation. Opt-out words in the client's own
// script join Twilio's keywords for their language.
var replyTables = map[string]ReplyWords{
	"en": {Confirm: []string{"1", "YES", "Y", "OK", "CONFIRM"}, Cancel: []string{"2", "NO", "N"}},
	"fr": {Confirm: []string{"1", "OUI", "YES", "OK"}, Cancel: []string{"2", "NON", "NO", "N"},
		Stop: []string{"ARRET", "ARRÊT"}, Help: []string{"AIDE"}},
	"de": {Confirm: []string{"1", "JA", "YES", "OK"}, Cancel: []string{"2", "NEIN", "NO", "N"}, Help: []string{"HILFE"}},
	"ru": {Confirm: []string{"1", "ДА", "YES", "OK"}, Cancel: []string{"2", "НЕТ", "NO", "N"},
		Stop: []string{"СТОП"}, Start: []string{"СТАРТ"}, Help: []string{"ПОМОЩЬ"}},
	"pl": {Confirm: []string{"1", "TAK"}, Cancel: []string{"2", "NIE"}, Help: []string{"POMOC"}},
}

// RepliesIn returns the replies understood from a client whose language is
// locale ("pl", "pl-PL"), Twilio's keywords included. An unknown or empty
// locale understands every language's words.
func RepliesIn(locale string) ReplyWords {
	base := strings.ToLower(locale)
	if i := strings.IndexAny(base, "-_"); i >= 0 {
		base = base[:i]
	}
	w, ok := replyTables[base]
	if !ok {
		for _, l := range Locales {
			t := replyTables[l]
			w.Confirm, w.Cancel = union(w.Confirm, t.Confirm), union(w.Cancel, t.Cancel)
			w.Stop, w.Start, w.Help = union(w.Stop, t.Stop), union(w.Start, t.Start), union(w.Help, t.Help)
		}
	}
	return ReplyWords{Confirm: slices.Clone(w.Confirm), Cancel: slices.Clone(w.Cancel), Stop: union(w.Stop, twilioKeywords.Stop),
		Start: union(w.Start, twilioKeywords.Start), Help: union(w.Help, twilioKeywords.Help)}
}

func union(a, b []string) []string {
	out := slices.Clone(a)
	for _, v := range b {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// ParseReplyIn reads a client's reply in their language (see RepliesIn):
// case, spaces and punctuation are ignored.
func ParseReplyIn(body, locale string) ReplyIntent {
	var b strings.Builder
	for _, r := range strings.ToUpper(strings.TrimSpace(body)) {
		if r == ' ' || r == '\t' || r == '\n' || r == '\r' || strings.ContainsRune(".,!?;:'\"()-_*", r) {
			continue
		}
		b.WriteRune(r)
	}
	word := b.String()
	w := RepliesIn(locale)
	for _, c := range []struct {
		words  []string
		intent ReplyIntent
	}{{w.Stop, ReplyStop}, {w.Start, ReplyStart}, {w.Help, ReplyHelp}, {w.Confirm, ReplyConfirm}, {w.Cancel, ReplyCancel}} {
		if slices.Contains(c.words, word) {
			return c.intent
		}
	}
	return ReplyOther
}
