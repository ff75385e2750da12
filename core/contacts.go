package core

import "context"

// SeesContacts reports whether p sees clients' phone numbers and emails:
// everyone does, except marketers of an organization that hides them.
// Hiding is a matter of what staff are shown: messages (and campaigns)
// reach clients as before, because the pipeline reads the store itself.
func (Policy) SeesContacts(p Principal, o Organization) bool {
	return p.Role != RoleMarketer || !o.HideContactsFromMarketers
}

// errContactsHidden refuses what would show or change a hidden contact.
func errContactsHidden() error {
	return Forbidden("client phone numbers and emails are hidden from marketers in this organization")
}

// hidesContacts reports whether clients' contacts are hidden from p; it
// reads the organization for marketers only.
func hidesContacts(ctx context.Context, pol Policy, dir interface {
	GetOrganization(ctx context.Context, orgID string) (Organization, error)
}, p Principal) (bool, error) {
	if p.Role != RoleMarketer {
		return false, nil
	}
	o, err := dir.GetOrganization(ctx, p.OrgID)
	if err != nil {
		return false, err
	}
	return !pol.SeesContacts(p, o), nil
}

// shownClients returns a filter of what is shown to p: it blanks the
// phones and emails of clients whose contacts p may not see, and passes
// errors through.
func (s *ClientService) shownClients(ctx context.Context, p Principal) func([]Client, error) ([]Client, error) {
	return func(cs []Client, err error) ([]Client, error) {
		if err != nil {
			return cs, err
		}
		hide, err := hidesContacts(ctx, s.policy, s.store, p)
		if hide {
			for i := range cs {
				cs[i].Phone, cs[i].Email = "", ""
			}
		}
		return cs, err
	}
}

// shownClient is shownClients for one client.
func (s *ClientService) shownClient(ctx context.Context, p Principal) func(Client, error) (Client, error) {
	return func(c Client, err error) (Client, error) {
		l, err := s.shownClients(ctx, p)([]Client{c}, err)
		return l[0], err
	}
}

// checkContactSearch refuses a search by phone to whom phones are hidden,
// and makes a text search match names only.
func (s *ClientService) checkContactSearch(ctx context.Context, p Principal, q *ClientQuery) error {
	hide, err := hidesContacts(ctx, s.policy, s.store, p)
	if err != nil || !hide {
		return err
	}
	if len(q.PhoneDigits) > 0 {
		return errContactsHidden()
	}
	q.NameOnly = true
	return nil
}

// keepHiddenContacts makes a write by someone contacts are hidden from
// keep the client's phone and email: they may not change them, and their
// empty fields (what they were shown) leave them as they are.
func (s *ClientService) keepHiddenContacts(ctx context.Context, p Principal, cur Client, in *ClientInput) error {
	hide, err := hidesContacts(ctx, s.policy, s.store, p)
	if err != nil || !hide {
		return err
	}
	if in.Phone != "" && in.Phone != cur.Phone || in.Email != "" && in.Email != cur.Email {
		return errContactsHidden()
	}
	in.Phone, in.Email = cur.Phone, cur.Email
	return nil
}

// shownMessages returns a filter that blanks the addresses of client
// messages for whom client contacts are hidden.
func (s *MessagingService) shownMessages(ctx context.Context, p Principal) func([]Message, error) ([]Message, error) {
	return func(ms []Message, err error) ([]Message, error) {
		if err != nil {
			return ms, err
		}
		hide, err := hidesContacts(ctx, s.policy, s.store, p)
		if hide {
			for i := range ms {
				if ms[i].RecipientKind == "client" {
					ms[i].To = ""
				}
			}
		}
		return ms, err
	}
}

// shownInbound returns a filter that blanks the sender address of client
// messages for whom client contacts are hidden.
func (s *MessagingService) shownInbound(ctx context.Context, p Principal) func([]Inbound, error) ([]Inbound, error) {
	return func(in []Inbound, err error) ([]Inbound, error) {
		if err != nil {
			return in, err
		}
		hide, err := hidesContacts(ctx, s.policy, s.store, p)
		if hide {
			for i := range in {
				in[i].From = ""
			}
		}
		return in, err
	}
}
