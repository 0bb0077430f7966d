package envcfg

import (
	"fmt"
	"log/slog"
	"reflect"
	"strings"
)

// Kind says how a variable's value may be shown.
type Kind int

// Kinds of variables.
const (
	KindPlain  Kind = iota
	KindSecret      // Secret: never shown
	KindToken       // Token: shown as a fingerprint
	KindDSN         // DSN: shown without its password
)

func (k Kind) secret() bool { return k != KindPlain }

// Field describes one variable of a Config struct, from its tags.
type Field struct {
	Name     string
	Default  string
	Help     string
	Required bool
	Enum     []string
	Min, Max string
	Rule     string
	Off      bool // "off" disables the listener
	Kind     Kind
	Index    []int
}

func (f Field) requiredHint() string {
	switch {
	case f.Rule == "hex64":
		return " (64 hex characters; generate with `openssl rand -hex 32`)"
	case f.Kind == KindToken:
		return fmt.Sprintf(" (at least %d random bytes; generate with `openssl rand -hex 32`)", MinTokenBytes)
	case f.Help != "":
		return " (" + f.Help + ")"
	}
	return ""
}

// Fields lists the variables of cfg (a struct or a pointer to one), embedded
// and nested structs included, in declaration order.
func Fields(cfg any) []Field {
	t := reflect.TypeOf(cfg)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var out []Field
	walk(t, nil, &out)
	return out
}

func walk(t reflect.Type, index []int, out *[]Field) {
	for i := range t.NumField() {
		sf := t.Field(i)
		idx := append(append([]int(nil), index...), i)
		name, ok := sf.Tag.Lookup("env")
		if !ok {
			if sf.Type.Kind() == reflect.Struct && sf.Type.PkgPath() != "time" {
				walk(sf.Type, idx, out)
			}
			continue
		}
		f := Field{
			Name: name, Default: sf.Tag.Get("default"), Help: sf.Tag.Get("help"),
			Required: sf.Tag.Get("required") == "true", Min: sf.Tag.Get("min"), Max: sf.Tag.Get("max"),
			Rule: sf.Tag.Get("rule"), Off: sf.Tag.Get("off") == "true", Index: idx,
		}
		if e := sf.Tag.Get("enum"); e != "" {
			f.Enum = strings.Split(e, ",")
		}
		switch sf.Type {
		case reflect.TypeFor[Secret]():
			f.Kind = KindSecret
		case reflect.TypeFor[Token]():
			f.Kind = KindToken
		case reflect.TypeFor[DSN]():
			f.Kind = KindDSN
		}
		*out = append(*out, f)
	}
}

// LogValue renders the effective configuration of cfg as a slog group keyed
// by variable name, secrets redacted by their own LogValue.
func LogValue(cfg any) slog.Value {
	v := reflect.ValueOf(cfg)
	if v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	var attrs []slog.Attr
	for _, f := range Fields(cfg) {
		fv := v.FieldByIndex(f.Index).Interface()
		switch x := fv.(type) {
		case fmt.Stringer:
			attrs = append(attrs, slog.String(f.Name, x.String()))
		case []string:
			attrs = append(attrs, slog.String(f.Name, strings.Join(x, ",")))
		default:
			attrs = append(attrs, slog.Any(f.Name, x))
		}
	}
	return slog.GroupValue(attrs...)
}

// Doc renders the configuration table of cfg in Markdown: variable, default,
// meaning and whether it is a secret (`make generate` copies it into the
// README through `<service> config-doc`).
func Doc(cfg any, defaults map[string]string) string {
	var b strings.Builder
	b.WriteString("| variable | default | meaning | secret |\n|---|---|---|---|\n")
	for _, f := range Fields(cfg) {
		def := f.Default
		if d, ok := defaults[f.Name]; ok {
			def = d
		}
		switch {
		case f.Required:
			def = "required"
		case def == "":
			def = "empty"
		default:
			def = "`" + def + "`"
		}
		help := f.Help
		if len(f.Enum) > 0 {
			help += " (" + strings.Join(f.Enum, ", ") + ")"
		}
		secret := "no"
		if f.Kind.secret() {
			secret = "yes (or `" + f.Name + "_FILE`)"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", f.Name, def, strings.ReplaceAll(help, "|", "\\|"), secret)
	}
	return b.String()
}
