package twilio

import (
	"context"
	"errors"
	"time"

	openapi "github.com/twilio/twilio-go/rest/api/v2010"
	"github.com/twilio/twilio-go/twiml"

	"github.com/bookinggw/gateway/core"
)

var _ core.Voice = (*Sender)(nil)

// callEvents are the states a placed call reports to its StatusCallback.
// Twilio takes them as repeated StatusCallbackEvent parameters, not one
// space-separated field (a single field is read as one unknown event and
// only "completed" is reported); twilio-go's []string setter sends them so.
var callEvents = []string{"initiated", "ringing", "answered", "completed"}

// PlaceCall is click-to-call through the Calls API: Twilio rings c.To (the
// staff member's phone) and, when it is answered, dials c.Bridge (the
// client) showing c.CallerID. It returns the call's SID.
func (s *Sender) PlaceCall(ctx context.Context, c core.VoiceCall) (string, error) {
	doc, err := twiml.Voice([]twiml.Element{&twiml.VoiceDial{CallerId: c.CallerID, InnerElements: []twiml.Element{
		&twiml.VoiceNumber{PhoneNumber: c.Bridge}}}})
	if err != nil {
		return "", err
	}
	p := &openapi.CreateCallParams{}
	p.SetTo(c.To)
	p.SetFrom(c.From)
	p.SetTwiml(doc)
	if c.StatusCallback != "" {
		p.SetStatusCallback(c.StatusCallback)
		p.SetStatusCallbackMethod("POST")
		p.SetStatusCallbackEvent(callEvents)
	}
	ex := &exchange{}
	call, err := s.restClient(ctx, ex).Api.CreateCall(p)
	if err != nil {
		return "", s.classify(ctx, err, ex)
	}
	if call == nil || call.Sid == nil {
		return "", errors.New("twilio: response has no call sid")
	}
	return *call.Sid, nil
}

// FetchCall reads a call's current state (stuck-call reconciliation).
func (s *Sender) FetchCall(ctx context.Context, sid string) (core.VoiceState, error) {
	ex := &exchange{}
	call, err := s.restClient(ctx, ex).Api.FetchCall(sid, &openapi.FetchCallParams{})
	if err != nil {
		return core.VoiceState{}, s.classify(ctx, err, ex)
	}
	var st core.VoiceState
	if call.Status != nil {
		st.Status = core.CallStatus(*call.Status)
	}
	if call.Duration != nil {
		st.DurationSec = atoi(*call.Duration)
	}
	st.StartedAt, st.EndedAt = rfc1123(call.StartTime), rfc1123(call.EndTime)
	return st, nil
}

func atoi(s string) int {
	n := 0
	for _, r := range s {
		if r < '0' || r > '9' {
			return 0
		}
		n = n*10 + int(r-'0')
	}
	return n
}

func rfc1123(v *string) *time.Time {
	if v == nil {
		return nil
	}
	t, err := time.Parse(time.RFC1123Z, *v)
	if err != nil {
		return nil
	}
	t = t.UTC()
	return &t
}
