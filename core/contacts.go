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

// shownTo returns a filter of what is shown to p: when client contacts
// are hidden from p, blank removes them from each item; errors pass
// through.
func shownTo[T any](ctx context.Context, pol Policy, dir interface {
	GetOrganization(ctx context.Context, orgID string) (Organization, error)
}, p Principal, blank func(*T)) func([]T, error) ([]T, error) {
	return func(items []T, err error) ([]T, error) {
		if err != nil {
			return items, err
		}
		hide, err := hidesContacts(ctx, pol, dir, p)
		if hide {
			for i := range items {
				blank(&items[i])
			}
		}
		return items, err
	}
}

// shownClients blanks the phones and emails of clients whose contacts p
// may not see.
func (s *ClientService) shownClients(ctx context.Context, p Principal) func([]Client, error) ([]Client, error) {
	return shownTo(ctx, s.policy, s.store, p, func(c *Client) { c.Phone, c.Email = "", "" })
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

// shownMessages blanks the addresses of client messages for whom client
// contacts are hidden.
func (s *MessagingService) shownMessages(ctx context.Context, p Principal) func([]Message, error) ([]Message, error) {
	return shownTo(ctx, s.policy, s.store, p, func(m *Message) {
		if m.RecipientKind == "client" {
			m.To = ""
		}
	})
}

// shownInbound blanks the sender address of client messages for whom
// client contacts are hidden.
func (s *MessagingService) shownInbound(ctx context.Context, p Principal) func([]Inbound, error) ([]Inbound, error) {
	return shownTo(ctx, s.policy, s.store, p, func(in *Inbound) { in.From = "" })
}
