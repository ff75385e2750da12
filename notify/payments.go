package notify

import (
	"context"
	"fmt"

	"github.com/bookinggw/gateway/core"
)

// LinkResult is a payment link and the message that carries it.
type LinkResult struct {
	URL     string       `json:"url"`
	Static  bool         `json:"static" doc:"the service's own external payment link, sent as is"`
	Message core.Message `json:"message"`
}

// SendPaymentLink sends the client a link to pay an appointment's balance
// (or a package sale's). A service with its own static link sends that; else
// a Stripe Checkout link is created once per object and amount, so asking
// again (a retry, a double click) sends the same link.
func (d *Dispatcher) SendPaymentLink(ctx context.Context, p core.Principal, purpose, id string,
	getAppt func(ctx context.Context, p core.Principal, id string) (core.Appointment, error)) (LinkResult, error) {
	if err := p.Require(core.RoleDirector, core.RoleAdministrator, core.RoleSpecialist); err != nil {
		return LinkResult{}, err
	}
	var clientID, desc, currency, apptID string
	var amount int64
	static := ""
	switch purpose {
	case "appointment":
		a, err := getAppt(ctx, p, id)
		if err != nil {
			return LinkResult{}, err
		}
		sv, err := d.c.Store.GetService(ctx, p.OrgID, a.ServiceID)
		if err != nil {
			return LinkResult{}, err
		}
		clientID, desc, currency, amount, apptID, static = a.ClientID, sv.Name, a.Currency, a.BalanceMinor, a.ID, sv.PaymentLink
	case "package_sale":
		sale, err := d.c.Store.GetSale(ctx, p.OrgID, id)
		if err != nil {
			return LinkResult{}, err
		}
		pk, err := d.c.Store.GetPackage(ctx, p.OrgID, sale.PackageID)
		if err != nil {
			return LinkResult{}, err
		}
		clientID, desc, currency, amount = sale.ClientID, pk.Name, sale.Currency, sale.BalanceMinor
	default:
		return LinkResult{}, core.NotFound("payment purpose")
	}
	res := LinkResult{}
	switch {
	case static != "":
		res.URL, res.Static = static, true
	case amount <= 0:
		return LinkResult{}, core.Conflict("nothing is left to pay")
	case d.c.Links == nil:
		return LinkResult{}, core.Conflict("online payments are not configured (STRIPE_SECRET_KEY); set a static payment link on the service or record payments by hand")
	default:
		l, err := d.c.Store.FindPaymentLink(ctx, p.OrgID, purpose, id, amount)
		if core.ErrorCode(err) == core.CodeNotFound {
			key := fmt.Sprintf("%s:%s:%s:%d", p.OrgID, purpose, id, amount)
			pl, err := d.c.Links.CreateLink(ctx, core.LinkRequest{OrgID: p.OrgID, ClientID: clientID, Purpose: purpose, RefID: id,
				AmountMinor: amount, Currency: currency, Description: desc, IdempotencyKey: key,
				SuccessURL: d.c.PublicURL + "/paid", CancelURL: d.c.PublicURL + "/paid?cancelled=1"})
			if err != nil {
				return LinkResult{}, fmt.Errorf("payment link: %w", err)
			}
			l, err = d.c.Store.SavePaymentLink(ctx, core.StoredLink{ID: core.NewID(), OrgID: p.OrgID, Purpose: purpose, RefID: id,
				AmountMinor: amount, Currency: currency, ProviderID: pl.ProviderID, URL: pl.URL, CreatedAt: d.now()})
			if err != nil {
				return LinkResult{}, err
			}
		} else if err != nil {
			return LinkResult{}, err
		}
		res.URL = l.URL
	}
	data := map[string]string{"client_id": clientID, "payment_url": res.URL}
	if apptID != "" {
		data["appointment_id"] = apptID
	} else {
		data["sale_id"] = id
	}
	e := synthetic("paylink:"+purpose+":"+id+":"+fmt.Sprint(amount), p.OrgID, data)
	m, err := d.build(ctx, e, core.Intent{Kind: core.KindPaymentLink, Recipient: core.Recipient{Kind: "client", ID: clientID}}, nil, "")
	if err != nil {
		return LinkResult{}, err
	}
	if res.Message, err = d.insert(ctx, m); err != nil {
		return LinkResult{}, err
	}
	return res, nil
}
