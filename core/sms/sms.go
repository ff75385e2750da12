// Package sms computes the facts of an SMS body that cost money: its
// encoding (GSM-7 or UCS-2), its length in encoding units and the number of
// segments a carrier bills for it. Campaign previews and the outbox use it.
//
// The rules are those of GSM 03.38 and 3GPP TS 23.040 concatenation:
//
//   - A body made only of characters of the GSM 7-bit default alphabet and its
//     extension table is sent as GSM-7. Extension characters
//     (form feed ^ { } \ [ ] ~ | €) take two septets (an escape and the
//     character).
//   - Any other character (Cyrillic, emoji, ç, ê, ô, a tab, a backtick, a
//     non-breaking space, typographic quotes…) makes the whole body UCS-2,
//     counted in UTF-16 code units: a character outside the Basic
//     Multilingual Plane (most emoji) takes two.
//   - One segment carries 160 septets or 70 UCS-2 units. A longer body is
//     concatenated, and each part then carries 153 septets or 67 units (the
//     rest is the concatenation header).
//   - A part never ends between the two septets of an extension character
//     or between the two halves of a surrogate pair: such a character moves
//     to the next part whole, which can make a body one segment longer than
//     a plain division says.
//
// An empty body has 0 segments: there is nothing to send, and a preview
// should show it as such rather than bill one segment for it (some
// providers count an empty body as one).
//
// Segments are counted on code points; a character made of several code
// points (an emoji with a skin tone, a flag) may be split between two parts,
// as carriers do.
package sms

import "unicode/utf8"

// Encoding is the character encoding an SMS body is sent in.
type Encoding string

const (
	GSM7 Encoding = "GSM-7"
	UCS2 Encoding = "UCS-2"
)

// Segment sizes, in septets (GSM-7) or UTF-16 code units (UCS-2).
const (
	GSM7Single = 160
	GSM7Multi  = 153
	UCS2Single = 70
	UCS2Multi  = 67
)

// Info is what Analyze reports about a body.
type Info struct {
	Encoding Encoding
	// Segments is the number of parts billed; 0 for an empty body.
	Segments int
	// Units is the body's length in septets for GSM-7 (extension
	// characters count 2) or UTF-16 code units for UCS-2 (characters
	// outside the BMP count 2).
	Units int
	// PerSegment is the capacity of one part: 160 or 70 for a single
	// segment (or an empty body), 153 or 67 when concatenated.
	PerSegment int
}

// Analyze returns the encoding, length and segment count of text.
func Analyze(text string) Info {
	enc := encodingOf(text)
	single, multi := limits(enc)
	units := 0
	for _, r := range text {
		units += cost(enc, r)
	}
	info := Info{Encoding: enc, Units: units, PerSegment: single}
	switch {
	case units == 0:
		return info
	case units <= single:
		info.Segments = 1
		return info
	}
	info.PerSegment = multi
	info.Segments = len(cuts(text, enc, multi)) + 1
	return info
}

// Split returns the texts of the parts text is sent as, in order; joined
// they give text back. An empty text gives no parts.
func Split(text string) []string {
	info := Analyze(text)
	switch info.Segments {
	case 0:
		return nil
	case 1:
		return []string{text}
	}
	parts := make([]string, 0, info.Segments)
	start := 0
	for _, at := range cuts(text, info.Encoding, info.PerSegment) {
		parts = append(parts, text[start:at])
		start = at
	}
	return append(parts, text[start:])
}

// IsGSM7 reports whether r can be sent in GSM-7 (default alphabet or
// extension table).
func IsGSM7(r rune) bool { return gsmSeptets(r) > 0 }

// cuts returns the byte offsets where a new part starts, packing whole
// characters greedily into parts of per units.
func cuts(text string, enc Encoding, per int) []int {
	var at []int
	used := 0
	for i, r := range text {
		c := cost(enc, r)
		if used+c > per {
			at = append(at, i)
			used = 0
		}
		used += c
	}
	return at
}

func limits(enc Encoding) (single, multi int) {
	if enc == GSM7 {
		return GSM7Single, GSM7Multi
	}
	return UCS2Single, UCS2Multi
}

func cost(enc Encoding, r rune) int {
	if enc == GSM7 {
		return gsmSeptets(r)
	}
	if r > 0xFFFF && r <= utf8.MaxRune {
		return 2 // a surrogate pair
	}
	return 1
}

func encodingOf(text string) Encoding {
	for _, r := range text {
		if gsmSeptets(r) == 0 {
			return UCS2
		}
	}
	return GSM7
}

// gsmSeptets is the number of septets r takes in GSM-7, or 0 when r is
// not representable.
func gsmSeptets(r rune) int {
	if r < 0x80 {
		return int(asciiSeptets[r])
	}
	switch r {
	case '€':
		return 2
	case '£', '¥', 'è', 'é', 'ù', 'ì', 'ò', 'Ç', 'Ø', 'ø', 'Å', 'å',
		'Δ', 'Φ', 'Γ', 'Λ', 'Ω', 'Π', 'Ψ', 'Σ', 'Θ', 'Ξ',
		'Æ', 'æ', 'ß', 'É', '¤', '¡', 'Ä', 'Ö', 'Ñ', 'Ü', '§',
		'¿', 'ä', 'ö', 'ñ', 'ü', 'à':
		return 1
	}
	return 0
}

// asciiSeptets covers the ASCII range: printable ASCII is in the default
// alphabet except the backtick and the extension characters; of the control
// characters only LF and CR are (form feed is an extension character; the
// escape code 0x1B is not a character one can send).
var asciiSeptets = func() [128]uint8 {
	var t [128]uint8
	for r := ' '; r <= '~'; r++ {
		t[r] = 1
	}
	t['`'] = 0
	for _, r := range "^{}\\[]~|\f" {
		t[r] = 2
	}
	t['\n'], t['\r'] = 1, 1
	return t
}()
