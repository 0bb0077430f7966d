// Command canary is a fixture of tools/vulngate (OPS-41): it calls
// language.Parse from golang.org/x/text v0.3.5, which GO-2021-0113 reports as
// vulnerable, so an offline govulncheck with the pinned database must report
// that advisory at symbol level. It is never built into anything that ships.
package main

import (
	"fmt"
	"os"

	"golang.org/x/text/language"
)

func main() {
	tag, err := language.Parse(os.Args[len(os.Args)-1])
	fmt.Println(tag, err)
}
