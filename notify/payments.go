package notify

import (
	"context"
	"fmt"

	"github.com/bookinggw/gateway/core"
)

// SendPaymentLink sends the client a link to pay an appointment's balance
// (or a package sale's). A service with its own static link sends that; else
// a Stripe Checkout link is created once per object and amount, so asking
// again (a retry, a double click) sends the same link.
// The messaging service has checked the caller and the object.
func (d *Dispatcher) SendPaymentLink(ctx context.Context, orgID string, pp core.PaymentPurpose, id string) (core.LinkResult, error) {
	purpose := string(pp)
	var clientID, desc, currency, apptID string
	var amount int64
	static := ""
	switch purpose {
	case "appointment":
		a, err := d.c.Store.GetAppointment(ctx, orgID, id)
		if err != nil {
			return core.LinkResult{}, err
		}
		sv, err := d.c.Store.GetService(ctx, orgID, a.ServiceID)
		if err != nil {
			return core.LinkResult{}, err
		}
		clientID, desc, currency, amount, apptID, static = a.ClientID, sv.Name, a.Currency, a.BalanceMinor, a.ID, sv.PaymentLink
	case "package_sale":
		sale, err := d.c.Store.GetSale(ctx, orgID, id)
		if err != nil {
			return core.LinkResult{}, err
		}
		pk, err := d.c.Store.GetPackage(ctx, orgID, sale.PackageID)
		if err != nil {
			return core.LinkResult{}, err
		}
		clientID, desc, currency, amount = sale.ClientID, pk.Name, sale.Currency, sale.BalanceMinor
	default:
		return core.LinkResult{}, core.NotFound("payment purpose")
	}
	res := core.LinkResult{}
	switch {
	case static != "":
		res.URL, res.Static = static, true
	case amount <= 0:
		return core.LinkResult{}, core.Conflict("nothing is left to pay")
	case d.c.Links == nil:
		return core.LinkResult{}, core.Conflict("online payments are not configured (STRIPE_SECRET_KEY); set a static payment link on the service or record payments by hand")
	default:
		l, err := d.c.Store.FindPaymentLink(ctx, orgID, purpose, id, amount)
		if core.ErrorCode(err) == core.CodeNotFound {
			key := fmt.Sprintf("%s:%s:%s:%d", orgID, purpose, id, amount)
			// The result page is named by an unguessable reference; it shows
			// what the webhook recorded, never what the redirect claims.
			ref := core.PaidRef(d.c.LinkSecret, key)
			pl, err := d.c.Links.CreateLink(ctx, core.LinkRequest{OrgID: orgID, ClientID: clientID, Purpose: purpose, RefID: id,
				AmountMinor: amount, Currency: currency, Description: desc, IdempotencyKey: key,
				SuccessURL: d.c.PublicURL + "/paid/" + ref, CancelURL: d.c.PublicURL + "/paid/" + ref + "?cancelled=1"})
			if err != nil {
				return core.LinkResult{}, fmt.Errorf("payment link: %w", err)
			}
			l, err = d.c.Store.SavePaymentLink(ctx, core.StoredLink{ID: core.NewID(), OrgID: orgID, Purpose: purpose, RefID: id,
				AmountMinor: amount, Currency: currency, ProviderID: pl.ProviderID, URL: pl.URL, Ref: ref, CreatedAt: d.now()})
			if err != nil {
				return core.LinkResult{}, err
			}
		} else if err != nil {
			return core.LinkResult{}, err
		}
		res.URL = l.URL
	}
	data := &core.Notice{EventRefs: core.EventRefs{ClientID: clientID, AppointmentID: apptID}, PaymentURL: res.URL}
	if apptID == "" {
		data.SaleID = id
	}
	e := synthetic("paylink:"+purpose+":"+id+":"+fmt.Sprint(amount), orgID, data)
	m, err := d.build(ctx, nil, e, core.Intent{Kind: core.KindPaymentLink, Recipient: core.Recipient{Kind: "client", ID: clientID}}, nil, "")
	if err != nil {
		return core.LinkResult{}, err
	}
	if res.Message, err = d.insert(ctx, m); err != nil {
		return core.LinkResult{}, err
	}
	return res, nil
}
