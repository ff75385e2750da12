package templates

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/bookinggw/gateway/core/sms"
)

// longServices are typical long service names, as staff type them.
var longServices = map[string]string{
	"en": "Individual counselling session for couples",
	"fr": "Coupe, couleur et brushing cheveux longs",
	"de": "Mathe-Nachhilfe Oberstufe mit Abiturvorbereitung",
	"ru": "Индивидуальная консультация семейного психолога",
	"pl": "Indywidualna konsultacja psychologa rodzinnego",
}

// smsData is typical data of an SMS: the sample's people, a long service
// name, a short client link, a visit in month m.
func smsData(loc string, m time.Month) Data {
	d := Sample(loc)
	d.SMS = true
	d.ServiceName = longServices[loc]
	d.CancelURL, d.ConfirmURL = "https://gw.example.com/a/Zk3p9Qx7Lm2Rt8Vw", "https://gw.example.com/a/Zk3p9Qx7Lm2Rt8Vw"
	d.PaymentURL = "https://pay.example.com/p/Zk3p9Qx7"
	d.Start = time.Date(2027, m, 28, 14, 30, 0, 0, d.Timezone)
	d.PreviousStart = d.Start.AddDate(0, 0, -3)
	return d
}

// segments is how many SMS segments each client kind takes, at most, in
// each locale, with smsData in any month: a text change that adds a
// segment fails here, and one that saves a segment updates the table.
var segments = map[string]map[string]int{
	"en": {KindRequested: 2, KindAccepted: 2, KindRejected: 2, KindCancelled: 2, KindMoved: 3, KindCompleted: 2, KindReminder: 2,
		KindReminderConfirm: 2, KindReplyConfirmed: 1, KindReplyCancelled: 2, KindHelp: 2, KindPaymentLink: 2, KindPaymentReceipt: 2,
		KindStopNotice: 2, KindSeries: 2, KindSeriesMoved: 2, KindWaitlistOffer: 2},
	"fr": {KindRequested: 2, KindAccepted: 2, KindRejected: 2, KindCancelled: 2, KindMoved: 3, KindCompleted: 2, KindReminder: 3,
		KindReminderConfirm: 2, KindReplyConfirmed: 1, KindReplyCancelled: 2, KindHelp: 2, KindPaymentLink: 2, KindPaymentReceipt: 2,
		KindStopNotice: 2, KindSeries: 2, KindSeriesMoved: 2, KindWaitlistOffer: 2},
	"de": {KindRequested: 2, KindAccepted: 2, KindRejected: 2, KindCancelled: 2, KindMoved: 3, KindCompleted: 3, KindReminder: 3,
		KindReminderConfirm: 2, KindReplyConfirmed: 1, KindReplyCancelled: 2, KindHelp: 2, KindPaymentLink: 2, KindPaymentReceipt: 2,
		KindStopNotice: 2, KindSeries: 2, KindSeriesMoved: 2, KindWaitlistOffer: 3},
	"ru": {KindRequested: 5, KindAccepted: 5, KindRejected: 5, KindCancelled: 4, KindMoved: 5, KindCompleted: 5, KindReminder: 5,
		KindReminderConfirm: 5, KindReplyConfirmed: 2, KindReplyCancelled: 3, KindHelp: 4, KindPaymentLink: 4, KindPaymentReceipt: 4,
		KindStopNotice: 4, KindSeries: 5, KindSeriesMoved: 5, KindWaitlistOffer: 5},
	"pl": {KindRequested: 5, KindAccepted: 5, KindRejected: 4, KindCancelled: 4, KindMoved: 6, KindCompleted: 5, KindReminder: 5,
		KindReminderConfirm: 5, KindReplyConfirmed: 2, KindReplyCancelled: 3, KindHelp: 4, KindPaymentLink: 4, KindPaymentReceipt: 4,
		KindStopNotice: 4, KindSeries: 5, KindSeriesMoved: 5, KindWaitlistOffer: 5},
}

func TestSMSSegmentsPerLocale(t *testing.T) {
	s := mustSet(t)
	var table strings.Builder
	for _, loc := range Locales() {
		fmt.Fprintf(&table, "\t%q: {", loc)
		for _, kind := range smsKinds {
			worst, enc := 0, sms.Encoding("")
			for m := time.January; m <= time.December; m++ {
				msg, err := s.Render(kind, loc, smsData(loc, m), nil)
				if err != nil {
					t.Fatal(err)
				}
				info := sms.Analyze(msg.Text)
				if gsm7Locales[loc] && info.Encoding != sms.GSM7 {
					t.Errorf("%s/%s in %s: %s", loc, kind, m, info.Encoding)
				}
				if info.Segments > worst {
					worst, enc = info.Segments, info.Encoding
				}
			}
			fmt.Fprintf(&table, "%s: %d, ", kindConst[kind], worst)
			if want := segments[loc][kind]; worst != want {
				t.Errorf("%s/%s: %d segments (%s), the table says %d", loc, kind, worst, enc, want)
			}
		}
		table.WriteString("},\n")
	}
	if t.Failed() {
		t.Logf("measured:\n%s", table.String())
	}
}

var kindConst = map[string]string{KindRequested: "KindRequested", KindAccepted: "KindAccepted", KindRejected: "KindRejected",
	KindCancelled: "KindCancelled", KindMoved: "KindMoved", KindCompleted: "KindCompleted", KindReminder: "KindReminder",
	KindReminderConfirm: "KindReminderConfirm", KindReplyConfirmed: "KindReplyConfirmed", KindReplyCancelled: "KindReplyCancelled",
	KindHelp: "KindHelp", KindPaymentLink: "KindPaymentLink", KindPaymentReceipt: "KindPaymentReceipt", KindStopNotice: "KindStopNotice",
	KindSeries: "KindSeries", KindSeriesMoved: "KindSeriesMoved", KindWaitlistOffer: "KindWaitlistOffer"}

// TestShortLinkSavesSegments: the signed link of before (about 110
// characters) cost Russian and Polish reminders a segment the short one
// does not; and "août" cost a French August SMS its GSM-7.
func TestShortLinkSavesSegments(t *testing.T) {
	s := mustSet(t)
	for _, loc := range []string{"ru", "pl"} {
		d := smsData(loc, time.March)
		short, _ := s.Render(KindReminder, loc, d, nil)
		d.CancelURL = "https://gw.example.com/a/AAAAAGpx4lBtMDFhMjMzYjAtZmIxZi03NjY2LWE5NDItMjBkODM2ZTZkN2FkP2_cAf5v9BAA25eSthpUrA"
		long, _ := s.Render(KindReminder, loc, d, nil)
		if a, b := sms.Analyze(short.Text).Segments, sms.Analyze(long.Text).Segments; a >= b {
			t.Errorf("%s reminder: %d segments with a short link, %d with a signed one", loc, a, b)
		}
	}
	d := smsData("fr", time.August)
	d.SMS = false
	email, _ := s.Render(KindReminder, "fr", d, nil)
	d.SMS = true
	text, _ := s.Render(KindReminder, "fr", d, nil)
	if e, m := sms.Analyze(email.Text), sms.Analyze(text.Text); e.Encoding != sms.UCS2 || m.Encoding != sms.GSM7 || m.Segments >= e.Segments {
		t.Errorf("fr August: email text %s/%d, SMS %s/%d", e.Encoding, e.Segments, m.Encoding, m.Segments)
	}
}
