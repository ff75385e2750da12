package notify

import (
	"context"

	"github.com/bookinggw/gateway/core"
	"github.com/bookinggw/gateway/templates"
)

// offerData fills the message offering a freed time to a waiting client:
// the time, service, specialist and centre offered, and the signed link
// that books it (valid until the offered start).
func (d *Dispatcher) offerData(ctx context.Context, e core.Event, data *templates.Data, center *core.Center) error {
	o, err := core.OfferOf(e)
	if err != nil {
		return err
	}
	st := d.c.Store
	data.Start = o.Start
	sv, err := st.GetService(ctx, e.OrgID, o.ServiceID)
	if err != nil {
		return err
	}
	data.ServiceName, data.DurationMin = sv.Name, sv.DurationMin
	sp, err := st.GetStaff(ctx, e.OrgID, o.SpecialistID)
	if err != nil {
		return err
	}
	data.SpecialistName = sp.Name
	if o.CenterID != "" {
		if *center, err = st.GetCenter(ctx, e.OrgID, o.CenterID); err != nil {
			return err
		}
		data.CenterName, data.Location = center.Name, center.Address
	}
	if len(d.c.LinkSecret) > 0 {
		data.OfferURL = d.c.PublicURL + "/a/" + core.SignLink(d.c.LinkSecret, e.ID, core.LinkWaitlistOffer, o.Start)
	}
	return nil
}
