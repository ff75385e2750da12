package bot

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/bookinggw/gateway/core"
)

// MaxCallbackData is Telegram's limit on a button's callback_data, in
// bytes (not characters: a Cyrillic letter is two).
const MaxCallbackData = 64

// payload is what a keyboard keeps: the choices made before it (so a
// button of an older message still means what it said) and, per button,
// what tapping it does.
type payload struct {
	Org     string   `json:"o,omitempty"`
	Inv     string   `json:"i,omitempty"`
	Spec    string   `json:"sp,omitempty"`
	Svc     string   `json:"sv,omitempty"`
	Day     string   `json:"d,omitempty"`
	Start   int64    `json:"t,omitempty"`
	Appt    string   `json:"a,omitempty"`
	Once    bool     `json:"once,omitempty"`
	Choices []choice `json:"c"`
}

type choice struct {
	Act string `json:"a"`
	Val string `json:"v,omitempty"`
	// Org is the organization a button acts in when a keyboard mixes
	// several (a staff member on two teams: each request button is its
	// own organization's); empty: the keyboard's.
	Org string `json:"o,omitempty"`
}

func encodePayload(p payload) string {
	b, _ := json.Marshal(p)
	return string(b)
}

func decodePayload(s string) (payload, error) {
	var p payload
	err := json.Unmarshal([]byte(s), &p)
	return p, err
}

// callbackData is a button's callback_data: the keyboard's id and the
// button's index. It is refused past MaxCallbackData bytes, which
// Telegram would answer with BUTTON_DATA_INVALID for the whole message.
func callbackData(keyboardID string, n int) (string, error) {
	d := keyboardID + ":" + strconv.Itoa(n)
	if len(d) > MaxCallbackData {
		return "", fmt.Errorf("bot: callback data %q is %d bytes, more than Telegram's %d", d, len(d), MaxCallbackData)
	}
	return d, nil
}

func parseData(d string) (keyboardID string, n int, ok bool) {
	id, idx, found := strings.Cut(d, ":")
	if !found || id == "" {
		return "", 0, false
	}
	n, err := strconv.Atoi(idx)
	if err != nil || n < 0 {
		return "", 0, false
	}
	return id, n, true
}

// keyboardID names a keyboard's choices. A keyboard that may be tapped
// many times (menus, lists) is named by what it holds, so showing the
// same screen again gives the same buttons, and Telegram answers the edit
// with "message is not modified", a success; a single-use keyboard (a
// confirmation) is new each time, so an earlier confirmation that was
// used never blocks a new one.
func keyboardID(tgID string, p payload) string {
	if p.Once {
		b := make([]byte, 12)
		if _, err := rand.Read(b); err != nil {
			panic(err) // crypto/rand never fails on supported platforms
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	h := sha256.Sum256([]byte(tgID + "\x00" + encodePayload(p)))
	return base64.RawURLEncoding.EncodeToString(h[:12])
}

// codeOf is core.ErrorCode with no error as "" (ErrorCode calls nil
// internal).
func codeOf(err error) core.Code {
	if err == nil {
		return ""
	}
	return core.ErrorCode(err)
}
