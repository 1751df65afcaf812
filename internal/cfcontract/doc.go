// Package cfcontract judges the sandbox by a contract we did not write: the types of
// cloudflare-go v6, generated from Cloudflare's OpenAPI schema. Its table maps every route the
// sandbox serves to the cloudflare-go type of that route's answer (and, for writes, of the
// request body), or says that no such type exists and where the route's shape was taken from.
//
// Check decodes an answer through its type and then walks the type: every field the type
// marks required (the `api:"required"` struct tag, which also drives apijson's IsMissing)
// must be present, not null, and of the JSON type the Go field implies, at every depth. A
// problem names the route and the field. The live API's known departures from the schema
// (Route.Departs) are accepted, because the sandbox emulates them on purpose.
//
// Tests attach a Recorder to a sandbox (sandbox.Options.Observe) and verify it when they end,
// so every end-to-end suite that runs against an in-process sandbox is judged. Only tests
// import this package; the lint step fails if the mage binary does (ci.TestHelpersInMage).
package cfcontract
