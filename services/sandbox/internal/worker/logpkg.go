package worker

import (
	"fmt"
	"io"
	"log"
	"reflect"
)

// logPath is the opt-in log package, which has no generated symbol map:
// yaegi's extract of it depends on replacements that call os.Exit. This
// hand-written map gives tools the package-level functions on a logger of
// their own job that writes to the captured stdout; Fatal* panic instead of
// exiting (so a tool that "exits" is never a success, SB-30), and nothing
// that could reach another writer (New, Logger, SetOutput, Default,
// Writer) is exposed.
const logPath = "log"

// logExports returns the log package map ("log/log") for one job.
func logExports(out io.Writer) map[string]map[string]reflect.Value {
	l := log.New(out, "", log.LstdFlags)
	fatal := func(msg string) {
		_ = l.Output(3, msg)
		panic("log.Fatal: " + msg)
	}
	return map[string]map[string]reflect.Value{"log/log": {
		"Print":         reflect.ValueOf(func(v ...any) { _ = l.Output(2, fmt.Sprint(v...)) }),
		"Printf":        reflect.ValueOf(func(format string, v ...any) { _ = l.Output(2, fmt.Sprintf(format, v...)) }),
		"Println":       reflect.ValueOf(func(v ...any) { _ = l.Output(2, fmt.Sprintln(v...)) }),
		"Fatal":         reflect.ValueOf(func(v ...any) { fatal(fmt.Sprint(v...)) }),
		"Fatalf":        reflect.ValueOf(func(format string, v ...any) { fatal(fmt.Sprintf(format, v...)) }),
		"Fatalln":       reflect.ValueOf(func(v ...any) { fatal(fmt.Sprintln(v...)) }),
		"Panic":         reflect.ValueOf(func(v ...any) { s := fmt.Sprint(v...); _ = l.Output(2, s); panic(s) }),
		"Panicf":        reflect.ValueOf(func(format string, v ...any) { s := fmt.Sprintf(format, v...); _ = l.Output(2, s); panic(s) }),
		"Panicln":       reflect.ValueOf(func(v ...any) { s := fmt.Sprintln(v...); _ = l.Output(2, s); panic(s) }),
		"Flags":         reflect.ValueOf(l.Flags),
		"SetFlags":      reflect.ValueOf(l.SetFlags),
		"Prefix":        reflect.ValueOf(l.Prefix),
		"SetPrefix":     reflect.ValueOf(l.SetPrefix),
		"Ldate":         reflect.ValueOf(log.Ldate),
		"Ltime":         reflect.ValueOf(log.Ltime),
		"Lmicroseconds": reflect.ValueOf(log.Lmicroseconds),
		"Llongfile":     reflect.ValueOf(log.Llongfile),
		"Lshortfile":    reflect.ValueOf(log.Lshortfile),
		"LUTC":          reflect.ValueOf(log.LUTC),
		"Lmsgprefix":    reflect.ValueOf(log.Lmsgprefix),
		"LstdFlags":     reflect.ValueOf(log.LstdFlags),
	}}
}
