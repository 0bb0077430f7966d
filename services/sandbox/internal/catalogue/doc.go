// Package catalogue is the sandbox's package catalogue (spec/sandbox.md §6):
// which import paths tool code may use, in which tier, with a one-line
// description and, for filtered or never-tier packages, a note.
//
// It owns:
//   - the tier table ([Packages]): the default tier (always importable), the
//     opt-in tier (importable when the tool's manifest approves the path and
//     the request lists it in extra_packages) and the never tier (cannot be
//     approved; the note is the reason given to the LLM);
//   - the decisions the analyzer and the API make about an import path
//     ([Lookup], [Check], [ValidateExtra]), with the wording of the
//     ImportError messages of §4.2.5;
//   - [Version], the catalogue_version that is part of the analysis-cache key,
//     and [Catalogue], the body of GET /v1/packages (§4.4).
//
// It does not own the yaegi symbol maps: those are generated under
// catalogue/symbols from [Packages] (paths, tiers and the Include/Exclude
// symbol filters), so the static check here and the symbol tables loaded by a
// worker cannot drift apart. The static check is friendliness only; what
// keeps a package out of a tool is that its symbols are never loaded.
//
// # Adding or moving a package
//
//  1. Add (or edit) its entry in tiers.go: path, tier, one-line description,
//     Filtered with Include/Exclude patterns when only some symbols may be
//     exposed, and a Note (the limits for default/opt-in, the reason for
//     never). A never-tier entry whose path ends in "/..." covers the path and
//     everything below it; an exact entry of another tier wins over it.
//  2. Regenerate the symbol maps with the generator in catalogue/symbols and
//     review the symbol golden file: every exported method of an exposed type
//     is reachable, whatever the filter says.
//  3. Run the tests: TestSB77 checks that no never-tier path sits in another
//     tier and that nothing under github.com/traefik/yaegi is importable.
//
// [Version] is a digest of the table and the Go version of the build, so any
// such change gives a new catalogue_version and invalidates cached analyses.
package catalogue
