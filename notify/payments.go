package notify

import (
	"context"
	"fmt"

	"github.com/bookinggw/gateway/core"
)

// payLink is a payment link with what its message needs.
type payLink struct {
	res              core.LinkResult
	clientID, apptID string
	purpose          string
	amount           int64
}

// SendPaymentLink sends the client a link to pay an appointment's balance
// (or a package sale's): the link PaymentLink gives, in a message.
// The messaging service has checked the caller and the object.
func (d *Dispatcher) SendPaymentLink(ctx context.Context, orgID string, pp core.PaymentPurpose, id string) (core.LinkResult, error) {
	l, err := d.paymentLink(ctx, orgID, pp, id)
	if err != nil {
		return core.LinkResult{}, err
	}
	data := &core.Notice{EventRefs: core.EventRefs{ClientID: l.clientID, AppointmentID: l.apptID}, PaymentURL: l.res.URL}
	if l.apptID == "" {
		data.SaleID = id
	}
	e := synthetic("paylink:"+l.purpose+":"+id+":"+fmt.Sprint(l.amount), orgID, data)
	m, err := d.build(ctx, nil, e, core.Intent{Kind: core.KindPaymentLink, Recipient: core.Recipient{Kind: "client", ID: l.clientID}}, nil, "")
	if err != nil {
		return core.LinkResult{}, err
	}
	res := l.res
	if res.Message, err = d.insert(ctx, m); err != nil {
		return core.LinkResult{}, err
	}
	return res, nil
}

// PaymentLink makes (or finds) the link to pay an appointment's balance
// (or a package sale's) and sends nothing: the caller shows it (the bot's
// button is the delivery there).
// The caller has checked the object is the client's or staff's to pay.
func (d *Dispatcher) PaymentLink(ctx context.Context, orgID string, pp core.PaymentPurpose, id string) (core.LinkResult, error) {
	l, err := d.paymentLink(ctx, orgID, pp, id)
	return l.res, err
}

// paymentLink is the link both paths share. A service with its own static
// link gives that; else a Stripe Checkout link is created once per object
// and amount, so asking again (a retry, a double click, the bot after
// staff sent it) gives the same link.
func (d *Dispatcher) paymentLink(ctx context.Context, orgID string, pp core.PaymentPurpose, id string) (payLink, error) {
	purpose := string(pp)
	var clientID, desc, currency, apptID string
	var amount int64
	static := ""
	switch purpose {
	case "appointment":
		a, err := d.c.Store.GetAppointment(ctx, orgID, id)
		if err != nil {
			return payLink{}, err
		}
		sv, err := d.c.Store.GetService(ctx, orgID, a.ServiceID)
		if err != nil {
			return payLink{}, err
		}
		clientID, desc, currency, amount, apptID, static = a.ClientID, sv.Name, a.Currency, a.BalanceMinor, a.ID, sv.PaymentLink
	case "package_sale":
		sale, err := d.c.Store.GetSale(ctx, orgID, id)
		if err != nil {
			return payLink{}, err
		}
		pk, err := d.c.Store.GetPackage(ctx, orgID, sale.PackageID)
		if err != nil {
			return payLink{}, err
		}
		clientID, desc, currency, amount = sale.ClientID, pk.Name, sale.Currency, sale.BalanceMinor
	default:
		return payLink{}, core.NotFound("payment purpose")
	}
	out := payLink{clientID: clientID, apptID: apptID, purpose: purpose, amount: amount}
	switch {
	case static != "":
		out.res.URL, out.res.Static = static, true
	case amount <= 0:
		return payLink{}, core.Conflict("nothing is left to pay")
	case d.c.Links == nil:
		return payLink{}, core.Conflict("online payments are not configured (STRIPE_SECRET_KEY); set a static payment link on the service or record payments by hand")
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
				return payLink{}, fmt.Errorf("payment link: %w", err)
			}
			l, err = d.c.Store.SavePaymentLink(ctx, core.StoredLink{ID: core.NewID(), OrgID: orgID, Purpose: purpose, RefID: id,
				AmountMinor: amount, Currency: currency, ProviderID: pl.ProviderID, URL: pl.URL, Ref: ref, CreatedAt: d.now()})
			if err != nil {
				return payLink{}, err
			}
		} else if err != nil {
			return payLink{}, err
		}
		out.res.URL = l.URL
	}
	return out, nil
}
