package templates

import (
	"errors"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name  string
		kind  string
		o     Override
		field string // "" when valid
		line  int
		msg   string
	}{
		{name: "good text override", kind: KindReminder,
			o: Override{Text: "Hi {{firstname .ClientName}}, see you {{date .Start}} at {{time .Start}} ({{duration .DurationMin}}).{{with .CancelURL}} Cancel: {{.}}{{end}}{{if .PriceShown}} {{money .BalanceMinor .Currency}}{{end}} {{.Extra.reason}}"}},
		{name: "good subject and HTML", kind: KindAccepted,
			o: Override{Subject: "Confirmed: {{date .Start}}", HTML: `<p>Hello {{.ClientName}}</p>{{with .CancelURL}}<a href="{{.}}">Cancel</a>{{end}}`}},
		{name: "good whole document", kind: KindAccepted, o: Override{HTML: "<!DOCTYPE html><html><body><p>{{.ClientName}}</p></body></html>"}},
		{name: "empty override", kind: KindHelp},
		{name: "unknown field", kind: KindReminder, o: Override{Text: "Hello\n{{.Nope}}"},
			field: "text", line: 2, msg: "can't evaluate field Nope"},
		{name: "unknown field in a branch taken only without data", kind: KindReminder,
			o: Override{Text: "{{if .ClientName}}Hi{{else}}\n\n{{.Nope}}{{end}}"}, field: "text", line: 3, msg: "Nope"},
		{name: "empty if", kind: KindAccepted, o: Override{Text: "ok\n{{if}}x{{end}}"},
			field: "text", line: 2, msg: "missing value for if"},
		{name: "unclosed action", kind: KindAccepted, o: Override{Text: "Hello\n\n{{.ClientName"},
			field: "text", line: 3, msg: "unclosed action"},
		{name: "unterminated if", kind: KindAccepted, o: Override{Subject: "{{if .PriceShown}}x"},
			field: "subject", line: 1, msg: "unexpected EOF"},
		{name: "unknown function", kind: KindAccepted, o: Override{Text: "{{upper .ClientName}}"},
			field: "text", line: 1, msg: `function "upper" not defined`},
		{name: "wrong arguments", kind: KindAccepted, o: Override{Text: "{{money .PriceMinor}}"},
			field: "text", line: 1, msg: "wrong number of args"},
		{name: "unknown Extra key", kind: KindCancelled, o: Override{Text: "{{.Extra.nope}}"},
			field: "text", line: 1, msg: `no entry for key "nope"`},
		{name: "range refused", kind: KindAccepted, o: Override{Text: "a\n{{range 1000000000}}{{end}}"},
			field: "text", line: 2, msg: "{{range}} is not allowed"},
		{name: "nested range refused", kind: KindAccepted, o: Override{Text: "{{if .ClientName}}{{with .Extra}}{{range .}}{{.}}{{end}}{{end}}{{end}}"},
			field: "text", line: 1, msg: "{{range}} is not allowed"},
		{name: "define refused", kind: KindAccepted, o: Override{Text: "x\n{{define \"y\"}}z{{end}}"},
			field: "text", line: 2, msg: "{{define}} is not allowed"},
		{name: "block refused", kind: KindAccepted, o: Override{Text: "{{block \"y\" .}}z{{end}}"},
			field: "text", line: 1, msg: "{{block}} is not allowed"},
		{name: "template refused", kind: KindAccepted, o: Override{HTML: "<p>{{template \"layout\" .}}</p>"},
			field: "html", line: 1, msg: "{{template}} is not allowed"},
		{name: "HTML unknown field", kind: KindAccepted, o: Override{HTML: "<p>\n{{.Nope}}</p>"},
			field: "html", line: 2, msg: "Nope"},
		{name: "HTML unclosed tag", kind: KindAccepted, o: Override{HTML: "<p>Hi</p>\n<a href=\"{{.CancelURL}}"},
			field: "html", msg: "unclosed tag"},
		{name: "HTML bad action", kind: KindAccepted, o: Override{HTML: "<p>{{.ClientName}</p>"},
			field: "html", line: 1, msg: "bad character"},
		{name: "too long", kind: KindAccepted, o: Override{Subject: strings.Repeat("x", MaxSubjectSource+1)},
			field: "subject", msg: "longer than"},
		{name: "unknown kind", kind: "appointment.nope", o: Override{Text: "x"}, field: "kind", msg: "unknown message kind"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Validate(tt.kind, tt.o)
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v (%T), want *ParseError", err, err)
			}
			if pe.Field != tt.field || pe.Line != tt.line || !strings.Contains(pe.Message, tt.msg) || pe.Kind != tt.kind {
				t.Errorf("got %+v, want field %s line %d message containing %q", *pe, tt.field, tt.line, tt.msg)
			}
			if pe.Line > 0 && !strings.Contains(pe.Error(), "line ") {
				t.Errorf("Error() lacks the line: %s", pe.Error())
			}
			t.Log(pe.Error())
		})
	}
}

// A valid override renders with the data it was validated for.
func TestValidatedOverrideRenders(t *testing.T) {
	o := Override{Text: "{{.ClientName}}: {{date .Start}}", Subject: "{{.ServiceName}}", HTML: "<p>{{.ClientName}}</p>"}
	if err := Validate(KindAccepted, o); err != nil {
		t.Fatal(err)
	}
	s := mustSet(t)
	m, err := s.Render(KindAccepted, "ru", Sample("ru"), &o)
	if err != nil {
		t.Fatal(err)
	}
	if m.Text != "Анна Иванова: понедельник, 9 марта 2026 г." || m.Subject != "Консультация психолога" || !strings.Contains(m.HTML, "<p>Анна Иванова</p>") {
		t.Errorf("%+v", m)
	}
}
