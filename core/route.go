package core

import (
	"slices"
	"strings"
)

// ReasonCancelledByClient is the reason the gateway records when a client
// cancels (by reply or link). Messages show it in the reader's language;
// a reason staff typed is shown as typed.
const ReasonCancelledByClient = "cancelled by the client"

// SystemReasonKey names a reason the gateway writes itself, for
// translation; ok is false for a reason someone typed.
func SystemReasonKey(reason string) (key string, ok bool) {
	switch reason {
	case ReasonCancelledByClient:
		return "cancelled_by_client", true
	}
	return "", false
}

// Unreachable says why RouteClient found no channel for a client, for the
// outbox row of a skipped message: an opt-out (STOP) first, then a missing
// consent, then missing addresses. only limits the channels considered, as
// for a reply that must go back on the channel it came from.
func Unreachable(addr map[Channel]string, prefs []ChannelPref, orgOrder, only []Channel) string {
	if len(orgOrder) == 0 {
		orgOrder = DefaultChannelOrder
	}
	considered := slices.Clone(orgOrder)
	for _, p := range prefs {
		if !slices.Contains(considered, p.Channel) {
			considered = append(considered, p.Channel)
		}
	}
	if only != nil {
		considered = slices.DeleteFunc(considered, func(c Channel) bool { return !slices.Contains(only, c) })
	}
	var optedOut, noConsent, noAddress []string
	for _, c := range considered {
		i := slices.IndexFunc(prefs, func(p ChannelPref) bool { return p.Channel == c })
		switch {
		case addr[c] == "":
			noAddress = append(noAddress, string(c))
		case i >= 0 && prefs[i].OptedOut != nil:
			optedOut = append(optedOut, string(c))
		case c == ChannelWhatsApp && (i < 0 || !prefs[i].Consent):
			noConsent = append(noConsent, string(c))
		}
	}
	var why []string
	if len(optedOut) > 0 {
		why = append(why, "the client opted out of "+strings.Join(optedOut, " and ")+" (STOP)")
	}
	if len(noConsent) > 0 {
		why = append(why, "no consent for "+strings.Join(noConsent, " and "))
	}
	if len(noAddress) > 0 {
		why = append(why, "no address for "+strings.Join(noAddress, ", "))
	}
	if len(why) == 0 {
		return "no usable channel"
	}
	return "not sent: " + strings.Join(why, "; ")
}

// visitStarted reports whether an appointment event happened after the
// visit had started: staff booking past time by override, or accepting a
// request late. "Your visit is confirmed" would then be noise.
func visitStarted(e Event) bool {
	change, _ := e.Data.(*AppointmentChanged)
	return change != nil && !change.Start.IsZero() && !e.OccurredAt.IsZero() && change.Start.Before(e.OccurredAt)
}
