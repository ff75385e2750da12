package core

import (
	"slices"
	"strings"
	"time"
)

// checkSender normalizes a configured SMS sender: a messaging service SID
// (MG…) as is, a number to E.164.
func checkSender(f *Fields, field, v string) string {
	v = strings.TrimSpace(v)
	if v == "" || strings.HasPrefix(v, "MG") {
		return v
	}
	e164, err := NormalizePhone(v, "")
	if err != nil {
		f.Add(field, "must be a phone number in E.164 or a messaging service SID (MG…)")
		return v
	}
	return e164
}

// SenderOwner is a centre, or an organization itself (CenterID empty), that
// configured a sender address (Center.SMSFrom, Organization.SMSFrom).
type SenderOwner struct {
	OrgID    string
	CenterID string
	Address  string
}

// Addresses lists the addresses an inbound message reached: the messaging
// service that received it, if any (what a centre sending from a number
// pool configures), and the number.
func (in Inbound) Addresses() []string {
	var out []string
	for _, a := range []string{in.ServiceSID, strings.TrimPrefix(in.To, "whatsapp:")} {
		if a != "" && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

// InboundMatch is what an inbound message may belong to, before the
// conversation history decides between several organizations.
type InboundMatch struct {
	// Senders are the From values of outbound messages that count as sent
	// from the address the client wrote to ("" is the gateway's default
	// sender, which messages store as empty when it is not known).
	Senders []string
	// Orgs are the candidate organizations, sorted.
	Orgs []string
	// Shared is true when no centre or organization configured the
	// address: it is the gateway's default sender (or a number no longer
	// assigned), which every organization may send from.
	Shared bool
	// centers maps an organization to the one centre of it that
	// configured the address.
	centers map[string]string
}

// MatchInbound finds the organizations an inbound message sent to addrs
// may belong to: those that configured one of the addresses on a centre or
// as their own sender. An address nobody configured is shared: its
// candidates are the organizations with a client of that phone (phoneOrgs).
func MatchInbound(addrs []string, owners []SenderOwner, phoneOrgs []string) InboundMatch {
	m := InboundMatch{Senders: slices.Clone(addrs), centers: map[string]string{}}
	several := map[string]bool{}
	for _, o := range owners {
		if !slices.Contains(addrs, o.Address) {
			continue
		}
		if !slices.Contains(m.Orgs, o.OrgID) {
			m.Orgs = append(m.Orgs, o.OrgID)
		}
		if o.CenterID == "" {
			continue
		}
		if c, seen := m.centers[o.OrgID]; seen && c != o.CenterID {
			several[o.OrgID] = true
		}
		m.centers[o.OrgID] = o.CenterID
	}
	for org := range several {
		m.centers[org] = "" // the conversation decides the centre
	}
	if len(m.Orgs) == 0 {
		m.Shared = true
		m.Senders = append(m.Senders, "")
		for _, o := range phoneOrgs {
			if !slices.Contains(m.Orgs, o) {
				m.Orgs = append(m.Orgs, o)
			}
		}
	}
	slices.Sort(m.Orgs)
	return m
}

// Resolve picks the organization and centre of the message. latest is the
// latest outbound message from Senders to the client's phone among the
// candidates (nil: none). With one candidate it is that one; with several,
// latest's organization; ok is false when the message must wait for the
// operator: no candidate, or several and no conversation to tell them
// apart. The centre is the one that configured the address, else latest's.
func (m InboundMatch) Resolve(latest *Message) (orgID, centerID string, ok bool) {
	switch {
	case len(m.Orgs) == 1:
		orgID = m.Orgs[0]
	case len(m.Orgs) > 1 && latest != nil && slices.Contains(m.Orgs, latest.OrgID):
		orgID = latest.OrgID
	default:
		return "", "", false
	}
	centerID = m.centers[orgID]
	if centerID == "" && latest != nil && latest.OrgID == orgID {
		centerID = latest.CenterID
	}
	return orgID, centerID, true
}

// SenderOptOut is a recipient's STOP to one sender address on one channel.
// Carriers and Twilio enforce it for every message from that address to
// that phone, whichever organization sends it.
type SenderOptOut struct {
	Channel   Channel
	Sender    string
	Phone     string
	At        time.Time
	InboundID string
}
