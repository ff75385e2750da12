package twilio

// permanentDelivery lists the Twilio error codes of an asynchronous failure
// (a status callback "undelivered" or "failed" with ErrorCode) after which
// sending the same message on the same channel again cannot reach the
// recipient, so the message falls back to the recipient's next channel.
// The carrier has already retried by the time it reports these.
var permanentDelivery = map[string]string{
	"30003": "unreachable destination handset (switched off or out of coverage past the carrier's retries)",
	"30004": "message blocked (the recipient blocked the sender, or the carrier blocks the number)",
	"30005": "unknown destination handset (the number does not exist)",
	"30006": "landline or unreachable carrier",
	"30007": "filtered by the carrier as spam: the same text will be filtered again",
	"30034": "sender number not registered for A2P 10DLC: no SMS from it reaches US handsets",
	"21610": "the recipient replied STOP (unsubscribed)",
	"21614": "not a mobile number",
	"63003": "WhatsApp: the number has no WhatsApp account",
	"63024": "WhatsApp: invalid message recipient",
}

// PermanentDeliveryError reports whether a status callback's ErrorCode
// means the recipient cannot be reached on this channel. Other codes
// (30001 queue overflow, 30008 unknown error, 30022 throughput exceeded,
// account problems) are not the recipient's and do not move the message.
func PermanentDeliveryError(code string) bool {
	_, ok := permanentDelivery[code]
	return ok
}
