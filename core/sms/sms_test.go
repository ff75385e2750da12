package sms

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf16"
)

func TestAnalyze(t *testing.T) {
	gsm := func(n int) string { return strings.Repeat("a", n) }
	cyr := func(n int) string { return strings.Repeat("ж", n) }
	tests := []struct {
		name string
		text string
		want Info
	}{
		{"empty", "", Info{GSM7, 0, 0, 160}},
		{"hello", "Hello", Info{GSM7, 1, 5, 160}},
		{"160 GSM", gsm(160), Info{GSM7, 1, 160, 160}},
		{"161 GSM", gsm(161), Info{GSM7, 2, 161, 153}},
		{"306 GSM", gsm(306), Info{GSM7, 2, 306, 153}},
		{"307 GSM", gsm(307), Info{GSM7, 3, 307, 153}},
		{"70 Cyrillic", cyr(70), Info{UCS2, 1, 70, 70}},
		{"71 Cyrillic", cyr(71), Info{UCS2, 2, 71, 67}},
		{"134 Cyrillic", cyr(134), Info{UCS2, 2, 134, 67}},
		{"135 Cyrillic", cyr(135), Info{UCS2, 3, 135, 67}},
		{"euro counts 2", "€", Info{GSM7, 1, 2, 160}},
		{"every extension char counts 2", "^{}\\[]~|€\f", Info{GSM7, 1, 20, 160}},
		{"80 euros fit one segment", strings.Repeat("€", 80), Info{GSM7, 1, 160, 160}},
		{"81 euros", strings.Repeat("€", 81), Info{GSM7, 2, 162, 153}},
		{"one emoji forces UCS-2", "Hello 😀", Info{UCS2, 1, 8, 70}},
		{"emoji is 2 units", strings.Repeat("😀", 35), Info{UCS2, 1, 70, 70}},
		// 152 septets, then € would straddle the 153 boundary: it moves to
		// part 2 (2+151 = 153), leaving 1 septet for part 3.
		{"escape pair never straddles", gsm(152) + "€" + gsm(152), Info{GSM7, 3, 306, 153}},
		{"escape pair fits exactly", gsm(151) + "€" + gsm(153), Info{GSM7, 2, 306, 153}},
		// 66 units, then an emoji would straddle the 67 boundary.
		{"surrogate pair never straddles", cyr(66) + "😀" + cyr(66), Info{UCS2, 3, 134, 67}},
		{"surrogate pair fits exactly", cyr(65) + "😀" + cyr(67), Info{UCS2, 2, 134, 67}},
		{"French with é è à stays GSM-7", "Votre rendez-vous est confirmé, à très vite", Info{GSM7, 1, 43, 160}},
		{"French é è ù à É Ç", "éèùàÉÇ", Info{GSM7, 1, 6, 160}},
		{"lowercase ç is not GSM-7", "Ça a été reçu", Info{UCS2, 1, 13, 70}},
		{"ê is not GSM-7", "fête", Info{UCS2, 1, 4, 70}},
		{"ô is not GSM-7", "hôtel", Info{UCS2, 1, 5, 70}},
		{"À is not GSM-7", "À demain", Info{UCS2, 1, 8, 70}},
		{"German umlauts and ß", "Grüße aus München, Öl, Ärger, Übung", Info{GSM7, 1, 35, 160}},
		{"Greek capitals of the table", "ΔΦΓΛΩΠΨΣΘΞ", Info{GSM7, 1, 10, 160}},
		{"Greek small letters are not", "α", Info{UCS2, 1, 1, 70}},
		{"symbols of the table", "@£$¥¤¡¿§_", Info{GSM7, 1, 9, 160}},
		{"backtick is not GSM-7", "`", Info{UCS2, 1, 1, 70}},
		{"tab is not GSM-7", "a\tb", Info{UCS2, 1, 3, 70}},
		{"no-break space is not GSM-7", "12,50\u00a0€", Info{UCS2, 1, 7, 70}},
		{"typographic apostrophe is not GSM-7", "it’s", Info{UCS2, 1, 4, 70}},
		{"CR LF are GSM-7", "a\r\nb", Info{GSM7, 1, 4, 160}},
		{"invalid UTF-8 is UCS-2", "a\xffb", Info{UCS2, 1, 3, 70}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Analyze(tt.text); got != tt.want {
				t.Errorf("Analyze(%q) = %+v, want %+v", tt.text, got, tt.want)
			}
		})
	}
}

func TestSplit(t *testing.T) {
	if got := Split(""); got != nil {
		t.Errorf("Split(\"\") = %q, want nil", got)
	}
	if got := Split("Hi"); len(got) != 1 || got[0] != "Hi" {
		t.Errorf("Split(Hi) = %q", got)
	}
	gsm := strings.Repeat("a", 152)
	parts := Split(gsm + "€" + gsm)
	if len(parts) != 3 || parts[0] != gsm || parts[1] != "€"+gsm[:151] || parts[2] != "a" {
		t.Errorf("escape split: lens %d, %q", len(parts), parts)
	}
	cyr := strings.Repeat("ж", 66)
	parts = Split(cyr + "😀" + cyr)
	if len(parts) != 3 || parts[0] != cyr || !strings.HasPrefix(parts[1], "😀") || parts[2] != "ж" {
		t.Errorf("surrogate split: %q", parts)
	}
	parts = Split(strings.Repeat("b", 307))
	if len(parts) != 3 || len(parts[0]) != 153 || len(parts[1]) != 153 || len(parts[2]) != 1 {
		t.Errorf("307 GSM split lens: %d", len(parts))
	}
}

// TestSplitProperties checks, on random bodies mixing ASCII, extension
// characters, accented letters, Cyrillic and emoji, that the parts join back
// to the body, that their number is Analyze's count, that each fits its
// segment, and that no part holds a broken surrogate pair.
func TestSplitProperties(t *testing.T) {
	alphabets := [][]rune{
		[]rune("abc xyz,.!?0123456789éèÄß"),
		[]rune("abc{}[]€^~|\\é"),
		[]rune("abcжщЯ"),
		[]rune("ab😀ж🎉é"),
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 2000 {
		alpha := alphabets[i%len(alphabets)]
		n := rng.IntN(420)
		var b strings.Builder
		for range n {
			b.WriteRune(alpha[rng.IntN(len(alpha))])
		}
		text := b.String()
		info := Analyze(text)
		parts := Split(text)
		if strings.Join(parts, "") != text {
			t.Fatalf("parts of %q do not join back", text)
		}
		if len(parts) != info.Segments {
			t.Fatalf("%q: %d parts, Analyze says %d", text, len(parts), info.Segments)
		}
		total := 0
		for _, p := range parts {
			u := 0
			if info.Encoding == GSM7 {
				for _, r := range p {
					u += gsmSeptets(r)
				}
			} else {
				u = len(utf16.Encode([]rune(p)))
			}
			if u > info.PerSegment || u == 0 {
				t.Fatalf("%q: part %q has %d units, per segment %d", text, p, u, info.PerSegment)
			}
			total += u
		}
		if total != info.Units {
			t.Fatalf("%q: parts hold %d units, Analyze says %d", text, total, info.Units)
		}
		if info.Encoding == UCS2 && info.Units != len(utf16.Encode([]rune(text))) {
			t.Fatalf("%q: UCS-2 units %d, UTF-16 length %d", text, info.Units, len(utf16.Encode([]rune(text))))
		}
	}
}

func TestIsGSM7(t *testing.T) {
	for _, r := range "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà^{}\\[~]|€\f" {
		if !IsGSM7(r) {
			t.Errorf("%q should be GSM-7", r)
		}
	}
	for _, r := range "`\t\x1bçêôâîûëïœ«»’“”–—…\u00a0\u202fжąłó😀" {
		if IsGSM7(r) {
			t.Errorf("%q should not be GSM-7", r)
		}
	}
}

func BenchmarkAnalyze(b *testing.B) {
	text := strings.Repeat("Hello Anna, your appointment is confirmed. ", 8)
	for b.Loop() {
		Analyze(text)
	}
}
